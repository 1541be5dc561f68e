"""Cross-dataset experiments (issue 16, item 4): config ``datasets`` (LaSOT, GOT-10k copies read in
place) and experiments of split ``cross_dataset``. Unit tests of the video ids, the config checks
and the OTB-layout view (absent frames carry no label); then a tiny experiment end to end: ROLO
trained on a fake LaSOT-train (two videos, absent frames) and tested on the tiny workflow's
synthetic D and E, reusing the session's detector and features, so that nothing heavy is retrained."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, TINY_CONFIG, planned_jobs, snakemake, write_config
from rolo.data import sources
from rolo.data.sequences import list_frames, load_sequence, read_otb_boxes
from rolo.data import splits as sp
from rolo.data.splits import (
    check_experiments,
    experiment_videos,
    make_split,
    read_splits,
    resolve_sources,
    scored_training_videos,
    train_videos,
)
from rolo.errors import RoloInputError
from test_got10k import make_val_sequence
from test_lasot import make_sequence, plain_boxes

WILDCARD = re.compile(r"^[A-Za-z0-9_.-]+$")  # the workflow's `video` wildcard (workflow/rules/common.smk)

XLASOT = {
    "split": "cross_dataset",
    "train": {"dataset": "lasot", "videos": ["airplane-2", "bear-1"]},
    "test": {"dataset": "synthetic", "videos": ["D", "E"]},
}


# --- video ids ------------------------------------------------------------------------------------


def test_ids_are_namespaced_wildcard_safe_and_never_collide():
    assert sources.video_id("lasot", "airplane-2") == "lasot__airplane-2"
    assert sources.video_id("got10k", "GOT-10k_Train_000001") == "got10k__GOT-10k_Train_000001"
    for main in sources.MAIN_NAMES:
        assert sources.video_id(main, "Basketball") == "Basketball"  # main-dataset names unchanged
    for ds, name in (("lasot", "airplane-2"), ("got10k", "GOT-10k_Val_000004"), ("lasot", "rubicCube-14")):
        vid = sources.video_id(ds, name)
        assert WILDCARD.match(vid) and sources.parse_video_id(vid) == (ds, name)
    # the same name in two datasets and the main one: three ids
    ids = {sources.video_id(d, "bear-1") for d in ("main", "lasot", "got10k")}
    assert len(ids) == 3
    assert sources.parse_video_id("bear-1") == (None, "bear-1")
    assert sources.parse_video_id("Human4__2") == (None, "Human4__2")  # not a source prefix: a plain name
    with pytest.raises(ValueError, match="unknown dataset 'vot'"):
        sources.video_id("vot", "ball")


def test_experiment_videos_are_ids_with_roles():
    exp = {
        "split": "cross_dataset",
        "train": [{"dataset": "lasot", "videos": ["bear-1"]}, {"dataset": "synthetic", "videos": ["bear-1", "A"]}],
        "test": {"dataset": "main", "videos": ["D"]},
    }
    check_experiments({"x": exp})
    assert train_videos(exp) == ["lasot__bear-1", "bear-1", "A"]
    assert sp.test_videos(exp) == ["D"]
    assert experiment_videos(exp) == {"lasot__bear-1": "train", "bear-1": "train", "A": "train", "D": "test"}


# --- config checks --------------------------------------------------------------------------------


def test_a_scored_training_video_is_rejected_naming_the_setting():
    exp = copy.deepcopy(XLASOT)
    exp["train"] = [exp["train"], {"dataset": "synthetic", "videos": ["D"]}]  # D is also a test video
    assert scored_training_videos(exp) == ["D"]
    with pytest.raises(ValueError) as e:
        check_experiments({"xlasot": exp})
    msg = str(e.value)
    assert msg == (
        "experiments.xlasot.test: ['D'] are training videos of this experiment (experiments.xlasot.train); "
        "a training video is never scored"
    )
    assert "\n" not in msg
    # the same names in different datasets are different videos: allowed
    ok = copy.deepcopy(XLASOT)
    ok["train"]["videos"] = ["D"]  # lasot's "D" (not a LaSOT name, but ids do not check names)
    assert scored_training_videos(ok) == []
    check_experiments({"xlasot": XLASOT})


@pytest.mark.parametrize(
    "change, message",
    [
        ({"test": [{"dataset": "main", "videos": ["D"]}]}, r"experiments\.x\.test: one source \(a mapping\), not a list"),
        ({"test": [{"dataset": "lasot", "split": "test"}, {"dataset": "synthetic", "videos": ["D"]}]},
         r"^experiments\.x\.test: mixes datasets lasot, main; one source \(a mapping\), not a list: an experiment has one "
         r"test dataset, scored by its protocol"),
        ({"test": {"dataset": "got10k", "split": "test"}},
         r"^experiments\.x\.test\.split: test for dataset got10k: GOT-10k's test subset has labels on frame 1 only, .*"
         r"evaluation server \(rolo\.evaluation\.benchmarks\.got10k_submission_from_folder"),
        ({"test": {"dataset": "lasot", "videos": ["bear-1", "airplane-1"]}},
         r"^experiments\.x\.test: \['lasot__bear-1'\] are training videos of this experiment \(experiments\.x\.train\); "
         r"a training video is never scored$"),
        ({"train": {"dataset": "lasot", "split": "val"}}, r"experiments\.x\.train\.split: 'val' for dataset lasot; allowed: train, test, all"),
        ({"train": {"dataset": "lasot", "split": "train", "videos": ["bear-1"]}}, r"experiments\.x\.train: a source names either videos or split"),
        ({"train": {"dataset": "vot", "videos": ["ball"]}}, r"experiments\.x\.train\.dataset: 'vot'; allowed: main, otb, synthetic, lasot, got10k"),
        ({"train": {"dataset": "main", "split": "train"}}, r"experiments\.x\.train\.split: 'train' for dataset main; allowed: none"),
        ({"train": {"dataset": "lasot", "videos": ["bear-1"], "every": 2}}, r"experiments\.x\.train\.every: not a setting of a source"),
        ({"videos": ["A"]}, r"experiments\.x\.videos: not a setting of split cross_dataset"),
    ],
)
def test_config_mistakes_name_the_setting(change, message):
    with pytest.raises(ValueError, match=message) as e:
        check_experiments({"x": {**XLASOT, **change}})
    assert "\n" not in str(e.value)


def test_extra_datasets_are_test_sets_scored_by_their_protocol(tmp_path):
    """LaSOT-test and GOT-10k-val (or listed videos) as an experiment's test set; its test dataset
    decides the protocol; a resolved split that overlaps the training videos is refused in one line;
    a GOT-10k video of the unlabelled test subset is found wherever a source lists it."""
    for test in ({"dataset": "lasot", "split": "test"}, {"dataset": "got10k", "split": "val"},
                 {"dataset": "got10k", "videos": ["GOT-10k_Val_000001"]}, {"dataset": "lasot", "videos": ["airplane-1"]}):
        check_experiments({"x": {**XLASOT, "test": test}})
        assert sp.test_dataset({**XLASOT, "test": test}) == test["dataset"]
    assert sp.test_dataset(XLASOT) == "main" and sp.test_dataset({"split": "disjoint", "train": ["A"], "test": ["D"]}) == "main"
    exp = resolve_sources({**XLASOT, "train": {"dataset": "lasot", "split": "all"}, "test": {"dataset": "lasot", "split": "test"}}, {})
    with pytest.raises(ValueError, match=r"^experiments\.x\.test: \['lasot__airplane-1', .*, \.\.\.\] \(280 videos\) are training "
                       r"videos of this experiment \(experiments\.x\.train\); a training video is never scored$"):
        check_experiments({"x": exp})
    for subset, name in (("test", "GOT-10k_Test_000001"), ("val", "GOT-10k_Val_000001")):
        (tmp_path / subset / name).mkdir(parents=True)
    exp = {**XLASOT, "train": [XLASOT["train"], {"dataset": "got10k", "videos": ["GOT-10k_Val_000001"]}],
           "test": {"dataset": "got10k", "videos": ["GOT-10k_Test_000001"]}}
    assert sp.got10k_test_subset_videos(exp, str(tmp_path)) == [("test", "GOT-10k_Test_000001")]
    assert sp.got10k_test_subset_videos(exp, None) == [] and sp.got10k_test_subset_videos(XLASOT, str(tmp_path)) == []


def test_sources_given_by_split_resolve_into_videos(tmp_path):
    exp = {"split": "cross_dataset", "train": [{"dataset": "lasot", "split": "train"}, {"dataset": "got10k", "split": "val"}],
           "test": {"dataset": "main", "videos": ["D"]}}
    (tmp_path / "val").mkdir()
    (tmp_path / "val" / "list.txt").write_text("GOT-10k_Val_000002\nGOT-10k_Val_000001\n")
    resolved = resolve_sources(exp, {"got10k": str(tmp_path)})
    ids = train_videos(resolved)
    assert len(ids) == 1120 + 2 and ids[-2:] == ["got10k__GOT-10k_Val_000002", "got10k__GOT-10k_Val_000001"]
    assert "lasot__airplane-2" in ids and "lasot__airplane-1" not in ids  # airplane-1 is a LaSOT test video
    assert resolve_sources(XLASOT, {}) == XLASOT and resolve_sources({"split": "disjoint"}, {}) == {"split": "disjoint"}


def test_the_cross_dataset_config_passes_the_checks_and_the_schema():
    import yaml
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    extra = yaml.safe_load((REPO / "config/cross_dataset.yaml").read_text())
    config.update(extra)
    check_experiments(config["experiments"])
    validate(config, str(REPO / "workflow/schemas/config.schema.yaml"))
    kinds = {n: e["split"] for n, e in config["experiments"].items()}
    assert kinds == {"exp1": "disjoint", "xlasot": "cross_dataset", "xgot10k": "cross_dataset", "xboth": "cross_dataset",
                     "xgot10k_lasot": "cross_dataset", "xlasot_got10k": "cross_dataset"}
    for name in ("xlasot", "xgot10k", "xboth"):  # the same test videos as exp1, never trained on
        assert sp.test_videos(config["experiments"][name]) == config["experiments"]["exp1"]["test"]
    # and the two tested on another dataset's benchmark, by its protocol
    assert config["experiments"]["xgot10k_lasot"]["test"] == {"dataset": "lasot", "split": "test"}
    assert config["experiments"]["xlasot_got10k"]["test"] == {"dataset": "got10k", "split": "val"}


# --- the OTB-layout view ----------------------------------------------------------------------------


def snapshot(root: Path) -> dict:
    """Every path under ``root`` with its size and mtime: a copy read in place must not change."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def test_lasot_view_writes_absent_frames_as_unlabelled_and_leaves_the_copy_alone(tmp_path):
    root = tmp_path / "LaSOT"
    boxes = plain_boxes(8, seed=1)
    boxes[2] = 0  # full occlusion, 0,0,0,0
    make_sequence(root / "bear" / "bear-1", boxes, full=[0, 0, 1, 0, 0, 0, 0, 0], oov=[0, 0, 0, 0, 0, 1, 0, 0])
    before = snapshot(root)
    view = tmp_path / "view"
    meta = sources.link_source_sequence("lasot", root, "bear-1", view)
    assert snapshot(root) == before
    assert meta | {"source": None} == {"dataset": "lasot", "name": "bear-1", "video": "lasot__bear-1", "source": None,
                                       "frames": 8, "absent": 2, "unlabelled": 2}
    assert json.loads((view / sources.SOURCE_JSON).read_text()) == meta
    written = read_otb_boxes(view / "groundtruth_rect.txt")
    np.testing.assert_array_equal(written[[2, 5]], 0)  # out of view (5): its box kept in the copy, not here
    keep = [0, 1, 3, 4, 6, 7]
    np.testing.assert_array_equal(written[keep], boxes[keep])
    links = sorted((view / "img").iterdir())
    assert [p.name for p in links] == [f"{i:08d}.jpg" for i in range(1, 9)]
    assert all(p.is_symlink() and p.resolve().parent == (root / "bear/bear-1/img").resolve() for p in links)
    seq = load_sequence(view, name="lasot__bear-1")
    assert list(np.flatnonzero(~seq.valid)) == [2, 5]
    split = make_split("lasot__bear-1", seq.gt, seq.valid, "cross_dataset", role="train")
    assert split.train == (0, 8) and split.train_labels == tuple(keep) and split.scored == ()
    test = make_split("D", seq.gt, seq.valid, "cross_dataset", role="test")
    assert test.test == (0, 8) and test.scored == tuple(range(8))  # every frame, from frame 1


def test_got10k_view_and_a_missing_video(tmp_path):
    root = tmp_path / "GOT-10k"
    truth = make_val_sequence(root / "val" / "GOT-10k_Val_000001", 12, (64, 48), np.random.default_rng(3))
    view = tmp_path / "view"
    meta = sources.link_source_sequence("got10k", root, "GOT-10k_Val_000001", view)
    written = read_otb_boxes(view / "groundtruth_rect.txt")
    gone = truth["cover"] == 0
    assert meta["absent"] == gone.sum() and meta["unlabelled"] >= gone.sum()
    np.testing.assert_array_equal(written[gone], 0)
    assert len(list((view / "img").iterdir())) == 12  # frames only: no label file linked
    with pytest.raises(RoloInputError, match="GOT-10k sequence folder not found"):
        sources.source_folder("got10k", root, "GOT-10k_Val_000009")
    with pytest.raises(RoloInputError, match="LaSOT sequence folder not found"):
        sources.source_folder("lasot", tmp_path / "GOT-10k", "bear-1")


# --- end to end on the tiny workflow ------------------------------------------------------------------

ABSENT = {"airplane-2": 4, "bear-1": 9}
"""0-based frame of each fake LaSOT video whose target is absent (full occlusion / out of view)."""


def fake_lasot(tiny_workflow: Path, root: Path) -> dict[str, int]:
    """LaSOT-layout copies of the tiny workflow's synthetic A and B (their frames and boxes), with
    one absent frame each: airplane-2 fully occluded (0,0,0,0), bear-1 out of view (box kept)."""
    lengths = {}
    for name, synthetic in (("airplane-2", "A"), ("bear-1", "B")):
        src = tiny_workflow / "resources/synthetic" / synthetic
        boxes = read_otb_boxes(src / "groundtruth_rect.txt")
        n = len(boxes)
        folder = root / name.split("-")[0] / name
        (folder / "img").mkdir(parents=True)
        for i, f in enumerate(list_frames(src / "img"), start=1):
            shutil.copyfile(f, folder / "img" / f"{i:08d}.jpg")
        full, oov = np.zeros(n, int), np.zeros(n, int)
        if name == "airplane-2":
            full[ABSENT[name]] = 1
            boxes[ABSENT[name]] = 0
        else:
            oov[ABSENT[name]] = 1
        (folder / "groundtruth.txt").write_text("".join(",".join(f"{v:g}" for v in r) + "\n" for r in boxes))
        (folder / "full_occlusion.txt").write_text(",".join(map(str, full)) + "\n")
        (folder / "out_of_view.txt").write_text(",".join(map(str, oov)) + "\n")
        lengths[name] = n
    return lengths


def cross_config(lasot_root: Path) -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    config["datasets"] = {"lasot": {"root": str(lasot_root)}}
    config["experiments"] = {"xlasot": copy.deepcopy(XLASOT)}
    config["trackers"] = ["rolo_paper", "yolo", "start_box"]
    config["sweeps"] = None
    config["heatmap_figures"] = None
    return config


@pytest.fixture(scope="module")
def cross_run(tiny_workflow, tmp_path_factory):
    """The tiny workflow's sequences, detector and features (mtimes kept, no Snakemake metadata:
    mtime decides) with the cross-dataset experiment, dry-run then run to its table."""
    work = tmp_path_factory.mktemp("cross_dataset")
    for part in ("resources/synthetic", "results/detector", "results/features"):
        shutil.copytree(tiny_workflow / part, work / part, symlinks=True)
    lasot_root = tmp_path_factory.mktemp("LaSOT")
    lengths = fake_lasot(tiny_workflow, lasot_root)
    before = snapshot(lasot_root)
    write_config(work, cross_config(lasot_root))
    args = ["results/xlasot/aos.csv", "--rerun-triggers", "mtime"]
    dry = planned_jobs(snakemake(work, *args, "-n"))
    snakemake(work, *args)
    again = planned_jobs(snakemake(work, *args, "-n"))
    return {"work": work, "root": lasot_root, "lengths": lengths, "before": before, "dry": dry, "again": again}


def test_cross_dataset_plans_only_its_own_jobs(cross_run):
    """Two views and two extractions (one job per LaSOT video), one split, one model, one track per
    tracker, one table; the detector and the synthetic videos' features are reused; a rerun plans nothing."""
    assert cross_run["dry"] == {"source_sequence": 2, "extract_features": 2, "splits": 1, "train_rolo": 1,
                                "track": 3, "evaluate": 1}, cross_run["dry"]
    assert cross_run["again"] == {}


def test_cross_dataset_trains_on_lasot_and_scores_every_test_frame(cross_run):
    work, lengths = cross_run["work"], cross_run["lengths"]
    assert snapshot(cross_run["root"]) == cross_run["before"]  # the copy is read in place, never written
    splits = read_splits(work / "results/xlasot/splits.json")
    assert set(splits) == {"lasot__airplane-2", "lasot__bear-1", "D", "E"}
    for name, n in lengths.items():
        s = splits[f"lasot__{name}"]
        assert s.train == (0, n) and s.test is None and s.scored == ()
        assert s.train_labels == tuple(i for i in range(n) if i != ABSENT[name])  # absent: no label
        view = work / "resources/datasets/lasot" / name
        assert (view / "groundtruth_rect.txt").read_text().splitlines()[ABSENT[name]] == "0,0,0,0"
        feats = np.load(work / f"results/features/lasot__{name}/features.npy", mmap_mode="r")
        assert len(feats) == n
    for v in ("D", "E"):
        s = splits[v]
        gt = read_otb_boxes(work / f"resources/synthetic/{v}/groundtruth_rect.txt")
        assert s.train is None and s.test == (0, len(gt)) and s.scored == tuple(range(len(gt)))
        np.testing.assert_allclose(s.start_box, gt[0])
    assert (work / "results/xlasot/models/coordinate_s6.pt").is_file()
    aos = pd.read_csv(work / "results/xlasot/aos.csv")
    assert set(aos.tracker) == {"rolo_paper", "yolo", "start_box"}
    assert set(aos.sequence) == {"D", "E", "ALL"}
    rows = aos[aos.sequence != "ALL"]
    assert (rows.frames == rows.sequence.map({v: len(splits[v].scored) for v in ("D", "E")})).all()
    assert aos.aos.between(0, 1).all()
    md = (work / "results/xlasot/aos.md").read_text()
    assert "Cross-dataset one-pass" in md


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c["experiments"]["xlasot"]["train"]["videos"].append("airplane-4"),
         r"datasets\.lasot\.root: .*airplane/airplane-4: LaSOT sequence folder not found"),
        (lambda c: c.pop("datasets"), r"experiments\.xlasot: reads dataset lasot, which datasets\.lasot does not declare"),
        (lambda c: c["experiments"]["xlasot"]["test"].update(dataset="otb"),
         r"experiments\.xlasot\.test\.dataset: otb, but this run's dataset is synthetic"),
        (lambda c: c["experiments"]["xlasot"]["test"].update(videos=["lasot__D"]),
         r"experiments\.xlasot: \['lasot__D'\] are named like another dataset's videos"),
    ],
)
def test_workflow_mistakes_stop_the_planning_naming_the_setting(cross_run, change, message, tmp_path):
    config = cross_config(cross_run["root"])
    change(config)
    write_config(tmp_path, config)  # an empty workdir: the whole graph is planned
    proc = snakemake(tmp_path, "results/xlasot/aos.csv", "-n", check=False)
    assert proc.returncode != 0 and re.search(message, proc.stderr + proc.stdout), proc.stderr[-3000:]


def test_a_finetuned_detector_trains_on_the_other_datasets_labelled_frames(cross_run, tmp_path):
    """detector: finetuned on a cross-dataset experiment: one fine-tuning job, whose sequences are
    the two LaSOT views only (never D or E, the scored videos), then extraction per (detector, video)."""
    config = cross_config(cross_run["root"])
    config["experiments"]["xlasot"]["detector"] = "finetuned"
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "results/xlasot/aos.csv", "-n", "-p", "--rerun-triggers", "mtime")
    jobs = planned_jobs(proc)
    assert jobs["train_detector_ft"] == 1 and jobs["extract_features_ft"] == 4 and "extract_features" not in jobs, jobs
    block = re.search(r"rule train_detector_ft:\n(.*?)\n\n", proc.stdout, re.S).group(1)
    inputs = re.search(r"input: (.*)", block).group(1).split(", ")
    seqs = sorted(p for p in inputs if p.endswith("groundtruth_rect.txt"))
    assert seqs == [f"resources/datasets/lasot/{n}/groundtruth_rect.txt" for n in ("airplane-2", "bear-1")], inputs


# --- LaSOT-test and GOT-10k-val as test sets, end to end ---------------------------------------------

LASOT_TEST = {"airplane-1": "D", "bear-2": "E"}
"""Fake LaSOT test videos (official test names) made of the tiny workflow's synthetic D and E."""
LASOT_GONE = {"airplane-1": {"full": 6, "oov": 20}, "bear-2": {"oov": 3}}
"""0-based frames with the target fully occluded (box 0,0,0,0) or out of view (box kept in the copy)."""
GOT10K_VAL = {"GOT-10k_Val_000001": "D", "GOT-10k_Val_000002": "E"}
"""Fake GOT-10k val videos made of D and E; ``val/list.txt`` lists them in this order."""


def _frames(tiny_workflow: Path, synthetic: str) -> tuple[list[Path], np.ndarray]:
    src = tiny_workflow / "resources/synthetic" / synthetic
    return list_frames(src / "img"), read_otb_boxes(src / "groundtruth_rect.txt")


def fake_lasot_test(tiny_workflow: Path, root: Path) -> None:
    """LaSOT-layout test videos beside :func:`fake_lasot`'s training ones, with absent frames."""
    for name, synthetic in LASOT_TEST.items():
        frames, boxes = _frames(tiny_workflow, synthetic)
        folder = root / name.split("-")[0] / name
        (folder / "img").mkdir(parents=True)
        for i, f in enumerate(frames, start=1):
            shutil.copyfile(f, folder / "img" / f"{i:08d}.jpg")
        full, oov = np.zeros(len(boxes), int), np.zeros(len(boxes), int)
        gone = LASOT_GONE[name]
        if "full" in gone:
            full[gone["full"]] = 1
            boxes[gone["full"]] = 0
        oov[gone["oov"]] = 1
        (folder / "groundtruth.txt").write_text("".join(",".join(f"{v:g}" for v in r) + "\n" for r in boxes))
        (folder / "full_occlusion.txt").write_text(",".join(map(str, full)) + "\n")
        (folder / "out_of_view.txt").write_text(",".join(map(str, oov)) + "\n")


def fake_got10k(tiny_workflow: Path, root: Path) -> dict[str, np.ndarray]:
    """A GOT-10k copy whose val subset holds D and E: in GOT-10k_Val_000001 frame 5 absent (cover 0,
    absence 1, box 0,0,0,0) and frame 9 fully occluded (cover 0, box kept); in GOT-10k_Val_000002 a
    box hanging past the left edge (got10k clips it). Its test subset holds one video labelled on
    frame 1 only. Returns each val video's cover labels."""
    (root / "val").mkdir(parents=True)
    (root / "val/list.txt").write_text("".join(f"{n}\n" for n in GOT10K_VAL))
    covers = {}
    for k, (name, synthetic) in enumerate(GOT10K_VAL.items()):
        frames, boxes = _frames(tiny_workflow, synthetic)
        folder = root / "val" / name
        folder.mkdir()
        for i, f in enumerate(frames, start=1):
            shutil.copyfile(f, folder / f"{i:08d}.jpg")
        n = len(boxes)
        cover = np.random.default_rng(k).integers(1, 9, n)
        absence = np.zeros(n, int)
        if k == 0:
            cover[[4, 8]] = 0
            absence[4] = 1
            boxes[4] = 0
        else:
            boxes[2, 2] += boxes[2, 0] + 5
            boxes[2, 0] = -5
        np.savetxt(folder / "groundtruth.txt", boxes, fmt="%.4f", delimiter=",")
        for label, values in (("absence", absence), ("cover", cover), ("cut_by_image", (boxes[:, 0] < 1).astype(int))):
            (folder / f"{label}.label").write_text("".join(f"{v}\n" for v in values))
        (folder / "meta_info.ini").write_text(
            "[METAINFO]\nurl: https://example.invalid/v\nobject_class: ant\nresolution: (160, 120)\n"
        )
        covers[name] = cover
    test = root / "test" / "GOT-10k_Test_000001"
    test.mkdir(parents=True)
    shutil.copyfile(_frames(tiny_workflow, "D")[0][0], test / "00000001.jpg")
    (test / "groundtruth.txt").write_text("10,10,20,20\n")
    (root / "test/list.txt").write_text("GOT-10k_Test_000001\n")
    return covers


TEST_SETS = {
    "xlasot_test": {"dataset": "lasot", "videos": list(LASOT_TEST)},
    "xgot10k_val": {"dataset": "got10k", "split": "val"},
}


def config_with_test_sets(lasot_root: Path, got10k_root: Path) -> dict:
    config = cross_config(lasot_root)
    config["datasets"]["got10k"] = {"root": str(got10k_root)}
    config["experiments"] = {
        name: {"split": "cross_dataset", "train": copy.deepcopy(XLASOT["train"]), "test": copy.deepcopy(test)}
        for name, test in TEST_SETS.items()
    }
    return config


@pytest.fixture(scope="module")
def test_set_run(tiny_workflow, tmp_path_factory):
    """Two experiments trained on the fake LaSOT-train: one tested on fake LaSOT-test videos, one on
    a fake GOT-10k val subset; run to their tables (and the GOT-10k one's success plot)."""
    work = tmp_path_factory.mktemp("test_sets")
    for part in ("resources/synthetic", "results/detector"):
        shutil.copytree(tiny_workflow / part, work / part, symlinks=True)
    lasot_root, got10k_root = tmp_path_factory.mktemp("LaSOT_test"), tmp_path_factory.mktemp("GOT-10k")
    fake_lasot(tiny_workflow, lasot_root)
    fake_lasot_test(tiny_workflow, lasot_root)
    covers = fake_got10k(tiny_workflow, got10k_root)
    before = snapshot(lasot_root), snapshot(got10k_root)
    write_config(work, config_with_test_sets(lasot_root, got10k_root))
    snakemake(work, "results/xlasot_test/aos.csv", "results/xgot10k_val/aos.csv",
              "results/xgot10k_val/figures/success_precision.png", "--rerun-triggers", "mtime")
    assert (snapshot(lasot_root), snapshot(got10k_root)) == before  # the copies are only read
    return {"work": work, "lasot": lasot_root, "got10k": got10k_root, "covers": covers}


def _results_as(work: Path, exp: str, tracker: str, ids: dict[str, str], out: Path, layout: str) -> Path:
    """The workflow's track files of ``tracker`` named as the dataset names them (``ids``: name ->
    video id): ``<name>.txt`` (pytracking) or ``<name>/<name>_001.txt`` and a timing file (got10k)."""
    for name, video in ids.items():
        boxes = read_otb_boxes(work / f"results/{exp}/tracks/{tracker}/{video}.txt", allow_invalid=True)
        path = out / f"{name}.txt" if layout == "pytracking" else out / name / f"{name}_001.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savetxt(path, boxes, fmt="%.17g", delimiter=",")
        if layout == "got10k":
            np.savetxt(out / name / f"{name}_time.txt", np.full(len(boxes), 0.01), fmt="%.8f")
    return out


TRACKERS3 = ("rolo_paper", "yolo", "start_box")
CSV = 5e-5 + 1e-12  # aos.csv holds 4 decimals


def test_lasot_test_set_is_scored_as_pytracking_scores_the_tracks(test_set_run, tmp_path):
    from rolo.evaluation.benchmarks import score_lasot

    work = test_set_run["work"]
    splits = read_splits(work / "results/xlasot_test/splits.json")
    ids = {name: f"lasot__{name}" for name in LASOT_TEST}
    for name, video in ids.items():  # tracked from frame 1, given its box, through the last frame
        boxes = read_otb_boxes(test_set_run["lasot"] / name.split("-")[0] / name / "groundtruth.txt")
        s = splits[video]
        assert s.test == (0, len(boxes)) and s.train is None
        np.testing.assert_allclose(s.start_box, boxes[0])
    # the view writes the out-of-view frame 0,0,0,0; the copy keeps its box; the scorer reads the copy's flags
    oov = LASOT_GONE["airplane-1"]["oov"]
    assert (work / "resources/datasets/lasot/airplane-1/groundtruth_rect.txt").read_text().splitlines()[oov] == "0,0,0,0"
    aos = pd.read_csv(work / "results/xlasot_test/aos.csv")
    assert list(aos.columns) == ["sequence", "tracker", "protocol", "frames", "visible", "aos", "success_auc",
                                 "success_50", "precision_20", "norm_precision_20"]
    assert set(aos.protocol) == {"lasot"} and set(aos.tracker) == set(TRACKERS3)
    curves = pd.read_csv(work / "results/xlasot_test/curves.csv")
    for tracker in TRACKERS3:
        results = _results_as(work, "xlasot_test", tracker, ids, tmp_path / tracker, "pytracking")
        table, oracle_curves = score_lasot(test_set_run["lasot"], results, names=list(LASOT_TEST), tracker=tracker)
        ours = aos[aos.tracker == tracker].set_index("sequence")
        for _, row in table.iterrows():
            mine = ours.loc[ids.get(row.sequence, row.sequence)]
            assert mine.frames == row.frames and mine.visible == row.visible
            for col in ("success_auc", "success_50", "precision_20", "norm_precision_20"):
                assert mine[col] == pytest.approx(row[col], abs=CSV), (tracker, row.sequence, col)
            assert mine.aos == pytest.approx(row.ao, abs=CSV)
        mine = curves[(curves.tracker == tracker) & (curves.sequence == "ALL")].value.to_numpy()
        np.testing.assert_allclose(mine, oracle_curves[oracle_curves.sequence == "ALL"].value, atol=5e-7 + 1e-12)
    assert ours.frames["lasot__airplane-1"] == 36 and ours.visible["lasot__airplane-1"] == 34
    md = (work / "results/xlasot_test/aos.md").read_text()
    assert "Scoring protocol `lasot` (pytracking's LaSOT analysis" in md
    summary = pd.read_csv(work / "results/xlasot_test/summary.csv")
    assert set(summary.protocol) == {"lasot"} and summary.success_auc.is_monotonic_decreasing


def test_got10k_val_test_set_is_scored_as_got10k_scores_the_tracks(test_set_run, tmp_path):
    from rolo.evaluation.benchmarks import score_got10k_val

    work, covers = test_set_run["work"], test_set_run["covers"]
    ids = {name: f"got10k__{name}" for name in GOT10K_VAL}
    splits = read_splits(work / "results/xgot10k_val/splits.json")
    assert {v for v, s in splits.items() if s.test} == set(ids.values())
    aos = pd.read_csv(work / "results/xgot10k_val/aos.csv")
    assert list(aos.columns) == ["sequence", "tracker", "protocol", "frames", "aos", "sr_50", "sr_75"]
    assert set(aos.protocol) == {"got10k-val"}
    frames = {ids[n]: int((c[1:] > 0).sum()) for n, c in covers.items()}  # frame 1 and cover == 0 left out
    assert frames["got10k__GOT-10k_Val_000001"] == 35 - 2
    try:
        import matplotlib

        matplotlib.use("Agg")
        from got10k.experiments.got10k import ExperimentGOT10k
    except ImportError:
        ExperimentGOT10k = None
    for tracker in TRACKERS3:
        # (got10k's ExperimentGOT10k reads <result_dir>/GOT-10k/<tracker>/<seq>/<seq>_001.txt)
        results = _results_as(work, "xgot10k_val", tracker, ids, tmp_path / "results/GOT-10k" / tracker, "got10k")
        table, _ = score_got10k_val(test_set_run["got10k"], results, tracker=tracker)
        ours = aos[aos.tracker == tracker].set_index("sequence")
        assert ours.frames.to_dict() == {**frames, "ALL": sum(frames.values())}
        for _, row in table.iterrows():
            mine = ours.loc[ids.get(row.sequence, row.sequence)]
            assert mine.frames == row.frames
            for col, theirs in (("aos", "ao"), ("sr_50", "sr_50"), ("sr_75", "sr_75")):
                assert mine[col] == pytest.approx(row[theirs], abs=CSV), (tracker, row.sequence, col)
        if ExperimentGOT10k is not None:  # got10k itself on the same files (tests/test_got10k.py: bit for bit)
            experiment = ExperimentGOT10k(str(test_set_run["got10k"]), subset="val", result_dir=str(tmp_path / "results"),
                                          report_dir=str(tmp_path / "reports"))
            oracle = experiment.report([tracker])[tracker]
            for name, video in ids.items():
                assert ours.aos[video] == pytest.approx(oracle["seq_wise"][name]["ao"], abs=CSV)
                assert ours.sr_50[video] == pytest.approx(oracle["seq_wise"][name]["sr"], abs=CSV)
            assert ours.aos["ALL"] == pytest.approx(oracle["overall"]["ao"], abs=CSV)
            assert ours.sr_50["ALL"] == pytest.approx(oracle["overall"]["sr"], abs=CSV)
            assert ours.sr_75["ALL"] == pytest.approx(oracle["overall"]["succ_curve"][75], abs=CSV)
    md = (work / "results/xgot10k_val/aos.md").read_text()
    assert "Scoring protocol `got10k-val` (got10k's ExperimentGOT10k" in md and "ranked by AO" in md
    summary = pd.read_csv(work / "results/xgot10k_val/summary.csv")
    assert list(summary.columns) == ["tracker", "protocol", "frames", "aos", "sr_50", "sr_75"]
    assert summary.aos.is_monotonic_decreasing
    assert (work / "results/xgot10k_val/figures/success_precision.png").stat().st_size > 0


GOT10K_TEST_LINE = (
    "experiments.xgot10k_val.test.videos: GOT-10k_Test_000001 is a video of GOT-10k's test subset: GOT-10k's test "
    "subset has labels on frame 1 only, so it is neither trained on nor scored here; its results go to GOT-10k's "
    "evaluation server (rolo.evaluation.benchmarks.got10k_submission_from_folder, docs/datasets.md#got-10k); "
    "allowed: train, val"
)


@pytest.mark.parametrize(
    "change, line",
    [
        (lambda c: c["experiments"]["xgot10k_val"].update(test={"dataset": "got10k", "videos": ["GOT-10k_Test_000001"]}),
         GOT10K_TEST_LINE),
        (lambda c: c["detector"].update(finetune={"compare": ["xlasot_test", "xgot10k_val"]}),
         "detector.finetune.compare: ['xgot10k_val'] are tested on GOT-10k, whose protocol (AO, SR) has no success AUC "
         "or precision to compare; compare their results/<name>_ft/summary.csv by hand"),
    ],
)
def test_workflow_refusals_of_test_sets_name_the_setting(test_set_run, tmp_path, change, line):
    config = config_with_test_sets(test_set_run["lasot"], test_set_run["got10k"])
    change(config)
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "results/xgot10k_val/aos.csv", "-n", check=False)
    assert proc.returncode != 0
    key = line.split(":")[0]
    lines = [text for text in (proc.stderr + proc.stdout).splitlines() if key in text]
    assert lines and lines[0].endswith(line), lines
