"""Snakemake script: train one experiment's ROLO model."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.training import train_job

p = snakemake.params
train_job(snakemake.input.splits, p.videos, p.model, p.train, p.association, snakemake.output.model, snakemake.output.loss)
