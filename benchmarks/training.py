"""Training speed: mini-batched (ours) against batch size 1 (the original ROLO and the ROLO-PyTorch port), to the same validation loss.

Data: synthetic videos (:mod:`rolo.data.synthetic`); features from a detector run by our extraction code
(:func:`rolo.detection.extraction.extract_video`; the default is a small random-init YOLOv8, so this section
costs seconds); detections simulated from the ground truth (:func:`simulated_detections`: a
jittered, systematically too large target box, sometimes missed, plus clutter) so that the LSTM has
a real, learnable error to correct. Protocol ``disjoint``: ``train`` videos train (validation windows carved from the
last ``val_fraction`` of each one's labelled frames, :func:`rolo.tracking.training.build_windows`), ``test``
videos are tracked from their first frame and scored with :mod:`rolo.evaluation.metrics` (AOS = mean over
videos of the mean IoU).

Both runs share data, validation carve, learning rate, seed and model size; only the batch size and
the epoch budget differ. Target loss = the higher of the two runs' best validation losses (the level
both reach); time to target = training wall time (validation excluded) at the end of the first
epoch whose validation loss is at or below it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.common import write_video

TRAIN_VIDEOS = {"TrA": ("SV", "FM"), "TrB": ("OCC", "BC"), "TrC": ("MB", "IV"), "TrD": ("BC", "SV"),
                "TrE": ("FM", "MB", "OCC"), "TrF": ("IV", "BC")}
TEST_VIDEOS = {"TeA": ("SV", "BC"), "TeB": ("FM", "OCC"), "TeC": ("MB", "IV", "BC")}


def simulated_detections(gt: np.ndarray, seed: int, k: int = 10, miss: float = 0.1, clutter: int = 3,
                         image_wh: tuple[int, int] = (320, 240), loose: float = 1.2) -> np.ndarray:
    """``(N, k, 6)`` NaN-padded detections, most confident first: the target's box, ``loose`` times too
    large (a systematic error the LSTM can learn to correct) and jittered (centre sd 5 % of its size,
    size sd 5 % in log), missed with probability ``miss``; up to ``clutter`` boxes of a similar size at
    random places, less confident than re-detection needs (association keeps to the target)."""
    rng = np.random.default_rng(seed)
    n = len(gt)
    out = np.full((n, k, 6), np.nan, np.float32)
    W, H = image_wh
    for t in range(n):
        rows = []
        x1, y1, x2, y2 = gt[t]
        w, h = max(x2 - x1, 2.0), max(y2 - y1, 2.0)
        if rng.random() >= miss:
            cx, cy = (x1 + x2) / 2 + rng.normal(0, 0.05 * w), (y1 + y2) / 2 + rng.normal(0, 0.05 * h)
            ww, hh = loose * w * np.exp(rng.normal(0, 0.05)), loose * h * np.exp(rng.normal(0, 0.05))
            rows.append([cx - ww / 2, cy - hh / 2, cx + ww / 2, cy + hh / 2, rng.uniform(0.35, 0.95), 0])
        for _ in range(int(rng.integers(0, clutter + 1))):
            cx, cy = rng.uniform(0, W), rng.uniform(0, H)
            ww, hh = w * rng.uniform(0.7, 1.3), h * rng.uniform(0.7, 1.3)
            rows.append([cx - ww / 2, cy - hh / 2, cx + ww / 2, cy + hh / 2, rng.uniform(0.05, 0.45), 0])
        rows.sort(key=lambda r: -r[4])
        if rows:
            out[t, : len(rows)] = np.asarray(rows[:k], np.float32)
    return out


def make_data(workdir: Path, weights: str, extraction, frames: int, width: int, height: int) -> dict:
    """``{video: (features, detections, gt, split)}`` for the train and test videos."""
    from rolo.data.splits import make_split
    from rolo.detection.extraction import extract_video

    data = {}
    for i, (name, challenges) in enumerate({**TRAIN_VIDEOS, **TEST_VIDEOS}.items()):
        paths, gt = write_video(workdir / "train-videos", frames, width, height, seed=11, name=name, challenges=challenges)
        feats, _, _ = extract_video(weights, paths, extraction, progress=False)
        dets = simulated_detections(gt, seed=100 + i, image_wh=(width, height))
        role = "train" if name in TRAIN_VIDEOS else "test"
        split = make_split(name, gt, np.ones(len(gt), bool), "disjoint", role=role)
        data[name] = (feats, dets, gt, split)
    return data


def aos(model, data: dict, image_wh, tracker_factory=None) -> float:
    """Mean over the test videos of the mean IoU over the scored frames."""
    from rolo.tracking.association import AssociationParams
    from rolo.evaluation.protocols import track_ious
    from rolo.tracking.trackers import VideoFrames, make_tracker, track

    per_video = []
    for feats, dets, gt, split in data.values():
        if split.test is None:
            continue
        tracker = (tracker_factory or (lambda: make_tracker("rolo_paper", AssociationParams(), image_wh, model)))()
        boxes = track(tracker, VideoFrames(feats, dets), split.start_box_xyxy(), *split.test)
        per_video.append(float(track_ious(boxes, gt, split).mean()))
    return float(np.mean(per_video))


def time_to(losses, target: float) -> tuple[float, int]:
    hit = losses[losses["val_loss"] <= target + 1e-12]
    if not len(hit):
        return float("nan"), -1
    return float(hit["seconds"].iloc[0]), int(hit["epoch"].iloc[0])


def run(data: dict, image_wh, hidden: int, steps: int, epochs: int, batch: int, epochs_b1: int, val_fraction: float,
        lr: float, log=print) -> tuple[list[dict], dict]:
    from rolo.tracking.association import AssociationParams
    from rolo.tracking.models import ModelConfig
    from rolo.tracking.training import prepare_video, train_model, TrainParams

    videos = [prepare_video(n, f, d, g, image_wh, s, AssociationParams()) for n, (f, d, g, s) in data.items()]
    videos = [v for v in videos if v is not None]
    cfg = ModelConfig(feature_dim=next(iter(data.values()))[0].shape[1], hidden=hidden, steps=steps)
    runs = {}
    for label, b, e in (("ours", batch, epochs), ("batch1", 1, epochs_b1)):
        model, losses = train_model(videos, cfg, TrainParams(epochs=e, batch=b, lr=lr, seed=0, val_fraction=val_fraction),
                                    progress=False)
        runs[label] = (model, losses)
        log(f"  {label} (batch {b}, {e} epochs): best val loss {losses['val_loss'].min():.5f}, "
            f"{losses['seconds'].iloc[-1]:.1f} s")
    target = max(float(r[1]["val_loss"].min()) for r in runs.values())
    out = {}
    for label, (model, losses) in runs.items():
        t, ep = time_to(losses, target)
        out[label] = {"time_to_target_s": t, "epoch": ep, "s_per_epoch": float(losses["seconds"].iloc[-1] / len(losses)),
                      "best_val_loss": float(losses["val_loss"].min()), "aos": aos(model, data, image_wh),
                      "losses": losses}
    from rolo.tracking.trackers import make_tracker

    aos_yolo = aos(None, data, image_wh, lambda: make_tracker("yolo", AssociationParams()))
    windows = int(runs["ours"][1]["windows"].iloc[0])
    o, s = out["ours"], out["batch1"]
    rows = [
        {"section": "training", "measure": f"time to val loss {target:.4f}: ours (batch {batch}), epoch {o['epoch']}",
         "value": o["time_to_target_s"], "unit": "s", "ratio": s["time_to_target_s"] / o["time_to_target_s"],
         "ratio_of": "batch-1 time / ours", "target": ">= 10"},
        {"section": "training", "measure": f"time to val loss {target:.4f}: batch 1 (original ROLO, port), epoch {s['epoch']}",
         "value": s["time_to_target_s"], "unit": "s", "ratio": np.nan, "ratio_of": "", "target": ""},
        {"section": "training", "measure": f"time per epoch ({windows} training windows): ours",
         "value": o["s_per_epoch"], "unit": "s", "ratio": s["s_per_epoch"] / o["s_per_epoch"],
         "ratio_of": "batch-1 / ours", "target": ""},
        {"section": "training", "measure": "time per epoch: batch 1", "value": s["s_per_epoch"], "unit": "s",
         "ratio": np.nan, "ratio_of": "", "target": ""},
        {"section": "training", "measure": f"AOS on {len(TEST_VIDEOS)} test videos: ours", "value": o["aos"], "unit": "AOS",
         "ratio": o["aos"] - s["aos"], "ratio_of": "ours - batch 1", "target": ">= 0"},
        {"section": "training", "measure": "AOS: batch 1", "value": s["aos"], "unit": "AOS", "ratio": np.nan,
         "ratio_of": "", "target": ""},
        {"section": "training", "measure": "AOS: association only (YOLO-only), for reference", "value": aos_yolo,
         "unit": "AOS", "ratio": np.nan, "ratio_of": "", "target": ""},
    ]
    details = {"target_val_loss": target, "aos_yolo_only": aos_yolo, "windows": windows,
               "runs": {k: {kk: vv for kk, vv in v.items() if kk != "losses"} for k, v in out.items()},
               "losses": {k: v["losses"] for k, v in out.items()}, "models": {k: v[0] for k, v in runs.items()}}
    return rows, details
