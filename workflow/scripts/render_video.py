"""Snakemake script: annotated H.264 video of one test video."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.plots import video_job

n = video_job(snakemake.wildcards.video, snakemake.input.splits, snakemake.params.dir, snakemake.params.tracks, snakemake.output[0])
print(f"{n} frames encoded", flush=True)
