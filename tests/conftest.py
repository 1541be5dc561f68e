"""Shared fixtures. Nothing here touches the network: Ultralytics runs offline with its settings in a
temporary folder, and every model is built from Ultralytics' yaml and trained here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]

os.environ["YOLO_OFFLINE"] = "1"
os.environ.setdefault("YOLO_VERBOSE", "False")

# A few-second version of the demo: 160x120 frames, 36 per video, a tiny YOLOv8 trained 30 epochs.
TINY_CONFIG = {
    "dataset": {
        "root": "resources/synthetic",
        "synthetic": {
            "seed": 5,
            "width": 160,
            "height": 120,
            "frames": 36,
            "sequences": {
                "A": ["SV"], "B": ["FM", "MB"], "C": ["OCC"], "D": ["IV"], "E": ["BC"],
                "DetA": ["SV", "FM"], "DetB": ["OCC", "IV"], "DetC": ["MB", "BC"], "DetV": ["SV"],
            },
        },
    },
    "detector": {
        "model": "yolov8.yaml",
        "scale": [0.33, 0.125, 1024],
        "imgsz": 160,
        "train": {"sequences": ["DetA", "DetB", "DetC"], "val": ["DetV"], "epochs": 30, "batch": 16, "workers": 0},
    },
    "extraction": {"batch": 16, "workers": 0, "cpu_batch": None},
    "rolo": {"epochs": 5, "hidden": 32},
    "trackers": ["rolo", "rolo_heatmap", "yolo", "yolo_top", "csrt", "kcf", "mil", "start_box"],
    # steps 6 = rolo.steps (its model is the trackers'); epochs 5 = rolo.epochs (the sweep's resumed
    # run must give the trackers' weights)
    "sweeps": {"experiment": "exp2", "kinds": ["coordinate", "heatmap"], "steps": [1, 6], "epochs": [2, 5]},
    "heatmap_figures": {"experiment": "exp1", "strip_frames": 4, "pairs": 2},
    "experiments": {
        "exp1": {"protocol": "disjoint", "train": ["A", "B", "C"], "test": ["D", "E"]},
        "exp2": {"protocol": "held_out_tail", "videos": ["A", "B", "C", "D", "E"]},
        "exp3": {"protocol": "sparse_labels", "videos": ["A", "B", "C", "D", "E"]},
    },
}


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models run fastest on one thread (and do not fight other processes for cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session", autouse=True)
def _ultralytics_settings(tmp_path_factory):
    os.environ["YOLO_CONFIG_DIR"] = str(tmp_path_factory.mktemp("ultralytics"))


def write_config(workdir: Path, config: dict, name: str = "config.yaml") -> Path:
    path = workdir / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake(
    workdir: Path, *args: str, configfile: str = "config.yaml", check: bool = True, snakefile: Path = REPO / "Snakefile"
) -> subprocess.CompletedProcess:
    """Run this repository's workflow in ``workdir``; on failure the output is in the assertion."""
    cmd = [
        sys.executable, "-m", "snakemake", "--snakefile", str(snakefile), "--directory", str(workdir),
        "--configfile", str(workdir / configfile), "--cores", "2", *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    if check:
        assert proc.returncode == 0, f"{' '.join(cmd)}\n--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-6000:]}"
    return proc


def planned_jobs(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """Job counts from a dry run's "Job stats" table ({} when nothing is to be done)."""
    text = proc.stdout + proc.stderr
    m = re.search(r"Job stats:\n.*?\n-+\s+-+\n(.*?)\n\s*total", text, re.S)
    if not m:
        assert "Nothing to be done" in text, text[-3000:]
        return {}
    return {name: int(n) for name, n in (line.split() for line in m.group(1).strip().splitlines())}


@pytest.fixture(scope="session")
def tiny_workflow(tmp_path_factory) -> Path:
    """The whole workflow, run once per test session on the tiny synthetic config; its trained
    detector (results/detector/weights.pt) is the one tests share."""
    workdir = tmp_path_factory.mktemp("tiny_workflow")
    write_config(workdir, TINY_CONFIG)
    snakemake(workdir)
    return workdir
