"""Figures are checked on the data they draw, not only on the files existing."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pandas as pd
import pytest

from conftest import REPO, planned_jobs, snakemake
from rolo.data.splits import read_splits
from rolo.figures.drawing import box_rgb
from rolo.figures.plots import (
    aos_bars_figure,
    attribute_curves,
    draw_boxes,
    label,
    panel_figure,
    success_precision_figure,
    write_video,
)


def test_success_and_precision_lines_are_the_csv_curves(tiny_workflow):
    curves = pd.read_csv(tiny_workflow / "results/exp1/curves.csv")
    summary = pd.read_csv(tiny_workflow / "results/exp1/summary.csv").set_index("tracker")
    fig = success_precision_figure(curves, "exp1")
    success_ax, precision_ax = fig.axes
    allc = curves[curves.sequence == "ALL"]
    for ax, curve in ((success_ax, "success"), (precision_ax, "precision")):
        lines = {line.get_label().rsplit(" [", 1)[0]: line for line in ax.get_lines()}
        assert len(lines) == len(summary)
        for tracker in summary.index:
            want = allc[(allc.tracker == tracker) & (allc.curve == curve)].sort_values("threshold")
            np.testing.assert_allclose(lines[label(tracker)].get_xdata(), want.threshold)
            np.testing.assert_allclose(lines[label(tracker)].get_ydata(), want.value)
    # success legend: ranked by AUC, which is the summary table's success_auc
    texts = [t.get_text() for t in success_ax.get_legend().get_texts()]
    aucs = [float(t.rsplit("[", 1)[1].rstrip("]")) for t in texts]
    assert aucs == sorted(aucs, reverse=True)
    best = summary.success_auc.idxmax()
    assert texts[0] == f"{label(best)} [{summary.success_auc[best]:.3f}]"


def test_attribute_curves_average_the_tagged_sequences():
    curves = pd.DataFrame(
        [{"sequence": s, "tracker": "rolo", "curve": "success", "threshold": 0.5, "value": v}
         for s, v in (("a", 0.2), ("b", 0.6), ("c", 1.0), ("ALL", 0.6))]
    )
    out = attribute_curves(curves, {"a": ["SV"], "b": ["SV", "OCC"], "c": ["OCC"]}).set_index("attribute")
    assert out.loc["SV", "value"] == pytest.approx(0.4) and out.loc["SV", "sequences"] == 2
    assert out.loc["OCC", "value"] == pytest.approx(0.8)


def test_aos_bars_are_the_table(tiny_workflow):
    table = pd.read_csv(tiny_workflow / "results/exp2/aos.csv")
    fig = aos_bars_figure(table, "exp2")
    ax = fig.axes[0]
    videos = sorted(table[table.sequence != "ALL"].sequence.unique())
    for container, tracker in zip(ax.containers, dict.fromkeys(table.tracker)):
        want = table[(table.tracker == tracker) & (table.sequence != "ALL")].set_index("sequence").aos[videos]
        np.testing.assert_allclose([b.get_height() for b in container], want.values)


def test_box_edges_have_the_box_colours():
    img = np.zeros((60, 80, 3), np.uint8)
    out = draw_boxes(img, {"gt": np.array([10.0, 10, 30, 40]), "yolo": np.array([40.0, 5, 70, 25]),
                           "rolo": np.array([10.0, 10, 30, 40])})
    assert tuple(out[10, 20]) == box_rgb("gt")  # top edge, ground truth drawn on top of ROLO
    assert tuple(out[25, 29]) == box_rgb("gt")  # right edge at column ceil(30) - 1
    assert tuple(out[25, 30]) == box_rgb("rolo")  # ROLO's 2-px line shows outside the GT's 1-px line
    assert tuple(out[5, 55]) == box_rgb("yolo")
    assert tuple(out[30, 60]) == (0, 0, 0)  # inside untouched
    fig = panel_figure([("x", out)], "t")
    np.testing.assert_array_equal(np.asarray(fig.axes[0].images[0].get_array()), out)


def test_video_is_h264_and_reads_back(tmp_path, tiny_workflow):
    frames = [np.full((48, 64, 3), 10 * i, np.uint8) for i in range(7)]
    path = tmp_path / "v.mp4"
    assert write_video(path, iter(frames)) == 7
    assert b"avc1" in path.read_bytes()[:4096] or b"avc1" in path.read_bytes()
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 7
    # the pipeline's videos: one per test video, a frame per frame of its test segment
    splits = read_splits(tiny_workflow / "results/exp1/splits.json")
    for video, split in splits.items():
        if split.test is None:
            continue
        cap = cv2.VideoCapture(str(tiny_workflow / f"results/exp1/videos/{video}.mp4"))
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == split.test[1] - split.test[0]


def test_pipeline_wrote_every_figure_and_the_paper_comparison(tiny_workflow):
    for exp in ("exp1", "exp2", "exp3"):
        for name in ("success_precision", "attributes", "aos_bars", "loss", "panel"):
            for ext in ("png", "pdf"):
                assert (tiny_workflow / f"results/{exp}/figures/{name}.{ext}").stat().st_size > 1000
        paper = pd.read_csv(tiny_workflow / f"results/{exp}/paper_comparison.csv", keep_default_na=False)
        assert (paper.paper_rolo_aos == "n/a").all()  # synthetic videos are not in the published tables


def test_touching_a_figure_script_replans_only_figure_jobs(tiny_workflow, tmp_path):
    """A copy of the workflow whose plot_aos script changed: only plot_aos jobs (and `all`) rerun."""
    copy = tmp_path / "repo"
    copy.mkdir()
    for part in ("Snakefile", "workflow", "src", "config", "profiles", "environment.yml"):
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, copy / part, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(src, copy / part)
    script = copy / "workflow/scripts/plot_aos.py"
    script.write_text(script.read_text() + "\n# a cosmetic change\n")
    jobs = planned_jobs(snakemake(tiny_workflow, "-n", snakefile=copy / "Snakefile"))
    assert set(jobs) - {"all"} == {"plot_aos"}, jobs
