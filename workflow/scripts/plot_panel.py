"""Snakemake script: qualitative panel of test frames."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.figures.plots import panel_job
from rolo.utils.runtime import of_kind, sequence_dirs

i, o = snakemake.input, snakemake.output
items = list(i.items())
panel_job(snakemake.wildcards.exp, i.aos, i.splits, sequence_dirs(items), of_kind(items, "track"), o.png, o.pdf)
