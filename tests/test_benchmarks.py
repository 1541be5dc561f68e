"""Smoke test of the benchmark suite (benchmarks/): the whole command on a tiny input, so it cannot rot.
No timing is asserted: only that the table has its rows and columns and finite numbers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench_table(tmp_path_factory):
    sys.path.insert(0, str(REPO))
    try:
        from benchmarks.__main__ import main

        stages = tmp_path_factory.mktemp("stages")
        (stages / "extract_features").mkdir()
        for video, s in (("A", 1.5), ("B", 2.5)):
            (stages / "extract_features" / f"{video}.tsv").write_text(
                "s\th:m:s\tmax_rss\tmax_vms\n" f"{s}\t0:00:01\t500.0\t900.0\n")
        (stages / "train_rolo.tsv").write_text("s\th:m:s\tmax_rss\tmax_vms\n3.0\t0:00:03\t700.0\t900.0\n")
        out = tmp_path_factory.mktemp("bench")
        df = main(["--quick", "--out", str(out), "--stages", str(stages)])
    finally:
        sys.path.remove(str(REPO))
    return df, out


def test_benchmark_table_has_every_section_and_finite_values(bench_table):
    df, out = bench_table
    assert list(df.columns) == ["section", "measure", "value", "unit", "ratio", "ratio_of", "target"]
    counts = df["section"].value_counts().to_dict()
    # extraction: ours on the chosen backend and on torch, before the fix, the port's way, channels-last opt-in,
    # the ceilings (eager, fused, channels-last fused, + each exported backend installed), peak RSS twice
    exported = sum(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "openvino"))
    assert counts == {"extraction": 10 + exported, "anchor": 3, "tracking": 7, "training": 8, "pipeline": 2,
                      "identity": 3}, counts
    assert np.isfinite(df["value"].astype(float)).all(), df
    assert (df["value"] > 0).all(), df
    # every row that states a target has its ratio
    targeted = df[df["target"].astype(str).str.len() > 0]
    assert np.isfinite(targeted["ratio"].astype(float)).all(), targeted
    pipeline = df[df["section"] == "pipeline"].set_index("unit")
    assert sorted(pipeline["value"]) == [3.0, 4.0]
    assert set(df[df.section == "tracking"].measure.str.extract(r"steps (\d+)")[0].dropna()) == {"1", "6"}
    written = pd.read_csv(out / "table.csv")
    assert len(written) == len(df) and (out / "table.md").read_text().count("\n|") == len(df) + 2  # header, rule, rows
    assert (out / "details.json").is_file() and (out / "losses.csv").is_file()


def test_stage_times_of_an_empty_folder_is_an_empty_table(tmp_path):
    sys.path.insert(0, str(REPO))
    try:
        from benchmarks.stages import rows, stage_times
    finally:
        sys.path.remove(str(REPO))
    assert stage_times(tmp_path).empty and rows(tmp_path) == []


def test_closed_loop_stage_is_timed_against_the_detector(bench_table):
    df, _ = bench_table
    row = df[df.measure.str.startswith("closed-loop ROLO stage")]
    assert len(row) == 1 and row.iloc[0]["ratio_of"] == "of detector time" and row.iloc[0]["target"] == "<= 0.15"


def test_extraction_ceilings_and_anchor_rows(bench_table):
    """Ratios against the best ceiling; the anchor sets rolo track, with the closed-loop ROLO and with
    rolo_paper's model, against Ultralytics' tracker on one backend (--quick: the chosen one), with latency
    and memory in the row."""
    df, _ = bench_table
    ext = df[df.section == "extraction"]
    ceilings = ext[ext.measure.str.startswith("ceiling")]
    assert len(ceilings) >= 3 and ceilings.ratio_of.str.startswith("of best ceiling").all()
    assert (ceilings.ratio.astype(float) <= 1.0 + 1e-9).all()  # no ceiling beats the best, round by round
    chosen = ext[ext.measure.str.startswith("ours on the chosen path")]
    assert len(chosen) == 1 and chosen.iloc[0]["target"] == ">= 0.9"
    anchor = df[df.section == "anchor"]
    ours = anchor[anchor.measure.str.startswith("rolo track")]
    assert len(ours) == 2 and (ours.target == ">= 1.0").all() and ours.measure.str.contains("p95").all()
    assert [m.split(",")[1].strip() for m in ours.measure] == ["tracker rolo", "tracker rolo_paper"]
    theirs = anchor[anchor.measure.str.startswith("Ultralytics model.track")]
    # each side's best round: the ratio is of the rows' frames/s; the paired rounds' median is in the text
    assert np.allclose(ours.ratio.astype(float), ours.value.astype(float) / float(theirs.value.iloc[0]))
    assert ours.measure.str.contains("paired rounds' median ratio").all()
    if Path("/proc/stat").is_file():  # the CPU time stolen by other guests during each run is recorded
        assert anchor.measure.str.contains(" s stolen").all()
    assert anchor[anchor.measure.str.startswith("Ultralytics model.track")].measure.str.contains("peak RSS").all()


def test_profile_names_the_stages_of_a_tiny_extraction(tmp_path):
    """``python -m benchmarks.profile`` on a tiny model: every run's stages are shares of its wall time,
    and the forward pass is among them (no timing asserted)."""
    sys.path.insert(0, str(REPO))
    try:
        from benchmarks.profile import main

        res = main(["--model", "yolov8n.yaml", "--imgsz", "64", "--frames", "4", "--size", "96x64",
                    "--backends", "torch", "--out", str(tmp_path)])
    finally:
        sys.path.remove(str(REPO))
    assert set(res["runs"]) == {"extraction torch, workers 2", "extraction torch, workers 0"}
    for run in res["runs"].values():
        shares = run["shares"]
        assert run["frames_per_s"] > 0 and 0 < shares["forward (eager model)"] <= 1.0, run
        assert all(0 <= v <= 1.0 for v in shares.values()), run
    assert (tmp_path / "profile.md").read_text().count("| extraction torch") == 2
