"""Snakemake script: train one experiment's ROLO model."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from pathlib import Path

from rolo.utils.runtime import grouped

i, p, o = snakemake.input, snakemake.params, snakemake.output
from rolo.tracking.closed_loop_job import KINDS as CLOSED_LOOP_KINDS

if p.model["kind"] in CLOSED_LOOP_KINDS:
    from rolo.tracking.closed_loop_job import train_job

    train_job(i.splits, grouped(i.items()), p.model, p.train, p.association, o.model, o.loss)
else:
    from rolo.tracking.training import train_job

    videos = {v: (f["features"], f["detections"], f["meta"], str(Path(f["gt"]).parent)) for v, f in grouped(i.items()).items()}
    previous = i.get("previous")  # the epoch sweep's earlier segment, if any
    train_job(i.splits, videos, p.model, p.train, p.association, o.model, o.loss,
              resume_from=previous, resumable=p.get("resumable", False))
