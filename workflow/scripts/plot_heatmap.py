"""Snakemake script: the paper-input ROLO-heatmap's figures (a strip of one video's maps, or map-beside-box pairs)."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.figures.plots import heatmap_pairs_job, heatmap_strip_job

from rolo.utils.runtime import of_kind, sequence_dirs

i, o, p = snakemake.input, snakemake.output, snakemake.params
dirs, track = sequence_dirs(i.items()), of_kind(i.items(), "track")["rolo_heatmap_paper"]
if snakemake.rule == "plot_heatmap_strip":
    video = snakemake.wildcards.video
    heatmap_strip_job(video, i.splits, dirs[video], track, o.png, o.pdf, frames=p.frames)
else:
    heatmap_pairs_job(snakemake.wildcards.exp, i.splits, dirs, track, o.png, o.pdf, pairs=p.pairs)
