"""Snakemake script: train the detector with Ultralytics' trainer."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.detector import resolve_model, train_detector_job

p = snakemake.params
train_detector_job(
    resolve_model(p.model, p.scale, p.work_dir),
    p.train_dirs,
    p.val_dirs,
    p.train,
    snakemake.output.weights,
    snakemake.output.metrics,
    p.work_dir,
)
