"""The conda route of environment.yml's comment, as far as it runs without conda: its last step,
``make opencv VENV="$CONDA_PREFIX"``, acts on the conda env's python (a recording interpreter stands in
for it here, so nothing is installed), and the steps are those Snakemake runs as environment.yml's
post-deploy script."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def recording_prefix(root: Path) -> tuple[Path, Path]:
    """An environment prefix whose ``bin/python`` appends its arguments to a log and succeeds."""
    log = root / "calls.log"
    python = root / "env/bin/python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\n')
    python.chmod(0o755)
    return root / "env", log


def opencv_pin() -> str:
    track = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["track"]
    return next(d for d in track if d.startswith("opencv-contrib-python-headless=="))


def test_make_opencv_as_environment_yml_writes_it(tmp_path):
    """The comment's command, run by a shell with CONDA_PREFIX set: the env's python removes Ultralytics'
    OpenCV, reinstalls the pinned contrib build and checks the trackers; .venv is not touched."""
    comment = (REPO / "environment.yml").read_text()
    command = re.search(r"&& (make opencv VENV=\"\$CONDA_PREFIX\")\n", comment)
    assert command, "environment.yml's route no longer ends with make opencv VENV=\"$CONDA_PREFIX\""
    prefix, log = recording_prefix(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")} | {"CONDA_PREFIX": str(prefix)}
    proc = subprocess.run(["sh", "-c", command[1]], cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    calls = log.read_text().splitlines()
    assert calls == [
        "-m pip uninstall --quiet -y opencv-python opencv-python-headless",
        f"-m pip install --quiet --force-reinstall --no-deps {opencv_pin()}",
        "-c import cv2; cv2.TrackerCSRT_create; cv2.TrackerKCF_create; print('OpenCV', cv2.__version__, 'with contrib trackers')",
    ]
    assert f"{prefix}/bin/python" in proc.stdout  # make echoes the interpreter it uses


@pytest.mark.parametrize("venv, message", [("", "VENV is empty"), ("missing-env", "no missing-env/bin/python")])
def test_make_opencv_refuses_an_empty_or_missing_environment(tmp_path, venv, message):
    """An unset CONDA_PREFIX must not turn into /bin/python (the system's interpreter)."""
    proc = subprocess.run(["make", "-s", "opencv", f"VENV={venv}"], cwd=REPO, capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if not k.startswith("MAKE")})
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr


def test_post_deploy_script_is_where_snakemake_looks():
    """Snakemake runs ``<env file without .yml>.post-deploy.sh`` after creating a rule's conda env; the
    rules' env is environment.yml (workflow/rules/common.smk)."""
    assert re.search(r'^ENV = "\.\./\.\./environment\.yml"$', (REPO / "workflow/rules/common.smk").read_text(), re.M)
    script = REPO / "environment.post-deploy.sh"
    assert script.read_text().startswith("#!/usr/bin/env sh\n") and opencv_pin() in script.read_text()
    assert opencv_pin() in (REPO / "environment.yml").read_text()
