"""The tracker registry: one entry is all a new tracker needs, and any subset of trackers runs.

The end-to-end tests reuse the tiny workflow the suite builds once: they copy its results (mtimes
kept) next to a copy of the code and run only what the change asks for."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REPO, TINY_CONFIG, planned_jobs, snakemake, write_config
from rolo.figures.drawing import box_rgb, draw_boxes
from rolo.figures.plots import colour
from rolo.tracking import registry
from rolo.tracking.association import AssociationParams
from rolo.tracking.registry import TrackerSpec
from rolo.tracking.trackers import VideoFrames, make_tracker, track

NEW_TRACKER = '''
class CentreHold:
    """A test tracker: the start box, moved to the most confident detection's centre."""

    def start(self, box, frame):
        self.box = np.asarray(box, np.float64).copy()

    def update(self, frame):
        d = np.asarray(frame.detections, np.float64).reshape(-1, 6)
        d = d[np.isfinite(d[:, 4])]
        if len(d):
            c = (d[0, :2] + d[0, 2:4]) / 2
            half = (self.box[2:] - self.box[:2]) / 2
            self.box = np.concatenate([c - half, c + half])
        return self.box.copy()


def centre_hold(spec, assoc=None, image_wh=None, model=None):
    return CentreHold()
'''

ENTRY = '''
TRACKERS["centre_hold"] = TrackerSpec("centre_hold", "centre hold", "tab:pink", frozenset({"features"}),
                                      "rolo.tracking.centre_hold:centre_hold", box_rgb=(255, 0, 255))
'''


def test_every_entry_builds_and_has_a_style():
    for name, spec in registry.TRACKERS.items():
        assert spec.name == name and spec.label and colour(name) == spec.colour
        if spec.model_kind is None:
            assert hasattr(make_tracker(name, AssociationParams()), "update")
    assert registry.drawn(["csrt", "rolo", "yolo"]) == ["rolo", "yolo"]  # registry order, drawn ones only


def test_a_spec_checks_itself():
    with pytest.raises(ValueError, match="unknown inputs"):
        TrackerSpec("x", "X", "k", frozenset({"frames"}), "m:f")
    with pytest.raises(ValueError, match="model_kind"):
        TrackerSpec("x", "X", "k", frozenset({"model"}), "m:f")
    with pytest.raises(ValueError, match="unknown tracker 'nope'"):
        registry.spec("nope")


def test_one_entry_is_a_tracker_in_process(monkeypatch, tmp_path):
    """In process: an entry (and its class) is enough for the runner, the figures and the drawing."""
    module = tmp_path / "probe_tracker.py"
    module.write_text("import numpy as np\n" + NEW_TRACKER)
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = TrackerSpec("probe", "probe", "tab:pink", frozenset({"features"}), "probe_tracker:centre_hold", box_rgb=(1, 2, 3))
    monkeypatch.setitem(registry.TRACKERS, "probe", spec)
    dets = np.full((3, 2, 6), np.nan)
    dets[1:, 0] = [20, 20, 30, 30, 0.9, 0]
    boxes = track(make_tracker("probe", None), VideoFrames(detections=dets), np.array([0.0, 0, 4, 4]), 0, 3)
    np.testing.assert_allclose(boxes[1], [23, 23, 27, 27])
    assert colour("probe") == "tab:pink" and box_rgb("probe") == (1, 2, 3)
    out = draw_boxes(np.zeros((40, 40, 3), np.uint8), {"probe": boxes[1]})
    assert tuple(out[23, 23]) == (1, 2, 3)


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory):
    """A copy of the workflow and package with one registry entry added, and its class."""
    copy = tmp_path_factory.mktemp("repo_copy")
    for item in ("Snakefile", "environment.yml"):
        shutil.copy2(REPO / item, copy / item)
    for item in ("workflow", "src", "profiles"):
        shutil.copytree(REPO / item, copy / item, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (copy / "src/rolo/tracking/centre_hold.py").write_text("import numpy as np\n" + NEW_TRACKER)
    reg = copy / "src/rolo/tracking/registry.py"
    reg.write_text(reg.read_text().replace('\nGT_RGB = ', ENTRY + '\nGT_RGB = ', 1))
    return copy


def copy_workdir(tiny_workflow, dest):
    shutil.copytree(tiny_workflow, dest, symlinks=True, ignore=shutil.ignore_patterns(".snakemake"))
    return dest


@pytest.mark.slow
def test_a_new_tracker_is_one_registry_entry(tiny_workflow, repo_copy, tmp_path):
    """The copy's only changes are the entry and its class: the new tracker is planned, tracked,
    scored beside the others and drawn on the panel."""
    work = copy_workdir(tiny_workflow, tmp_path / "work")
    config = {**TINY_CONFIG, "trackers": [*TINY_CONFIG["trackers"], "centre_hold"]}
    write_config(work, config)
    # (the copied results carry no Snakemake metadata: mtime decides, and the tables are rebuilt)
    targets = ["results/exp1/tracks/centre_hold", "results/exp1/aos.csv", "results/exp1/figures/panel.png"]
    args = [*targets, "--rerun-triggers", "mtime", "--forcerun", "evaluate", "plot_panel"]
    dry = planned_jobs(snakemake(work, *args, "-n", snakefile=repo_copy / "Snakefile"))
    assert dry.get("track") == 1, dry  # only the new tracker's job
    assert not {"train_rolo", "extract_features", "train_detector"} & set(dry), dry
    snakemake(work, *args, snakefile=repo_copy / "Snakefile")
    table = pd.read_csv(work / "results/exp1/aos.csv")
    assert set(table.tracker) == set(config["trackers"])
    assert (work / "results/exp1/tracks/centre_hold/D.txt").is_file()
    before = pd.read_csv(tiny_workflow / "results/exp1/aos.csv")
    kept = table[table.tracker != "centre_hold"].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, before)  # the other trackers' scores are untouched


@pytest.mark.slow
@pytest.mark.parametrize("trackers", [["csrt"], ["yolo", "start_box"], ["rolo_heatmap_paper", "kcf"], ["rolo_heatmap"]])
def test_any_subset_of_trackers_plans(tiny_workflow, tmp_path, trackers):
    work = tmp_path / "work"
    work.mkdir()
    write_config(work, {**TINY_CONFIG, "trackers": trackers})
    jobs = planned_jobs(snakemake(work, "-n"))
    assert jobs["track"] == 3 * len(trackers)
    assert jobs["plot_panel"] == 3 and jobs["render_video"] == 2 + 5 + 5


@pytest.mark.slow
def test_a_subset_without_rolo_or_yolo_runs(tiny_workflow, tmp_path):
    """Panels and videos need only what the configured trackers make (here: none is drawn)."""
    work = copy_workdir(tiny_workflow, tmp_path / "work")
    write_config(work, {**TINY_CONFIG, "trackers": ["csrt", "start_box"], "sweeps": None, "heatmap_figures": None})
    targets = ["results/exp1/figures/panel.png", "results/exp1/videos/D.mp4", "results/exp1/aos.csv"]
    snakemake(work, *targets, "--rerun-triggers", "mtime", "--forcerun", "evaluate", "plot_panel", "render_video")
    table = pd.read_csv(work / "results/exp1/aos.csv")
    assert set(table.tracker) == {"csrt", "start_box"}


def test_schema_lists_no_tracker_names():
    """The schema takes tracker names as strings; the registry is the one list (checked in common.smk)."""
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    assert "enum" not in schema["properties"]["trackers"]["items"]


def test_unknown_tracker_names_the_registry(tmp_path):
    write_config(tmp_path, {**TINY_CONFIG, "trackers": ["yolo", "sort"]})
    proc = snakemake(tmp_path, "-n", check=False)
    assert proc.returncode != 0
    assert "trackers: unknown ['sort']" in proc.stdout + proc.stderr
