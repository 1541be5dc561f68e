"""rolo.utils.runtime.setup_job pins a job's threads: torch, OpenCV, BLAS and Ultralytics (which otherwise
sets torch to min(8, cpus - 1) threads when it trains on CPU), in a real Snakemake script job."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO

PROBE = """
import json, os, sys
sys.path.insert(0, {src!r})
before = sorted(m for m in ("numpy", "torch", "cv2", "ultralytics") if m in sys.modules)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)
import cv2
import numpy
import torch

out = {{
    "imported_before_setup": before,
    "env": [os.environ[v] for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")],
    "torch": torch.get_num_threads(),
    "cv2": cv2.getNumThreads(),
}}
from ultralytics.utils.torch_utils import select_device

select_device("cpu", verbose=False)  # what Ultralytics' trainer does on CPU
out["torch_after_ultralytics"] = torch.get_num_threads()
out["cv2_after_ultralytics"] = cv2.getNumThreads()
json.dump(out, open(snakemake.output[0], "w"))
"""

SNAKEFILE = """
rule probe:
    output: "threads{n}.json"
    log: "threads{n}.log"
    threads: lambda wc: int(wc.n)
    script: "probe.py"
"""


@pytest.mark.slow
def test_script_jobs_pin_their_declared_threads(tmp_path):
    (tmp_path / "probe.py").write_text(PROBE.format(src=str(REPO / "src")))
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    # 1 and 2 threads: both differ from what Ultralytics picks on some machine (2 cores: 1)
    counts = sorted({1, min(2, os.cpu_count() or 1)})
    targets = [f"threads{n}.json" for n in counts]
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", "--directory", str(tmp_path), *targets],
        cwd=tmp_path, capture_output=True, text=True, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for n in counts:
        got = json.loads((tmp_path / f"threads{n}.json").read_text())
        # nothing heavy is imported before setup_job, so the variables reach torch's and BLAS's pools
        assert got["imported_before_setup"] == []
        assert got["env"] == [str(n)] * 3
        assert got["torch"] == n and got["cv2"] == n
        assert got["torch_after_ultralytics"] == n
        assert got["cv2_after_ultralytics"] <= n  # Ultralytics turns OpenCV's threading off
