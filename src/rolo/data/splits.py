"""Experiment splits: which frames train, where tracking starts, which frames are scored.

A split is computed once per (experiment, video) and shared by every tracker of the experiment:
same start frame, same start box, same scored frames. Rules every split kind obeys:

* a tracker is given the ground truth of its start frame only (``start_box``);
* a frame whose label was used in training is never scored;
* the start frame is scored, as in OTB's one-pass evaluation (the tracker returns the given box
  there), unless its label was used in training;
* frames with invalid ground truth (zero width or height) are never training targets; they are
  scored as the scoring protocol says (:mod:`rolo.evaluation.protocols`; ``official``: as OTB's toolkit,
  overlap fails and centre error succeeds).

Split kinds, an experiment's ``split`` (all frame indices 0-based, ranges half-open):

``disjoint``       (exp1) ``train`` videos train on all their frames; ``test`` videos are tracked
                   from frame 0 to the end (OTB one-pass).
``held_out_tail``  (exp2) the first ``floor(n * train_fraction)`` frames of every video train; the
                   rest is held out: tracked from its first frame, given that frame's box.
``sparse_labels``  (exp3) every frame is a training input but only every ``label_every``-th frame's
                   label is used (frames 0, k, 2k, ...); tracking runs from frame 0 and only the
                   unlabelled frames are scored. Transductive: the model has seen the test frames.
``cross_dataset``  as ``disjoint``, but ``train`` and ``test`` each name a *source*
                   ``{dataset, videos | split}`` (``train``: one or a list): the run's main dataset
                   (``main``, or ``otb`` / ``synthetic`` naming it) or an extra dataset of config
                   ``datasets`` (``lasot``, ``got10k``; :mod:`rolo.data.sources`), whose videos get
                   namespaced ids (``lasot__airplane-1``). Training videos train on all their
                   frames (absent frames carry no label); test videos are tracked from frame 0 and
                   every frame is given to the scoring protocol, which is the test dataset's (one
                   test source per experiment): the main dataset's OTB protocol, LaSOT's
                   (pytracking) or GOT-10k's (got10k; ``train`` / ``val`` videos, never the
                   unlabelled ``test`` subset), :mod:`rolo.evaluation.protocols`. No training video
                   may be a test video (:func:`scored_training_videos`).

An experiment's ``detector`` (any split kind) is ``default``, the workflow's detector, or
``finetuned``: the workflow's detector fine-tuned on this experiment's labelled training frames only
(:func:`detector_training_frames`, the frames of ``train_labels``), never on a scored frame's label.
Every experiment that uses the default detector has a *twin* ``<name>_ft``: the same experiment
with its own fine-tuned detector (:func:`finetuned_twins`), planned only when asked for (the
workflow's ``finetune`` target), never part of the default run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rolo.utils.boxes import otb_to_xyxy, xyxy_to_otb

SPLITS = ("disjoint", "held_out_tail", "sparse_labels")
"""Split kinds within one dataset (how an experiment divides frames into training and test; not the
scoring protocol)."""
CROSS_DATASET = "cross_dataset"
"""The split kind across datasets: train on one source's videos, test on another's."""
SPLIT_KINDS = (*SPLITS, CROSS_DATASET)
"""Every split kind an experiment may name."""
SPLIT_NOTES = {
    "disjoint": "One-pass (OTB OPE) on videos never used in training; tracking starts at frame 1 with its ground-truth box.",
    "held_out_tail": "Trained on the first part of every video; tracked from the first held-out frame, given its box; only held-out frames are scored.",
    "sparse_labels": "**Transductive: trained on the test videos' frames** (labels of every k-th frame used); tracked from frame 1; "
    "only the unlabelled frames are scored. Not a one-pass result.",
    "cross_dataset": "Cross-dataset one-pass: trained on all frames of other videos (the experiment's `train`, e.g. "
    "another dataset's; frames whose target is absent carry no label); the test videos are tracked from frame 1 with "
    "its ground-truth box through their last frame and scored by their dataset's protocol (below).",
}
"""What each split kind means for the scores (written above every experiment's tables)."""


DETECTORS = ("default", "finetuned")
"""An experiment's ``detector``: the workflow's own, or one fine-tuned on the experiment's labelled training frames."""
TWIN_SUFFIX = "_ft"
"""``<name>_ft``: experiment ``<name>`` with its own fine-tuned detector (:func:`finetuned_twins`)."""

SPLIT_KEYS = {
    "disjoint": {"required": ("train", "test"), "optional": ()},
    "held_out_tail": {"required": ("videos",), "optional": ("train_fraction",)},
    "sparse_labels": {"required": ("videos",), "optional": ("label_every",)},
    "cross_dataset": {"required": ("train", "test"), "optional": ()},
}
"""The keys of an experiment of each split kind, besides ``split``."""


def check_experiments(experiments: dict) -> None:
    """Check each experiment of a config against its split kind before the schema does, so that an
    error names the experiment, the key and the allowed values (the schema's ``oneOf`` cannot).
    Raises :class:`ValueError` with a one-line message."""
    if not isinstance(experiments, dict):
        raise ValueError("experiments: must be a mapping of experiment names to settings")
    for name, exp in experiments.items():
        where = f"experiments.{name}"
        if not isinstance(exp, dict):
            raise ValueError(f"{where}: must be a mapping with a 'split' key")
        if "protocol" in exp:
            raise ValueError(
                f"{where}.protocol: renamed to 'split' (the scoring protocol is dataset.otb.protocol); "
                f"write split: {exp['protocol']}"
            )
        kind = exp.get("split")
        if kind not in SPLIT_KINDS:
            raise ValueError(f"{where}.split: {kind!r} is not a split kind; allowed: {', '.join(SPLIT_KINDS)}")
        keys = SPLIT_KEYS[kind]
        allowed = ("split", *keys["required"], *keys["optional"], "detector")
        for key in exp:
            if key not in allowed:
                raise ValueError(f"{where}.{key}: not a setting of split {kind}; allowed: {', '.join(allowed)}")
        for key in keys["required"]:
            if key not in exp:
                raise ValueError(f"{where}.{key}: required by split {kind}")
        if "label_every" in exp and not (isinstance(exp["label_every"], int) and exp["label_every"] >= 2):
            raise ValueError(f"{where}.label_every: {exp['label_every']!r}; allowed: an integer >= 2")
        if "detector" in exp and exp["detector"] not in DETECTORS:
            raise ValueError(f"{where}.detector: {exp['detector']!r}; allowed: {', '.join(DETECTORS)}")
        base = name.removesuffix(TWIN_SUFFIX) if isinstance(name, str) else None
        if base != name and isinstance(experiments.get(base), dict) and experiments[base].get("detector", "default") == "default":
            raise ValueError(
                f"{where}: is the name of experiments.{base}'s twin with a fine-tuned detector "
                f"(results/{name}/, the finetune target); rename this experiment"
            )
        if "train_fraction" in exp:
            f = exp["train_fraction"]
            if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f < 1:
                raise ValueError(f"{where}.train_fraction: {f!r}; allowed: a number between 0 and 1 (exclusive)")
        if kind == CROSS_DATASET:
            check_cross_dataset(name, exp)


def _sources(exp: dict, key: str) -> list[dict]:
    value = exp[key]
    return list(value) if isinstance(value, list) else [value]


def check_cross_dataset(name: str, exp: dict) -> None:
    """Check a ``cross_dataset`` experiment's sources (before or after :func:`resolve_sources`):
    each a mapping naming a ``dataset`` and either ``videos`` or ``split``; one test source (one
    test dataset, whose protocol scores the experiment), never GOT-10k's unlabelled ``test``
    subset; no training video scored (:func:`scored_training_videos`). Raises :class:`ValueError`
    with one line naming the setting."""
    from rolo.data.sources import MAIN_NAMES, SOURCE_SPLITS, SOURCES

    where = f"experiments.{name}"
    for key in ("train", "test"):
        sources = _sources(exp, key)
        if key == "test" and isinstance(exp[key], list):
            named = list(dict.fromkeys(
                "main" if s.get("dataset") in MAIN_NAMES else str(s.get("dataset")) for s in sources if isinstance(s, dict)
            ))
            mixed = f"mixes datasets {', '.join(named)}; " if len(named) > 1 else ""
            raise ValueError(
                f"{where}.test: {mixed}one source (a mapping), not a list: an experiment has one test dataset, "
                "scored by its protocol (one experiment per test dataset)"
            )
        if not sources:
            raise ValueError(f"{where}.{key}: at least one source {{dataset: ..., videos: [...]}}")
        for src in sources:
            if not isinstance(src, dict) or "dataset" not in src:
                raise ValueError(f"{where}.{key}: a source is a mapping {{dataset: ..., videos: [...] or split: ...}}, not {src!r}")
            ds = src["dataset"]
            if ds not in (*MAIN_NAMES, *SOURCES):
                raise ValueError(f"{where}.{key}.dataset: {ds!r}; allowed: {', '.join((*MAIN_NAMES, *SOURCES))}")
            extra = sorted(set(src) - {"dataset", "videos", "split"})
            if extra:
                raise ValueError(f"{where}.{key}.{extra[0]}: not a setting of a source; allowed: dataset, videos, split")
            if ("videos" in src) == ("split" in src):
                raise ValueError(f"{where}.{key}: a source names either videos or split (one of them)")
            if ds == "got10k" and src.get("split") == "test":
                raise ValueError(f"{where}.{key}.split: test for dataset got10k: {GOT10K_TEST_NOTE}")
            if "split" in src and src["split"] not in SOURCE_SPLITS.get(ds, ()):
                allowed = ", ".join(SOURCE_SPLITS.get(ds, ())) or f"none (list the {ds} videos)"
                raise ValueError(f"{where}.{key}.split: {src['split']!r} for dataset {ds}; allowed: {allowed}")
            if "videos" in src and (not isinstance(src["videos"], list) or not src["videos"]):
                raise ValueError(f"{where}.{key}.videos: a list of at least one video name")
    scored = scored_training_videos(exp)
    if scored:
        shown = str(scored) if len(scored) <= 5 else f"{str(scored[:5])[:-1]}, ...] ({len(scored)} videos)"
        raise ValueError(
            f"{where}.test: {shown} are training videos of this experiment ({where}.train); "
            "a training video is never scored"
        )


GOT10K_TEST_NOTE = (
    "GOT-10k's test subset has labels on frame 1 only, so it is neither trained on nor scored here; its results "
    "go to GOT-10k's evaluation server (rolo.evaluation.benchmarks.got10k_submission_from_folder, "
    "docs/datasets.md#got-10k); allowed: train, val"
)
"""Why GOT-10k's ``test`` subset is refused as a source (the end of a one-line error)."""


def got10k_test_subset_videos(exp: dict, got10k_root: str | None) -> list[tuple[str, str]]:
    """``[(key, name)]``: the GOT-10k videos a ``cross_dataset`` experiment names (``train`` or
    ``test`` ``videos``) that are in the copy's unlabelled ``test`` subset (``<root>/test/<name>/``)
    and not in ``train`` or ``val``."""
    from pathlib import Path

    if exp.get("split") != CROSS_DATASET or not got10k_root:
        return []
    root = Path(got10k_root)
    return [
        (key, v)
        for key in ("train", "test")
        for s in _sources(exp, key)
        if isinstance(s, dict) and s.get("dataset") == "got10k" and isinstance(s.get("videos"), list)
        for v in s["videos"]
        if (root / "test" / v).is_dir() and not any((root / sub / v).is_dir() for sub in ("train", "val"))
    ]


def _source_ids(source: dict) -> list[str]:
    from rolo.data.sources import video_id

    if "videos" not in source:
        raise ValueError(f"source {source!r}: its split is not resolved into videos (resolve_sources)")
    return [video_id(source["dataset"], v) for v in source["videos"]]


def scored_training_videos(exp: dict) -> list[str]:
    """The video ids of a ``cross_dataset`` experiment both trained on and scored (none allowed);
    sources given by ``split`` (not yet resolved) are left out."""
    ids = lambda key: {v for s in _sources(exp, key) if isinstance(s, dict) and isinstance(s.get("videos"), list)
                       for v in _source_ids(s)}
    return sorted(ids("train") & ids("test"))


def resolve_sources(exp: dict, roots: dict[str, str]) -> dict:
    """A ``cross_dataset`` experiment with every source's ``split`` replaced by its ``videos``
    (:func:`rolo.data.sources.source_names`; ``roots``: ``{dataset: root}`` of config ``datasets``);
    any other experiment unchanged."""
    if exp.get("split") != CROSS_DATASET:
        return exp
    from rolo.data.sources import source_names

    def resolve(src: dict) -> dict:
        if "split" not in src:
            return src
        names = source_names(src["dataset"], roots.get(src["dataset"]), src["split"])
        return {"dataset": src["dataset"], "videos": list(names)}

    out = dict(exp)
    for key in ("train", "test"):
        out[key] = [resolve(s) for s in exp[key]] if isinstance(exp[key], list) else resolve(exp[key])
    return out


def experiment_sources(exp: dict) -> set[str]:
    """The datasets a ``cross_dataset`` experiment reads (``main`` for the run's main dataset)."""
    from rolo.data.sources import MAIN_NAMES

    if exp.get("split") != CROSS_DATASET:
        return {"main"}
    return {"main" if s["dataset"] in MAIN_NAMES else s["dataset"] for k in ("train", "test") for s in _sources(exp, k)}


def test_dataset(exp: dict) -> str:
    """The dataset an experiment tests on, whose protocol scores it: ``main`` (the run's ``dataset``)
    or, for a ``cross_dataset`` experiment, its test source's extra dataset (``lasot``, ``got10k``)."""
    from rolo.data.sources import MAIN_NAMES

    if exp.get("split") != CROSS_DATASET:
        return "main"
    datasets = {"main" if s["dataset"] in MAIN_NAMES else s["dataset"] for s in _sources(exp, "test")}
    if len(datasets) != 1:
        raise ValueError(f"one test dataset per experiment, not {sorted(datasets)}")
    return datasets.pop()


def given_experiments(merged: dict, configfiles) -> dict:
    """The experiments to run: those of the last of ``configfiles`` (the command line's --configfile)
    that sets ``experiments``, as written (not merged with config/config.yaml's exp1-3, which
    Snakemake's merge would keep); ``merged`` when none sets them."""
    import yaml

    chosen = merged
    for path in configfiles or ():
        with open(path) as f:
            loaded = yaml.safe_load(f)
        if isinstance(loaded, dict) and "experiments" in loaded:
            chosen = loaded["experiments"]
    return chosen


@dataclass(frozen=True)
class VideoSplit:
    """One video's role in one experiment. Frame indices are 0-based, ranges half-open.

    ``train``: ``(start, end)`` of the training segment or None; ``train_labels``: frames whose labels
    are training targets; ``test``: ``(start, end)`` of the tracked segment or None; ``start_box``: OTB
    ``(x, y, w, h)``, 1-based, of frame ``test[0]``; ``scored``: frames scored.
    """

    video: str
    frames: int
    train: tuple[int, int] | None
    train_labels: tuple[int, ...]
    test: tuple[int, int] | None
    start_box: tuple[float, float, float, float] | None
    scored: tuple[int, ...]

    def start_box_xyxy(self) -> np.ndarray:
        """The tracker's start box, 0-based ``xyxy``."""
        if self.start_box is None:
            raise ValueError(f"video {self.video}: no test segment in this experiment")
        return otb_to_xyxy(np.asarray(self.start_box))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "VideoSplit":
        def tup(v):
            return None if v is None else tuple(v)

        return cls(
            video=d["video"],
            frames=int(d["frames"]),
            train=tup(d["train"]),
            train_labels=tuple(d["train_labels"]),
            test=tup(d["test"]),
            start_box=tup(d["start_box"]),
            scored=tuple(d["scored"]),
        )


def make_split(
    video: str,
    gt: np.ndarray,
    valid: np.ndarray,
    split: str,
    role: str = "both",
    train_fraction: float = 1 / 3,
    label_every: int = 3,
) -> VideoSplit:
    """Split one video. ``gt (N, 4)`` xyxy, ``valid (N,)``; ``role`` is ``train``/``test`` for ``disjoint``."""
    n = len(gt)
    valid = np.asarray(valid, bool)
    train: tuple[int, int] | None = None
    test: tuple[int, int] | None = None
    labels = np.zeros(n, bool)
    if split in ("disjoint", CROSS_DATASET):
        if role == "train":
            train = (0, n)
            labels[:] = True
        elif role == "test":
            test = (0, n)
        else:
            raise ValueError(f"video {video}: role must be 'train' or 'test' under {split!r}, not {role!r}")
    elif split == "held_out_tail":
        k = int(np.floor(round(n * train_fraction, 9)))  # 90 * 0.7 is 62.999...: floor after rounding
        if not 1 <= k < n:
            raise ValueError(f"video {video}: train_fraction {train_fraction} leaves no training or no test frames ({n} frames)")
        train = (0, k)
        labels[:k] = True
        test = (k, n)
    elif split == "sparse_labels":
        if label_every < 2:
            raise ValueError(f"label_every must be >= 2, not {label_every}")
        train = (0, n)
        labels[::label_every] = True
        test = (0, n)
    else:
        raise ValueError(f"unknown split {split!r}; known: {SPLIT_KINDS}")
    labels &= valid

    start_box = None
    scored: list[int] = []
    if test is not None:
        first_valid = np.flatnonzero(valid[test[0] : test[1]])
        if not len(first_valid):
            raise ValueError(f"video {video}: no valid ground truth in frames {test[0] + 1}..{test[1]}")
        test = (test[0] + int(first_valid[0]), test[1])
        start_box = tuple(float(v) for v in xyxy_to_otb(gt[test[0]]))
        scored = [t for t in range(test[0], test[1]) if not labels[t]]
    return VideoSplit(
        video=video,
        frames=n,
        train=train,
        train_labels=tuple(int(i) for i in np.flatnonzero(labels)),
        test=test,
        start_box=start_box,
        scored=tuple(scored),
    )


def experiment_videos(exp: dict) -> dict[str, str]:
    """``{video: role}`` of an experiment config (role ``train``/``test`` under ``disjoint`` and
    ``cross_dataset``, else ``both``); ``cross_dataset`` videos by id (:func:`rolo.data.sources.video_id`)."""
    if exp["split"] == CROSS_DATASET:
        roles = {v: "train" for v in train_videos(exp)}
        roles.update({v: "test" for v in test_videos(exp)})
        return roles
    if exp["split"] == "disjoint":
        roles = {v: "train" for v in exp["train"]}
        roles.update({v: "test" for v in exp["test"]})
        return roles
    return {v: "both" for v in exp["videos"]}


def finetuned_twins(experiments: dict) -> dict[str, dict]:
    """``{<name>_ft: settings}``: every experiment that uses the default detector, with its own
    fine-tuned detector instead (same split, same videos)."""
    return {
        f"{name}{TWIN_SUFFIX}": {**exp, "detector": "finetuned"}
        for name, exp in experiments.items()
        if exp.get("detector", "default") == "default"
    }


def experiment_settings(experiments: dict, name: str) -> dict:
    """The settings of experiment ``name``: a configured one or a twin (:func:`finetuned_twins`)."""
    if name in experiments:
        return experiments[name]
    twins = finetuned_twins(experiments)
    if name in twins:
        return twins[name]
    raise KeyError(name)


def experiment_detector(experiments: dict, name: str) -> str | None:
    """The detector experiment ``name`` extracts with: None for the workflow's detector, else the name
    of the experiment whose labelled training frames fine-tune it (``name`` itself, or for a twin
    ``<base>_ft`` its ``<base>``: a twin and its base share splits, hence the detector)."""
    if experiment_settings(experiments, name).get("detector", "default") == "default":
        return None
    return name if name in experiments else name.removesuffix(TWIN_SUFFIX)


def detector_training_frames(splits: dict[str, "VideoSplit"]) -> dict[str, tuple[int, ...]]:
    """``{video: frames}`` (0-based) whose labels an experiment's fine-tuned detector trains on:
    exactly the experiment's labelled training frames (``train_labels``); videos with none are left
    out. By the split rules none of them is scored, and none lies in a tracked segment except, in
    ``sparse_labels``, the labelled frames its models train on too (not scored)."""
    return {v: tuple(s.train_labels) for v, s in splits.items() if s.train_labels}


def test_videos(exp: dict) -> list[str]:
    if exp["split"] == CROSS_DATASET:
        return list(dict.fromkeys(v for s in _sources(exp, "test") for v in _source_ids(s)))
    return list(exp["test"]) if exp["split"] == "disjoint" else list(exp["videos"])


def train_videos(exp: dict) -> list[str]:
    if exp["split"] == CROSS_DATASET:
        return list(dict.fromkeys(v for s in _sources(exp, "train") for v in _source_ids(s)))
    return list(exp["train"]) if exp["split"] == "disjoint" else list(exp["videos"])


MIN_TEST_FRAMES = 10
"""A test segment shorter than this gets a warning (:func:`split_warnings`)."""


def split_warnings(name: str, split: VideoSplit) -> list[str]:
    """One-line warnings for a split that runs but whose scores mean little: a test segment shorter
    than :data:`MIN_TEST_FRAMES` frames, a training part without a single label."""
    out = []
    where = f"experiments.{name}, video {split.video}"
    if split.test is not None and split.test[1] - split.test[0] < MIN_TEST_FRAMES:
        a, b = split.test
        out.append(
            f"warning: {where}: test segment of {b - a} frame(s) (frames {a + 1}..{b} of {split.frames}), "
            f"shorter than {MIN_TEST_FRAMES}; its scores are noise (lower train_fraction?)"
        )
    if split.train is not None and not split.train_labels:
        a, b = split.train
        out.append(f"warning: {where}: no labelled frame in its training part (frames {a + 1}..{b}); it trains on nothing")
    return out


def write_splits_job(exp: dict, seq_dirs: dict[str, str], out_json, name: str = "", warn=None) -> None:
    """Pipeline stage: every video's split of one experiment -> ``splits.json`` ``{video: split}``.
    ``warn(line)`` receives the :func:`split_warnings` of experiment ``name``."""
    from rolo.data.sequences import load_sequence
    from rolo.utils.io import save_json

    splits = {}
    for video, role in experiment_videos(exp).items():
        seq = load_sequence(seq_dirs[video], name=video)
        splits[video] = make_split(
            video,
            seq.gt,
            seq.valid,
            exp["split"],
            role=role,
            train_fraction=float(exp.get("train_fraction", 1 / 3)),
            label_every=int(exp.get("label_every", 3)),
        )
        for line in split_warnings(name, splits[video]) if warn else ():
            warn(line)
        splits[video] = splits[video].to_dict()
    save_json(out_json, {"split": exp["split"], "videos": splits})


def read_splits(path) -> dict[str, VideoSplit]:
    import json

    with open(path) as f:
        return {v: VideoSplit.from_dict(d) for v, d in json.load(f)["videos"].items()}
