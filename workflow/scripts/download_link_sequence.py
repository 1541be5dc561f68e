"""Snakemake script: one OTB sequence's scored frames as a plain OTB-layout folder (a local job)."""
from pathlib import Path

import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.data.otb import find_entry, link_sequence

meta = link_sequence(
    snakemake.input.source,
    find_entry(snakemake.wildcards.video),
    snakemake.params.protocol,
    Path(snakemake.output.meta).parent,
)
print(f"{snakemake.wildcards.video}: {meta['name']}, frames {meta['first_frame']}..{meta['last_frame']} "
      f"({meta['frames']}), {meta['protocol']} protocol, from {meta['source']}")
