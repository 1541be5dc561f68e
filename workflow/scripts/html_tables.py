"""Snakemake script: an experiment's summary.csv and aos.csv as HTML tables for the report."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.evaluation.tables import html_table_job

for kind in ("summary", "aos"):
    html_table_job(snakemake.wildcards.exp, kind, snakemake.input[kind], snakemake.output[kind])
