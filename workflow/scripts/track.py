"""Snakemake script: one tracker over one experiment's test videos."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.tracking.trackers import track_job
from rolo.utils.runtime import grouped

i, p = snakemake.input, snakemake.params
track_job(p.tracker, i.splits, grouped(i.items()), p.association, i.get("model"), snakemake.output[0])
