"""Validation study, round 4 (issue 13): a larger validation set, and what the LSTM adds on it.
Validation sequences only; no test frame is tracked here.

    PYTHONPATH=src OMP_NUM_THREADS=1 python studies/round4.py --work /work/scratch/multi \
        --run 2026=/work/grid --run 2027=/work/grid/results/variation/data_seed2027 \
        --run 2028=/work/grid/results/variation/data_seed2028 [--prepare] [--settings NAME ...] [--report]

Round 3 (``studies/multi_detector.py``) validated on 8 sequences per data seed (``Val1``-``Val8``),
and its frozen design led YOLO-only on all three seeds' Val sets (seed 2027: 0.671 against 0.469),
yet on the grid's test frames seed 2027's ``rolo`` trailed YOLO-only in every experiment. Eight
videos per seed are too few to stand for the test videos. This round adds ``VB01``-``VB20`` per data
seed: the 10 experiment videos' attribute lists of ``config/demo.yaml``, twice each, generated with
that seed by the demo's generator (new names, so new videos: never trained on, never scored), and
extracted with that seed's detector. Val = ``Val1``-``Val8`` + ``VB01``-``VB20`` (28 per seed).

``--prepare``: generate and extract the new sequences. ``--settings``: track the Val sets with the
runs' trained ``rolo`` models under each named setting of :data:`SETTINGS` (inference-time settings
applied to the grid's models) and with YOLO-only. ``--retrain NAME``: retrain with a training setting
of :data:`TRAIN_SETTINGS` (training seed 0 of each cell). ``--report``: the tables (``round4.md``).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "studies"))

import closed_loop as cl  # noqa: E402
import multi_detector as md  # noqa: E402

EXPS, TRAIN_SEEDS = md.EXPS, md.TRAIN_SEEDS


def _valb() -> dict[str, list[str]]:
    seqs = cl.demo_config()["dataset"]["synthetic"]["sequences"]
    tags = [seqs[v] for v in cl.DEMO_VIDEOS]
    return {f"VB{i + 1:02d}": t for i, t in enumerate(tags + tags)}


VALB = _valb()
VAL_ALL = {**cl.VAL_SEQUENCES, **VALB}

SETTINGS: dict[str, dict] = {
    "round 3 (frozen)": {},
    "coast unrefined": {"refine_without_detection": False},
    # re-acquisition: near the predicted box with a looser appearance gate; anywhere after a while lost
    "local_app=0.5": {"local_app": 0.5},
    "local_app=0.7": {"local_app": 0.7},
    "lost_after=5": {"lost_after": 5},
    "lost_after=15": {"lost_after": 15},
    "lost_after=5, app_redetect_lost=0.7": {"lost_after": 5, "app_redetect_lost": 0.7},
    # the candidate gate and the appearance weight, again on the larger set
    "iou_gate=0.05": {"iou_gate": 0.05},
    "app_weight=1": {"app_weight": 1.0},
    "app_redetect=0.8": {"app_redetect": 0.8},
    # round 4b, after a look at Val videos where rolo trails YOLO-only (VB19 of 2027): the own box
    # coasts onto a faint look-alike inside the loose gate, the online appearance model learns it,
    # and confident detections of the target are then refused
    "app_update=0.7": {"app_update": 0.7},
    "conf_weight=0.5": {"conf_weight": 0.5},
    "conf_weight=1": {"conf_weight": 1.0},
    "cand_conf=0.1": {"cand_conf": 0.1},
    "cand_conf=0.2": {"cand_conf": 0.2},
    # ablation of the round-3 design on the 28 videos (what items 2-4 of issue 13 contribute; item 3 is
    # `coast unrefined` above)
    "no appearance model": {"appearance": False},
    "start-frame appearance only": {"online_appearance": False},
    "open loop (associator picks)": {"loop": "open"},
}


TRAIN_SETTINGS: dict[str, dict] = {
    # training changes (retrained: training seed 0 of each (data seed, experiment) cell)
    "retrained as the grid": {},
    "train on no-detection windows": {"train_on": "no_detection"},
    "rollout_len=80": {"rollout_len": 80},
    "heatmap head": {},  # the model change below
}
MODEL_CHANGES: dict[str, dict] = {
    # model changes, retrained like TRAIN_SETTINGS (the training rollouts use the changed model too)
    "heatmap head": {"head": "heatmap"},  # rolo_heatmap's kind on the closed loop's inputs (issue 13, item 5)
}


def retrain(work: Path, seed: int, run: Path, exp: str, k: int, name: str):
    """Round 3's retraining (the pipeline's job on the run's features, the grid's settings) with the
    training change :data:`TRAIN_SETTINGS` ``[name]`` (and the model change :data:`MODEL_CHANGES` ``[name]``)
    -> (model, appearance params); cached."""
    return md.retrain(work, seed, run, exp, k, name, model_changes=MODEL_CHANGES.get(name, {}),
                      train_changes=TRAIN_SETTINGS[name],
                      folder="models4")


def load_seed(work: Path, seed: int, run: Path) -> dict:
    """``Val1``-``Val8`` and ``VB01``-``VB20`` of data seed ``seed`` -> ``{name: Video}``."""
    return md.load_seed(work, seed, run, VAL_ALL)


def diagnose(work: Path, runs: dict[int, Path], name: str, k: int = 0) -> str:
    """Per data seed, where each frame of the Val videos goes for ``rolo`` (training seed ``k``'s
    models, setting ``name``) and YOLO-only: the share of tracked frames in which the output is a
    detection on the target (IoU >= 0.5) or off it (IoU < 0.1), or a box without a detection while
    a confident detection (>= 0.5) on the target was there (a missed re-acquisition) or not."""
    from rolo.tracking.association import AssociationParams
    from rolo.tracking.closed_loop import ClosedLoopTracker
    from rolo.tracking.trackers import YoloOnly
    from rolo.utils.boxes import iou

    lines = ["| data seed | tracker | det on target | det off target | no det, target detected | "
             "no det, not detected | mean IoU |", "|---|---|---|---|---|---|---|"]
    for seed, run in runs.items():
        val = load_seed(work, seed, run)
        counts = {"rolo": np.zeros(5), "yolo": np.zeros(5)}
        mods = [(e, kk, m, a) for e, kk, m, a in md.models(run) if kk == k]
        for vname, v in val.items():
            trackers = [("yolo", None, None)] + [("rolo", m, a) for _, _, m, a in mods]
            for tname, m, a in trackers:
                if tname == "yolo":
                    tr = YoloOnly(AssociationParams())
                else:
                    tr = ClosedLoopTracker(m, v.image_wh, v.neck_meta, a, replace(m.cfg, **SETTINGS[name]))
                boxes, _ = cl.track_video(tr, v)
                for t in range(1, len(boxes)):
                    g = v.gt[t]
                    if not v.seq.valid[t]:
                        continue
                    d = v.detections[t]
                    d = d[np.isfinite(d[:, 4])]
                    on = iou(d[:, :4], g[None]) if len(d) else np.zeros(0)
                    is_det = bool(len(d)) and bool((np.abs(d[:, :4] - boxes[t]).max(1) < 1e-6).any())
                    o = float(iou(boxes[t][None], g[None])[0])
                    if is_det:
                        c = 0 if o >= 0.5 else (1 if o < 0.1 else None)
                    else:
                        c = 2 if ((on >= 0.5) & (d[:, 4] >= 0.5)).any() else 3
                    if c is not None:
                        counts[tname][c] += 1 / (len(trackers) - 1 if tname == "rolo" else 1)
                    counts[tname][4] += o / (len(trackers) - 1 if tname == "rolo" else 1)
        for tname, c in counts.items():
            n = sum(len(x.gt) - 1 for x in val.values())
            lines.append(f"| {seed} | {tname} | " + " | ".join(f"{100 * x / n:.1f} %" for x in c[:4])
                         + f" | {c[4] / n:.3f} |")
    return "\n".join(lines) + "\n"


def _mean(per: dict, names) -> float:
    return float(np.mean([per[n] for n in names]))


def report(work: Path, res: dict, seeds: list[int]) -> str:
    sets = {"Val1-8": list(cl.VAL_SEQUENCES), "VB01-20": list(VALB), "all 28": list(VAL_ALL)}
    lines = ["## Val success AUC per data seed (mean over the videos, then over 3 experiments x 3 training seeds)",
             "", "| setting | set | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | models above YOLO-only |",
             "|---|---|" + "---|" * (len(seeds) + 2)]
    yolo = {s: res[f"{s}|yolo"]["per_video"] for s in seeds}
    for set_name, names in sets.items():
        y = [_mean(yolo[s], names) for s in seeds]
        lines.append(f"| YOLO-only | {set_name} | " + " | ".join(f"{v:.3f}" for v in y) + f" | {np.mean(y):.3f} | |")
    for name in SETTINGS:
        for set_name, names in sets.items():
            per, wins, n = [], 0, 0
            for s in seeds:
                v = [_mean(res[f"{s}|{e}|{k}|{name}"]["per_video"], names) for e in EXPS for k in TRAIN_SEEDS
                     if f"{s}|{e}|{k}|{name}" in res]
                per.append(np.mean(v) if v else np.nan)
                wins += sum(x > _mean(yolo[s], names) for x in v)
                n += len(v)
            if n == len(seeds) * len(EXPS) * len(TRAIN_SEEDS):  # every model; partial runs: the tables below
                lines.append(f"| {name} | {set_name} | " + " | ".join(f"{p:.3f}" for p in per)
                             + f" | {np.nanmean(per):.3f} | {wins}/{n} |")
    lines += ["", "## Paired on the training seed 0 models (one per data seed and experiment: 9 models)", "",
              "Each setting's mean Val AUC (all 28 videos) over the 9 models, and its difference from the same "
              "models under `round 3 (frozen)`; retrained settings: the pipeline's training job with the change "
              "(`retrained as the grid`: no change, the reference for them).", "",
              "| setting | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | vs round 3 (frozen) | "
              "models above YOLO-only |", "|---|" + "---|" * (len(seeds) + 3)]
    names, partial = list(VAL_ALL), []
    for name in list(SETTINGS) + list(TRAIN_SETTINGS):
        per, diff, wins, n = [], [], 0, 0
        for s in seeds:
            keys = [(f"{s}|{e}|0|{name}", f"{s}|{e}|0|round 3 (frozen)") for e in EXPS]
            keys = [(a, b) for a, b in keys if a in res and b in res]
            v = [_mean(res[a]["per_video"], names) for a, _ in keys]
            per.append(np.mean(v) if v else np.nan)
            diff += [x - _mean(res[b]["per_video"], names) for x, (_, b) in zip(v, keys)]
            wins += sum(x > _mean(yolo[s], names) for x in v)
            n += len(v)
        if n == len(seeds) * len(EXPS):
            lines.append(f"| {name} | " + " | ".join(f"{p:.3f}" for p in per) + f" | {np.mean(per):.3f} | "
                         f"{np.mean(diff):+.3f} | {wins}/{n} |")
        else:
            partial.append(name)
    lines += ["", "## Stopped after data seed 2026 (its 9 models), against `round 3 (frozen)` on the same models", "",
              "| setting | seed 2026 | vs round 3 (frozen) |", "|---|---|---|"]
    s0 = seeds[0]
    for name in partial:
        keys = [(f"{s0}|{e}|{k}|{name}", f"{s0}|{e}|{k}|round 3 (frozen)") for e in EXPS for k in TRAIN_SEEDS]
        if all(a in res for a, _ in keys):
            v = [_mean(res[a]["per_video"], names) for a, _ in keys]
            d = [x - _mean(res[b]["per_video"], names) for x, (_, b) in zip(v, keys)]
            lines.append(f"| {name} | {np.mean(v):.3f} | {np.mean(d):+.3f} |")
    lines += ["", "## Per Val video, `round 3 (frozen)` (mean over the 9 models of the seed) / YOLO-only", ""]
    for s in seeds:
        r = [res[f"{s}|{e}|{k}|round 3 (frozen)"]["per_video"] for e in EXPS for k in TRAIN_SEEDS
             if f"{s}|{e}|{k}|round 3 (frozen)" in res]
        if r:
            lines.append(f"seed {s}: " + ", ".join(f"{v} {np.mean([x[v] for x in r]):.2f}/{yolo[s][v]:.2f}"
                                                   for v in VAL_ALL))
            lines.append("")
    text = "\n".join(lines) + "\n"
    (work / "round4.md").write_text(text)
    return text


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=REPO / "scratch/multi")
    ap.add_argument("--run", action="append", required=True, help="SEED=DIR of a finished variation run")
    ap.add_argument("--prepare", action="store_true", help="only generate and extract the Val sequences")
    ap.add_argument("--settings", nargs="*", default=None, help="settings to evaluate (default: all)")
    ap.add_argument("--report", action="store_true", help="only write the tables from the cached results")
    ap.add_argument("--retrain", nargs="+", default=None, help="training settings (TRAIN_SETTINGS)")
    ap.add_argument("--train-seeds", nargs="+", type=int, default=list(TRAIN_SEEDS))
    ap.add_argument("--out", default="round4.json", help="results file (one per concurrent process)")
    ap.add_argument("--diagnose", default=None, help="a setting: where the frames go (training seed 0)")
    a = ap.parse_args(argv)
    runs = {int(s): Path(d) for s, d in (r.split("=", 1) for r in a.run)}
    a.work.mkdir(parents=True, exist_ok=True)
    import torch

    torch.set_num_threads(1)
    if a.prepare:
        for seed, run in runs.items():
            load_seed(a.work, seed, run)
        return
    if a.retrain:
        md.evaluate_retrained(a.work, runs, a.retrain, [0], retrain_fn=retrain, load=load_seed,
                              out_name=a.out if a.out != "round4.json" else "round4_retrained.json")
        return
    if a.diagnose:
        text = diagnose(a.work, runs, a.diagnose)
        (a.work / f"diagnose_{cl._slug(a.diagnose)}.md").write_text(text)
        print(text)
        return
    if a.report:
        res = {}
        for f in sorted(a.work.glob("round4*.json")):  # the results of every process
            res |= json.loads(f.read_text())
    else:
        res = md.evaluate(a.work, runs, a.settings or list(SETTINGS), table=SETTINGS, load=load_seed,
                          out_name=a.out, train_seeds=a.train_seeds)
    print(report(a.work, res, sorted(runs)))


if __name__ == "__main__":
    main()
