"""Snakemake script: rerun this workflow on another synthetic-data seed, in its own folder."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

import subprocess
import sys
from pathlib import Path

import yaml

workdir = Path(snakemake.output[0]).parents[2].resolve()
workdir.mkdir(parents=True, exist_ok=True)
(workdir / "config.yaml").write_text(yaml.safe_dump(snakemake.params.config, sort_keys=False))
# the target goes first: --resources takes several values and would swallow it
cmd = [sys.executable, "-m", "snakemake", "variation_train_seeds", "--snakefile", snakemake.params.snakefile,
       "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"), "--cores", str(snakemake.threads),
       "--resources", "gpu=1"]
print(" ".join(cmd), flush=True)
subprocess.run(cmd, check=True)
