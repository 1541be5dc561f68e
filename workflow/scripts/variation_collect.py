"""Snakemake script: collect every training seed's scores."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.evaluation import variation_collect_job

variation_collect_job(snakemake.params.tables, snakemake.params.data_seed, snakemake.output[0])
