# Path conventions, input functions and config checks shared by the rules.
#
# Every file a job reads is declared as an input, and every path is written once, here: rules
# name their inputs with the functions below (dicts, through `unpack`), and the scripts build their
# per-video maps from `snakemake.input` (keys "<kind>:<video>", see rolo.utils.runtime.grouped);
# `params` carry values only.
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

# The workflow always runs this checkout's package (scripts do the same via scripts/_bootstrap.py).
sys.path.insert(0, str(Path(workflow.main_snakefile).resolve().parent / "src"))

from rolo.errors import RoloInputError
from rolo.data.splits import (
    CROSS_DATASET,
    SPLITS,
    check_cross_dataset,
    experiment_detector,
    experiment_sources,
    experiment_settings,
    experiment_videos,
    finetuned_twins,
    GOT10K_TEST_NOTE,
    got10k_test_subset_videos,
    resolve_sources,
    test_dataset,
    test_videos,
    train_videos,
)
from rolo.data import sources as data_sources
from rolo.data.otb import find_entry, find_folder
from rolo.evaluation.scoring import result_file, timing_file
from rolo.evaluation.tables import PAPER_FILES, parse_setting
from rolo.tracking import registry
from rolo.tracking.closed_loop_job import KINDS as CLOSED_LOOP_KINDS
from rolo.utils.provenance import code_hash, data_hash

ENV = "../../environment.yml"
# data shipped with the workflow lives here
REPO_DIR = Path(workflow.main_snakefile).resolve().parent

DATA = config["dataset"]["root"]
SYNTHETIC = config["dataset"].get("synthetic")


class Experiments(dict):
    """The configured experiments (what iterating and ``in`` see: the default target, the checks)
    that also answer, by name, each default-detector experiment's twin ``<name>_ft`` with its own
    fine-tuned detector (rolo.data.splits.finetuned_twins; the ``finetune`` target)."""

    def __missing__(self, name):
        return experiment_settings(dict(self), name)


DATASETS = {k: v for k, v in (config.get("datasets") or {}).items() if v}
"""Extra datasets beside ``dataset`` (config ``datasets``): ``{lasot|got10k: {root: ...}}``, read in
place; cross_dataset experiments name their videos (rolo.data.sources)."""
SOURCE_VIEWS = "resources/datasets"
"""Where the OTB-layout views of the extra datasets' videos go (rolo.data.sources.link_source_sequence)."""


def _resolved_experiments():
    """The configured experiments, each cross_dataset source given by ``split`` resolved into its
    videos; a source whose dataset is not declared in ``datasets`` stops the planning.
    """
    out = {}
    for name, exp in config["experiments"].items():
        if exp["split"] == CROSS_DATASET:
            missing = sorted(experiment_sources(exp) - {"main"} - set(DATASETS))
            if missing:
                raise WorkflowError(
                    f"experiments.{name}: reads dataset {missing[0]}, which datasets.{missing[0]} does not "
                    f"declare; set datasets.{missing[0]}.root to a local copy"
                )
            unlabelled = got10k_test_subset_videos(
                exp, DATASETS.get("got10k", {}).get("root")
            )
            if unlabelled:
                key, video = unlabelled[0]
                raise WorkflowError(
                    f"experiments.{name}.{key}.videos: {video} is a video of GOT-10k's test subset: "
                    + GOT10K_TEST_NOTE
                )
            try:
                exp = resolve_sources(exp, {k: v["root"] for k, v in DATASETS.items()})
            except RoloInputError as e:
                raise WorkflowError(f"experiments.{name} (datasets): {e}") from None
        out[name] = exp
    return out


EXPERIMENTS = Experiments(_resolved_experiments())
TWINS = finetuned_twins(EXPERIMENTS)
TRACKERS = config["trackers"]
EXTERNAL = config.get("external") or {}
"""Other trackers' results scored beside ours: ``{name: folder}`` or ``{name: {experiment: folder}}``."""
DETECTOR_TRAIN = config["detector"].get("train")
FINETUNE = {
    "epochs": 10,
    "batch": 16,
    "every": 1,
    "seed": 0,
    "workers": 2,
    "ultralytics": {},
} | (config["detector"].get("finetune") or {})
"""Settings of the per-experiment detectors (detector.finetune; its defaults are set here, as the
section may be absent)."""
FINETUNE_COMPARE = FINETUNE.pop(
    "compare",
    [
        n
        for n in EXPERIMENTS
        if f"{n}_ft" in TWINS and test_dataset(EXPERIMENTS[n]) != "got10k"
    ],
)
"""The experiments the ``finetune`` target compares with their twins (default: every experiment
that uses the workflow's detector, but those tested on GOT-10k, whose protocol has neither the
success AUC nor the precision the comparison reads)."""
# Real OTB-2015 (dataset.otb): names resolve through the catalog (rolo.data.otb); each sequence is
# prepared for the scoring protocol as a plain OTB-layout folder under SEQUENCES (download.smk).
# dataset.synthetic takes precedence: Snakemake merges --configfile config/demo.yaml over
# config/config.yaml, whose dataset.otb the demo thereby inherits.
OTB = None if SYNTHETIC else config["dataset"].get("otb")
OTB_LOCAL = OTB.get("otb_root") if OTB else None
OTB_PROTOCOL = OTB.get("protocol", "official") if OTB else None
SEQUENCES = f"resources/otb_sequences/{OTB_PROTOCOL}" if OTB else DATA

# --- paths: each written once ------------------------------------------------------------------

EXP = "results/{exp}"
SPLITS_JSON = f"{EXP}/splits.json"
FEATURES = "results/features/{video}"
"""Extraction outputs of the workflow's detector."""
DETECTORS = "results/detectors/{detector}"
"""A detector fine-tuned on the labelled training frames of experiment {detector}, and its outputs."""
FT_FEATURES = f"{DETECTORS}/features/{{video}}"
FINETUNE_TABLES = "results/finetune/{exp}"
TRACKS = f"{EXP}/tracks/{{tracker}}"
MODELS = f"{EXP}/models"
FIG = f"{EXP}/figures"
SWEEP_TRACKS = f"{EXP}/sweeps/tracks/{{setting}}"
SWEEP_MODELS = f"{EXP}/sweeps/models"
VAR = f"{EXP}/variation/seed{{seed}}"
DETECTOR_WEIGHTS = "results/detector/weights.pt"


def splits_json(exp):
    """An experiment's splits; a twin ``<name>_ft`` shares its base's (same split, same videos)."""
    base = exp.removesuffix("_ft") if exp in TWINS else exp
    return SPLITS_JSON.format(exp=base)


def track_dir(exp, tracker):
    return TRACKS.format(exp=exp, tracker=tracker)


def experiment_video_set():
    return sorted({v for e in EXPERIMENTS.values() for v in experiment_videos(e)})


def main_video_set():
    """The experiments' videos of the run's main dataset (``dataset``), without the extra datasets'."""
    return [v for v in experiment_video_set() if not data_sources.is_source_video(v)]


def scored_video_set():
    return sorted({v for e in EXPERIMENTS.values() for v in test_videos(e)})


def _check_config():
    """Cross-field checks the JSON schema cannot express; errors name the setting."""
    unknown = [t for t in TRACKERS if t not in registry.TRACKERS]
    if unknown:
        raise WorkflowError(
            f"trackers: unknown {unknown}; known (src/rolo/tracking/registry.py): {', '.join(registry.TRACKERS)}"
        )
    clash = sorted(set(EXTERNAL) & (set(TRACKERS) | set(registry.TRACKERS)))
    if clash:
        raise WorkflowError(
            f"external: {clash} are names of the registry's trackers; give other trackers' results another name"
        )
    for name, where in EXTERNAL.items():
        if isinstance(where, dict) and set(where) - set(EXPERIMENTS):
            raise WorkflowError(
                f"external.{name}: {sorted(set(where) - set(EXPERIMENTS))} are not experiments ({sorted(EXPERIMENTS)})"
            )
    needs_neck = [t for t in TRACKERS if "neck" in registry.spec(t).inputs]
    if needs_neck and not config["extraction"].get("neck"):
        raise WorkflowError(
            f"extraction.neck: {needs_neck} read the stored neck maps; set extraction.neck (e.g. "
            "{levels: [1, 2]}) or leave these trackers out of `trackers`"
        )
    main = "otb" if OTB else "synthetic" if SYNTHETIC else "main"
    for name, exp in EXPERIMENTS.items():
        if exp["split"] == CROSS_DATASET:
            main_names = [
                v
                for key in ("train", "test")
                for src in (exp[key] if isinstance(exp[key], list) else [exp[key]])
                if src["dataset"] in data_sources.MAIN_NAMES
                for v in src["videos"]
            ]
        else:
            main_names = list(experiment_videos(exp))
        clash = [v for v in main_names if data_sources.is_source_video(v)]
        if clash:
            raise WorkflowError(
                f"experiments.{name}: {clash} are named like another dataset's videos "
                f"(<dataset>__<name>, {', '.join(data_sources.SOURCES)}); rename these videos of the main dataset"
            )
        if exp["split"] == "disjoint":
            both = sorted(set(exp["train"]) & set(exp["test"]))
            if both:
                raise WorkflowError(
                    f"experiments.{name}: videos both in train and test: {both}"
                )
        if exp["split"] == CROSS_DATASET:
            try:  # again, now that sources given by split are resolved into videos
                check_cross_dataset(name, exp)
            except ValueError as e:
                raise WorkflowError(str(e)) from None
            for key in ("train", "test"):
                for src in exp[key] if isinstance(exp[key], list) else [exp[key]]:
                    if (
                        src["dataset"] in ("otb", "synthetic")
                        and src["dataset"] != main
                    ):
                        raise WorkflowError(
                            f"experiments.{name}.{key}.dataset: {src['dataset']}, but this run's dataset is "
                            f"{main} (write main or {main})"
                        )
    bad = [
        e for e in FINETUNE_COMPARE if e not in EXPERIMENTS or f"{e}_ft" not in TWINS
    ]
    got10k = [
        e
        for e in FINETUNE_COMPARE
        if e in EXPERIMENTS and test_dataset(EXPERIMENTS[e]) == "got10k"
    ]
    if got10k:
        raise WorkflowError(
            f"detector.finetune.compare: {got10k} are tested on GOT-10k, whose protocol (AO, SR) has no success "
            "AUC or precision to compare; compare their results/<name>_ft/summary.csv by hand"
        )
    if bad:
        raise WorkflowError(
            f"detector.finetune.compare: {bad} are not experiments that use the default detector "
            f"(those that do: {sorted(t.removesuffix('_ft') for t in TWINS)})"
        )
    if DETECTOR_TRAIN:
        det = set(DETECTOR_TRAIN["sequences"]) | set(DETECTOR_TRAIN["val"])
        leaked = sorted(det & set(scored_video_set()))
        if leaked:
            raise WorkflowError(
                f"detector.train: {leaked} are scored by an experiment; a detector may not be trained "
                "or validated on videos it is evaluated on"
            )
    if SYNTHETIC:
        needed = set(main_video_set())
        if DETECTOR_TRAIN:
            needed |= set(DETECTOR_TRAIN["sequences"]) | set(DETECTOR_TRAIN["val"])
        missing = sorted(needed - set(SYNTHETIC["sequences"]))
        if missing:
            raise WorkflowError(
                f"dataset.synthetic.sequences: no definition for {missing}"
            )
    for key, section in (
        ("sweeps", config.get("sweeps")),
        ("heatmap_figures", config.get("heatmap_figures")),
    ):
        if section and section["experiment"] not in EXPERIMENTS:
            raise WorkflowError(
                f"{key}.experiment: {section['experiment']!r} is not one of experiments {sorted(EXPERIMENTS)} "
                f"(config/config.yaml sets it; set {key}: null to run none)"
            )
    if OTB:
        needed = set(main_video_set())
        if DETECTOR_TRAIN:
            needed |= set(DETECTOR_TRAIN["sequences"]) | set(DETECTOR_TRAIN["val"])
        for v in sorted(needed):
            try:
                find_entry(v)
            except RoloInputError as e:
                raise WorkflowError(f"experiments (dataset.otb is set): {e}") from None


_check_config()


wildcard_constraints:
    video=r"[A-Za-z0-9_.-]+",
    exp="|".join(map(re.escape, [*EXPERIMENTS, *TWINS])),
    detector="|".join(map(re.escape, EXPERIMENTS)),
    tracker="|".join(TRACKERS),
    kind="coordinate|heatmap|closed_loop|closed_loop_heatmap",
    steps=r"[1-9][0-9]*",
    epochs=r"[1-9][0-9]*",
    setting=r"(coordinate|heatmap)_s[1-9][0-9]*(_e[1-9][0-9]*)?",


# --- sequences and extraction outputs ----------------------------------------------------------


def seq_dir(video):
    return f"{SEQUENCES}/{video}"


def source_view(video):
    """The OTB-layout view of an extra dataset's video (``<dataset>__<name>``)."""
    dataset, name = data_sources.parse_video_id(video)
    return f"{SOURCE_VIEWS}/{dataset}/{name}"


def source_root(dataset):
    return DATASETS[dataset]["root"]


def sequence_files(video):
    """A sequence's ground truth and image folder (and, for OTB, the record of the scoring protocol
    it was prepared for): generated by the data rules for the demo, prepared from the OTB folders
    for OTB, and for an extra dataset's video (``datasets``) its view under SOURCE_VIEWS. Scripts
    find the sequence folder as the ground truth's parent."""
    if data_sources.is_source_video(video):
        d = source_view(video)
        return {
            "gt": f"{d}/groundtruth_rect.txt",
            "img": f"{d}/img",
            "source": f"{d}/{data_sources.SOURCE_JSON}",
        }
    if OTB:
        d = seq_dir(video)
        return {
            "gt": f"{d}/groundtruth_rect.txt",
            "img": f"{d}/img",
            "sequence": f"{d}/sequence.json",
        }
    if not SYNTHETIC and not Path(DATA).is_dir():
        raise WorkflowError(
            f"dataset.root: {DATA} not found. Put the OTB sequences there (<Name>/img, "
            "<Name>/groundtruth_rect.txt), point dataset.root at an existing copy, or run the offline "
            "demo: snakemake --configfile config/demo.yaml --cores 2"
        )
    return {"gt": f"{DATA}/{video}/groundtruth_rect.txt", "img": f"{DATA}/{video}/img"}


def features_dir(video, detector=None):
    """Where a video's extraction outputs go: per (detector, video); ``detector`` None is the
    workflow's detector, else the experiment whose labelled training frames fine-tuned it.
    """
    if detector is None:
        return FEATURES.format(video=video)
    return FT_FEATURES.format(detector=detector, video=video)


def feature_files(video, detector=None):
    d = features_dir(video, detector)
    return {
        "features": f"{d}/features.npy",
        "detections": f"{d}/detections.npy",
        "meta": f"{d}/meta.json",
    }


NECK = config["extraction"].get("neck")
"""The neck maps extraction stores (extraction.neck), or None."""
NECK_LEVELS = ("p3", "p4", "p5")


def neck_files(video, detector=None):
    """The stored neck maps of a video (extraction.neck): one array per level and neck.json."""
    if not NECK:
        return {}
    d = features_dir(video, detector)
    levels = NECK.get("levels", [1, 2])
    return {"neck_meta": f"{d}/neck.json"} | {
        f"neck_{NECK_LEVELS[l]}": f"{d}/neck_{NECK_LEVELS[l]}.npy" for l in levels
    }


def keyed(per_video):
    """``{video: {kind: path}}`` -> named inputs ``{"<kind>:<video>": path}``
    (read back by rolo.utils.runtime.grouped)."""
    return {
        f"{kind}:{v}": path
        for v, files in per_video.items()
        for kind, path in files.items()
    }


def sequences_of(videos):
    return keyed({v: sequence_files(v) for v in videos})


def source_input(dataset, name):
    """The sequence folder of an extra dataset's video, in the local copy datasets.<dataset>.root
    (read in place, never written to)."""
    try:
        return str(data_sources.source_folder(dataset, source_root(dataset), name))
    except RoloInputError as e:
        raise WorkflowError(
            f"datasets.{dataset}.root: {e}. Point it at a local {dataset} copy holding the video"
        ) from None


def otb_source(video):
    """The OTB sequence folder a prepared sequence is read from: under dataset.otb.otb_root (used in
    place, never written to), else dataset.root, where download_otb fetches it."""
    entry = find_entry(video)
    if not OTB_LOCAL:
        return f"{DATA}/{entry.folder}"
    try:
        return str(find_folder(OTB_LOCAL, entry))
    except RoloInputError as e:
        raise WorkflowError(
            f"dataset.otb.otb_root: {e}. Point it at a copy of OTB-2015 (<Folder>/img, ground truth), "
            f"unset it to download the sequences into {DATA}, or run the offline demo: "
            "snakemake --configfile config/demo.yaml --cores 2"
        ) from None


def detector_weights():
    """The detector used for extraction: the trained one, or detector.model as configured."""
    if DETECTOR_TRAIN:
        return DETECTOR_WEIGHTS
    return config["detector"]["model"]


def detector_input():
    """The detector as a file input when it is a file (trained weights or a local .pt)."""
    w = detector_weights()
    if (
        not DETECTOR_TRAIN
        and w.endswith(".pt")
        and not Path(w).is_file()
        and not config["detector"].get("url")
    ):
        raise WorkflowError(
            f"detector.model: weights {w} not found. Download them (e.g. yolov8s.pt from the "
            "Ultralytics releases) to that path, set detector.url to fetch them, or use a model yaml / the demo config"
        )
    return [w] if w.endswith(".pt") else []


def exp_detector(exp):
    """The detector experiment ``exp`` (configured or twin) extracts with (None: the workflow's)."""
    return experiment_detector(EXPERIMENTS, exp)


def finetuned_weights(detector):
    return f"{DETECTORS.format(detector=detector)}/weights.pt"


def extraction_detector(wildcards):
    """The detector file an extraction job reads: the fine-tuned one of ``{detector}``, or the
    workflow's (none when detector.model is a yaml used untrained)."""
    if "detector" in wildcards.keys():
        return [finetuned_weights(wildcards.detector)]
    return detector_input()


def experiment_detector_input(exp):
    """The detector file experiment ``exp`` extracts with (its fine-tuned one, or the workflow's)."""
    det = exp_detector(exp)
    return [finetuned_weights(det)] if det else detector_input()


def finetune_inputs(wildcards):
    """A fine-tuning job: the base detector, the experiment's splits (which frames are labelled
    training frames) and its training videos' sequences. Nothing else: no scored frame's label.
    """
    exp = EXPERIMENTS[wildcards.detector]
    return (
        {"splits": splits_json(wildcards.detector)}
        | {"detector": detector_input()}
        | sequences_of(train_videos(exp))
    )


# --- experiments: splits, training, tracking ---------------------------------------------------


def experiment_sequences(wildcards):
    """Every video of an experiment: ground truth and frames."""
    return sequences_of(experiment_videos(EXPERIMENTS[wildcards.exp]))


def model_kind(wildcards):
    """The model kind a training job trains: its ``kind``, or its ``tracker``'s (variation)."""
    if "kind" in wildcards.keys():
        return wildcards.kind
    return registry.spec(wildcards.tracker).model_kind


def kind_reads_neck(kind):
    return any(
        s.model_kind == kind and "neck" in s.inputs for s in registry.TRACKERS.values()
    )


def train_inputs(wildcards):
    """The splits, and per training video its extraction outputs (with the neck maps for the
    model kinds that read them) and sequence."""
    videos = train_videos(EXPERIMENTS[wildcards.exp])
    neck = kind_reads_neck(model_kind(wildcards))
    det = exp_detector(wildcards.exp)
    files = {
        v: feature_files(v, det)
        | (neck_files(v, det) if neck else {})
        | sequence_files(v)
        for v in videos
    }
    return {"splits": splits_json(wildcards.exp)} | keyed(files)


def model_params(kind, steps=None):
    """A training job's model settings (values)."""
    steps = int(steps or config["rolo"]["steps"])
    if kind in CLOSED_LOOP_KINDS:
        # the kind names the head; the other settings are fixed in rolo.tracking.closed_loop
        return {"kind": kind, "steps": steps}
    return {"kind": kind, "steps": steps} | {
        k: config["rolo"][k] for k in ("hidden", "layers", "output")
    }


def train_association(kind):
    """The association settings a training job depends on (a value): none for the closed-loop kinds,
    which pick their own candidates (their settings are rolo.tracking.closed_loop's)."""
    return {} if kind in CLOSED_LOOP_KINDS else config["association"]


def train_params(kind, seed=None, epochs=None):
    """A training job's training settings (values)."""
    seed = int(config["rolo"]["seed"] if seed is None else seed)
    if kind in CLOSED_LOOP_KINDS:
        return {"seed": seed}
    return (
        {k: config["rolo"][k] for k in ("epochs", "batch", "lr")}
        | {"seed": seed}
        | ({"epochs": int(epochs)} if epochs else {})
    )


def rolo_model(exp, kind="coordinate", steps=None):
    """The checkpoint of an experiment's ROLO model of ``kind`` with ``steps`` (default rolo.steps)."""
    return f"{MODELS.format(exp=exp)}/{kind}_s{steps or config['rolo']['steps']}.pt"


def rolo_loss(exp, kind="coordinate", steps=None):
    return rolo_model(exp, kind, steps).removesuffix(".pt") + "_loss.csv"


def tracker_video_files(exp, tracker):
    """``{video: {kind: path}}`` of what ``tracker`` reads per test video (its registry inputs)."""
    needs = registry.spec(tracker).inputs
    det = exp_detector(exp)
    out = {}
    for v in test_videos(EXPERIMENTS[exp]):
        files = {}
        if "features" in needs:
            files |= feature_files(v, det)
        if "neck" in needs:
            files |= neck_files(v, det)
        if "images" in needs:
            files["images"] = sequence_files(v)["img"]
        out[v] = files
    return out


def tracking_inputs(exp, tracker, model=None):
    """Named inputs of a tracking job: the splits, the model (ROLO trackers) and per-video files."""
    spec = registry.spec(tracker)
    files = {"splits": splits_json(exp)} | keyed(tracker_video_files(exp, tracker))
    if spec.model_kind:
        files["model"] = model or rolo_model(exp, spec.model_kind)
    return files


def track_inputs(wildcards):
    return tracking_inputs(wildcards.exp, wildcards.tracker)


def tracker_code(tracker):
    """The code hash of a tracking job: the runner and the tracker's factory module."""
    factory = registry.spec(tracker).factory.partition(":")[0].removeprefix("rolo.")
    return code_hash("tracking.trackers", factory)


def association_settings(tracker):
    """The association settings, for the trackers that associate detections (a value, so that only
    their jobs rerun when the settings change)."""
    return config["association"] if registry.spec(tracker).association else {}


def track_dirs(exp, trackers=None):
    """``{tracker: track dir}``; a twin ``<name>_ft`` reads its base's tracks of the trackers that
    do not read the detector (identical: same splits, same frames)."""
    base = exp.removesuffix("_ft") if exp in TWINS else exp
    return {
        t: track_dir(exp if registry.spec(t).uses_detector else base, t)
        for t in (TRACKERS if trackers is None else trackers)
    }


# --- evaluation and figures -----------------------------------------------------------------------


def scoring_inputs(exp, tracks, detections=True):
    """Named inputs of a scoring job: the splits, ``{tracker or setting: track dir}`` as
    ``track:<name>``, and per test video its sequence (and detections and extraction record).
    """
    videos = test_videos(EXPERIMENTS[exp])
    files = {v: sequence_files(v) for v in videos}
    if detections:
        for v in videos:
            files[v] = files[v] | {
                k: p
                for k, p in feature_files(v, exp_detector(exp)).items()
                if k != "features"
            }
    return (
        {"splits": splits_json(exp)}
        | keyed(files)
        | {f"track:{t}": d for t, d in tracks.items()}
    )


def external_dirs(exp):
    """``{name: results folder}`` of the other trackers (config ``external``) scored on ``exp``."""
    out = {}
    for name, where in EXTERNAL.items():
        folder = where.get(exp) if isinstance(where, dict) else where
        if folder is not None:
            out[name] = folder
    return out


def result_stems(video):
    """The names a results file of ``video`` may carry: the name (and, for OTB, the catalog's; for an
    extra dataset's video, its name in the dataset before its id)."""
    dataset, name = data_sources.parse_video_id(video)
    if dataset is not None:
        return [name, video]
    if OTB:
        entry = find_entry(video)
        return list(dict.fromkeys([video, entry.name, *entry.aliases]))
    return [video]


def external_inputs(exp):
    """Named inputs ``external:<name>/<video>`` (the box file, in any layout of
    rolo.evaluation.scoring) and ``external_time:<name>/<video>`` (its timing file, if any) of every
    external tracker and test video of ``exp``: declared, so that a changed file reruns the tables.
    A missing folder or file stops the planning with one line naming it."""
    files = {}
    for name, folder in external_dirs(exp).items():
        if not Path(folder).is_dir():
            raise WorkflowError(f"external.{name}: results folder {folder} not found")
        for v in test_videos(EXPERIMENTS[exp]):
            try:
                box_file = result_file(folder, result_stems(v))
            except RoloInputError as e:
                raise WorkflowError(f"external.{name}: {e}") from None
            files[f"external:{name}/{v}"] = str(box_file)
            time_file = timing_file(box_file)
            if time_file is not None:
                files[f"external_time:{name}/{v}"] = str(time_file)
    return files


def evaluate_inputs(wildcards):
    return scoring_inputs(wildcards.exp, track_dirs(wildcards.exp)) | external_inputs(
        wildcards.exp
    )


def recovery_inputs(wildcards):
    return scoring_inputs(wildcards.exp, track_dirs(wildcards.exp), detections=False)


def recovery_targets(exp):
    """The recovery table and figure, for synthetic experiments with occluded test videos."""
    if not SYNTHETIC or not any(
        "OCC" in video_attributes(v) for v in test_videos(EXPERIMENTS[exp])
    ):
        return []
    return [f"results/{exp}/recovery.csv"] + [
        f"{FIG.format(exp=exp)}/recovery.{ext}" for ext in ("png", "pdf")
    ]


def drawn_trackers():
    """The configured trackers drawn on panels and videos (registry entries with a box colour)."""
    return registry.drawn(TRACKERS)


def panel_inputs(wildcards):
    return {"aos": f"results/{wildcards.exp}/aos.csv"} | scoring_inputs(
        wildcards.exp, track_dirs(wildcards.exp, drawn_trackers()), detections=False
    )


def video_inputs(wildcards):
    tracks = {
        f"track:{t}": d for t, d in track_dirs(wildcards.exp, drawn_trackers()).items()
    }
    return (
        {"splits": splits_json(wildcards.exp)}
        | sequence_files(wildcards.video)
        | tracks
    )


def video_attributes(video):
    """Challenge tags of a video: the synthetic generator's, or OTB's from the catalog."""
    if SYNTHETIC:
        return list(SYNTHETIC["sequences"].get(video, []))
    from rolo.data.otb import video_attributes as otb_attributes

    return otb_attributes(video)


# --- sweeps (sweeps.smk) and heatmap figures -------------------------------------------------------

SWEEPS = {
    "kinds": ["coordinate", "heatmap"],
    "steps": [1, 3, 6, 9],
    "epochs": [10, 30, 100],
} | (config.get("sweeps") or {})
HEATMAP_FIGURES = config.get("heatmap_figures") or {}


def epoch_model(exp, kind, steps, epochs):
    """A checkpoint of the epoch sweep's training run (kind, steps), read at ``epochs``."""
    return f"{SWEEP_MODELS.format(exp=exp)}/{kind}_s{steps}_e{epochs}.pt"


def sweep_settings(exp):
    """``({steps setting: track dir}, {epochs setting: track dir})`` of the sweeps on ``exp``
    (names of rolo.evaluation.tables.parse_setting)."""
    if SWEEPS.get("experiment") != exp:
        return {}, {}
    d = lambda s: SWEEP_TRACKS.format(exp=exp, setting=s)
    steps = {
        f"{k}_s{s}": d(f"{k}_s{s}") for k in SWEEPS["kinds"] for s in SWEEPS["steps"]
    }
    s0 = config["rolo"]["steps"]
    epochs = {
        f"{k}_s{s0}_e{e}": d(f"{k}_s{s0}_e{e}")
        for k in SWEEPS["kinds"]
        for e in sorted(SWEEPS["epochs"])
    }
    return steps, epochs


def setting_model(exp, setting):
    """The model a sweep setting tracks with: the steps sweep trains one model per steps value
    (rolo.epochs epochs, the same rule as the trackers' models); the epoch sweep reads one run.
    """
    s = parse_setting(setting)
    if s["epochs"] is None:
        return rolo_model(exp, s["kind"], s["steps"])
    return epoch_model(exp, s["kind"], s["steps"], s["epochs"])


def setting_tracker(setting):
    """The registry's ROLO tracker of a sweep setting's model kind."""
    kind = parse_setting(setting)["kind"]
    return next(n for n, s in registry.TRACKERS.items() if s.model_kind == kind)


def setting_inputs(wildcards):
    model = setting_model(wildcards.exp, wildcards.setting)
    return tracking_inputs(wildcards.exp, setting_tracker(wildcards.setting), model)


def epoch_train_inputs(wildcards):
    """The epoch sweep's run is cut into segments at the listed epoch counts: the checkpoint of
    ``epochs`` resumes from that of the largest listed count below it (none: trains from scratch).
    """
    below = [e for e in SWEEPS.get("epochs", []) if e < int(wildcards.epochs)]
    previous = (
        {
            "previous": epoch_model(
                wildcards.exp, wildcards.kind, wildcards.steps, max(below)
            )
        }
        if below
        else {}
    )
    return train_inputs(wildcards) | previous


def sweep_inputs(wildcards):
    steps, epochs = sweep_settings(wildcards.exp)
    return scoring_inputs(wildcards.exp, steps | epochs, detections=False)


def sweep_targets(exp):
    if SWEEPS.get("experiment") != exp:
        return []
    figs = [
        f"{FIG.format(exp=exp)}/{f}.{ext}"
        for f in ("sweep_steps", "sweep_aos")
        for ext in ("png", "pdf")
    ]
    return [f"results/{exp}/sweep_{t}.csv" for t in ("aos", "steps", "epochs")] + figs


def heatmap_targets(exp):
    if "rolo_heatmap_paper" not in TRACKERS or HEATMAP_FIGURES.get("experiment") != exp:
        return []
    strips = [
        f"{FIG.format(exp=exp)}/heatmap_strip_{v}.png"
        for v in test_videos(EXPERIMENTS[exp])
    ]
    return strips + [f"{FIG.format(exp=exp)}/heatmap_pairs.png"]


def heatmap_inputs(wildcards):
    videos = (
        [wildcards.video]
        if "video" in wildcards.keys()
        else test_videos(EXPERIMENTS[wildcards.exp])
    )
    return {
        "splits": splits_json(wildcards.exp),
        "track:rolo_heatmap_paper": track_dir(wildcards.exp, "rolo_heatmap_paper"),
    } | sequences_of(videos)


def experiment_targets(exp):
    """Every table, figure and video of one experiment."""
    kinds = ["success_precision", "attributes", "aos_bars", "panel"]
    kinds += (
        ["loss"]
        if any(registry.spec(t).model_kind == "coordinate" for t in TRACKERS)
        else []
    )
    figs = [f"{FIG.format(exp=exp)}/{f}.{ext}" for f in kinds for ext in ("png", "pdf")]
    videos = [f"results/{exp}/videos/{v}.mp4" for v in test_videos(EXPERIMENTS[exp])]
    paper = (  # the published figures are OTB's: no comparison on another test dataset
        [f"results/{exp}/paper_comparison.csv"]
        if "rolo" in TRACKERS and test_dataset(EXPERIMENTS[exp]) == "main"
        else []
    )
    tables = [f"results/{exp}/{t}.html" for t in ("summary", "aos")]
    return [
        f"results/{exp}/aos.csv",
        *tables,
        *paper,
        *figs,
        *videos,
        *sweep_targets(exp),
        *heatmap_targets(exp),
        *recovery_targets(exp),
    ]


# --- seed variation (variation.smk) ---------------------------------------------------------------

TRAIN_SEEDS = config["variation"]["train_seeds"]
DATA_SEEDS = [
    s for s in config["variation"]["data_seeds"] if SYNTHETIC and s != SYNTHETIC["seed"]
]
VARIED = [
    t
    for t in TRACKERS
    if registry.spec(t).model_kind in ("coordinate", *CLOSED_LOOP_KINDS)
]
"""The trackers retrained per training seed (the others' tracks do not depend on it)."""


def seed_track_dirs(wc):
    """A training seed's ROLO tracks with the main run's tracks of every other tracker."""
    return {
        t: (
            f"{VAR}/tracks/{t}".format(exp=wc.exp, seed=wc.seed)
            if t in VARIED
            else track_dir(wc.exp, t)
        )
        for t in TRACKERS
    }


def seed_evaluate_inputs(wildcards):
    return scoring_inputs(wildcards.exp, seed_track_dirs(wildcards))


def seed_track_inputs(wildcards):
    return tracking_inputs(
        wildcards.exp,
        wildcards.tracker,
        f"{VAR}/models/{wildcards.tracker}.pt".format(**wildcards),
    )


def finetune_targets():
    """The ``finetune`` target: per compared experiment, its twin's tables and the comparison."""
    return [
        f"{FINETUNE_TABLES.format(exp=e)}.{ext}"
        for e in FINETUNE_COMPARE
        for ext in ("csv", "md")
    ]


def all_targets():
    return [t for e in EXPERIMENTS for t in experiment_targets(e)]
