"""Snakemake script: mean and std over seeds."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.evaluation.tables import variation_summary_job

variation_summary_job(
    [snakemake.input.main, *snakemake.input.nested], snakemake.output.csv, snakemake.output.md, snakemake.output.paired
)
