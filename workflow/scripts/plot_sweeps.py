"""Snakemake script: the sweeps' figures (accuracy and speed against steps, AOS heat map)."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.figures.plots import sweep_figures_job

sweep_figures_job(snakemake.wildcards.exp, snakemake.input.steps, snakemake.input.aos, dict(snakemake.output.items()))
