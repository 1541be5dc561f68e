"""Time and memory per workflow stage, from Snakemake's benchmark files.

    python studies/stage_times.py [results/benchmarks]

Prints one row per rule: jobs, summed wall seconds, the longest job, peak resident memory (MB).
Summed seconds exceed the run's wall time when jobs ran in parallel.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def stage_times(root: Path) -> pd.DataFrame:
    rows = []
    for tsv in sorted(root.rglob("*.tsv")):
        rule = tsv.relative_to(root).parts[0].removesuffix(".tsv")
        b = pd.read_csv(tsv, sep="\t").iloc[-1]
        rows.append({"rule": rule, "s": float(b["s"]), "max_rss_mb": float(b["max_rss"])})
    df = pd.DataFrame(rows)
    return (
        df.groupby("rule", sort=False)
        .agg(jobs=("s", "size"), total_s=("s", "sum"), longest_s=("s", "max"), peak_rss_mb=("max_rss_mb", "max"))
        .reset_index()
    )


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "results/benchmarks")
    print(stage_times(root).to_markdown(index=False, floatfmt=".1f"))
