"""The OTB scoring protocols, shared by the pipeline's tables and the standalone scorer (``rolo score``).

The metrics are :mod:`rolo.evaluation.metrics`'s (IoU on continuous boxes, OTB's success and
precision curves, normalised precision); this module applies a protocol to them
(:func:`protocol_errors`). The pipeline's tables go through :func:`score_tracks` on each
experiment's scored frames (other trackers' results through :func:`covered_errors`), ``rolo score``
through :func:`protocol_errors` on whole sequences (:mod:`rolo.evaluation.scoring`); both make their
tables and curves with :func:`error_tables`. "Protocol" here always means how frames are *scored*; how an
experiment divides frames into training and test is its *split* (:mod:`rolo.data.splits`).
A protocol fixes what the reference toolkits differ on:

``official`` (OTB's MATLAB toolkit, ``calcSeqErrRobust.m``)
    Tiger1 runs from frame 6 (its ``init_omit`` of 5, see :mod:`rolo.data.otb`). A frame whose ground
    truth is not four positive numbers (MATLAB's ``sum(rect_anno > 0, 2) == 4``, so OTB's
    ``0,0,0,0`` rows such as Board 698 and Twinnings 472 *and* boxes whose 1-based ``x`` or ``y``
    is <= 0, i.e. reaching past the image's left or top edge) still counts in the denominator:
    its overlap fails every threshold (IoU taken as 0, which also makes ``aos`` MATLAB's
    ``aveErrCoverage``) and its centre error passes every threshold (MATLAB sets it to -1; here
    0, the same for thresholds >= 0; likewise the normalised centre error). From the second frame
    on, a result box with ``w <= 0`` or ``h <= 0``, or all NaN, is replaced by the previous
    frame's (already repaired) result, *before* the first frame is set to the ground truth.
``got10k`` (got10k's ``ExperimentOTB.report``)
    All 354 frames of Tiger1; every frame is scored as it is: a ``0,0,0,0`` ground truth gives
    IoU 0 and the centre error to its centre ``(x + (w - 1) / 2, ...) = (-0.5, -0.5)``; results
    are used as given (NaN boxes fail every threshold).

Both set the first frame's result to its ground truth. Differences in the last bits: got10k
divides the intersection by ``union + eps``; the curves agree unless an IoU lies within 1e-16
of a threshold.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from rolo.data.sequences import read_otb_xyxy
from rolo.data.splits import VideoSplit
from rolo.errors import RoloInputError
from rolo.evaluation.metrics import curves_of, frame_errors, summarize_errors
from rolo.utils.boxes import xyxy_to_otb

PROTOCOLS = ("official", "got10k")
"""Scoring protocols (how frames are scored; not to be confused with an experiment's ``split``)."""
PROTOCOL_NOTES = {
    "official": "OTB MATLAB toolkit: Tiger1 from frame 6; ground truth not all positive (0,0,0,0 rows, boxes past "
    "the left/top edge) = overlap failure and centre-error success; results with w or h <= 0 or all NaN "
    "replaced by the previous frame's",
    "got10k": "got10k ExperimentOTB: all frames of Tiger1; every frame and result scored as given",
}
DATASET_PROTOCOLS = {"lasot": "lasot", "got10k": "got10k-val"}
"""The protocol that scores the test videos of an extra dataset (config ``datasets``; an experiment's
``test.dataset``): its reference toolkit's, :mod:`rolo.evaluation.benchmarks` (the names of
``rolo score --dataset``). The main dataset's videos are scored by one of :data:`PROTOCOLS`."""
PROTOCOL_NOTES |= {
    "lasot": "pytracking's LaSOT analysis (rolo.evaluation.benchmarks.score_lasot_results): every frame of each "
    "video, frame 1 set to its ground truth; absent frames (full occlusion or out of view, the dataset's own flags) "
    "stay in the denominator and fail; results of zero width or height take the previous frame's; aos = mean IoU "
    "of the valid frames; ALL = the mean of the videos' curves",
    "got10k-val": "got10k's ExperimentGOT10k (rolo.evaluation.benchmarks.score_got10k_results): frame 1 skipped, "
    "frames with cover == 0 (the dataset's own labels) left out, both boxes clipped to the image (meta_info.ini "
    "resolution); aos = AO (mean IoU), sr_50 / sr_75 = fraction of IoU > 0.5 / > 0.75; ALL = every scored frame "
    "of every video pooled (frame weighted)",
}

FIGURES = ["frames", "aos", "success_auc", "success_50", "precision_20", "norm_precision_20"]
"""The summary figures of :func:`rolo.evaluation.metrics.summarize_errors`, in table order."""
RESULT_COLUMNS = ["sequence", *FIGURES]
"""``rolo score``'s table: one tracker."""
SCORE_COLUMNS = ["sequence", "tracker", *FIGURES]
"""The pipeline's ``aos.csv``: every tracker of an experiment."""


def check_protocol(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        raise RoloInputError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    return protocol


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


def score_segment(pred: np.ndarray, gt: np.ndarray, protocol: str) -> dict[str, float]:
    """Summary figures (:func:`rolo.evaluation.metrics.summarize_errors`) of a tracked segment ``(T, 4)``
    (``xyxy`` results and ground truth, row 0 the start frame) under ``protocol``."""
    return summarize_errors(protocol_errors(pred, gt, protocol))


def with_mean_rows(table: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """``table`` plus a row ``ALL`` (per ``by`` group, in order of appearance, after all the other
    rows): ``frames`` summed, every other figure the mean over sequences."""
    key = table[by] if by else pd.Series(0, index=table.index)
    groups = table.drop(columns=[c for c in ("sequence", by) if c]).groupby(key, sort=False)
    means = groups.mean()
    means["frames"] = groups["frames"].sum()
    means = means.reset_index(drop=by is None).assign(sequence="ALL")
    if by is None:
        means = means.drop(columns=[c for c in means.columns if c not in table.columns])
    return pd.concat([table, means[table.columns]], ignore_index=True)


def covered_errors(
    boxes: np.ndarray, gt: np.ndarray, split: VideoSplit, source: str = "results", protocol: str = "official"
) -> tuple[dict[str, np.ndarray], bool]:
    """Per-frame errors on the split's scored frames of another tracker's results, and whether they
    are like-for-like with the pipeline's tracks.

    ``boxes`` ``(R, 4)`` 0-based ``xyxy``; ``gt`` ``(N, 4)`` the video's whole ground truth. What the
    results cover is told by their row count ``R``:

    * ``R`` = the test segment's length ``b - a``: tracked from the split's start frame, given its box,
      as the pipeline's trackers are; scored by :func:`track_errors`. Like-for-like.
    * ``R`` = the sequence's length ``N`` (and ``a > 0``, else the case above): a one-pass run of the
      whole sequence from frame 1. Scored as such under ``protocol`` (repair, frame 1 set to its
      ground truth) and cut to the split's scored frames; **not** like-for-like, as it did not start
      from the split's start box but carries state from the frames before it.

    Any other ``R`` is an error naming ``source`` and both accepted lengths.
    """
    a, b = split.test
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if len(boxes) == b - a:
        return track_errors(boxes, gt, split, source, protocol), True
    if len(boxes) == split.frames == len(gt):
        errors = protocol_errors(boxes, gt, protocol)
        scored = np.asarray(split.scored, dtype=np.int64)
        return {k: v[scored] for k, v in errors.items()}, False
    raise RoloInputError(
        f"{source}: {len(boxes)} boxes, but video {split.video} has {split.frames} frames and its test segment "
        f"{b - a} ({a + 1}..{b}); results must cover one or the other"
    )


CURVE_COLUMNS = ["sequence", "tracker", "curve", "threshold", "value"]
"""``curves.csv`` (and ``rolo score --curves``): long format, ``ALL`` = mean of the sequences' curves."""
LIKE = "like_for_like"
"""The column that marks rows not scored like the pipeline's own tracks (present when some are)."""


def error_tables(
    errors: dict[tuple[str, str], dict[str, np.ndarray]], like: dict[tuple[str, str], bool] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``{(sequence, tracker): per-frame errors}`` -> the table (:data:`SCORE_COLUMNS`, one row per
    (sequence, tracker) in the given order and an ``ALL`` row per tracker: mean over sequences,
    frames summed) and the curves (:data:`CURVE_COLUMNS`, ``ALL`` = mean of the sequences' curves,
    as OTB's plots average them). With ``like`` (``{(sequence, tracker): bool}``), both get a column
    :data:`LIKE`; a tracker's ``ALL`` rows are like-for-like only if all its rows are."""
    rows, curves = [], []
    for (video, tracker), e in errors.items():
        rows.append({"sequence": video, "tracker": tracker, **summarize_errors(e)})
        curves += [{"sequence": video, "tracker": tracker, **c} for c in curves_of(e)]
    if not rows:
        table, cv = pd.DataFrame(columns=SCORE_COLUMNS), pd.DataFrame(columns=CURVE_COLUMNS)
    else:
        table = with_mean_rows(pd.DataFrame(rows)[SCORE_COLUMNS], by="tracker")
        cv = pd.DataFrame(curves)
        cv_all = cv.groupby(["tracker", "curve", "threshold"], sort=False)["value"].mean().reset_index().assign(sequence="ALL")
        cv = pd.concat([cv, cv_all[cv.columns]], ignore_index=True)
    if like is not None:
        per_tracker: dict[str, bool] = {}
        for (_, tracker), flag in like.items():
            per_tracker[tracker] = per_tracker.get(tracker, True) and bool(flag)
        for df in (table, cv):
            df[LIKE] = [
                per_tracker.get(t, True) if s == "ALL" else bool(like.get((s, t), True)) for s, t in zip(df.sequence, df.tracker)
            ]
    return table, cv


def score_tracks(
    tracks: dict[str, Path],
    gts: dict[str, np.ndarray],
    splits: dict[str, VideoSplit],
    protocol: str = "official",
    external: dict[str, Path] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score OTB-format track files given as ``{"tracker/video": path}`` under ``protocol``.

    Returns the table and the curves of :func:`error_tables`. ``external``: other trackers' result
    files, ``{"tracker/video": path}`` in any layout :func:`rolo.evaluation.scoring.read_result_file`
    reads, covering the test segment or the whole sequence (:func:`covered_errors`); when given,
    both tables get the column :data:`LIKE`. ``gts``: each video's whole ground truth ``(N, 4)``
    0-based ``xyxy``.
    """
    from rolo.evaluation.scoring import read_result_file  # (rolo.evaluation.scoring imports this module)

    errors, like = {}, {}
    for key, path in sorted(tracks.items()):
        tracker, video = key.split("/", 1)
        track = read_otb_xyxy(path, allow_invalid=True)
        errors[(video, tracker)] = track_errors(track, gts[video], splits[video], source=str(path), protocol=protocol)
        like[(video, tracker)] = True
    for key, path in sorted((external or {}).items()):
        tracker, video = key.split("/", 1)
        boxes = read_result_file(path)
        errors[(video, tracker)], like[(video, tracker)] = covered_errors(boxes, gts[video], splits[video], str(path), protocol)
    return error_tables(errors, like if external else None)


def attribute_curves(curves: pd.DataFrame, attributes: dict[str, list[str]]) -> pd.DataFrame:
    """Per attribute, the mean of the per-sequence curves of the sequences carrying it: rows
    ``attribute, sequences, tracker, curve, threshold, value`` (and :data:`LIKE` when ``curves``
    has it: a tracker's attribute curve is like-for-like only if all its sequences' are)."""
    per_seq = curves[curves.sequence != "ALL"]
    rows = []
    tags = sorted({t for v in per_seq.sequence.unique() for t in attributes.get(v, [])})
    for tag in tags:
        seqs = [v for v in per_seq.sequence.unique() if tag in attributes.get(v, [])]
        sub = per_seq[per_seq.sequence.isin(seqs)]
        mean = sub.groupby(["tracker", "curve", "threshold"], sort=False)["value"].mean().reset_index()
        if LIKE in sub.columns:
            mean = mean.merge(sub.groupby("tracker", sort=False)[LIKE].all().reset_index(), on="tracker")
        rows.append(mean.assign(attribute=tag, sequences=len(seqs)))
    columns = ["attribute", "sequences", "tracker", "curve", "threshold", "value"]
    if LIKE in curves.columns:
        columns.append(LIKE)
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.concat(rows, ignore_index=True)[columns]


def attribute_table(curves: pd.DataFrame, attributes: dict[str, list[str]]) -> pd.DataFrame:
    """Per (attribute, tracker), the figures read off :func:`attribute_curves`: ``success_auc``
    (mean of the success curve), ``success_50``, ``precision_20``, ``norm_precision_20``."""
    per_attr = attribute_curves(curves, attributes)
    keys = ["attribute", "sequences", "tracker"] + ([LIKE] if LIKE in per_attr.columns else [])
    columns = [*keys, "success_auc", "success_50", "precision_20", "norm_precision_20"]
    if per_attr.empty:
        return pd.DataFrame(columns=columns)

    def at(curve: str, t: float):
        c = per_attr[(per_attr.curve == curve) & np.isclose(per_attr.threshold, t)]
        return c.set_index(keys)["value"]

    success = per_attr[per_attr.curve == "success"].groupby(keys, sort=False)["value"].mean()
    out = pd.DataFrame({
        "success_auc": success,
        "success_50": at("success", 0.5),
        "precision_20": at("precision", 20.0),
        "norm_precision_20": at("norm_precision", 0.2),
    })
    return out.reset_index()[columns]


def experiment_protocol(seq_dirs: Iterable[str | Path]) -> str:
    """The protocol that scores an experiment's sequences: an extra dataset's view (``source.json``,
    :func:`rolo.data.sources.link_source_sequence`) its dataset's (:data:`DATASET_PROTOCOLS`); an
    OTB sequence the protocol it was prepared for (``sequence.json`` written by
    :func:`rolo.data.otb.link_sequence`); ``official`` for plain sequence folders. Must be one."""
    found = {sequence_scoring(d) for d in seq_dirs}
    if len(found) > 1:
        raise RoloInputError(f"sequences prepared for different protocols: {sorted(found)}")
    return found.pop() if found else PROTOCOLS[0]


def sequence_scoring(seq_dir: str | Path) -> str:
    """The protocol that scores one sequence folder (see :func:`experiment_protocol`)."""
    import json

    from rolo.data.otb import sequence_protocol  # (rolo.data.otb imports this module)
    from rolo.data.sources import SOURCE_JSON

    source = Path(seq_dir) / SOURCE_JSON
    if source.is_file():
        try:
            dataset = json.loads(source.read_text())["dataset"]
        except (ValueError, KeyError, TypeError) as e:
            raise RoloInputError(f"{source}: not the record of a dataset view ({e})") from None
        if dataset not in DATASET_PROTOCOLS:
            raise RoloInputError(f"{source}: dataset {dataset!r}; known: {', '.join(DATASET_PROTOCOLS)}")
        return DATASET_PROTOCOLS[dataset]
    return sequence_protocol(seq_dir) or "official"
