"""Snakemake script: ROLO-heatmap figures (a strip of one video's maps, or map-beside-box pairs)."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.plots import heatmap_pairs_job, heatmap_strip_job

i, o, p = snakemake.input, snakemake.output, snakemake.params
if snakemake.rule == "plot_heatmap_strip":
    heatmap_strip_job(snakemake.wildcards.video, i.splits, p.dir, i.tracks, o.png, o.pdf, frames=p.frames)
else:
    heatmap_pairs_job(snakemake.wildcards.exp, i.splits, p.dirs, i.tracks, o.png, o.pdf, pairs=p.pairs)
