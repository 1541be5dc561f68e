"""Snakemake script: score the sweeps of one experiment."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.evaluation.tables import sweep_job
from rolo.utils.runtime import of_kind, sequence_dirs

items, p = list(snakemake.input.items()), snakemake.params
tracks = of_kind(items, "track")
sweep_job(
    snakemake.wildcards.exp,
    snakemake.input.splits,
    sequence_dirs(items),
    {s: tracks[s] for s in p.steps},
    {s: tracks[s] for s in p.epochs},
    p.default_epochs,
    dict(snakemake.output.items()),
)
