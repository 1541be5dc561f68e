"""Snakemake script: an experiment against its twin with a fine-tuned detector (target finetune)."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.detection.detector import finetune_comparison_job

i = snakemake.input
finetune_comparison_job(
    snakemake.wildcards.exp,
    {"summary": i.base_summary, "detector": i.base_detector},
    {"summary": i.tuned_summary, "detector": i.tuned_detector},
    snakemake.output.csv,
    snakemake.output.md,
)
