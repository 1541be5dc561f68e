"""Tracking metrics: per-frame IoU, average overlap (AOS), success rate and the OTB success curve.

Definitions (IoU on continuous boxes, see :mod:`rolo.boxes`):

* ``aos`` = mean IoU over the scored frames;
* ``success_50`` = fraction of scored frames with IoU > 0.5 (OTB's strict inequality);
* success curve = the same fraction at thresholds 0, 0.05, ..., 1; ``success_auc`` = its mean.

The pipeline's tables and any standalone scorer use these functions, so they agree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rolo.boxes import iou
from rolo.data import RoloInputError, read_otb_xyxy
from rolo.experiments import VideoSplit

SUCCESS_THRESHOLDS = np.linspace(0.0, 1.0, 21)


def success_curve(ious: np.ndarray, thresholds: np.ndarray = SUCCESS_THRESHOLDS) -> np.ndarray:
    ious = np.asarray(ious, dtype=np.float64)
    return (ious[None, :] > np.asarray(thresholds)[:, None]).mean(axis=1)


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
