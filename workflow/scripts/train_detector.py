"""Snakemake script: train the detector with Ultralytics' trainer; with a ``splits`` input, fine-tune
it on that experiment's labelled training frames only (the per-experiment detector)."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.detection.detector import finetune_detector_job, resolve_model, train_detector_job
from rolo.utils.runtime import sequence_dirs

p = snakemake.params
dirs = sequence_dirs(snakemake.input.items())
model = resolve_model(p.model, p.scale, p.work_dir)
if "splits" in snakemake.input.keys():
    finetune_detector_job(
        model, dirs, snakemake.input.splits, p.train, snakemake.output.weights, snakemake.output.metrics, p.work_dir
    )
else:
    train_detector_job(
        model,
        [dirs[v] for v in p.sequences],
        [dirs[v] for v in p.val],
        p.train,
        snakemake.output.weights,
        snakemake.output.metrics,
        p.work_dir,
    )
