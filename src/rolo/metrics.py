"""Tracking metrics: per-frame IoU and centre errors, AOS, OTB's success and precision curves.

Definitions (IoU on continuous boxes, see :mod:`rolo.boxes`):

* ``aos`` = mean IoU over the scored frames;
* success curve = fraction of scored frames with IoU > t (OTB's strict inequality) at the 21
  thresholds t = 0, 0.05, ..., 1; ``success_auc`` = its mean; ``success_50`` = its value at 0.5;
* precision curve = fraction of frames whose centre error is <= t pixels, t = 0, 1, ..., 50;
  ``precision_20`` = its value at 20 px;
* normalised precision = the same on the centre error divided by the ground truth's width and
  height per axis (as pytracking), t = 0, 0.01, ..., 0.5; ``norm_precision_20`` = its value at 0.20.

The pipeline's tables and any standalone scorer use these functions, so they agree. How frames
with invalid ground truth and invalid result boxes count, and the start frame's result, are set
by a named protocol (``official`` or ``got10k``, :func:`protocol_errors`; see :mod:`rolo.scoring`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rolo.boxes import centre_error, iou, xyxy_to_otb
from rolo.data import RoloInputError, read_otb_xyxy
from rolo.experiments import VideoSplit
from rolo.otb import check_protocol

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


SCORE_COLUMNS = ["sequence", "tracker", "frames", "aos", "success_auc", "success_50", "precision_20", "norm_precision_20"]
CURVES = {
    "success": ("iou", SUCCESS_THRESHOLDS),
    "precision": ("centre_error", PRECISION_THRESHOLDS),
    "norm_precision": ("norm_centre_error", NORM_PRECISION_THRESHOLDS),
}
"""Curve name -> (per-frame error it is computed from, thresholds)."""


def valid_ground_truth(gt: np.ndarray, protocol: str) -> np.ndarray:
    """``(N,)`` bool: frames of 0-based ``xyxy`` ground truth ``(N, 4)`` that ``protocol`` scores
    normally (``official``: all four OTB values ``x, y, w, h`` > 0, as MATLAB's
    ``sum(rect_anno > 0, 2) == 4``; ``got10k``: every frame)."""
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    if check_protocol(protocol) == "got10k":
        return np.ones(len(gt), bool)
    return (xyxy_to_otb(gt) > 0).all(axis=1)


def repair_results(pred: np.ndarray, protocol: str) -> np.ndarray:
    """A copy of ``xyxy`` results ``(T, 4)`` as ``protocol`` reads them (``official``: frames 2..T
    with ``w <= 0``, ``h <= 0`` or all NaN take the previous frame's repaired box; ``got10k``: as is)."""
    pred = np.array(pred, dtype=np.float64, copy=True).reshape(-1, 4)
    if check_protocol(protocol) == "official":
        bad = ((pred[:, 2:] - pred[:, :2]) <= 0).any(axis=1) | np.isnan(pred).all(axis=1)
        for t in np.flatnonzero(bad):
            if t > 0:
                pred[t] = pred[t - 1]
    return pred


def protocol_errors(pred: np.ndarray, gt: np.ndarray, protocol: str) -> dict[str, np.ndarray]:
    """Per-frame errors (:func:`frame_errors`) of a tracked segment under ``protocol``.

    ``pred``, ``gt``: ``(T, 4)`` 0-based ``xyxy``; row 0 is the start frame, whose result is set to
    its ground truth (after :func:`repair_results`, as MATLAB does). Frames whose ground truth is
    not :func:`valid_ground_truth` get IoU 0 (fails every success threshold) and centre errors 0
    (pass every precision threshold).
    """
    pred = repair_results(pred, protocol)
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    if pred.shape != gt.shape:
        raise ValueError(f"{len(pred)} result boxes for {len(gt)} ground-truth boxes")
    pred[0] = gt[0]
    errors = frame_errors(pred, gt)
    invalid = ~valid_ground_truth(gt, protocol)
    for key, value in (("iou", 0.0), ("centre_error", 0.0), ("norm_centre_error", 0.0)):
        errors[key][invalid] = value
    return errors


def track_errors(
    track_xyxy: np.ndarray, gt: np.ndarray, split: VideoSplit, source: str = "track", protocol: str = "official"
) -> dict[str, np.ndarray]:
    """Per-frame errors (:func:`protocol_errors`) on the split's scored frames (every test frame but
    training labels; invalid ground truth scored as ``protocol`` says) of a track covering its test
    segment, ``(T, 4)`` xyxy. A track of another length is an error naming ``source``."""
    a, b = split.test
    if len(track_xyxy) != b - a:
        raise RoloInputError(
            f"{source}: {len(track_xyxy)} boxes, but video {split.video}'s test segment has {b - a} frames ({a + 1}..{b})"
        )
    errors = protocol_errors(track_xyxy, gt[a:b], protocol)
    scored = np.asarray(split.scored, dtype=np.int64) - a
    return {k: v[scored] for k, v in errors.items()}


def track_ious(
    track_xyxy: np.ndarray, gt: np.ndarray, split: VideoSplit, source: str = "track", protocol: str = "official"
) -> np.ndarray:
    """IoUs on the split's scored frames (see :func:`track_errors`)."""
    return track_errors(track_xyxy, gt, split, source, protocol)["iou"]


def curves_of(errors: dict[str, np.ndarray]) -> list[dict]:
    """Long-format rows ``curve, threshold, value`` of the success and precision curves."""
    rows = []
    for name, (key, thresholds) in CURVES.items():
        for t, v in zip(thresholds, precision_curve(errors[key], thresholds) if name != "success" else success_curve(errors[key], thresholds)):
            rows.append({"curve": name, "threshold": float(t), "value": float(v)})
    return rows


def score_tracks(
    tracks: dict[str, Path], gts: dict[str, np.ndarray], splits: dict[str, VideoSplit], protocol: str = "official"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score OTB-format track files given as ``{"tracker/video": path}`` under ``protocol``.

    Returns the table (:data:`SCORE_COLUMNS`, one row per (sequence, tracker) and an ``ALL`` row per
    tracker: mean over sequences, frames summed) and the curves (``sequence, tracker, curve,
    threshold, value``, with ``ALL`` = mean of the sequences' curves, as OTB's plots average them).
    """
    rows, curves = [], []
    for key, path in sorted(tracks.items()):
        tracker, video = key.split("/", 1)
        track = read_otb_xyxy(path, allow_invalid=True)
        errors = track_errors(track, gts[video], splits[video], source=str(path), protocol=protocol)
        rows.append({"sequence": video, "tracker": tracker, **summarize_errors(errors)})
        curves += [{"sequence": video, "tracker": tracker, **c} for c in curves_of(errors)]
    if not rows:
        return pd.DataFrame(columns=SCORE_COLUMNS), pd.DataFrame(columns=["sequence", "tracker", "curve", "threshold", "value"])
    df = pd.DataFrame(rows)[SCORE_COLUMNS]
    means = df.drop(columns="sequence").groupby("tracker", sort=False).mean()
    means["frames"] = df.groupby("tracker", sort=False)["frames"].sum()
    allrows = means.reset_index().assign(sequence="ALL")[SCORE_COLUMNS]
    cv = pd.DataFrame(curves)
    cv_all = cv.groupby(["tracker", "curve", "threshold"], sort=False)["value"].mean().reset_index().assign(sequence="ALL")
    return pd.concat([df, allrows], ignore_index=True), pd.concat([cv, cv_all[cv.columns]], ignore_index=True)
