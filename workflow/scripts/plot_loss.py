"""Snakemake script: training loss curve."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.figures.plots import loss_job

loss_job(snakemake.wildcards.exp, snakemake.input[0], snakemake.output.png, snakemake.output.pdf)
