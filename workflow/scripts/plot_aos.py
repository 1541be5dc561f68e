"""Snakemake script: per-video AOS bars."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.figures.plots import aos_bars_job

aos_bars_job(snakemake.wildcards.exp, snakemake.input[0], snakemake.output.png, snakemake.output.pdf)
