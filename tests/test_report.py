"""Snakemake's report of the tiny workflow holds each experiment's summary and per-video tables as
HTML tables with their captions; the panel figure's tile captions stay clear of the row above."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest

from conftest import TINY_CONFIG, snakemake
from rolo.evaluation.tables import html_table_job


@pytest.mark.slow
def test_the_report_shows_the_tables_with_captions(tiny_workflow, tmp_path):
    report = tmp_path / "report.zip"
    snakemake(tiny_workflow, "--report", str(report))
    with zipfile.ZipFile(report) as z:
        names = z.namelist()
        index = z.read("report/report.html").decode()
        for exp in TINY_CONFIG["experiments"]:
            for kind in ("summary", "aos"):
                assert f"results/{exp}/{kind}.html" in index, (exp, kind)  # listed under its experiment
            summary = pd.read_csv(tiny_workflow / f"results/{exp}/summary.csv")
            pages = [z.read(n).decode() for n in names if n.endswith("/summary.html")]
            page = next(p for p in pages if f"<h3>{exp}: mean over the test videos" in p)
            assert "<table" in page
            best = summary.iloc[0]
            assert f"<td>{best.tracker}</td>" in page and f"<td>{best.success_auc:.3f}</td>" in page
    # the captions (workflow/report/summary.rst, aos.rst) are rendered into the report
    assert "one row per tracker, ranked by success AUC" in index
    assert "Scores per test video and tracker" in index


def test_html_table_marks_nothing_without_external_trackers(tmp_path):
    csv = tmp_path / "summary.csv"
    pd.DataFrame({"tracker": ["rolo", "csrt"], "frames": [10, 10], "aos": [0.51234, 0.4],
                  "success_auc": [0.5, 0.4]}).to_csv(csv, index=False)
    html_table_job("exp1", "summary", csv, tmp_path / "summary.html")
    page = (tmp_path / "summary.html").read_text()
    assert "<td>0.512</td>" in page and "like-for-like" not in page


def test_panel_captions_do_not_overlap_the_row_above():
    from rolo.figures.plots import panel_figure

    tiles = [(f"Seq{i} #25 — ROLO AOS 0.{i}5", np.zeros((120, 160, 3), np.uint8)) for i in range(6)]
    fig = panel_figure(tiles, "exp2: test videos by ROLO AOS (lowest first)", kinds=("gt", "rolo"))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axes = [ax for ax in fig.axes if ax.get_images()]
    assert len(axes) == 6
    title_top = fig._suptitle.get_window_extent(renderer)
    for i, ax in enumerate(axes):
        title = ax.title.get_window_extent(renderer)
        for other in axes:
            if other is not ax:
                assert not title.overlaps(other.get_window_extent(renderer)), (i, ax.title.get_text())
        assert not title.overlaps(title_top)
    legend = fig.legends[0].get_window_extent(renderer)
    assert not any(legend.overlaps(ax.get_window_extent(renderer)) for ax in axes)
    assert not legend.overlaps(title_top)
