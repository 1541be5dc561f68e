"""Tracking metrics: per-frame IoU and centre errors, AOS, OTB's success and precision curves.

Definitions (IoU on continuous boxes, see :mod:`rolo.utils.boxes`):

* ``aos`` = mean IoU over the scored frames;
* success curve = fraction of scored frames with IoU > t (OTB's strict inequality) at the 21
  thresholds t = 0, 0.05, ..., 1; ``success_auc`` = its mean; ``success_50`` = its value at 0.5;
* precision curve = fraction of frames whose centre error is <= t pixels, t = 0, 1, ..., 50;
  ``precision_20`` = its value at 20 px;
* normalised precision = the same on the centre error divided by the ground truth's width and
  height per axis (as pytracking), t = 0, 0.01, ..., 0.5; ``norm_precision_20`` = its value at 0.20.

Pure functions of boxes and per-frame errors: no files, splits or protocols. How frames with
invalid ground truth and invalid result boxes count, and the start frame's result, are set by a
named scoring protocol (:mod:`rolo.evaluation.protocols`), which the pipeline's tables and
``rolo score`` share.
"""

from __future__ import annotations

import numpy as np

from rolo.utils.boxes import centre_error, iou

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


CURVES = {
    "success": ("iou", SUCCESS_THRESHOLDS),
    "precision": ("centre_error", PRECISION_THRESHOLDS),
    "norm_precision": ("norm_centre_error", NORM_PRECISION_THRESHOLDS),
}
"""Curve name -> (per-frame error it is computed from, thresholds)."""


def curves_of(errors: dict[str, np.ndarray]) -> list[dict]:
    """Long-format rows ``curve, threshold, value`` of the success and precision curves."""
    rows = []
    for name, (key, thresholds) in CURVES.items():
        for t, v in zip(thresholds, precision_curve(errors[key], thresholds) if name != "success" else success_curve(errors[key], thresholds)):
            rows.append({"curve": name, "threshold": float(t), "value": float(v)})
    return rows


def detection_pr(
    detections: np.ndarray, gt: np.ndarray, mask: np.ndarray, conf: float, iou_thr: float = 0.5
) -> tuple[int, int, int]:
    """Count true positives, false positives and false negatives of one video.

    ``detections (N, K, 6)`` (xyxy, conf, cls; NaN-padded), ``gt (N, 4)`` xyxy, ``mask (N,)`` frames to
    count. A frame's ground truth is matched by the most confident detection with IoU >= ``iou_thr``
    among those above ``conf``; every other detection above ``conf`` is a false positive.
    """
    tp = fp = fn = 0
    for i in np.flatnonzero(mask):
        d = detections[i]
        d = d[np.isfinite(d[:, 4]) & (d[:, 4] >= conf)]
        hit = iou(d[:, :4], gt[i][None]) >= iou_thr if len(d) else np.zeros(0, bool)
        if hit.any():
            tp += 1
            fp += len(d) - 1
        else:
            fn += 1
            fp += len(d)
    return tp, fp, fn
