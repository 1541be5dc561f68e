"""environment.yml and pyproject.toml list the same dependencies."""

from __future__ import annotations

import tomllib

import yaml

from conftest import REPO


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = set(project["dependencies"]) | {d for deps in extras.values() for d in deps if not d.startswith("rolo[")}
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert set(pip) == wanted
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert python == "python=3.11" and project["requires-python"] == ">=3.11"  # no upper cap


def test_rolo_score_needs_numpy_and_pandas_only(tmp_path):
    """The core install: `rolo score` runs with every optional dependency made unimportable."""
    import subprocess
    import sys

    from rolo.data.synthetic import SynthParams, write_sequence

    write_sequence(tmp_path / "data/Mine", "Mine", ["FM"], seed=1, p=SynthParams(width=160, height=120, frames=12))
    (tmp_path / "res").mkdir()
    (tmp_path / "res/Mine.txt").write_text((tmp_path / "data/Mine/groundtruth_rect.txt").read_text())
    blocker = tmp_path / "block" / "sitecustomize.py"
    blocker.parent.mkdir()
    blocker.write_text(
        "import importlib.abc, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] in {'torch', 'torchvision', 'cv2', 'ultralytics', 'matplotlib', 'snakemake', 'yaml', 'tabulate', 'imageio_ffmpeg'}:\n"
        "            raise ImportError(f'{name} is blocked (core install)')\n"
        "sys.meta_path.insert(0, Block())\n"
    )
    import os

    env = {**os.environ, "PYTHONPATH": f"{blocker.parent}{os.pathsep}{REPO / 'src'}"}
    proc = subprocess.run([sys.executable, "-m", "rolo.cli", "score", "--dataset-root", str(tmp_path / "data"),
                           "--results", str(tmp_path / "res"), "--out", str(tmp_path / "s.csv")],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "blocked" not in proc.stderr and (tmp_path / "s.csv").read_text().count("\n") == 3  # header, Mine, ALL
