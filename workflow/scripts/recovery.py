"""Snakemake script: one experiment's recovery-after-occlusion tables."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.evaluation.recovery import recovery_job
from rolo.utils.runtime import of_kind, sequence_dirs

i, o, p = snakemake.input, snakemake.output, snakemake.params
items = list(i.items())
recovery_job(i.splits, sequence_dirs(items), of_kind(items, "track"), p.synthetic, p.attributes, o.csv, o.episodes)
