"""Snakemake script: one video's features and detections."""
from pathlib import Path

import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.detection.detector import resolve_model
from rolo.detection.extraction import extract_features_job

out = snakemake.output
extract_features_job(
    snakemake.input.img,
    resolve_model(snakemake.params.detector, snakemake.params.scale, Path(out.meta).parent),
    snakemake.params.extraction,
    out.features,
    out.detections,
    out.meta,
)
