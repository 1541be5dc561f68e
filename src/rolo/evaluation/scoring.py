"""The standalone scorer (``rolo score``): result files of any tracker against OTB ground truth.

Sequences resolve through the OTB-2015 catalog (:mod:`rolo.data.otb`) or plain OTB-layout folders;
the figures come from :mod:`rolo.evaluation.protocols`, the same code as the pipeline's tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rolo.utils.boxes import otb_to_xyxy
from rolo.errors import RoloInputError
from rolo.data.sequences import read_otb_xyxy
from rolo.data.otb import SEQUENCE_JSON, find_folder, lookup, otb_ground_truth, sequence_dir, sequence_protocol
from rolo.evaluation.protocols import RESULT_COLUMNS, check_protocol, score_segment, with_mean_rows

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

    A catalog name (or alias) is read as OTB-2015 (:mod:`rolo.data.otb`: its folder, ground-truth file
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
    """Sequence names of the result files ``<Sequence>.txt`` in ``results_dir``, sorted. Hidden files
    (``.name.XXXX`` temporary files of an interrupted writer) and ``*_time.txt`` (trackers' timing
    files, as in OTB's benchmark results) are not result files."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise RoloInputError(f"{results_dir}: results folder not found")
    names = sorted(
        p.stem
        for p in results_dir.glob("*.txt")
        if not p.name.startswith(".") and not p.name.endswith("_time.txt") and p.is_file()
    )
    if not names:
        raise RoloInputError(f"{results_dir}: no result files (<Sequence>.txt)")
    return names


def score_results(dataset_root: str | Path, results_dir: str | Path, names: Iterable[str], protocol: str) -> pd.DataFrame:
    """One row per sequence (:data:`rolo.evaluation.protocols.RESULT_COLUMNS`) and a last row
    ``ALL`` (mean over sequences, frames summed)."""
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
    return with_mean_rows(pd.DataFrame(rows)[RESULT_COLUMNS])
