"""Snakemake script: one extra dataset's video as an OTB-layout view of links (a local job)."""
from pathlib import Path

import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.data.sources import link_source_sequence

meta = link_source_sequence(
    snakemake.wildcards.dataset,
    snakemake.params.root,
    snakemake.wildcards.name,
    Path(snakemake.output.source).parent,
)
print(f"{meta['video']}: {meta['frames']} frames from {meta['source']}; {meta['absent']} absent, "
      f"{meta['unlabelled']} without a label (written 0,0,0,0)")
