"""The workflow end to end on the tiny synthetic config, and what Snakemake replans."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest

from conftest import TINY_CONFIG, planned_jobs, snakemake, write_config
from rolo.data.sequences import load_sequence, read_otb_boxes, read_otb_xyxy
from rolo.data.splits import read_splits
from rolo.evaluation.protocols import SCORE_COLUMNS, track_errors
from rolo.evaluation.metrics import summarize_errors

EXPERIMENTS = TINY_CONFIG["experiments"]
TRACKERS = TINY_CONFIG["trackers"]


def test_tables_have_every_sequence_and_tracker(tiny_workflow):
    for exp, cfg in EXPERIMENTS.items():
        table = pd.read_csv(tiny_workflow / f"results/{exp}/aos.csv")
        assert list(table.columns) == SCORE_COLUMNS
        tested = cfg.get("test", cfg.get("videos"))
        assert len(table) == (len(tested) + 1) * len(TRACKERS)
        for tracker in TRACKERS:
            rows = table[(table.tracker == tracker) & (table.sequence != "ALL")]
            assert sorted(rows.sequence) == sorted(tested)
            all_row = table[(table.tracker == tracker) & (table.sequence == "ALL")].iloc[0]
            assert all_row.aos == pytest.approx(rows.aos.mean(), abs=1e-4)
            assert all_row.frames == rows.frames.sum()
        assert table.aos.between(0, 1).all()
        assert (tiny_workflow / f"results/{exp}/aos.md").read_text().startswith(f"# {exp}")


def test_table_rows_recompute_from_track_files(tiny_workflow):
    """Each row is the metric of the OTB track file on the split's scored frames."""
    for exp in EXPERIMENTS:
        splits = read_splits(tiny_workflow / f"results/{exp}/splits.json")
        table = pd.read_csv(tiny_workflow / f"results/{exp}/aos.csv").set_index(["sequence", "tracker"])
        for video, split in splits.items():
            if split.test is None:
                continue
            gt = load_sequence(tiny_workflow / f"resources/synthetic/{video}").gt
            for tracker in TRACKERS:
                path = tiny_workflow / f"results/{exp}/tracks/{tracker}/{video}.txt"
                track = read_otb_xyxy(path)
                assert len(track) == split.test[1] - split.test[0]
                s = summarize_errors(track_errors(track, gt, split))
                row = table.loc[(video, tracker)]
                assert row.frames == s["frames"] == len(split.scored)
                for col in SCORE_COLUMNS[3:]:
                    assert row[col] == pytest.approx(s[col], abs=1e-4), col


def test_tracks_start_with_the_given_box_in_otb_convention(tiny_workflow):
    """Every tracker's first line is the split's start box, which is the ground truth's line, 1-based."""
    for exp in EXPERIMENTS:
        for video, split in read_splits(tiny_workflow / f"results/{exp}/splits.json").items():
            if split.test is None:
                continue
            gt_lines = read_otb_boxes(tiny_workflow / f"resources/synthetic/{video}/groundtruth_rect.txt")
            np.testing.assert_allclose(split.start_box, gt_lines[split.test[0]], atol=1e-9)
            for tracker in TRACKERS:
                first = read_otb_boxes(tiny_workflow / f"results/{exp}/tracks/{tracker}/{video}.txt")[0]
                np.testing.assert_allclose(first, gt_lines[split.test[0]], atol=0.006)


def test_no_scored_frame_was_a_training_label(tiny_workflow):
    for exp in EXPERIMENTS:
        splits = read_splits(tiny_workflow / f"results/{exp}/splits.json")
        for split in splits.values():
            assert not set(split.scored) & set(split.train_labels)
            assert len(set(split.scored)) == len(split.scored)


def test_detector_was_trained_and_reported(tiny_workflow):
    metrics = json.loads((tiny_workflow / "results/detector/train_metrics.json").read_text())
    assert metrics["train"] == ["DetA", "DetB", "DetC"] and metrics["val"] == ["DetV"]
    det = pd.read_csv(tiny_workflow / "results/exp1/detector.csv")
    assert set(det.sequence) == {"D", "E", "ALL"}
    assert det.recall.between(0, 1).all()


def test_every_rule_logged_and_heavy_rules_benchmarked(tiny_workflow):
    logs = {p.relative_to(tiny_workflow / "logs").parts[0].removesuffix(".log") for p in (tiny_workflow / "logs").rglob("*.log")}
    assert logs >= {"synthesize", "splits", "train_detector", "extract_features", "train_rolo", "track", "evaluate"}
    assert "extract" in (tiny_workflow / "logs/extract_features/A.log").read_text()
    for bench in ("train_detector.tsv", "extract_features/A.tsv", "train_rolo/exp1/coordinate_s6.tsv", "track/exp1/rolo.tsv"):
        assert (tiny_workflow / "results/benchmarks" / bench).is_file()


def test_rerun_plans_nothing(tiny_workflow):
    assert planned_jobs(snakemake(tiny_workflow, "-n")) == {}


def test_changing_training_epochs_replans_no_extraction(tiny_workflow):
    config = copy.deepcopy(TINY_CONFIG)
    config["rolo"]["epochs"] += 1
    write_config(tiny_workflow, config, "epochs.yaml")
    jobs = planned_jobs(snakemake(tiny_workflow, "-n", configfile="epochs.yaml"))
    assert jobs.get("train_rolo") == 8  # both kinds per experiment, and the steps sweep's steps 1
    assert jobs.get("track") == 6  # the two paper-input ROLO trackers of each experiment, not the closed-loop ones or yolo/yolo_top
    assert jobs.get("track_setting") == 4  # the steps sweep; the epoch sweep does not read rolo.epochs
    assert "extract_features" not in jobs and "train_detector" not in jobs and "synthesize" not in jobs


def test_changing_association_does_not_retrain_the_detector(tiny_workflow):
    config = copy.deepcopy(TINY_CONFIG)
    config["association"] = {"iou_threshold": 0.4}
    write_config(tiny_workflow, config, "assoc.yaml")
    jobs = planned_jobs(snakemake(tiny_workflow, "-n", configfile="assoc.yaml"))
    assert jobs.get("train_rolo") == 8 and jobs.get("train_epochs") == 4
    assert jobs.get("track") == 9  # rolo_paper, rolo_heatmap_paper and yolo; the closed-loop ROLOs and yolo_top ignore it
    assert "extract_features" not in jobs and "train_detector" not in jobs


def test_detector_may_not_train_on_scored_videos(tiny_workflow):
    config = copy.deepcopy(TINY_CONFIG)
    config["detector"]["train"]["sequences"] = ["DetA", "D"]
    write_config(tiny_workflow, config, "leak.yaml")
    proc = snakemake(tiny_workflow, "-n", configfile="leak.yaml", check=False)
    assert proc.returncode != 0
    assert "detector.train" in proc.stderr + proc.stdout and "'D'" in proc.stderr + proc.stdout


def test_missing_otb_data_names_the_setting(tmp_path):
    config = copy.deepcopy(TINY_CONFIG)
    del config["dataset"]["synthetic"]
    config["detector"] = {"model": "yolov8n.yaml", "imgsz": 160}
    config["dataset"]["root"] = "nowhere/otb"
    write_config(tmp_path, config)
    proc = snakemake(tmp_path, "-n", check=False)
    assert proc.returncode != 0
    assert "dataset.root: nowhere/otb not found" in proc.stdout + proc.stderr


def test_light_jobs_do_not_import_torch():
    """yolo/yolo_top tracking, splits and evaluation jobs stay numpy-only (torch costs ~0.8 GB)."""
    import subprocess
    import sys

    code = (
        "import sys, rolo.utils.runtime, rolo.tracking.trackers, rolo.evaluation.tables, rolo.data.splits, rolo.detection.extraction; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
