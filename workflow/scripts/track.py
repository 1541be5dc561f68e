"""Snakemake script: one tracker over one experiment's test videos."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.tracking import track_job

model = snakemake.input.model[0] if snakemake.input.model else None
track_job(
    snakemake.params.tracker,
    snakemake.input.splits,
    snakemake.params.videos,
    snakemake.params.association,
    model,
    snakemake.output[0],
)
