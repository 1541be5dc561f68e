"""Validation study, round 3 (issue 13): does the closed-loop ROLO's lead over YOLO-only hold with
the detectors of the other data seeds? Validation sequences only; no test frame is tracked here.

    PYTHONPATH=src OMP_NUM_THREADS=1 python studies/multi_detector.py --work scratch/multi \
        --run 2026=/work/grid --run 2027=/work/grid/results/variation/data_seed2027 \
        --run 2028=/work/grid/results/variation/data_seed2028 [--settings] [--report]

``--run SEED=DIR``: a finished ``snakemake variation`` run of that data seed (its ``results/detector``,
``results/<exp>/variation/seed<k>/models/rolo.pt``). For each data seed:

1. ``Val1..Val8`` (the tags of ``studies/closed_loop.py``) generated with that seed by the demo's
   generator, as ``workflow/scripts/synthesize.py`` calls it: new names, never trained on, never
   scored by the pipeline. Extracted with that seed's detector and the demo's extraction settings,
   neck maps in the same forward pass (``closed_loop.extract``).
2. YOLO-only and each of the run's trained ``rolo`` models (3 experiments x 3 training seeds, as the
   grid trained them) track every Val sequence from its first frame's box; success AUC per video.
3. ``--settings``: inference-time settings of the closed loop (:data:`SETTINGS`) on the same models.

Writes ``<work>/multi.md`` (``studies/multi_detector.md`` is that output).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "studies"))

import closed_loop as cl  # noqa: E402  (the round-1/2 study: Val tags, extraction, evaluation)

EXPS = ("exp1", "exp2", "exp3")
TRAIN_SEEDS = (0, 1, 2)

SETTINGS: dict[str, dict] = {
    "as trained": {},
    # re-detection away from the own box: stricter or looser appearance gate, or off
    "app_redetect=0.9": {"app_redetect": 0.9},
    "app_redetect=0.5": {"app_redetect": 0.5},
    "no re-detection away from own box": {"redetect_conf": 2.0},
    # how far the own box may move to a detection
    "iou_gate=0.1": {"iou_gate": 0.1},
    "iou_gate=0.5": {"iou_gate": 0.5},
    # appearance's weight in the choice
    "app_weight=0": {"app_weight": 0.0},
    "app_weight=1": {"app_weight": 1.0},
    # coasting
    "coast_velocity_decay=0.5": {"coast_velocity_decay": 0.5},
    "no refinement without detection": {"refine_without_detection": False},
    "start-frame appearance only": {"online_appearance": False},
    # how much a chosen detection is refined
    "detection_delta_scale=0.5": {"detection_delta_scale": 0.5},
    "detection_delta_scale=0": {"detection_delta_scale": 0.0},
    "keep_detection_conf=0.5": {"keep_detection_conf": 0.5},
    "keep_detection_conf=0.7": {"keep_detection_conf": 0.7},
    # round 3b, after the table above: the best single change with the next best ones
    "detection_delta_scale=0.25": {"detection_delta_scale": 0.25},
    "detection_delta_scale=0, iou_gate=0.1": {"detection_delta_scale": 0.0, "iou_gate": 0.1},
    "detection_delta_scale=0, app_redetect=0.9": {"detection_delta_scale": 0.0, "app_redetect": 0.9},
    "detection_delta_scale=0, iou_gate=0.1, app_redetect=0.9": {"detection_delta_scale": 0.0, "iou_gate": 0.1,
                                                                "app_redetect": 0.9},
}
_FROZEN = {"detection_delta_scale": 0.0, "iou_gate": 0.1, "app_redetect": 0.9}
ABLATION = {
    # after freezing: what each part contributes to the frozen design, at inference (the grid's models)
    "frozen, no appearance model": _FROZEN | {"appearance": False},
    "frozen, start-frame appearance only": _FROZEN | {"online_appearance": False},
    "frozen, no box without detection (coast unrefined)": _FROZEN | {"refine_without_detection": False},
    "frozen, open loop (associator picks)": _FROZEN | {"loop": "open"},
}
SETTINGS.update(ABLATION)


FROZEN = "detection_delta_scale=0, iou_gate=0.1, app_redetect=0.9"
"""The setting frozen by this study: ``ClosedLoopConfig``'s defaults since."""


def make_val(work: Path, seed: int, sequences: dict | None = None) -> None:
    """Generate the Val sequences ``{name: attributes}`` (default round 1's) with data seed ``seed``."""
    from rolo.data.synthetic import SynthParams, write_sequence

    g = cl.demo_config()["dataset"]["synthetic"]
    for name, tags in (sequences or cl.VAL_SEQUENCES).items():
        out = work / "val" / name
        if not (out / "groundtruth_rect.txt").exists():
            write_sequence(out, name, tags, seed=seed,
                           p=SynthParams(width=g["width"], height=g["height"], frames=g["frames"]))


def load_seed(work: Path, seed: int, run: Path, sequences: dict | None = None) -> dict:
    """The Val sequences (default round 1's) of data seed ``seed``, generated and extracted with the
    run's detector if not yet -> ``{name: Video}``."""
    sequences = sequences or cl.VAL_SEQUENCES
    sw = work / f"seed{seed}"
    make_val(sw, seed, sequences)
    detector = run / "results/detector/weights.pt"
    for name in sequences:
        cl.extract(sw / "val" / name, sw / "features" / name, detector)
    return {n: cl.Video(sw / "val" / n, sw / "features" / n) for n in sequences}


def models(run: Path):
    from rolo.tracking.closed_loop import load_closed_loop

    for exp in EXPS:
        for k in TRAIN_SEEDS:
            path = run / "results" / exp / "variation" / f"seed{k}" / "models" / "rolo.pt"
            model, app, _ = load_closed_loop(path)
            yield exp, k, model, app


def retrain(work: Path, seed: int, run: Path, exp: str, k: int, name: str, model_changes: dict | None = None,
            train_changes: dict | None = None, folder: str = "models"):
    """The pipeline's training job (``closed_loop_job.train_job``, the grid's training settings from
    its checkpoint) on the run's features, with the setting ``name`` in the model's config (or
    ``model_changes``), so that the training rollouts use it too, and the training settings changed by
    ``train_changes`` -> (model, appearance params); cached in ``<work>/<folder>``."""
    import torch

    from rolo.tracking.closed_loop import load_closed_loop
    from rolo.tracking.closed_loop_job import train_job

    out = work / folder / f"seed{seed}_{exp}_{k}_{cl._slug(name)}.pt"
    if not out.exists():
        ref = run / "results" / exp / "variation" / f"seed{k}" / "models" / "rolo.pt"
        ckpt = torch.load(ref, map_location="cpu", weights_only=True)
        feats, syn = run / "results" / "features", run / "resources" / "synthetic"
        videos = {v: {"features": str(feats / v / "features.npy"), "detections": str(feats / v / "detections.npy"),
                      "meta": str(feats / v / "meta.json"), "neck_meta": str(feats / v / "neck.json"),
                      "gt": str(syn / v / "groundtruth_rect.txt")} for v in cl.DEMO_VIDEOS}
        out.parent.mkdir(parents=True, exist_ok=True)
        model_params = {"steps": ckpt["closed_loop"]["steps"],
                        "closed_loop": SETTINGS[name] if model_changes is None else model_changes}
        train_job(run / "results" / exp / "splits.json", videos, model_params, ckpt["train"] | (train_changes or {}),
                  {}, out, out.with_suffix(".csv"))
    model, app, _ = load_closed_loop(out)
    return model, app


def evaluate_retrained(work: Path, runs: dict[int, Path], names: list[str], seeds: list[int], *,
                       retrain_fn=None, load=None, out_name: str = "retrained.json") -> dict:
    """Val AUC of models retrained with each setting (training seeds ``seeds``); cached in ``out_name``.
    ``retrain_fn(work, seed, run, exp, k, name)`` and ``load(work, seed, run)``: round 4's training
    changes and Val set (default: this round's)."""
    retrain_fn, load = retrain_fn or retrain, load or load_seed
    out_json = work / out_name
    res = json.loads(out_json.read_text()) if out_json.exists() else {}
    for seed, run in runs.items():
        val = load(work, seed, run)
        for exp in EXPS:
            for k in seeds:
                for name in names:
                    key = f"{seed}|{exp}|{k}|{name}"
                    if key in res:
                        continue
                    t0 = time.perf_counter()
                    model, app = retrain_fn(work, seed, run, exp, k, name)
                    r = cl.evaluate_closed_loop(model, model.cfg, app, val)
                    res[key] = {"per_video": r["per_video"], "auc": r["auc"], "ref_iou": r["ref_iou"]}
                    print(f"retrained: data seed {seed} {exp} train seed {k} [{name}]: Val AUC {r['auc']:.3f} "
                          f"({time.perf_counter() - t0:.0f} s)", flush=True)
                    out_json.write_text(json.dumps(res, indent=1))
    return res


def evaluate(work: Path, runs: dict[int, Path], settings: list[str], *, table: dict | None = None, load=None,
             out_name: str = "multi.json", train_seeds=TRAIN_SEEDS) -> dict:
    """Val AUC of the runs' trained models (training seeds ``train_seeds``) under each setting of
    ``table`` (default :data:`SETTINGS`) on the Val set ``load(work, seed, run)`` gives (default: this
    round's); cached in ``out_name``."""
    table, load = table or SETTINGS, load or load_seed
    out_json = work / out_name
    res = json.loads(out_json.read_text()) if out_json.exists() else {}
    for seed, run in runs.items():
        val = load(work, seed, run)
        key = f"{seed}|yolo"
        if key not in res:
            res[key] = cl.evaluate_reference("yolo", val)
            out_json.write_text(json.dumps(res, indent=1))
        for exp, k, model, app in models(run):
            if k not in train_seeds:
                continue
            for name in settings:
                key = f"{seed}|{exp}|{k}|{name}"
                if key in res:
                    continue
                t0 = time.perf_counter()
                r = cl.evaluate_closed_loop(model, replace(model.cfg, **table[name]), app, val)
                res[key] = {"per_video": r["per_video"], "auc": r["auc"], "ref_iou": r["ref_iou"]}
                print(f"data seed {seed} {exp} train seed {k} [{name}]: Val AUC {r['auc']:.3f} "
                      f"(YOLO-only {res[f'{seed}|yolo']['auc']:.3f}; {time.perf_counter() - t0:.0f} s)", flush=True)
                out_json.write_text(json.dumps(res, indent=1))
    return res


def report(work: Path, res: dict, seeds: list[int]) -> str:
    lines = ["## Val success AUC per data seed (mean over 3 experiments x 3 training seeds)", "",
             "| setting | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | runs above YOLO-only |",
             "|---|" + "---|" * (len(seeds) + 2)]
    yolo = {s: res[f"{s}|yolo"]["auc"] for s in seeds if f"{s}|yolo" in res}
    lines.append("| YOLO-only | " + " | ".join(f"{yolo[s]:.3f}" for s in seeds) + f" | {np.mean(list(yolo.values())):.3f} | |")
    for name in SETTINGS:
        per, wins, n = [], 0, 0
        for s in seeds:
            v = [res[f"{s}|{e}|{k}|{name}"]["auc"] for e in EXPS for k in TRAIN_SEEDS if f"{s}|{e}|{k}|{name}" in res]
            per.append(np.mean(v) if v else np.nan)
            wins += sum(x > yolo[s] for x in v)
            n += len(v)
        if n:
            lines.append(f"| {name} | " + " | ".join(f"{p:.3f}" for p in per) + f" | {np.nanmean(per):.3f} | {wins}/{n} |")
    for name in ("as trained", FROZEN):
        lines += ["", f"## Per Val video, `{name}` (mean over the 9 models) / YOLO-only", "",
                  "| data seed | " + " | ".join(cl.VAL_SEQUENCES) + " |", "|---|" + "---|" * len(cl.VAL_SEQUENCES)]
        for s in seeds:
            y = res[f"{s}|yolo"]["per_video"]
            r = [res[f"{s}|{e}|{k}|{name}"]["per_video"] for e in EXPS for k in TRAIN_SEEDS
                 if f"{s}|{e}|{k}|{name}" in res]
            if r:
                lines.append(f"| {s} | " + " | ".join(f"{np.mean([x[v] for x in r]):.2f} / {y[v]:.2f}"
                                                      for v in cl.VAL_SEQUENCES) + " |")
    rr_path = work / "retrained.json"
    if rr_path.exists():
        rr = json.loads(rr_path.read_text())
        lines += ["", "## Retrained with the setting (the training rollouts use it), against the same setting "
                  "applied to the grid's models", "",
                  "| setting | data seed | experiment | training seed | retrained | grid's model, setting at "
                  "inference | grid's model as trained | YOLO-only |", "|---|---|---|---|---|---|---|---|"]
        for key, v in rr.items():
            s_, e, k, name = key.split("|")
            inf = res.get(key, {}).get("auc", np.nan)
            base = res.get(f"{s_}|{e}|{k}|as trained", {}).get("auc", np.nan)
            lines.append(f"| {name} | {s_} | {e} | {k} | {v['auc']:.3f} | {inf:.3f} | {base:.3f} | "
                         f"{res[f'{s_}|yolo']['auc']:.3f} |")
    text = "\n".join(lines) + "\n"
    (work / "multi.md").write_text(text)
    return text


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=REPO / "scratch/multi")
    ap.add_argument("--run", action="append", required=True, help="SEED=DIR of a finished variation run")
    ap.add_argument("--settings", action="store_true", help="every inference-time setting, not only 'as trained'")
    ap.add_argument("--report", action="store_true", help="only write the tables from the cached results")
    ap.add_argument("--retrain", nargs="+", default=None, help="settings to retrain with (rollouts use them)")
    ap.add_argument("--train-seeds", nargs="+", type=int, default=[0])
    a = ap.parse_args(argv)
    runs = {int(s): Path(d) for s, d in (r.split("=", 1) for r in a.run)}
    a.work.mkdir(parents=True, exist_ok=True)
    import torch

    torch.set_num_threads(1)
    if a.retrain:
        rr = evaluate_retrained(a.work, runs, a.retrain, a.train_seeds)
        print(json.dumps({k: round(v["auc"], 3) for k, v in rr.items()}, indent=0))
        return
    if a.report:
        res = json.loads((a.work / "multi.json").read_text())
    else:
        res = evaluate(a.work, runs, list(SETTINGS) if a.settings else ["as trained"])
    print(report(a.work, res, sorted(runs)))


if __name__ == "__main__":
    main()
