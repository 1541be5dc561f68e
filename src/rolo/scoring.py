"""Scoring tracks against OTB ground truth under a named protocol: the standalone scorer
(``rolo score``) and the pipeline's tables use the same code.

The metrics and the protocol handling are :mod:`rolo.metrics`'s (IoU on continuous boxes, OTB's
success and precision curves, normalised precision; :func:`rolo.metrics.protocol_errors`); the
pipeline's tables go through :func:`rolo.metrics.score_tracks` with the same protocol, given each
experiment's scored frames. A protocol fixes what the reference toolkits differ on:

``official`` (OTB's MATLAB toolkit, ``calcSeqErrRobust.m``)
    Tiger1 runs from frame 6 (its ``init_omit`` of 5, see :mod:`rolo.otb`). A frame whose ground
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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rolo.boxes import otb_to_xyxy
from rolo.data import RoloInputError, read_otb_xyxy
from rolo.metrics import protocol_errors, summarize_errors
from rolo.otb import (
    PROTOCOLS,
    SEQUENCE_JSON,
    check_protocol,
    find_folder,
    lookup,
    otb_ground_truth,
    sequence_dir,
    sequence_protocol,
)

PROTOCOL_NOTES = {
    "official": "OTB MATLAB toolkit: Tiger1 from frame 6; ground truth not all positive (0,0,0,0 rows, boxes past "
    "the left/top edge) = overlap failure and centre-error success; results with w or h <= 0 or all NaN "
    "replaced by the previous frame's",
    "got10k": "got10k ExperimentOTB: all frames of Tiger1; every frame and result scored as given",
}
SCORE_COLUMNS = ["sequence", "frames", "aos", "success_auc", "success_50", "precision_20", "norm_precision_20"]


def score_segment(pred: np.ndarray, gt: np.ndarray, protocol: str) -> dict[str, float]:
    """Summary figures (:func:`rolo.metrics.summarize_errors`) of a tracked segment ``(T, 4)``
    (``xyxy`` results and ground truth, row 0 the start frame) under ``protocol``."""
    return summarize_errors(protocol_errors(pred, gt, protocol))


def with_mean_row(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` plus a row ``ALL``: ``frames`` summed, every other figure the mean over sequences."""
    figures = [c for c in table.columns if c not in ("sequence", "frames")]
    means = {"sequence": "ALL", "frames": int(table.frames.sum()), **{c: float(table[c].mean()) for c in figures}}
    return pd.concat([table, pd.DataFrame([means])[table.columns]], ignore_index=True)


# --- the standalone scorer ------------------------------------------------------------------


@dataclass(frozen=True)
class ScoredSequence:
    """A sequence as scored: ``gt`` ``(N, 4)`` 0-based ``xyxy`` of its scored frames; result file
    stems accepted (name and aliases); ``frames`` describes the range for messages."""

    name: str
    gt: np.ndarray
    result_names: tuple[str, ...]
    frames: str


def resolve_sequence(dataset_root: str | Path, name: str, protocol: str) -> ScoredSequence:
    """The scored frames of ``name`` under ``dataset_root``.

    A catalog name (or alias) is read as OTB-2015 (:mod:`rolo.otb`: its folder, ground-truth file
    and range for ``protocol``); a folder prepared by the pipeline (``sequence.json``) is read as
    it is, if prepared for the same protocol; any other name is a plain folder
    ``<root>/<name>/groundtruth_rect.txt``, all of whose rows are scored.
    """
    root = Path(dataset_root)
    entry = lookup(name)
    if entry is None:
        gt_path = root / name / "groundtruth_rect.txt"
        if not gt_path.is_file():
            raise RoloInputError(f"{gt_path}: ground truth of {name} not found (not an OTB-2015 name either)")
        gt = read_otb_xyxy(gt_path)
        return ScoredSequence(name, gt, (name,), f"all {len(gt)} rows of {gt_path}")
    top = find_folder(root, entry)
    prepared = sequence_protocol(top)
    if prepared is not None:
        if prepared != protocol:
            raise RoloInputError(f"{top / SEQUENCE_JSON}: prepared for the {prepared} protocol, not {protocol}")
        gt = read_otb_xyxy(top / "groundtruth_rect.txt")
    else:
        gt = otb_to_xyxy(otb_ground_truth(sequence_dir(top, entry), entry, protocol))
    first, last = entry.frame_range(protocol)
    return ScoredSequence(entry.name, gt, (entry.name, *entry.aliases), f"frames {first}..{last}")


def read_result(results_dir: str | Path, seq: ScoredSequence, protocol: str) -> np.ndarray:
    """``<results_dir>/<name or alias>.txt`` as 0-based ``xyxy`` ``(N, 4)``; its length must be the
    sequence's number of scored frames."""
    results_dir = Path(results_dir)
    path = next((results_dir / f"{n}.txt" for n in seq.result_names if (results_dir / f"{n}.txt").is_file()), None)
    if path is None:
        raise RoloInputError(f"{results_dir}: no result file for {seq.name} (looked for {', '.join(n + '.txt' for n in seq.result_names)})")
    boxes = read_otb_xyxy(path, allow_invalid=True)
    if len(boxes) != len(seq.gt):
        raise RoloInputError(
            f"{path}: {len(boxes)} boxes, but {seq.name} has {len(seq.gt)} scored frames under the "
            f"{protocol} protocol ({seq.frames})"
        )
    return boxes


def result_names(results_dir: str | Path) -> list[str]:
    """Sequence names of the result files ``<Sequence>.txt`` in ``results_dir``, sorted."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise RoloInputError(f"{results_dir}: results folder not found")
    names = sorted(p.stem for p in results_dir.glob("*.txt"))
    if not names:
        raise RoloInputError(f"{results_dir}: no result files (<Sequence>.txt)")
    return names


def score_results(dataset_root: str | Path, results_dir: str | Path, names: Iterable[str], protocol: str) -> pd.DataFrame:
    """One row per sequence (:data:`SCORE_COLUMNS`) and a last row ``ALL`` (mean over sequences,
    frames summed)."""
    check_protocol(protocol)
    rows, seen = [], {}
    for name in names:
        seq = resolve_sequence(dataset_root, name, protocol)
        if seq.name in seen:
            raise RoloInputError(f"{seq.name} is given twice (as {seen[seq.name]!r} and {name!r})")
        seen[seq.name] = name
        figures = score_segment(read_result(results_dir, seq, protocol), seq.gt, protocol)
        rows.append({"sequence": seq.name, **figures})
    if not rows:
        raise RoloInputError("no sequences to score")
    return with_mean_row(pd.DataFrame(rows)[SCORE_COLUMNS])


# --- the pipeline ---------------------------------------------------------------------------


def experiment_protocol(seq_dirs: Iterable[str | Path]) -> str:
    """The protocol an experiment's sequences were prepared for (``sequence.json`` written by
    :func:`rolo.otb.link_sequence`); ``official`` for plain sequence folders. Must be one."""
    found = {sequence_protocol(d) or "official" for d in seq_dirs}
    if len(found) > 1:
        raise RoloInputError(f"sequences prepared for different protocols: {sorted(found)}")
    return found.pop() if found else PROTOCOLS[0]
