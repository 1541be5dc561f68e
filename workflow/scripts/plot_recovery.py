"""Snakemake script: the recovery-after-occlusion figure of one experiment."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.figures.plots import recovery_job

recovery_job(snakemake.wildcards.exp, snakemake.input.episodes, snakemake.output.png, snakemake.output.pdf)
