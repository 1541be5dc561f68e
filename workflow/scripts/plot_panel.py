"""Snakemake script: qualitative panel of test frames."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.plots import panel_job

p = snakemake.params
panel_job(snakemake.wildcards.exp, snakemake.input.aos, snakemake.input.splits, p.dirs, p.tracks, snakemake.output.png, snakemake.output.pdf)
