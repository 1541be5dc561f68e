"""Snakemake script: annotated H.264 video of one test video."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.figures.plots import video_job

from pathlib import Path

from rolo.utils.runtime import of_kind

i = snakemake.input
tracks = of_kind(i.items(), "track")
n = video_job(snakemake.wildcards.video, i.splits, str(Path(i.gt).parent), tracks, snakemake.output[0])
print(f"{n} frames encoded", flush=True)
