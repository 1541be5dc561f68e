"""Time and memory per workflow stage, from Snakemake's ``benchmark:`` files.

    python -m benchmarks.stages [results/benchmarks]

One row per rule: jobs, summed wall seconds, the longest job, peak resident memory (MB). Summed
seconds exceed the run's wall time when jobs ran in parallel. (Formerly studies/stage_times.py.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def stage_times(root: Path) -> pd.DataFrame:
    """The summary table; empty (same columns) when ``root`` holds no benchmark files."""
    rows = []
    for tsv in sorted(Path(root).rglob("*.tsv")):
        rule = tsv.relative_to(root).parts[0].removesuffix(".tsv")
        b = pd.read_csv(tsv, sep="\t").iloc[-1]
        rows.append({"rule": rule, "s": float(b["s"]), "max_rss_mb": float(b["max_rss"])})
    if not rows:
        return pd.DataFrame(columns=["rule", "jobs", "total_s", "longest_s", "peak_rss_mb"])
    df = pd.DataFrame(rows)
    return (
        df.groupby("rule", sort=False)
        .agg(jobs=("s", "size"), total_s=("s", "sum"), longest_s=("s", "max"), peak_rss_mb=("max_rss_mb", "max"))
        .reset_index()
    )


ORDER = ("synthesize", "download", "train_detector", "extract_features", "splits", "train_rolo", "track", "evaluate")


def rows(root: Path) -> list[dict]:
    """The benchmark table's pipeline section: one row per stage (pipeline order first), summed wall seconds."""
    out = []
    df = stage_times(root)
    df = df.assign(_o=[ORDER.index(r) if r in ORDER else len(ORDER) for r in df["rule"]]).sort_values(["_o", "rule"])
    for r in df.itertuples():
        out.append({"section": "pipeline", "measure": f"{r.rule} ({r.jobs} jobs, longest {r.longest_s:.1f} s, peak {r.peak_rss_mb:.0f} MB)",
                    "value": float(r.total_s), "unit": "s", "ratio": float("nan"), "ratio_of": "", "target": ""})
    return out


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "results/benchmarks")
    print(stage_times(root).to_markdown(index=False, floatfmt=".1f"))
