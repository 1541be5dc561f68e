"""Snakemake script: `rolo track` over one test video of an experiment (CSV, annotated MP4, still)."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as `rolo track`: idle OpenMP threads sleep (torch not yet loaded)

from rolo.tracking.live import demo_job

out = snakemake.output
demo_job(
    snakemake.wildcards.video,
    snakemake.input.splits,
    snakemake.input.img,
    snakemake.input.model,
    snakemake.params.detector,
    snakemake.params.extraction,
    out.csv,
    out.mp4,
    out.png,
)
