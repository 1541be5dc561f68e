"""Snakemake script: collect every training seed's scores."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.evaluation.tables import variation_collect_job

# params.tables lists (experiment, training seed) in the order of the declared inputs (one aos.csv each)
tables = [(e, s, path) for (e, s), path in zip(snakemake.params.tables, snakemake.input, strict=True)]
variation_collect_job(tables, snakemake.params.data_seed, snakemake.output[0])
