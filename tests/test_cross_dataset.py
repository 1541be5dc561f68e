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
        ({"test": {"dataset": "lasot", "split": "test"}}, r"experiments\.x\.test\.dataset: lasot is not supported as a test set yet"),
        ({"test": [{"dataset": "main", "videos": ["D"]}]}, r"experiments\.x\.test: one source \(a mapping\), not a list"),
        ({"train": {"dataset": "lasot", "split": "val"}}, r"experiments\.x\.train\.split: 'val' for dataset lasot; allowed: train, test, all"),
        ({"train": {"dataset": "lasot", "split": "train", "videos": ["bear-1"]}}, r"experiments\.x\.train: a source names either videos or split"),
        ({"train": {"dataset": "vot", "videos": ["ball"]}}, r"experiments\.x\.train\.dataset: 'vot'; allowed: main, otb, synthetic, lasot, got10k"),
        ({"train": {"dataset": "main", "split": "train"}}, r"experiments\.x\.train\.split: 'train' for dataset main; allowed: none"),
        ({"train": {"dataset": "lasot", "videos": ["bear-1"], "every": 2}}, r"experiments\.x\.train\.every: not a setting of a source"),
        ({"videos": ["A"]}, r"experiments\.x\.videos: not a setting of split cross_dataset"),
    ],
)
def test_config_mistakes_name_the_setting(change, message):
    with pytest.raises(ValueError, match=message):
        check_experiments({"x": {**XLASOT, **change}})


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
    assert kinds == {"exp1": "disjoint", "xlasot": "cross_dataset", "xgot10k": "cross_dataset", "xboth": "cross_dataset"}
    for name in ("xlasot", "xgot10k", "xboth"):  # the same test videos as exp1, never trained on
        assert sp.test_videos(config["experiments"][name]) == config["experiments"]["exp1"]["test"]


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
