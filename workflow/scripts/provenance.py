"""Snakemake script: one experiment's provenance record."""
import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.utils.io import save_json

save_json(
    snakemake.output[0],
    {
        "code": snakemake.params.revision,
        "config_sha256": snakemake.params.config_sha256,
        "experiment": {"name": snakemake.wildcards.exp, **snakemake.params.experiment},
    },
)
