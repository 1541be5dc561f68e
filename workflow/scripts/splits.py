"""Snakemake script: one experiment's splits."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.data.splits import write_splits_job
from rolo.utils.runtime import sequence_dirs

write_splits_job(snakemake.params.experiment, sequence_dirs(snakemake.input.items()), snakemake.output[0])
