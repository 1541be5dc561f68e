"""The frame identity's cost (workflow/rules/identity.smk): a dry run of the workflow on a generated
tree of many small files, timed with the identity and without it (``ROLO_FRAME_IDENTITY=off``, a
benchmark switch), and the identity alone (:func:`rolo.utils.provenance.folder_identity` over every
folder). ``python -m benchmarks.identity [--files N] [--quick]`` or a section of ``python -m benchmarks``."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
FILES = 59_000  # OTB-100's frame count, about
QUICK_FILES = 300


def make_tree(root: Path, files: int, videos: int) -> list[str]:
    """``videos`` OTB-layout folders ``V000/img/0001.jpg...`` holding ``files`` small files in all
    (a few bytes each: the identity reads names, sizes and mtimes, never contents)."""
    names, per = [], max(1, files // videos)
    for v in range(videos):
        name = f"V{v:03d}"
        img = root / name / "img"
        if not (root / name / "groundtruth_rect.txt").is_file():
            img.mkdir(parents=True, exist_ok=True)
            for i in range(1, per + 1):
                (img / f"{i:04d}.jpg").write_bytes(b"\xff\xd8\xff\xd9")
            (root / name / "groundtruth_rect.txt").write_text("1,1,2,2\n" * per)
        names.append(name)
    return names


def dry_run_seconds(work: Path, identity: bool) -> float:
    env = {**os.environ, "ROLO_FRAME_IDENTITY": "on" if identity else "off"}
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work),
           "--configfile", str(work / "config.yaml"), "-n", "--cores", "1", "--quiet", "all"]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return seconds


def run(work: Path, files: int, log=print, videos: int = 100, rounds: int = 2) -> tuple[list[dict], dict]:
    """Rows of the benchmark table; ``rounds`` dry runs each way (the best kept) after a warm-up one."""
    from rolo.utils.provenance import folder_identity

    work = Path(work) / f"identity-{files}"
    videos = min(videos, max(2, files // 30))
    names = make_tree(work / "data", files, videos)
    half = len(names) // 2
    config = {
        "dataset": {"root": "data"},
        "detector": {"model": "yolov8.yaml", "imgsz": 96},
        "trackers": ["yolo", "csrt"],
        "sweeps": None,
        "heatmap_figures": None,
        "experiments": {"exp1": {"split": "disjoint", "train": names[:half], "test": names[half:]}},
    }
    (work / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    n = sum(1 for v in names for _ in os.scandir(work / "data" / v / "img"))
    log(f"identity: dry runs on {n} files in {len(names)} folders")
    if rounds > 1:
        dry_run_seconds(work, True)  # warm the file-system cache and Python's bytecode
    without = min(dry_run_seconds(work, False) for _ in range(rounds))
    with_id = min(dry_run_seconds(work, True) for _ in range(rounds))
    t = time.perf_counter()
    for v in names:
        folder_identity(work / "data" / v / "img")
    alone = time.perf_counter() - t
    row = lambda measure, value, unit, ratio=float("nan"), of="": {  # noqa: E731
        "section": "identity", "measure": measure, "value": value, "unit": unit, "ratio": ratio, "ratio_of": of, "target": ""}
    rows = [
        row(f"dry run, {n} frames in {len(names)} folders, without frame identity", without, "s"),
        row(f"dry run, {n} frames in {len(names)} folders, with frame identity", with_id, "s", with_id / without, "with / without"),
        row(f"frame identity alone, {n} frames (one stat per file)", alone, "s"),
    ]
    return rows, {"files": n, "folders": len(names), "without_s": without, "with_s": with_id, "identity_s": alone}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.identity", description=__doc__)
    p.add_argument("--files", type=int, default=FILES)
    p.add_argument("--quick", action="store_true", help=f"{QUICK_FILES} files: a smoke run, not a measurement")
    p.add_argument("--work", default="results/bench/work")
    a = p.parse_args(argv)
    rows, _ = run(Path(a.work), QUICK_FILES if a.quick else a.files, rounds=1 if a.quick else 2)
    for r in rows:
        print(f"{r['measure']}: {r['value']:.2f} {r['unit']}" + (f" ({r['ratio_of']} {r['ratio']:.2f})" if r["ratio_of"] else ""))
    return rows


if __name__ == "__main__":
    main()
