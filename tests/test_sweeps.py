"""The heatmap tracker, the steps and epochs sweeps and their figures on the tiny workflow, and what
adding a sweep value replans."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import TINY_CONFIG, planned_jobs, snakemake, write_config
from rolo.data.sequences import read_otb_xyxy
from rolo.tracking.heatmap import GRID

SWEEP = TINY_CONFIG["sweeps"]
EXP = SWEEP["experiment"]
TEST_VIDEOS = TINY_CONFIG["experiments"][EXP]["videos"]


def test_heatmap_trackers_are_scored_like_the_others(tiny_workflow):
    for exp in TINY_CONFIG["experiments"]:
        aos = pd.read_csv(tiny_workflow / f"results/{exp}/aos.csv")
        assert {"rolo_heatmap", "rolo_heatmap_paper"} <= set(aos.tracker)
        frames = aos[aos.sequence == "ALL"].set_index("tracker").frames
        assert frames["rolo_heatmap"] == frames["rolo_heatmap_paper"] == frames["rolo"] == frames["yolo"]  # same scored frames
    d = tiny_workflow / "results/exp1/tracks/rolo_heatmap_paper"
    for v in TINY_CONFIG["experiments"]["exp1"]["test"]:
        maps = np.load(d / f"{v}.maps.npy")
        track = read_otb_xyxy(d / f"{v}.txt")
        assert maps.shape == (len(track) - 1, GRID, GRID) and maps.dtype == np.float16
        assert 0 <= maps.min() and maps.max() <= 1


def test_sweep_tables(tiny_workflow):
    steps = pd.read_csv(tiny_workflow / f"results/{EXP}/sweep_steps.csv")
    assert list(steps.columns) == ["kind", "steps", "epochs", "aos", "success_auc", "success_50", "stage_fps", "lstm_fps"]
    assert sorted(zip(steps.kind, steps.steps)) == sorted((k, s) for k in SWEEP["kinds"] for s in SWEEP["steps"])
    assert (steps.epochs == TINY_CONFIG["rolo"]["epochs"]).all()
    assert steps[["aos", "success_auc"]].apply(lambda c: c.between(0, 1)).all().all()
    assert (steps.lstm_fps >= steps.stage_fps).all()  # the LSTM alone is part of the stage

    # steps = rolo.steps is the trackers' own model: the same scores as the tracker in aos.csv
    aos = pd.read_csv(tiny_workflow / f"results/{EXP}/aos.csv")
    for kind, tracker in (("coordinate", "rolo_paper"), ("heatmap", "rolo_heatmap_paper")):
        own = aos[(aos.tracker == tracker) & (aos.sequence == "ALL")].aos.item()
        assert steps[(steps.kind == kind) & (steps.steps == 6)].aos.item() == pytest.approx(own, abs=1e-4)

    epochs = pd.read_csv(tiny_workflow / f"results/{EXP}/sweep_epochs.csv")
    assert list(epochs.columns) == ["kind", "sequence", *[f"e{e}" for e in SWEEP["epochs"]]]
    for kind in SWEEP["kinds"]:
        assert list(epochs[epochs.kind == kind].sequence) == sorted(TEST_VIDEOS) + ["ALL"]
    # the epoch sweep's last count equals rolo.epochs at rolo.steps: the resumed run (2 + 3 epochs)
    # must reproduce the trackers' model (5 epochs in one go), hence their AOS
    for kind, tracker in (("coordinate", "rolo_paper"), ("heatmap", "rolo_heatmap_paper")):
        own = aos[(aos.tracker == tracker) & (aos.sequence == "ALL")].aos.item()
        assert epochs[(epochs.kind == kind) & (epochs.sequence == "ALL")].e5.item() == pytest.approx(own, abs=1e-4)


def test_resumed_sweep_checkpoint_equals_one_run(tiny_workflow):
    for kind in SWEEP["kinds"]:
        one = torch.load(tiny_workflow / f"results/{EXP}/models/{kind}_s6.pt", weights_only=True)
        resumed = torch.load(tiny_workflow / f"results/{EXP}/sweeps/models/{kind}_s6_e5.pt", weights_only=True)
        assert resumed["resume"]["epoch"] == 5 and "resume" not in one
        for k, v in one["state_dict"].items():
            assert torch.equal(v, resumed["state_dict"][k]), (kind, k)
        loss = pd.read_csv(tiny_workflow / f"results/{EXP}/sweeps/models/{kind}_s6_e5_loss.csv")
        assert list(loss.epoch) == [1, 2, 3, 4, 5]


def test_sweep_and_heatmap_figures_exist(tiny_workflow):
    figs = tiny_workflow / "results"
    for f in (f"{EXP}/figures/sweep_steps", f"{EXP}/figures/sweep_aos", "exp1/figures/heatmap_pairs",
              *[f"exp1/figures/heatmap_strip_{v}" for v in TINY_CONFIG["experiments"]["exp1"]["test"]]):
        for ext in ("png", "pdf"):
            assert (figs / f"{f}.{ext}").stat().st_size > 1000, f


@pytest.mark.parametrize(
    "key, value, expected",
    [
        # a new steps value: its model per kind, its tracks per kind, and the sweep's tables/figures
        ("steps", 3, {"train_rolo": 2, "track_setting": 2}),
        # a larger epoch count: one more resumed segment per kind, its tracks
        ("epochs", 8, {"train_epochs": 2, "track_setting": 2}),
    ],
)
def test_adding_a_sweep_value_replans_only_its_jobs(tiny_workflow, key, value, expected):
    config = copy.deepcopy(TINY_CONFIG)
    config["sweeps"][key] = [*config["sweeps"][key], value]
    write_config(tiny_workflow, config, f"sweep_{key}.yaml")
    jobs = planned_jobs(snakemake(tiny_workflow, "-n", configfile=f"sweep_{key}.yaml"))
    assert jobs == {**expected, "evaluate_sweeps": 1, "plot_sweeps": 1, "all": 1}


def test_sweep_experiment_must_exist(tiny_workflow):
    config = copy.deepcopy(TINY_CONFIG)
    config["sweeps"]["experiment"] = "exp9"
    write_config(tiny_workflow, config, "bad_sweep.yaml")
    proc = snakemake(tiny_workflow, "-n", configfile="bad_sweep.yaml", check=False)
    assert proc.returncode != 0 and "sweeps.experiment: 'exp9'" in proc.stdout + proc.stderr
