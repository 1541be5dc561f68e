"""Snakemake script: score the sweeps of one experiment."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.evaluation import sweep_job

p = snakemake.params
sweep_job(snakemake.wildcards.exp, snakemake.input.splits, p.dirs, p.steps, p.epochs, p.default_epochs, dict(snakemake.output.items()))
