"""Snakemake script: one experiment's splits."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.experiments import write_splits_job

write_splits_job(snakemake.params.experiment, snakemake.params.dirs, snakemake.output[0])
