"""Snakemake script: success/precision plots, overall and per attribute."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.figures.plots import curve_figures_job

curve_figures_job(snakemake.wildcards.exp, snakemake.input[0], snakemake.params.attributes, dict(snakemake.output.items()))
