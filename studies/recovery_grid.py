"""Recovery after occlusion over the whole variation grid (issue 13, "where it wins and loses").

    PYTHONPATH=src python studies/recovery_grid.py --run 2026=/work/grid \
        --run 2027=/work/grid/results/variation/data_seed2027 \
        --run 2028=/work/grid/results/variation/data_seed2028 [--out studies/recovery_grid.md]

The pipeline's ``recovery`` rule scores one run (one data seed, one training seed); on the demo that
is a handful of occluder episodes, too few to rank trackers on. This study reads the tracks the
``variation`` target left in each data seed's run folder (``results/<exp>/variation/seed<N>/tracks/``
for ``rolo`` and ``rolo_paper``, retrained per training seed; ``results/<exp>/tracks/`` for YOLO-only
and CSRT, which do not depend on the training seed) and pools the episodes of all 27 runs with the
pipeline's own functions (:func:`rolo.evaluation.recovery.load_episodes`, as the ``recovery`` rule): the
split's scored frames only, the generator's occluder windows of each run's data seed. Nothing is tracked or trained here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from rolo.evaluation.recovery import load_episodes, recovery_summary  # noqa: E402

EXPS = ("exp1", "exp2", "exp3")
TRAIN_SEEDS = (0, 1, 2)
PER_SEED = ("rolo", "rolo_paper")  # retrained per training seed: variation/seed<N>/tracks/
SHARED = ("yolo", "csrt")  # the same tracks for every training seed: tracks/


def run_episodes(root: Path, data_seed: int) -> pd.DataFrame:
    """Every episode of one data seed's run folder: 3 experiments x 3 training seeds."""
    config = root / "config.yaml" if (root / "config.yaml").exists() else root / "config" / "demo.yaml"
    synth = yaml.safe_load(config.read_text())["dataset"]["synthetic"]
    if synth["seed"] != data_seed:
        raise SystemExit(f"{config}: dataset.synthetic.seed is {synth['seed']}, not {data_seed}")
    seqs = {v: str(root / "resources" / "synthetic" / v) for v in synth["sequences"]}
    frames = []
    for exp in EXPS:
        for seed in TRAIN_SEEDS:
            dirs = {t: root / "results" / exp / "variation" / f"seed{seed}" / "tracks" / t for t in PER_SEED}
            dirs |= {t: root / "results" / exp / "tracks" / t for t in SHARED}
            e = load_episodes(root / "results" / exp / "splits.json", seqs, dirs, synth, synth["sequences"])
            frames.append(e.assign(experiment=exp, data_seed=data_seed, train_seed=seed))
    return pd.concat(frames, ignore_index=True)


def table(df: pd.DataFrame) -> str:
    return df.to_markdown(index=False, floatfmt=".2f")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="append", required=True, metavar="SEED=DIR",
                    help="a data seed and the run folder holding its results/ and resources/")
    ap.add_argument("--out", type=Path, default=REPO / "studies" / "recovery_grid.md")
    args = ap.parse_args(argv)
    episodes = pd.concat([run_episodes(Path(d), int(s)) for s, d in (r.split("=", 1) for r in args.run)],
                         ignore_index=True)
    order = list(PER_SEED + SHARED)
    overall = recovery_summary(episodes).set_index("tracker").loc[order].reset_index()
    per_exp = pd.concat([recovery_summary(e).assign(experiment=exp) for exp, e in episodes.groupby("experiment")])
    per_exp = per_exp[["experiment"] + [c for c in per_exp.columns if c != "experiment"]]
    # per video and data seed: how many of the (training seeds x episodes) each tracker recovers
    wide = episodes.assign(ok=episodes.frames.notna()).pivot_table(
        index=["data_seed", "experiment", "video"], columns="tracker", values="ok", aggfunc="sum")[order]
    n = episodes[episodes.tracker == "rolo"].groupby(["data_seed", "experiment", "video"]).size()
    wide.insert(0, "episodes", n)
    lines = [
        "# Recovery after occlusion over the variation grid",
        "",
        "Made by `studies/recovery_grid.py` (its docstring has the command) from the round-3 grid's tracks",
        "(docs/results.md, \"The closed-loop ROLO\"). An episode is one occluder that ends inside a test segment;",
        "*recovered*: the tracker's IoU with the ground truth exceeds 0.5 on a scored frame after the target",
        "reappears, before the segment ends; frames are counted from the reappearance (0: on the target at",
        "once). Episodes of the 3 data seeds x 3 training seeds x 3 experiments are pooled (YOLO-only and",
        "CSRT do not depend on the training seed, so each of their episodes counts three times, as in the",
        "grid's paired comparison).",
        "",
        "## All runs",
        "",
        table(overall),
        "",
        "## Per experiment",
        "",
        table(per_exp),
        "",
        "## Per video: recovered episodes (of `episodes`, over the 3 training seeds)",
        "",
        wide.reset_index().to_markdown(index=False),
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
