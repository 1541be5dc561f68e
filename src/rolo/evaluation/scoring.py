"""The standalone scorer (``rolo score``): result files of any tracker against OTB ground truth, and
the readers of other trackers' result layouts, which the pipeline's ``external`` trackers share.

Sequences resolve through the OTB-2015 catalog (:mod:`rolo.data.otb`) or plain OTB-layout folders;
the figures come from :mod:`rolo.evaluation.protocols`, the same code as the pipeline's tables.

Result layouts (:data:`LAYOUTS`; every box file holds one ``x,y,w,h`` per frame, 1-based, comma or
white-space separated, as :func:`rolo.data.sequences.read_otb_boxes` reads them):

``otb``         ``<dir>/<Sequence>.txt`` (OTB's benchmark results, ``rolo score``'s original input);
``pytracking``  ``<dir>/<Sequence>.txt`` (tab separated) and ``<dir>/<Sequence>_time.txt``, one
                time in seconds per frame;
``got10k``      ``<dir>/<Sequence>/<Sequence>_001.txt`` (first repetition) and
                ``<dir>/<Sequence>/<Sequence>_time.txt``, one row per frame, a column per repetition.

``otb`` and ``pytracking`` share the box file's name: a timing file beside it is read if present.
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
from rolo.evaluation.protocols import RESULT_COLUMNS, check_protocol, error_tables, protocol_errors

LAYOUTS = ("otb", "pytracking", "got10k")
"""Result layouts read (see the module's docstring) and written by ``rolo export`` (not ``otb``:
the pipeline's own track files are in it already)."""

# --- other trackers' result layouts ----------------------------------------------------------------


def result_file(results_dir: str | Path, names: Iterable[str]) -> Path:
    """The box file of a sequence known by ``names`` (name, then aliases) in ``results_dir``:
    ``<name>.txt`` (``otb``, ``pytracking``) or ``<name>/<name>_001.txt`` (``got10k``), the first
    found. None found is an error naming the folder and the files looked for."""
    results_dir = Path(results_dir)
    names = list(names)
    candidates = [p for n in names for p in (results_dir / f"{n}.txt", results_dir / n / f"{n}_001.txt")]
    for path in candidates:
        if path.is_file():
            return path
    looked = ", ".join(str(p.relative_to(results_dir)) for p in candidates)
    raise RoloInputError(f"{results_dir}: no result file for {names[0]} (looked for {looked})")


def timing_file(box_file: str | Path) -> Path | None:
    """The per-frame timing file beside a box file (``<name>_time.txt`` beside ``<name>.txt`` or
    ``<name>_001.txt``), or None."""
    box_file = Path(box_file)
    stem = box_file.stem.removesuffix("_001") if box_file.stem.endswith("_001") else box_file.stem
    path = box_file.with_name(f"{stem}_time.txt")
    return path if path.is_file() else None


def read_result_file(path: str | Path) -> np.ndarray:
    """A box file of any layout -> ``(N, 4)`` 0-based ``xyxy`` (NaN and negative sizes allowed: the
    scoring protocol decides, see :mod:`rolo.evaluation.protocols`)."""
    return read_otb_xyxy(path, allow_invalid=True)


def read_timings(path: str | Path) -> np.ndarray:
    """Seconds per frame ``(N,)`` from a timing file (pytracking: one value a line; got10k: a column
    per repetition, the first read). Frames without a positive finite time are left out (got10k's
    reader does the same)."""
    path = Path(path)
    try:
        lines = [line for line in path.read_text().splitlines() if line.strip()]
    except OSError as e:
        raise RoloInputError(f"{path}: cannot read ({e.strerror or e})") from e
    values = []
    for lineno, line in enumerate(lines, start=1):
        first = line.replace(",", " ").replace("\t", " ").split()[0]
        try:
            values.append(float(first))
        except ValueError:
            raise RoloInputError(f"{path}:{lineno}: not a time in seconds: {line!r}") from None
    t = np.asarray(values, dtype=np.float64)
    return t[np.isfinite(t) & (t > 0)]



# --- the standalone scorer ------------------------------------------------------------------


@dataclass(frozen=True)
class ScoredSequence:
    """A sequence as scored: ``gt`` ``(N, 4)`` 0-based ``xyxy`` of its scored frames; result file
    stems accepted (name and aliases); ``frames`` describes the range for messages; ``attributes``
    its challenge tags (OTB's catalog, or a plain folder's ``attributes.json``, as the synthetic
    sequences have), empty if unknown."""

    name: str
    gt: np.ndarray
    result_names: tuple[str, ...]
    frames: str
    attributes: tuple[str, ...] = ()


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
        return ScoredSequence(name, gt, (name,), f"all {len(gt)} rows of {gt_path}", folder_attributes(root / name))
    top = find_folder(root, entry)
    prepared = sequence_protocol(top)
    if prepared is not None:
        if prepared != protocol:
            raise RoloInputError(f"{top / SEQUENCE_JSON}: prepared for the {prepared} protocol, not {protocol}")
        gt = read_otb_xyxy(top / "groundtruth_rect.txt")
    else:
        gt = otb_to_xyxy(otb_ground_truth(sequence_dir(top, entry), entry, protocol))
    first, last = entry.frame_range(protocol)
    return ScoredSequence(entry.name, gt, (entry.name, *entry.aliases), f"frames {first}..{last}", tuple(entry.attributes))


def folder_attributes(folder: str | Path) -> tuple[str, ...]:
    """The challenge tags in a sequence folder's ``attributes.json`` (``{"attributes": [...]}``, as
    :mod:`rolo.data.synthetic` writes it), or ``()``."""
    import json

    path = Path(folder) / "attributes.json"
    if not path.is_file():
        return ()
    try:
        tags = json.loads(path.read_text()).get("attributes", [])
    except (ValueError, AttributeError) as e:
        raise RoloInputError(f"{path}: not a JSON object with a list 'attributes' ({e})") from None
    return tuple(str(t) for t in tags)


def read_result(results_dir: str | Path, seq: ScoredSequence, protocol: str) -> np.ndarray:
    """A sequence's results in ``results_dir`` (any layout, :func:`result_file`) as 0-based ``xyxy``
    ``(N, 4)``; its length must be the sequence's number of scored frames."""
    path = result_file(results_dir, seq.result_names)
    boxes = read_result_file(path)
    if len(boxes) != len(seq.gt):
        raise RoloInputError(
            f"{path}: {len(boxes)} boxes, but {seq.name} has {len(seq.gt)} scored frames under the "
            f"{protocol} protocol ({seq.frames})"
        )
    return boxes


def result_names(results_dir: str | Path) -> list[str]:
    """Sequence names of the result files in ``results_dir``, sorted: ``<Sequence>.txt`` (``otb``,
    ``pytracking``) and ``<Sequence>/<Sequence>_001.txt`` (``got10k``). Hidden files (``.name.XXXX``
    temporary files of an interrupted writer) and ``*_time.txt`` (trackers' timing files, as in OTB's
    benchmark results and pytracking's) are not result files."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise RoloInputError(f"{results_dir}: results folder not found")
    names = {
        p.stem
        for p in results_dir.glob("*.txt")
        if not p.name.startswith(".") and not p.name.endswith("_time.txt") and p.is_file()
    }
    names |= {p.parent.name for p in results_dir.glob("*/*_001.txt") if p.name == f"{p.parent.name}_001.txt"}
    if not names:
        raise RoloInputError(f"{results_dir}: no result files (<Sequence>.txt or <Sequence>/<Sequence>_001.txt)")
    return sorted(names)


def score_results(
    dataset_root: str | Path, results_dir: str | Path, names: Iterable[str], protocol: str, tracker: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]]]:
    """Score one tracker's results on whole sequences (one-pass from each sequence's first scored
    frame) with the pipeline's code (:func:`rolo.evaluation.protocols.error_tables`).

    Returns the table (:data:`rolo.evaluation.protocols.RESULT_COLUMNS`: one row per sequence and a
    last row ``ALL``, mean over sequences, frames summed), the curves
    (:data:`rolo.evaluation.protocols.CURVE_COLUMNS`, tracker ``tracker``, default the results
    folder's name) and each sequence's challenge tags (for per-attribute curves)."""
    check_protocol(protocol)
    tracker = tracker or Path(results_dir).resolve().name
    errors, seen, attributes = {}, {}, {}
    for name in names:
        seq = resolve_sequence(dataset_root, name, protocol)
        if seq.name in seen:
            raise RoloInputError(f"{seq.name} is given twice (as {seen[seq.name]!r} and {name!r})")
        seen[seq.name] = name
        errors[(seq.name, tracker)] = protocol_errors(read_result(results_dir, seq, protocol), seq.gt, protocol)
        attributes[seq.name] = list(seq.attributes)
    if not errors:
        raise RoloInputError("no sequences to score")
    table, curves = error_tables(errors)
    return table[RESULT_COLUMNS], curves, attributes


# --- our tracks in other toolkits' layouts ------------------------------------------------------------


def export_results(tracks_dir: str | Path, out_dir: str | Path, layout: str, names: Iterable[str] | None = None) -> list[Path]:
    """Write the pipeline's track files ``<tracks_dir>/<Seq>.txt`` (OTB ``x,y,w,h``, 1-based, one row
    per tracked frame) in another toolkit's ``layout`` under ``out_dir``:

    ``pytracking``  ``<Seq>.txt`` (tab separated) and, given the tracking job's ``speed.json``,
                    ``<Seq>_time.txt`` (one time per frame);
    ``got10k``      ``<Seq>/<Seq>_001.txt`` (comma separated) and ``<Seq>/<Seq>_time.txt``.

    The boxes are copied as they are (same values, same convention). The pipeline records each
    video's total tracking time only, so every frame's time is that video's mean. ``names``: the
    sequences (default: every result file in ``tracks_dir``). Returns the files written."""
    import json

    from rolo.data.sequences import read_otb_boxes
    from rolo.utils.io import atomic_path

    if layout not in ("pytracking", "got10k"):
        raise RoloInputError(f"unknown layout {layout!r} to export to; known: pytracking, got10k")
    tracks_dir, out_dir = Path(tracks_dir), Path(out_dir)
    names = list(names) if names is not None else result_names(tracks_dir)
    speed_path = tracks_dir / "speed.json"
    speed = json.loads(speed_path.read_text()) if speed_path.is_file() else {}
    written = []
    for name in names:
        boxes = read_otb_boxes(result_file(tracks_dir, [name]), allow_invalid=True)
        if layout == "pytracking":
            box_path, time_path, sep = out_dir / f"{name}.txt", out_dir / f"{name}_time.txt", "\t"
        else:
            box_path, time_path, sep = out_dir / name / f"{name}_001.txt", out_dir / name / f"{name}_time.txt", ","
        box_path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(box_path) as tmp:
            np.savetxt(tmp, boxes, fmt="%.3f", delimiter=sep)
        written.append(box_path)
        if name in speed:
            s = speed[name]
            if int(s["frames"]) != len(boxes):
                raise RoloInputError(f"{speed_path}: {name} has {s['frames']} frames, its track file {len(boxes)}")
            with atomic_path(time_path) as tmp:
                np.savetxt(tmp, np.full(len(boxes), float(s["seconds"]) / len(boxes)), fmt="%.8f")
            written.append(time_path)
    return written
