"""Snakemake script: one experiment's tables."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

import sys

from rolo.errors import RoloInputError
from rolo.evaluation.tables import evaluate_job
from rolo.utils.runtime import of_kind, sequence_dirs

items = list(snakemake.input.items())
out = dict(snakemake.output.items())
provenance = out.pop("provenance", None)
try:
    evaluate_job(
        snakemake.wildcards.exp,
        snakemake.input.splits,
        sequence_dirs(items),
        of_kind(items, "track"),
        of_kind(items, "detections"),
        of_kind(items, "meta"),
        out,
        external=of_kind(items, "external"),
        external_times=of_kind(items, "external_time"),
    )
except RoloInputError as e:  # a bad results file (config external): one line naming it
    sys.exit(f"evaluate: error: {e}")
if provenance:
    from pathlib import Path

    from rolo.utils.provenance import write_provenance

    write_provenance(provenance, Path(_bootstrap.SRC).parent, snakemake.config, snakemake.wildcards.exp)
