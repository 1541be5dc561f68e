"""Recovery after occlusion: how many frames each tracker needs, once the target reappears, to
overlap it again (IoU > 0.5).

An *episode* is one occluder window ``[first, end)`` (0-based, end exclusive) that ends inside an
experiment's test segment: the target is fully visible again from frame ``end``. The recovery time
is the number of frames from ``end`` to the first scored frame whose IoU with the ground truth
exceeds 0.5 (0: the tracker is on the target as soon as it reappears); an episode whose tracker
never gets there before the segment ends is *not recovered* and is left out of the means. Only the
split's scored frames are read, so no training label is used.

The synthetic generator knows its occluders (:func:`rolo.data.synthetic.occlusions`); OTB has no
per-frame occlusion labels, so this table exists for synthetic data only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RECOVERED_IOU = 0.5
COLUMNS = ["tracker", "episodes", "recovered", "recovered_share", "mean_frames", "median_frames", "p90_frames"]


def recovery_frames(ious_by_frame: dict[int, float], end: int, last: int) -> int | None:
    """Frames from ``end`` to the first frame ``t >= end`` (``t < last``) of ``ious_by_frame``
    (scored frames only) with IoU > 0.5; None if there is none."""
    for t in sorted(f for f in ious_by_frame if end <= f < last):
        if ious_by_frame[t] > RECOVERED_IOU:
            return t - end
    return None


def recovery_episodes(
    tracks: dict[str, dict[str, np.ndarray]], gts: dict[str, np.ndarray], splits: dict, windows: dict[str, list]
) -> pd.DataFrame:
    """One row per (tracker, video, occluder): ``frames`` to recover (NaN: not recovered).

    ``tracks = {tracker: {video: (T, 4) xyxy over the test segment}}``, ``gts = {video: (N, 4)}``
    xyxy, ``splits = {video: VideoSplit}``, ``windows = {video: [(first, end, width factor)]}``."""
    from rolo.utils.boxes import iou

    rows = []
    for tracker, videos in tracks.items():
        for video, boxes in videos.items():
            split = splits[video]
            a, b = split.test
            scored = np.asarray(split.scored, dtype=np.int64)
            ious = dict(zip(scored.tolist(), iou(boxes[scored - a], gts[video][scored]).tolist()))
            for first, end, wf in windows.get(video, []):
                if not a < end < b:
                    continue  # the target reappears outside the tracked segment
                k = recovery_frames(ious, end, b)
                rows.append({"tracker": tracker, "video": video, "occluder_first": first + 1, "reappears": end + 1,
                             "occluder_width": wf, "frames": np.nan if k is None else k})
    return pd.DataFrame(rows, columns=["tracker", "video", "occluder_first", "reappears", "occluder_width", "frames"])


def recovery_summary(episodes: pd.DataFrame) -> pd.DataFrame:
    """Per tracker (in order of appearance): episodes, recovered ones, and the recovery time's mean,
    median and 90th percentile over the recovered ones."""
    rows = []
    for tracker, e in episodes.groupby("tracker", sort=False):
        done = e.frames.dropna()
        rows.append({
            "tracker": tracker, "episodes": len(e), "recovered": len(done),
            "recovered_share": len(done) / len(e) if len(e) else np.nan,
            "mean_frames": done.mean() if len(done) else np.nan,
            "median_frames": done.median() if len(done) else np.nan,
            "p90_frames": done.quantile(0.9) if len(done) else np.nan,
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def load_episodes(splits_json, seq_dirs: dict[str, str], track_dirs: dict[str, str], synthetic: dict,
                  attributes: dict[str, list[str]]) -> pd.DataFrame:
    """One experiment's episodes (:func:`recovery_episodes`) from its files: ``splits.json``, the test
    videos' sequence folders ``{video: dir}``, the trackers' OTB-format track folders ``{tracker: dir}``,
    the generator's settings ``synthetic`` (``seed``, ``width``, ``height``, ``frames``) and each
    video's challenge tags ``attributes`` (its occluders follow from them)."""
    from pathlib import Path

    from rolo.data.sequences import load_sequence, read_otb_xyxy
    from rolo.data.splits import read_splits
    from rolo.data.synthetic import SynthParams, occlusions

    splits = read_splits(splits_json)
    tested = sorted(v for v, sp in splits.items() if sp.test is not None)
    p = SynthParams(width=synthetic["width"], height=synthetic["height"], frames=synthetic["frames"])
    windows = {v: occlusions(v, list(attributes.get(v, [])), synthetic["seed"], p) for v in tested}
    gts = {v: load_sequence(seq_dirs[v], name=v).gt for v in tested}
    tracks = {t: {v: read_otb_xyxy(Path(d) / f"{v}.txt") for v in tested} for t, d in track_dirs.items()}
    return recovery_episodes(tracks, gts, splits, windows)


def recovery_job(splits_json, seq_dirs: dict[str, str], track_dirs: dict[str, str], synthetic: dict,
                 attributes: dict[str, list[str]], out_csv, out_episodes) -> pd.DataFrame:
    """Pipeline stage: an experiment's recovery table (synthetic data) -> ``recovery.csv`` (per
    tracker) and ``recovery_episodes.csv`` (per episode)."""
    from rolo.utils.io import atomic_path

    episodes = load_episodes(splits_json, seq_dirs, track_dirs, synthetic, attributes)
    summary = recovery_summary(episodes)
    for df, path in ((summary, out_csv), (episodes, out_episodes)):
        with atomic_path(path) as tmp:
            df.to_csv(tmp, index=False, float_format="%.3f")
    return summary
