"""Snakemake script: download and check the detector weights (a local job, before any extraction)."""
import sys

import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.data.download import DownloadError, fetch_weights

detector = snakemake.config["detector"]
settings = snakemake.config["download"]  # retries, backoff, timeout (schema defaults)
try:
    fetch_weights(detector["url"], snakemake.output[0], snakemake.params.sha256, **settings)
except DownloadError as e:
    sys.exit(
        f"fetch_weights: {e}\n"
        f"Without network access: put the weights at {detector['model']} yourself (detector.model), "
        "or run the offline demo: snakemake --configfile config/demo.yaml --cores 2"
    )
print(f"{snakemake.output[0]}: checked")
