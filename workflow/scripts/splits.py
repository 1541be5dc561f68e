"""Snakemake script: one experiment's splits."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
import os
import sys

from rolo.utils.runtime import setup_job

console = os.fdopen(os.dup(2), "w", buffering=1)  # warnings reach the terminal too, not only the log
setup_job(snakemake.log[0], snakemake.threads)

from rolo.data.splits import write_splits_job
from rolo.utils.runtime import sequence_dirs


def warn(line):
    for stream in (console, sys.stderr):
        print(line, file=stream)


write_splits_job(
    snakemake.params.experiment,
    sequence_dirs(snakemake.input.items()),
    snakemake.output[0],
    name=snakemake.wildcards.exp,
    warn=warn,
)
