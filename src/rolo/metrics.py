"""Tracking metrics: per-frame IoU and centre errors, AOS, OTB's success and precision curves.

Definitions (IoU on continuous boxes, see :mod:`rolo.boxes`):

* ``aos`` = mean IoU over the scored frames;
* success curve = fraction of scored frames with IoU > t (OTB's strict inequality) at the 21
  thresholds t = 0, 0.05, ..., 1; ``success_auc`` = its mean; ``success_50`` = its value at 0.5;
* precision curve = fraction of frames whose centre error is <= t pixels, t = 0, 1, ..., 50;
  ``precision_20`` = its value at 20 px;
* normalised precision = the same on the centre error divided by the ground truth's width and
  height per axis (as pytracking), t = 0, 0.01, ..., 0.5; ``norm_precision_20`` = its value at 0.20.

The pipeline's tables and any standalone scorer use these functions, so they agree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rolo.boxes import centre_error, iou
from rolo.data import RoloInputError, read_otb_xyxy
from rolo.experiments import VideoSplit

SUCCESS_THRESHOLDS = np.linspace(0.0, 1.0, 21)
PRECISION_THRESHOLDS = np.arange(0, 51, dtype=np.float64)  # pixels
NORM_PRECISION_THRESHOLDS = np.linspace(0.0, 0.5, 51)


def success_curve(ious: np.ndarray, thresholds: np.ndarray = SUCCESS_THRESHOLDS) -> np.ndarray:
    """Fraction of frames with IoU > each threshold."""
    ious = np.asarray(ious, dtype=np.float64)
    return (ious[None, :] > np.asarray(thresholds)[:, None]).mean(axis=1)


def precision_curve(errors: np.ndarray, thresholds: np.ndarray = PRECISION_THRESHOLDS) -> np.ndarray:
    """Fraction of frames with centre error <= each threshold."""
    errors = np.asarray(errors, dtype=np.float64)
    return (errors[None, :] <= np.asarray(thresholds)[:, None]).mean(axis=1)


def normalized_centre_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Centre distance with each axis divided by the ground truth's width / height (``xyxy`` boxes)."""
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    d = (pred[..., :2] + pred[..., 2:]) / 2 - (gt[..., :2] + gt[..., 2:]) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.linalg.norm(d / (gt[..., 2:] - gt[..., :2]), axis=-1)


def frame_errors(pred: np.ndarray, gt: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame ``iou``, ``centre_error`` (px) and ``norm_centre_error`` of ``xyxy`` boxes ``(T, 4)``."""
    return {
        "iou": iou(pred, gt),
        "centre_error": centre_error(pred, gt),
        "norm_centre_error": normalized_centre_error(pred, gt),
    }


def summarize_errors(errors: dict[str, np.ndarray]) -> dict[str, float]:
    """All summary figures of per-frame errors (as from :func:`frame_errors`)."""
    ious = np.asarray(errors["iou"], dtype=np.float64)
    if not len(ious):
        raise ValueError("no scored frames")
    succ = success_curve(ious)
    return {
        "frames": int(len(ious)),
        "aos": float(ious.mean()),
        "success_auc": float(succ.mean()),
        "success_50": float(succ[10]),
        "precision_20": float(precision_curve(errors["centre_error"])[20]),
        "norm_precision_20": float(precision_curve(errors["norm_centre_error"], NORM_PRECISION_THRESHOLDS)[20]),
    }


def summarize(ious: np.ndarray) -> dict[str, float]:
    """``frames``, ``aos``, ``success_50``, ``success_auc`` of one set of per-frame IoUs."""
    ious = np.asarray(ious, dtype=np.float64)
    if not len(ious):
        raise ValueError("no scored frames")
    return {
        "frames": int(len(ious)),
        "aos": float(ious.mean()),
        "success_50": float((ious > 0.5).mean()),
        "success_auc": float(success_curve(ious).mean()),
    }


def track_ious(track_xyxy: np.ndarray, gt: np.ndarray, split: VideoSplit, source: str = "track") -> np.ndarray:
    """IoUs on the split's scored frames of a track covering its test segment ``(T, 4)`` xyxy."""
    a, b = split.test
    if len(track_xyxy) != b - a:
        raise RoloInputError(
            f"{source}: {len(track_xyxy)} boxes, but video {split.video}'s test segment has {b - a} frames ({a + 1}..{b})"
        )
    scored = np.asarray(split.scored, dtype=np.int64)
    return iou(track_xyxy[scored - a], gt[scored])


def score_tracks(
    tracks: dict[str, Path], gts: dict[str, np.ndarray], splits: dict[str, VideoSplit]
) -> pd.DataFrame:
    """Score OTB-format track files ``{(tracker, video): path}``-like mapping given as
    ``{"tracker/video": path}`` -> rows ``sequence,tracker,frames,aos,success_50`` with an ``ALL``
    row per tracker (mean over sequences, frames summed)."""
    rows = []
    for key, path in sorted(tracks.items()):
        tracker, video = key.split("/", 1)
        ious = track_ious(read_otb_xyxy(path), gts[video], splits[video], source=str(path))
        rows.append({"sequence": video, "tracker": tracker, **summarize(ious)})
    df = pd.DataFrame(rows)
    cols = ["sequence", "tracker", "frames", "aos", "success_50"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    df = df[cols]
    allrows = (
        df.groupby("tracker", sort=False)
        .agg(frames=("frames", "sum"), aos=("aos", "mean"), success_50=("success_50", "mean"))
        .reset_index()
        .assign(sequence="ALL")
    )
    return pd.concat([df, allrows[cols]], ignore_index=True)
