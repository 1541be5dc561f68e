"""The per-experiment detector (issue 16, item 1): fine-tuned on one experiment's labelled training
frames only, never on a scored frame's label, for every split kind; planned per (detector, video);
not part of the default run."""

from __future__ import annotations

import copy
import json
import re

import cv2
import numpy as np
import pytest

from conftest import REPO, TINY_CONFIG, planned_jobs, snakemake, write_config
from rolo.data.splits import (
    SPLITS,
    check_experiments,
    detector_training_frames,
    experiment_detector,
    experiment_settings,
    finetuned_twins,
    make_split,
    read_splits,
    write_splits_job,
)

N = 30
# one experiment of every split kind over the same five videos (the tiny config's names)
EXPERIMENTS = {
    "exp1": {"split": "disjoint", "train": ["A", "B", "C"], "test": ["D", "E"]},
    "exp2": {"split": "held_out_tail", "videos": ["A", "B", "C", "D", "E"], "train_fraction": 0.4},
    "exp3": {"split": "sparse_labels", "videos": ["A", "B", "C", "D", "E"], "label_every": 4},
}
assert {e["split"] for e in EXPERIMENTS.values()} == set(SPLITS)


def write_video(folder, n=N, invalid=(), seed=0):
    """An OTB-layout folder: n 32x24 JPEGs and a moving box; ``invalid`` frames get a 0x0 box."""
    rng = np.random.default_rng(seed)
    (folder / "img").mkdir(parents=True)
    lines = []
    for i in range(n):
        assert cv2.imwrite(str(folder / "img" / f"{i + 1:04d}.jpg"), rng.integers(0, 255, (24, 32, 3), np.uint8))
        lines.append("0,0,0,0" if i in invalid else f"{2 + i % 10},{3 + i % 7},8,6")
    (folder / "groundtruth_rect.txt").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    # invalid frames in the training part (A: 3) and at a held-out start (B: 12, exp2's first test frame)
    invalid = {"A": (3,), "B": (12,)}
    return {v: str(write_video(root / v, invalid=invalid.get(v, ()), seed=k)) for k, v in enumerate("ABCDE")}


@pytest.fixture(scope="module")
def splits(videos, tmp_path_factory):
    out = tmp_path_factory.mktemp("splits")
    result = {}
    for name, exp in EXPERIMENTS.items():
        write_splits_job(exp, videos, out / f"{name}.json", name=name)
        result[name] = out / f"{name}.json"
    return result


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_detector_frames_are_the_labelled_training_frames_and_never_scored(splits, name):
    """For every split kind: exactly the experiment's labelled training frames, none of them scored,
    none beyond a test segment's start frame except sparse_labels' (unscored) label frames."""
    exp = EXPERIMENTS[name]
    split = read_splits(splits[name])
    frames = detector_training_frames(split)
    assert frames == {v: s.train_labels for v, s in split.items() if s.train_labels}
    assert frames  # something to train on
    for v, s in split.items():
        used = set(frames.get(v, ()))
        assert not used & set(s.scored), (name, v)
        if s.test is not None:
            start = s.test[0]
            beyond = {t for t in used if t > start}
            if exp["split"] == "sparse_labels":
                assert all(t % exp["label_every"] == 0 for t in used)
                assert not beyond & set(s.scored)
            else:
                assert not beyond, (name, v)  # nothing of the tracked segment after its given start box
        if exp["split"] == "disjoint":
            assert (v in exp["test"]) == (not used)  # a test video contributes no label at all
        if exp["split"] == "held_out_tail":
            assert used and max(used) < s.test[0]  # only the head, before the start frame
        assert all(0 <= t < s.frames for t in used)
    # invalid ground truth is never a training target
    assert 3 not in frames.get("A", ())


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_finetune_job_writes_only_those_frames(videos, splits, name, tmp_path, monkeypatch):
    """The dataset the trainer is given (train and val) holds exactly the labelled training frames;
    the job records them. The trainer itself is stubbed (no training here)."""
    from rolo.detection import detector

    seen = {}

    def fake_train(model, data_yaml, out_weights, work_dir, **kw):
        seen["data"] = data_yaml
        (tmp_path / "w.pt").write_bytes(b"")
        return {"metrics/recall(B)": 0.5}

    monkeypatch.setattr(detector, "train_detector", fake_train)
    metrics = tmp_path / "metrics.json"
    detector.finetune_detector_job(
        "base.pt", videos, splits[name], {"epochs": 1, "imgsz": 32, "batch": 2}, tmp_path / "w.pt", metrics, tmp_path / "work"
    )
    split = read_splits(splits[name])
    expected = {v: list(f) for v, f in detector_training_frames(split).items()}
    dataset = tmp_path / "work" / "dataset"
    for part in ("train", "val"):
        assert detector.labelled_frames(dataset, part) == expected
        assert len(list((dataset / "images" / part).iterdir())) == sum(map(len, expected.values()))
    recorded = json.loads(metrics.read_text())
    assert recorded["train_frames"] == expected and recorded["splits"] == str(splits[name])
    scored = {(v, t) for v, s in split.items() for t in s.scored}
    assert not {(v, t) for v, f in recorded["train_frames"].items() for t in f} & scored


def test_every_restricts_the_frame_list(videos, tmp_path):
    from rolo.data.sequences import load_sequence
    from rolo.detection.detector import labelled_frames, write_yolo_dataset

    seq = load_sequence(videos["C"], name="C")
    write_yolo_dataset([seq], [seq], tmp_path / "ds", every=2, frames={"C": [9, 0, 3, 6], "Z": [1]})
    assert labelled_frames(tmp_path / "ds") == {"C": [0, 6]}


def test_twins_and_detector_names():
    exps = copy.deepcopy(EXPERIMENTS)
    exps["exp3"]["detector"] = "finetuned"
    twins = finetuned_twins(exps)
    assert set(twins) == {"exp1_ft", "exp2_ft"}  # exp3 already has its own detector
    assert twins["exp2_ft"] == {**exps["exp2"], "detector": "finetuned"}
    assert experiment_settings(exps, "exp1_ft")["split"] == "disjoint"
    assert experiment_detector(exps, "exp1") is None
    assert experiment_detector(exps, "exp1_ft") == "exp1"  # shares exp1's splits
    assert experiment_detector(exps, "exp3") == "exp3"
    with pytest.raises(KeyError):
        experiment_settings(exps, "exp3_ft")


@pytest.mark.parametrize(
    "exps, message",
    [
        ({"e": {"split": "disjoint", "train": ["A"], "test": ["B"], "detector": "own"}}, "experiments.e.detector: 'own'"),
        ({"e": {"split": "held_out_tail", "videos": ["A"]}, "e_ft": {"split": "held_out_tail", "videos": ["A"]}}, "experiments.e_ft:"),
    ],
)
def test_experiment_detector_errors_name_the_setting(exps, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check_experiments(exps)


# --- the workflow: planning only (dry runs of the tiny configuration) ---------------------------


def dry(tmp_path, config, *targets, check=True):
    write_config(tmp_path, config)
    return snakemake(tmp_path, *targets, "-n", check=check)


def job_inputs(proc, rule):
    """``{wildcards: [inputs]}`` of the jobs of ``rule`` in a dry run's output."""
    out = {}
    for block in re.findall(rf"^rule {rule}:\n((?:[ \t]+.*\n?)+)", proc.stdout, re.M):
        inputs = re.search(r"input: (.*)", block).group(1).split(", ")
        out[re.search(r"wildcards: (.*)", block).group(1)] = inputs
    return out


def test_default_run_plans_no_finetuned_detector(tmp_path):
    jobs = planned_jobs(dry(tmp_path, TINY_CONFIG))
    assert "train_detector_ft" not in jobs and "extract_features_ft" not in jobs
    assert jobs["extract_features"] == 5 and jobs["train_detector"] == 1


def test_finetune_target_plans_one_detector_per_experiment_on_its_training_videos(tmp_path):
    proc = dry(tmp_path, TINY_CONFIG, "finetune")
    jobs = planned_jobs(proc)
    assert jobs["train_detector_ft"] == 3 and jobs["finetune_comparison"] == 3
    assert jobs["extract_features_ft"] == 5 * 3  # per (detector, video): each twin's five videos
    # the twins track only the detector-reading trackers; the others' tracks are their base's
    from rolo.tracking.registry import spec

    tiny_trackers = TINY_CONFIG["trackers"]
    reading = [t for t in tiny_trackers if spec(t).uses_detector]
    assert len(reading) == 6  # rolo, rolo_paper, rolo_heatmap, rolo_heatmap_paper, yolo, yolo_top
    assert jobs["track"] == 3 * len(tiny_trackers) + 3 * len(reading)
    inputs = job_inputs(proc, "train_detector_ft")
    assert set(inputs) == {"detector=exp1", "detector=exp2", "detector=exp3"}
    for wc, files in inputs.items():
        exp = wc.split("=")[1]
        assert f"results/{exp}/splits.json" in files and "results/detector/weights.pt" in files
        videos = {f.split("/")[2] for f in files if f.startswith("resources/synthetic/")}
        cfg = TINY_CONFIG["experiments"][exp]
        # exp1 (disjoint): its training videos only, no test video's frames or labels at all
        assert videos == set(cfg.get("train", cfg.get("videos")))
        assert not any("features" in f or "/tracks/" in f for f in files)


def test_finetuned_experiment_extracts_with_its_own_detector(tmp_path):
    config = copy.deepcopy(TINY_CONFIG)
    config["experiments"]["exp2"]["detector"] = "finetuned"
    config["detector"]["finetune"] = {"epochs": 2}
    proc = dry(tmp_path, config, "results/exp2/aos.csv")
    jobs = planned_jobs(proc)
    assert jobs["train_detector_ft"] == 1 and jobs["extract_features_ft"] == 5
    assert "extract_features" not in jobs  # exp2 reads only its own detector's outputs
    assert "results/detectors/exp2/features/A/detections.npy" in proc.stdout
    # ... while the other experiments keep the workflow's detector
    jobs = planned_jobs(dry(tmp_path, config, "results/exp1/aos.csv"))
    assert "train_detector_ft" not in jobs and jobs["extract_features"] == 5
    # `rolo track` on one of its videos runs the same detector as its extraction
    proc = dry(tmp_path, config, "results/exp2/demo/A.mp4")
    assert "results/detectors/exp2/weights.pt" in job_inputs(proc, "track_demo_video")["exp=exp2, video=A"]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c["detector"].update(finetune={"compare": ["exp9"]}), "detector.finetune.compare: ['exp9']"),
        (lambda c: c["experiments"]["exp1"].update(detector="yes"), "experiments.exp1.detector: 'yes'"),
    ],
)
def test_config_mistakes_name_the_setting(tmp_path, change, message):
    config = copy.deepcopy(TINY_CONFIG)
    change(config)
    proc = dry(tmp_path, config, check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr


def test_demo_config_plans_the_finetune_target_outside_the_default_run(tmp_path):
    """config/demo.yaml: `finetune` is exp2 against exp2_ft; the default target has none of it."""
    proc = snakemake(tmp_path, "finetune", "-n", configfile=str(REPO / "config/demo.yaml"))
    jobs = planned_jobs(proc)
    assert jobs["train_detector_ft"] == 1 and jobs["finetune_comparison"] == 1
    assert "results/finetune/exp2.md" in proc.stdout


# --- config/otb100.yaml (issue 16, item 2) --------------------------------------------------------


def otb100_exp1_rule():
    """exp1's disjoint split on OTB-100, by the rule of docs/otb100.md."""
    from rolo.data.otb import ATTRIBUTES, load_catalog

    units = {}
    for e in load_catalog().values():
        units.setdefault(e.folder, []).append(e)

    def key(folder):
        tags = {a for e in units[folder] for a in e.attributes}
        return min((ATTRIBUTES.index(a) for a in tags), default=len(ATTRIBUTES)), folder.lower()

    order = sorted(units, key=key)
    test = [e.name for i, f in enumerate(order) if i % 4 == 1 for e in units[f]]
    train = [e.name for i, f in enumerate(order) if i % 4 != 1 for e in units[f]]
    return train, test


def test_otb100_config_is_the_documented_split_of_all_100_sequences():
    import yaml

    from rolo.data.otb import find_entry, load_catalog

    config = yaml.safe_load((REPO / "config/otb100.yaml").read_text())
    exps = config["experiments"]
    check_experiments(exps)
    catalog = list(load_catalog())
    train, test = otb100_exp1_rule()
    assert exps["exp1"]["train"] == train and exps["exp1"]["test"] == test
    assert sorted(train + test) == sorted(catalog) and len(test) == 25
    # a two-target folder (Jogging, Skating2) lies wholly on one side
    folders = lambda names: {find_entry(n).folder for n in names}
    assert not folders(train) & folders(test)
    for name in ("exp2", "exp3"):
        assert exps[name]["videos"] == catalog
    assert {e["detector"] for e in exps.values()} == {"finetuned"}
    assert {e["split"] for e in exps.values()} == set(SPLITS)


def test_otb100_config_passes_the_schema():
    import yaml
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    extra = yaml.safe_load((REPO / "config/otb100.yaml").read_text())
    config["detector"].update(extra["detector"])
    config["experiments"] = extra["experiments"]
    validate(config, str(REPO / "workflow/schemas/config.schema.yaml"))


def test_finetune_comparison_table(tmp_path):
    import pandas as pd

    from rolo.detection.detector import finetune_comparison_job

    def write(name, auc, recall):
        pd.DataFrame({"tracker": ["yolo", "csrt"], "success_auc": auc, "precision_20": [0.5, 0.6]}).to_csv(
            tmp_path / f"{name}_summary.csv", index=False
        )
        pd.DataFrame({
            "sequence": ["A", "ALL", "A", "ALL"], "conf": [0.25, 0.25, 0.5, 0.5],
            "precision": [0.9] * 4, "recall": recall,
        }).to_csv(tmp_path / f"{name}_detector.csv", index=False)
        return {"summary": tmp_path / f"{name}_summary.csv", "detector": tmp_path / f"{name}_detector.csv"}

    base, tuned = write("b", [0.4, 0.6], [0.5, 0.5, 0.4, 0.4]), write("t", [0.7, 0.6], [0.9, 0.9, 0.8, 0.8])
    finetune_comparison_job("exp2", base, tuned, tmp_path / "c.csv", tmp_path / "c.md")
    table = pd.read_csv(tmp_path / "c.csv").set_index("tracker")
    assert table.loc["yolo", "auc_change"] == pytest.approx(0.3) and table.loc["csrt", "auc_change"] == 0
    text = (tmp_path / "c.md").read_text()
    assert text.startswith("# exp2") and "recall_change" in text and "0.400" in text
