"""Snakemake script: generate one synthetic OTB-layout sequence."""
from pathlib import Path

import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.data.synthetic import SynthParams, write_sequence

g = snakemake.params.generator
write_sequence(
    Path(snakemake.output.gt).parent,
    snakemake.wildcards.video,
    snakemake.params.challenges,
    seed=g["seed"],
    p=SynthParams(width=g["width"], height=g["height"], frames=g["frames"]),
)
