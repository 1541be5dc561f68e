"""Snakemake script: one experiment's tables."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.evaluation import evaluate_job

p = snakemake.params
evaluate_job(
    snakemake.wildcards.exp, snakemake.input.splits, p.dirs, p.tracks, p.detections, p.metas, dict(snakemake.output.items())
)
