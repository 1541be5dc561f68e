"""Snakemake script: download one OTB sequence folder (a local job)."""
import sys
from pathlib import Path

import _bootstrap  # noqa: F401  (this checkout's src/ first on sys.path)
from rolo.utils.runtime import setup_job

setup_job(snakemake.log[0], snakemake.threads)

from rolo.data.download import DownloadError, fetch_otb_folder
from rolo.data.otb import load_catalog

folder = snakemake.wildcards.folder
dataset = snakemake.config["dataset"]
settings = snakemake.config["download"]  # retries, backoff, timeout (schema defaults)
url = f"{dataset['otb']['base_url'].rstrip('/')}/{folder}.zip"
gt_files = sorted({e.gt_file for e in load_catalog().values() if e.folder == folder})
try:
    path = fetch_otb_folder(folder, url, Path(snakemake.output[0]).parent, gt_files, **settings)
except DownloadError as e:
    sys.exit(
        f"download_otb: {e}\n"
        "Without network access: set dataset.otb.otb_root to an existing OTB-2015 copy (e.g. from Kaggle; "
        f"used in place, never written to), put the sequence folders under {dataset['root']} yourself, "
        "set dataset.otb.base_url to a mirror, or run the offline demo: "
        "snakemake --configfile config/demo.yaml --cores 2"
    )
print(f"{folder}: {path}")
