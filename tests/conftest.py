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

TINY_CONFIG_FILE = REPO / ".test" / "config" / "config.yaml"
TINY_CONFIG = yaml.safe_load(TINY_CONFIG_FILE.read_text())
"""The tiny configuration (a few-second version of the demo), as a person runs it from ``.test/``."""


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the marks
def pytest_collection_modifyitems(config, items):
    """For pytest-xdist's ``--dist loadgroup`` (``make test``: two workers): every test that needs the
    tiny workflow runs on one worker, which builds it once, and every other test file runs whole on
    one worker, which builds its module fixtures once. Without xdist the marks do nothing."""
    for item in items:
        group = "tiny_workflow" if "tiny_workflow" in item.fixturenames else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))


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
