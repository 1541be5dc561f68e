"""Validation study of the closed-loop ROLO (issue 13): design options and ablation on VALIDATION
sequences only; the experiments' test frames are tracked once, with ``--final``, after the design
is frozen.

    PYTHONPATH=src OMP_NUM_THREADS=1 python studies/closed_loop.py --baseline /work/demo_baseline \
        --work scratch/study [--exps exp1 exp2 exp3] [--seeds 0 1] [--final]

Steps (every step caches its outputs under ``--work``; rerunning reuses them):

1. ``Val1..Val8``: new synthetic sequences from the demo's generator (``rolo.data.synthetic.write_sequence``,
   seed 2026, 320x240, 120 frames, called as ``workflow/scripts/synthesize.py`` calls it), never
   trained on and never scored by the pipeline. Extracted with the demo's detector and extraction
   settings, neck maps captured in the same forward pass (:mod:`rolo.detection.neck`). The demo's 10
   experiment videos are re-extracted the same way; their detections must be byte-identical to the
   demo's ``detections.npy`` (checked).
2. For each experiment's training frames (``splits.json``) and training seed: train the
   closed-loop model and its ablations, and the paper-style ROLO (``rolo.tracking.models.RoloLSTM`` as the
   pipeline trains it); track every Val sequence from its first frame's box (one pass, all 120
   frames scored as exp1 scores a test video) and score success AUC (:mod:`rolo.evaluation.metrics`).
3. Print and write the tables (``studies/closed_loop.md`` is this output).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

VAL_SEQUENCES = {
    "Val1": ["FM", "MB", "BC"],
    "Val2": ["SV", "OCC"],
    "Val3": ["IV", "BC"],
    "Val4": ["OCC", "BC", "SV"],
    "Val5": ["FM", "MB", "IV"],
    "Val6": ["SV", "FM", "MB", "OCC"],
    "Val7": ["IV", "BC", "OCC"],
    "Val8": ["BC", "SV", "MB"],
}
DEMO_VIDEOS = ["Blur1", "Scale1", "Occl1", "Light1", "Crowd1", "Blur2", "Occl2", "Light2", "Mixed1", "Mixed2"]
EXPS = ("exp1", "exp2", "exp3")


def demo_config():
    import yaml

    return yaml.safe_load((REPO / "config/demo.yaml").read_text())


# --- 1. data --------------------------------------------------------------------------------------


def make_val_sequences(work: Path) -> None:
    from rolo.data.synthetic import SynthParams, write_sequence

    g = demo_config()["dataset"]["synthetic"]
    for name, tags in VAL_SEQUENCES.items():
        out = work / "val" / name
        if (out / "groundtruth_rect.txt").exists():
            continue
        write_sequence(out, name, tags, seed=g["seed"],
                       p=SynthParams(width=g["width"], height=g["height"], frames=g["frames"]))


def extract(seq_dir: Path, out_dir: Path, detector: Path, reference: Path | None = None) -> None:
    """Features, detections and neck maps of one video (cached); with ``reference`` (the demo's
    ``results/features/<video>``) the detections and features must be byte-identical to it."""
    from rolo.data.sequences import list_frames
    from rolo.utils.io import save_json, save_npy
    from rolo.detection.extraction import ExtractionParams
    from rolo.detection.extraction import extract_video
    from rolo.detection.neck import NeckSpec, save_neck
    from rolo.utils.runtime import pin_threads

    if (out_dir / "neck.json").exists():
        return
    cfg = demo_config()
    pin_threads(2)  # as the pipeline's extract_features job (threads: 2): same kernels, same bits
    params = ExtractionParams.from_config({**cfg["extraction"], "neck": None}, imgsz=cfg["detector"]["imgsz"], neck=NeckSpec())
    feats, dets, meta = extract_video(detector, list(list_frames(seq_dir / "img")), params, progress=False)
    maps, neck_meta = meta.pop("neck"), meta.pop("neck_meta")
    if reference is not None:
        ref_d = np.load(reference / "detections.npy")
        ref_f = np.load(reference / "features.npy")
        if ref_d.tobytes() != dets.tobytes() or ref_f.tobytes() != feats.tobytes():
            raise SystemExit(f"{seq_dir.name}: detections/features differ from the demo's extraction")
        meta["identical_to_pipeline"] = True
    out_dir.mkdir(parents=True, exist_ok=True)
    save_npy(out_dir / "features.npy", feats)
    save_npy(out_dir / "detections.npy", dets)
    save_json(out_dir / "meta.json", meta)
    save_neck(out_dir, maps, neck_meta)
    pin_threads(1)


class Video:
    """A video's extraction outputs, neck maps and ground truth."""

    def __init__(self, seq_dir: Path, feat_dir: Path):
        from rolo.data.sequences import load_sequence
        from rolo.detection.neck import load_neck

        self.name = seq_dir.name
        self.seq = load_sequence(seq_dir, name=self.name)
        self.gt = self.seq.gt
        self.features = np.load(feat_dir / "features.npy")
        self.detections = np.load(feat_dir / "detections.npy")
        self.meta = json.loads((feat_dir / "meta.json").read_text())
        maps, self.neck_meta = load_neck(feat_dir, mmap=False)
        self.neck = [m.astype(np.float32) for m in maps]  # float32 once: the tracker converts per frame otherwise
        self.image_wh = tuple(self.meta["image_wh"])

    def frames(self):
        from rolo.tracking.trackers import VideoFrames

        return VideoFrames(self.features, self.detections, None, self.neck)


# --- 2. models --------------------------------------------------------------------------------------

TRAIN_VARIANTS = {
    # name: ClosedLoopConfig changes (trained separately)
    "full": {},
    "global inputs (no target-aware inputs)": {"inputs": "global"},
    "open loop (associator picks, no closed loop)": {"loop": "open"},
    "no appearance model": {"appearance": False},
}
INFERENCE_VARIANTS = {
    # name: (trained variant, inference-time changes)
    "no box without detection (coast unrefined)": ("full", {"refine_without_detection": False}),
    "start-frame appearance only (no online update)": ("full", {"online_appearance": False}),
}


def segments(videos: dict, splits: dict) -> list:
    from rolo.tracking.closed_loop import TrainSegment

    out = []
    for name, split in sorted(splits.items()):
        if split.train is None:
            continue
        v = videos[name]
        lab = np.zeros(len(v.gt), bool)
        lab[list(split.train_labels)] = True
        out.append(TrainSegment(name, v.frames(), v.gt, lab, split.train[0], split.train[1], v.image_wh, v.neck_meta))
    return out


def closed_loop_config(meta, overrides: dict):
    from rolo.tracking.closed_loop import ClosedLoopConfig
    from rolo.detection.neck import pooled_dim

    base = ClosedLoopConfig(feature_dim=1)
    inputs = overrides.get("inputs", base.inputs)
    dim = pooled_dim(meta, overrides.get("search_sizes", base.search_sizes)) if inputs == "roi" else 128
    return replace(base, feature_dim=dim, **overrides)


def track_video(tracker, v: Video):
    from rolo.data.splits import make_split
    from rolo.evaluation.protocols import track_ious
    from rolo.tracking.trackers import track

    split = make_split(v.name, v.gt, v.seq.valid, "disjoint", role="test")
    boxes = track(tracker, v.frames(), split.start_box_xyxy(), *split.test)
    return boxes, track_ious(boxes, v.gt, split)


def evaluate_closed_loop(model, cfg, app_params, val: dict) -> dict:
    """Track every Val video -> per-video AUC, mean AUC, input gap, ms/frame."""
    from rolo.utils.boxes import iou
    from rolo.tracking.closed_loop import ClosedLoopTracker
    from rolo.evaluation.metrics import summarize

    per, refs, prevs, step, frames = {}, [], [], 0.0, 0
    for name, v in val.items():
        tr = ClosedLoopTracker(model, v.image_wh, v.neck_meta, app_params, cfg)
        # record the reference box and the previous output box the LSTM's input is built from
        ref_iou, prev_iou, last = [], [], None

        class Probe:
            def start(self, box, frame):
                tr.start(box, frame)

            def update(self, frame):
                prev = tr.out.copy()
                out = tr.update(frame)
                t = frame.index
                ref_iou.append(float(iou(tr.last["ref"][None], v.gt[t][None])[0]))
                prev_iou.append(float(iou(prev[None], v.gt[t][None])[0]))
                return out

        boxes, ious = track_video(Probe(), v)
        per[name] = summarize(ious)["success_auc"]
        refs += ref_iou
        prevs += prev_iou
        step += tr.step_seconds
        frames += len(boxes) - 1
    return {"per_video": per, "auc": float(np.mean(list(per.values()))), "ref_iou": float(np.mean(refs)),
            "prev_iou": float(np.mean(prevs)), "ms_per_frame": 1000 * step / max(frames, 1)}


def evaluate_reference(name: str, val: dict, model=None) -> dict:
    from rolo.tracking.association import AssociationParams
    from rolo.evaluation.metrics import summarize
    from rolo.tracking.trackers import Rolo, YoloOnly

    per = {}
    for vname, v in val.items():
        tr = YoloOnly(AssociationParams()) if name == "yolo" else Rolo(model, AssociationParams(), v.image_wh)
        _, ious = track_video(tr, v)
        per[vname] = summarize(ious)["success_auc"]
    return {"per_video": per, "auc": float(np.mean(list(per.values())))}


def train_paper_rolo(videos: dict, splits: dict, seed: int):
    from rolo.tracking.association import AssociationParams
    from rolo.tracking.models import ModelConfig
    from rolo.tracking.training import TrainParams, prepare_video, train_model

    r = demo_config()["rolo"]
    prepared = []
    for name, split in sorted(splits.items()):
        v = videos[name]
        tv = prepare_video(name, v.features, v.detections, v.gt, v.image_wh, split, AssociationParams(), "coordinate")
        if tv is not None:
            prepared.append(tv)
    cfg = ModelConfig(feature_dim=prepared[0].inputs.shape[1] - 6, hidden=r["hidden"], layers=r["layers"],
                      steps=r["steps"], output=r["output"])
    model, _ = train_model(prepared, cfg, TrainParams(epochs=r["epochs"], batch=r["batch"], lr=r["lr"], seed=seed),
                           progress=False)
    # the input gap of the paper-style model: its training windows' input box vs the ground truth
    from rolo.utils.boxes import cxcywh_norm_to_xyxy, iou

    gaps = []
    for tv in prepared:
        box = cxcywh_norm_to_xyxy(tv.inputs[tv.labelled, -6:-2].astype(np.float64), (1.0, 1.0))
        gt = cxcywh_norm_to_xyxy(tv.targets[tv.labelled].astype(np.float64), (1.0, 1.0))
        gaps.append(iou(box, gt))
    return model, float(np.concatenate(gaps).mean())


def run_exp(exp: str, seed: int, work: Path, baseline: Path, videos: dict, val: dict, variants: list[str]) -> dict:
    """Train and evaluate on Val everything of one (experiment's training frames, seed); cached."""
    import torch

    from rolo.tracking.appearance import AppearanceParams
    from rolo.tracking.closed_loop import ClosedLoopTrainParams, save_closed_loop, train_closed_loop
    from rolo.data.splits import read_splits

    out_json = work / "runs" / f"{exp}_seed{seed}.json"
    res = json.loads(out_json.read_text()) if out_json.exists() else {}
    splits = read_splits(baseline / "results" / exp / "splits.json")
    segs = None
    models = {}
    app = AppearanceParams()
    for name in variants:
        key = name
        if key in res:
            continue
        t0 = time.perf_counter()
        if name == "yolo":
            res[key] = evaluate_reference("yolo", val)
        elif name == "paper ROLO":
            model, gap = train_paper_rolo(videos, splits, seed)
            res[key] = evaluate_reference("rolo", val, model) | {"train_input_iou": gap}
        elif name in TRAIN_VARIANTS or name.startswith("option:"):
            overrides = TRAIN_VARIANTS[name] if name in TRAIN_VARIANTS else OPTIONS[name]
            segs = segs or segments(videos, splits)
            cfg = closed_loop_config(next(iter(val.values())).neck_meta, overrides)
            torch.manual_seed(seed)
            model, log = train_closed_loop(segs, cfg, ClosedLoopTrainParams(seed=seed), app)
            (work / "models").mkdir(parents=True, exist_ok=True)
            save_closed_loop(work / "models" / f"{exp}_seed{seed}_{_slug(name)}.pt", model, {"exp": exp, "seed": seed}, app)
            res[key] = evaluate_closed_loop(model, cfg, app, val) | {"train_log": log}
        elif name in INFERENCE_VARIANTS:
            base, changes = INFERENCE_VARIANTS[name]
            model = _load(work, exp, seed, base)
            res[key] = evaluate_closed_loop(model, replace(model.cfg, **changes), app, val)
        else:
            raise SystemExit(f"unknown variant {name!r}")
        res[key]["seconds"] = round(time.perf_counter() - t0, 1)
        print(f"{exp} seed {seed} {name}: Val AUC {res[key]['auc']:.3f} ({res[key]['seconds']} s)", flush=True)
        out_json.parent.mkdir(parents=True, exist_ok=True)
        out_json.write_text(json.dumps(res, indent=1))
    return res


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)[:40]


def _load(work, exp, seed, variant):
    from rolo.tracking.closed_loop import load_closed_loop

    return load_closed_loop(work / "models" / f"{exp}_seed{seed}_{_slug(variant)}.pt")[0]


OPTIONS: dict[str, dict] = {}

SETTINGS_GRID = {"app_weight": (0.5, 1.0), "app_redetect": (0.3, 0.5, 0.7, 0.9), "coast_velocity_decay": (None, 0.5, 0.8),
                 "coast_keep_size": (False, True)}
"""Inference-time settings of the selection step, compared on Val with the trained ``full`` models."""


def sweep_settings(work: Path, exps, seeds, val: dict) -> dict:
    """Val AUC of every combination of :data:`SETTINGS_GRID` for each trained ``full`` model (cached)."""
    import itertools

    from rolo.tracking.appearance import AppearanceParams

    out_json = work / "runs" / f"settings_{'_'.join(exps)}.json"
    res = {}
    for f in (work / "runs").glob("settings*.json"):  # every cached sweep
        res.update(json.loads(f.read_text()))
    keys = list(SETTINGS_GRID)
    for exp in exps:
        for seed in seeds:
            model = _load(work, exp, seed, "full")
            for combo in itertools.product(*SETTINGS_GRID.values()):
                k = f"{exp}|{seed}|" + ",".join(f"{a}={b}" for a, b in zip(keys, combo))
                if k in res:
                    continue
                cfg = replace(model.cfg, **dict(zip(keys, combo)))
                res[k] = evaluate_closed_loop(model, cfg, AppearanceParams(), val)["auc"]
                out_json.write_text(json.dumps({a: b for a, b in res.items() if a.split("|")[0] in exps}, indent=1))
    table = {}
    for k, v in res.items():
        exp, seed, setting = k.split("|")
        if exp in exps and int(seed) in seeds:
            table.setdefault(setting, []).append(v)
    ranked = sorted(table.items(), key=lambda kv: -np.mean(kv[1]))
    lines = ["| setting | mean Val AUC | runs |", "|---|---|---|"]
    lines += [f"| {k} | {np.mean(v):.3f} | {len(v)} |" for k, v in ranked]
    print("\n".join(lines))
    (work / "settings.md").write_text("\n".join(lines) + "\n")
    return dict(ranked)


# --- main -------------------------------------------------------------------------------------------


def load_all(work: Path, baseline: Path):
    detector = baseline / "results/detector/weights.pt"
    make_val_sequences(work)
    for name in VAL_SEQUENCES:
        extract(work / "val" / name, work / "features" / name, detector)
    for name in DEMO_VIDEOS:
        extract(baseline / "resources/synthetic" / name, work / "features" / name, detector,
                reference=baseline / "results/features" / name)
    val = {n: Video(work / "val" / n, work / "features" / n) for n in VAL_SEQUENCES}
    videos = {n: Video(baseline / "resources/synthetic" / n, work / "features" / n) for n in DEMO_VIDEOS}
    return val, videos


def speed_at_yolov8s(frames: int = 100) -> dict:
    """The tracker step at YOLOv8s / 640 px shapes (4:3 video: letterboxed 640x480, P4 256 ch 40x30,
    P5 512 ch 20x15; float16 maps as stored), random maps and weights, 10 detections a frame, the
    appearance model updated on EVERY frame (its worst case): ms per frame, all but the detector."""
    import torch

    from rolo.tracking.appearance import AppearanceParams
    from rolo.tracking.closed_loop import ClosedLoopLSTM, ClosedLoopTracker
    from rolo.detection.neck import Letterbox, NeckMeta, NeckSpec, pooled_dim
    from rolo.tracking.trackers import VideoFrames, track

    rng = np.random.default_rng(0)
    meta = NeckMeta(NeckSpec((1, 2)), (16, 32), (256, 512), Letterbox.of((480, 640), (480, 640)), (480, 640), (640, 480))
    p4 = rng.normal(0, 1, (frames, 256, 30, 40)).astype(np.float16)
    p5 = rng.normal(0, 1, (frames, 512, 15, 20)).astype(np.float16)
    gt = np.array([[100 + 3 * t, 200.0, 160 + 3 * t, 280.0] for t in range(frames)])
    dets = np.full((frames, 10, 6), np.nan, np.float32)
    for t in range(frames):
        dets[t, 0, :4], dets[t, 0, 4] = gt[t] + rng.normal(0, 2, 4), 0.8
        for k in range(1, 10):
            c = rng.uniform([0, 0], [640, 480])
            dets[t, k, :4], dets[t, k, 4] = [c[0] - 30, c[1] - 40, c[0] + 30, c[1] + 40], 0.1
    cfg = closed_loop_config(meta, {"app_update": -1e9})
    torch.manual_seed(0)
    model = ClosedLoopLSTM(cfg)
    tr = ClosedLoopTracker(model, (640, 480), meta, AppearanceParams())
    track(tr, VideoFrames(None, dets, None, [p4, p5]), gt[0], 0, frames)
    return {"ms_per_frame": 1000 * tr.step_seconds / (frames - 1), "feature_dim": cfg.feature_dim,
            "appearance_dim": pooled_dim(meta, cfg.app_sizes)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", type=Path, default=Path("/work/demo_baseline"))
    ap.add_argument("--work", type=Path, default=REPO / "scratch/study")
    ap.add_argument("--exps", nargs="+", default=list(EXPS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--variants", nargs="+", default=None)
    ap.add_argument("--settings", action="store_true", help="sweep the selection settings on Val (trained full models)")
    ap.add_argument("--speed", action="store_true", help="only time the tracker step at YOLOv8s shapes")
    ap.add_argument("--report", action="store_true", help="only write the tables from cached runs")
    ap.add_argument("--final", action="store_true", help="track the experiments' TEST frames (frozen design)")
    ap.add_argument("--final-table", action="store_true", help="only re-render the test-frame table")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    if args.speed:
        return print(speed_at_yolov8s())
    if args.report:
        return report(args.work, args.exps, args.seeds)
    if args.final_table:
        return final_table(args.work, args.baseline)
    val, videos = load_all(args.work, args.baseline)
    if args.final:
        return final(args.work, args.baseline, videos, args.seeds)
    if args.settings:
        return sweep_settings(args.work, args.exps, args.seeds, val)
    variants = args.variants or ["yolo", "paper ROLO", *TRAIN_VARIANTS, *INFERENCE_VARIANTS]
    for exp in args.exps:
        for seed in args.seeds:
            run_exp(exp, seed, args.work, args.baseline, videos, val, variants)
    report(args.work, args.exps, args.seeds)


def report(work: Path, exps, seeds) -> None:
    runs = {(e, s): json.loads((work / "runs" / f"{e}_seed{s}.json").read_text())
            for e in exps for s in seeds if (work / "runs" / f"{e}_seed{s}.json").exists()}
    names = []
    for r in runs.values():
        names += [n for n in r if n not in names]
    lines = ["| variant | " + " | ".join(f"trained on {e}" for e in exps) + " | mean |", "|---|" + "---|" * (len(exps) + 1)]
    for n in names:
        cells, allv = [], []
        for e in exps:
            vals = [runs[(e, s)][n]["auc"] for s in seeds if (e, s) in runs and n in runs[(e, s)]]
            allv += vals
            cells.append(f"{np.mean(vals):.3f} ({', '.join(f'{v:.3f}' for v in vals)})" if vals else "")
        lines.append(f"| {n} | " + " | ".join(cells) + f" | {np.mean(allv):.3f} |" if allv else "")
    print("\n".join(lines))
    (work / "ablation.md").write_text("\n".join(lines) + "\n")
    gap = input_gap(work, runs)
    print(gap)
    (work / "gap.md").write_text(gap + "\n")


def input_gap(work: Path, runs: dict) -> str:
    """Mean IoU with the ground truth of the boxes the LSTM's inputs are built from: in training
    (rollouts of round 0 = untrained model, last round = own trained model; the paper-style ROLO's
    training windows = the associator's box) and when tracking the Val sequences."""
    from rolo.tracking.association import AssociationParams
    from rolo.tracking.trackers import YoloOnly

    yolo_aos = []
    for n in VAL_SEQUENCES:
        v = Video(work / "val" / n, work / "features" / n)
        yolo_aos.append(track_video(YoloOnly(AssociationParams()), v)[1].mean())
    rows = ["| model | input box | training (mean IoU with GT) | tracking Val (mean IoU with GT) |", "|---|---|---|---|"]
    for name in ("full", "open loop (associator picks, no closed loop)"):
        tr_ref, tr_out, tr_ref0, va_ref, va_prev = [], [], [], [], []
        for r in runs.values():
            if name not in r:
                continue
            log = r[name]["train_log"]["rounds"]
            tr_ref0.append(log[0]["ref_iou"])
            tr_ref.append(log[-1]["ref_iou"])
            tr_out.append(log[-1]["out_iou"])
            va_ref.append(r[name]["ref_iou"])
            va_prev.append(r[name]["prev_iou"])
        if tr_ref:
            rows.append(f"| {name} | reference box (chosen detection or motion-predicted box) | {np.mean(tr_ref):.3f} "
                        f"(first round, untrained model: {np.mean(tr_ref0):.3f}) | {np.mean(va_ref):.3f} |")
            rows.append(f"| {name} | previous box (own output; open loop: previous associated box) | "
                        f"{np.mean(tr_out):.3f} (own outputs in the last round's rollouts) | {np.mean(va_prev):.3f} |")
    gaps = [r["paper ROLO"]["train_input_iou"] for r in runs.values() if "paper ROLO" in r]
    if gaps:
        rows.append(f"| paper ROLO | associator's box | {np.mean(gaps):.3f} (training windows) | {np.mean(yolo_aos):.3f} |")
    return "\n".join(rows)


FROZEN = "full"
"""The design frozen on Val (see studies/closed_loop.md); ``--final`` tracks the test frames with it."""


def final(work: Path, baseline: Path, videos: dict, seeds) -> None:
    """Once, after the design is frozen: the frozen design's model per (experiment, seed) (the same
    models the Val study trained; missing seeds are trained the same way) tracks each experiment's
    test segments; scored as the pipeline scores (``rolo.evaluation.metrics.track_errors``, official protocol,
    mean over test videos) next to the demo's tables."""
    import pandas as pd

    from rolo.tracking.appearance import AppearanceParams
    from rolo.tracking.closed_loop import ClosedLoopTracker, ClosedLoopTrainParams, save_closed_loop, train_closed_loop
    from rolo.data.splits import read_splits
    from rolo.evaluation.metrics import summarize_errors
    from rolo.evaluation.protocols import track_errors
    from rolo.tracking.trackers import track

    app = AppearanceParams()
    rows = []
    step, frames = 0.0, 0
    for exp in EXPS:
        splits = read_splits(baseline / "results" / exp / "splits.json")
        for seed in seeds:
            path = work / "models" / f"{exp}_seed{seed}_{_slug(FROZEN)}.pt"
            if path.exists():
                model = _load(work, exp, seed, FROZEN)
            else:
                cfg = closed_loop_config(next(iter(videos.values())).neck_meta, TRAIN_VARIANTS[FROZEN])
                model, _ = train_closed_loop(segments(videos, splits), cfg, ClosedLoopTrainParams(seed=seed), app)
                save_closed_loop(path, model, {"exp": exp, "seed": seed}, app)
            for name, split in sorted(splits.items()):
                if split.test is None:
                    continue
                v = videos[name]
                tr = ClosedLoopTracker(model, v.image_wh, v.neck_meta, app)
                boxes = track(tr, v.frames(), split.start_box_xyxy(), *split.test)
                step += tr.step_seconds
                frames += len(boxes) - 1
                e = summarize_errors(track_errors(boxes, v.gt, split))
                rows.append({"exp": exp, "seed": seed, "sequence": name, "aos": e["aos"], "auc": e["success_auc"]})
    df = pd.DataFrame(rows)
    df.to_csv(work / "final_per_video.csv", index=False)
    (work / "final_step.json").write_text(json.dumps({"ms_per_frame": 1000 * step / max(frames, 1), "frames": frames}))
    final_table(work, baseline)


def baseline_auc(baseline: Path, exp: str, tracker: str) -> float:
    """The demo run's mean success AUC of ``tracker`` on ``exp``: from ``results/<exp>/aos.csv``, or,
    while that table is not written yet, scored from its track files as ``evaluate`` scores them
    (``rolo.evaluation.metrics.score_tracks``); NaN when neither exists."""
    import pandas as pd

    from rolo.data.sequences import load_sequence
    from rolo.data.splits import read_splits
    from rolo.evaluation.protocols import score_tracks

    f = baseline / "results" / exp / "aos.csv"
    if f.exists():
        base = pd.read_csv(f)
        return float(base[(base["sequence"] == "ALL") & (base["tracker"] == tracker)]["success_auc"].iloc[0])
    splits = read_splits(baseline / "results" / exp / "splits.json")
    tests = [n for n, sp in splits.items() if sp.test is not None]
    files = {f"{tracker}/{n}": baseline / "results" / exp / "tracks" / tracker / f"{n}.txt" for n in tests}
    if not all(p.exists() for p in files.values()):
        return float("nan")
    gts = {n: load_sequence(baseline / "resources/synthetic" / n, name=n).gt for n in tests}
    table, _ = score_tracks(files, gts, splits)
    return float(table[table["sequence"] == "ALL"]["success_auc"].iloc[0])


def final_table(work: Path, baseline: Path) -> None:
    """The test-frame table from ``final_per_video.csv`` and the demo's ``results/<exp>/aos.csv``."""
    import pandas as pd

    df = pd.read_csv(work / "final_per_video.csv")
    per_seed = df.groupby(["exp", "seed"])[["aos", "auc"]].mean().reset_index()
    lines = ["| experiment | closed-loop ROLO AUC per training seed | mean | seeds above YOLO-only | YOLO-only | CSRT | ROLO (paper-style) |",
             "|---|---|---|---|---|---|---|"]
    for exp in EXPS:
        mine = per_seed[per_seed["exp"] == exp]["auc"].to_numpy()
        y, c, r = (baseline_auc(baseline, exp, t) for t in ("yolo", "csrt", "rolo"))
        wins = int((mine > y).sum())
        lines.append(f"| {exp} | {', '.join(f'{v:.3f}' for v in mine)} | {mine.mean():.3f} | {wins}/{len(mine)} | "
                     f"{y:.3f} | {c:.3f} | {r:.3f} |")
    step = json.loads((work / "final_step.json").read_text())
    lines.append(f"\ntracker step (everything but the detector): {step['ms_per_frame']:.2f} ms/frame over {step['frames']} test frames")
    print("\n".join(lines))
    (work / "final.md").write_text("\n".join(lines) + "\n")

if __name__ == "__main__":
    main()
