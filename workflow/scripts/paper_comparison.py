"""Snakemake script: our ROLO figures beside the published ones."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.evaluation.tables import paper_comparison_job

o = snakemake.output
paper_comparison_job(snakemake.wildcards.exp, snakemake.params.split, snakemake.input[0], o.csv, o.md)
