"""Snakemake script: train one experiment's ROLO model."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.training import train_job

p = snakemake.params
previous = snakemake.input.get("previous")  # the epoch sweep's earlier segment, if any
train_job(snakemake.input.splits, p.videos, p.model, p.train, p.association, snakemake.output.model, snakemake.output.loss,
          resume_from=previous[0] if previous else None, resumable=p.get("resumable", False))
