"""Scoring on LaSOT and GOT-10k, each exactly as its reference toolkit computes it, and the writer
of GOT-10k test results for its evaluation server. The OTB protocols are
:mod:`rolo.evaluation.protocols`'; nothing here changes them.

Boxes are taken as the files hold them: ``(N, 4)`` float64 ``x, y, w, h`` with 1-based ``x, y``
(both datasets' ground truth; result files in the same convention). Both toolkits work on these raw
values; their IoU and centre error do not depend on the origin, got10k's clipping to the image
(``[0, W] x [0, H]``) does, and is applied to the raw values as got10k does.

LaSOT -- pytracking's analysis (``pytracking/analysis/extract_results.py``:
``calc_seq_err_robust`` with ``dataset == 'lasot'``, ``extract_results`` with its default
``exclude_invalid_frames=False``; ``plot_results.py``: ``get_auc_curve``, ``get_prec_curve``)
    * results: a NaN value or a negative width/height is an error; rows beyond the ground truth's
      are dropped, fewer rows are an error; from frame 2 on a box with zero width or height takes
      the previous frame's (already repaired) box; frame 1's result is set to its ground truth;
    * a frame is *valid* when its ground truth is four positive numbers and the target is visible
      (``full_occlusion == 0 and out_of_view == 0``, pytracking's ``target_visible``);
    * invalid frames: overlap -1 (fails every success threshold) and centre error +inf (fails every
      precision threshold); the normalised centre error is -1 (passes every threshold) where the
      target is visible but the box not all positive, +inf (fails) where the target is absent;
    * the curves divide by **all** frames of the sequence, so absent frames count as failures
      (``exclude_invalid_frames=True`` divides by the valid frames instead: absent frames left
      out); success over the 21 thresholds ``torch.arange(0, 1.05, 0.05)`` (IoU > t), precision
      over 0..50 px, normalised precision over 0..0.50 (error <= t); centre
      ``x + (w - 1) / 2``, normalised error = the distance between the centres each divided by the
      ground truth's ``(w, h)``; IoU with MATLAB's ``-1``/``+1`` pixel terms;
    * per sequence: ``success_auc`` = mean of the success curve, ``success_50`` at 0.5,
      ``precision_20`` at 20 px, ``norm_precision_20`` at 0.20, ``ao`` = mean overlap of the valid
      frames; over sequences (``ALL``): the mean of the sequences' curves, read off the same way,
      and the mean of their ``ao``. Fractions here, percentages in pytracking's printout, which
      also keeps its curves in float32 (so its figures agree with these to about 1e-7). Per frame,
      IoU and validity equal pytracking's to the bit; centre errors may differ in the last bit
      (torch's float64 ``sqrt`` on CPU is not always correctly rounded, numpy's is), which changes
      a curve only if an error lies within one ulp of a threshold.

GOT-10k validation -- got10k's ``ExperimentGOT10k.report`` (``got10k/experiments/got10k.py``, with
``rect_iou`` of ``got10k/utils/metrics.py``)
    * every repetition ``<seq>_001.txt, <seq>_002.txt, ...`` of a sequence is scored; the first
      frame is skipped; of the others only frames with ``cover > 0`` count (absent and fully
      occluded targets are left out);
    * IoU after clipping both boxes to the image as got10k does (``x`` to ``[0, W]``, then ``w`` to
      ``[0, W - x]``; likewise ``y, h`` with ``H``), intersection over ``union + eps``, clipped to
      ``[0, 1]``;
    * AO = mean IoU, SR0.50 = fraction of IoU > 0.5, SR0.75 = fraction > 0.75; per sequence over its
      pooled frames (all repetitions), and ``ALL`` over the frames of all sequences pooled (frame
      weighted, got10k's ``overall``), not the mean over sequences. Bit for bit got10k's numbers
      (``tests/test_got10k.py`` runs got10k itself). A result with NaN is an error here (got10k
      would report an AO of NaN).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from rolo.data.got10k import Got10kSequence, got10k_sequences, read_list
from rolo.data.lasot import LasotSequence, lasot_sequences
from rolo.data.sequences import read_otb_boxes
from rolo.errors import RoloInputError
from rolo.evaluation.protocols import CURVE_COLUMNS, DATASET_PROTOCOLS
from rolo.utils.io import atomic_path

# --- LaSOT (pytracking) ---------------------------------------------------------------------------

LASOT_SUCCESS_THRESHOLDS = np.array([
    0.0, 0.05, 0.1, 0.15000000000000002, 0.2, 0.25, 0.30000000000000004, 0.35000000000000003, 0.4,
    0.45, 0.5, 0.55, 0.6000000000000001, 0.6500000000000001, 0.7000000000000001, 0.7500000000000001,
    0.8, 0.8500000000000001, 0.9, 0.9500000000000001, 1.0,
])
"""pytracking's overlap thresholds: the values of ``torch.arange(0.0, 1.05, 0.05, dtype=torch.float64)``."""
LASOT_PRECISION_THRESHOLDS = np.arange(0, 51, dtype=np.float64)
LASOT_NORM_PRECISION_THRESHOLDS = np.arange(0, 51, dtype=np.float64) / 100.0
LASOT_CURVES = {
    "success": ("iou", LASOT_SUCCESS_THRESHOLDS),
    "precision": ("centre_error", LASOT_PRECISION_THRESHOLDS),
    "norm_precision": ("norm_centre_error", LASOT_NORM_PRECISION_THRESHOLDS),
}
LASOT_COLUMNS = ["sequence", "frames", "visible", "ao", "success_auc", "success_50", "precision_20", "norm_precision_20"]
"""The LaSOT table: ``frames`` all frames, ``visible`` those with the target visible."""


def lasot_frame_errors(
    pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, source: str = "results"
) -> dict[str, np.ndarray]:
    """Per-frame errors of one sequence as pytracking's ``calc_seq_err_robust`` (``dataset='lasot'``).

    ``pred`` ``(R, 4)`` results and ``gt`` ``(N, 4)`` ground truth, raw ``x, y, w, h`` (1-based,
    as in the files); ``visible`` ``(N,)`` bool. ``R >= N`` (extra rows dropped). Returns ``iou``,
    ``centre_error``, ``norm_centre_error`` (``(N,)`` float64, invalid frames set as the module's
    docstring says) and ``valid`` (``(N,)`` bool). Bad results raise :class:`RoloInputError`
    naming ``source``.
    """
    pred = np.array(pred, dtype=np.float64, copy=True).reshape(-1, 4)
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    visible = np.asarray(visible, dtype=bool).reshape(-1)
    if len(visible) != len(gt):
        raise ValueError(f"{len(visible)} visibility flags for {len(gt)} ground-truth boxes")
    if np.isnan(pred).any() or (pred[:, 2:] < 0).any():
        raise RoloInputError(f"{source}: invalid results (NaN, or a negative width or height)")
    if np.isnan(gt).any():
        raise RoloInputError(f"{source}: NaN in the ground truth")
    if len(pred) < len(gt):
        raise RoloInputError(f"{source}: {len(pred)} boxes for {len(gt)} frames")
    pred = pred[: len(gt)]
    for i in range(1, len(pred)):
        if (pred[i, 2:] == 0).any():
            pred[i] = pred[i - 1]
    pred[0] = gt[0]
    valid = (gt > 0).sum(axis=1) == 4
    valid &= visible

    with np.errstate(divide="ignore", invalid="ignore"):
        pc = pred[:, :2] + 0.5 * (pred[:, 2:] - 1.0)
        ac = gt[:, :2] + 0.5 * (gt[:, 2:] - 1.0)
        centre = np.sqrt(((pc - ac) ** 2).sum(axis=1))
        norm = np.sqrt(((pc / gt[:, 2:] - ac / gt[:, 2:]) ** 2).sum(axis=1))
        tl = np.maximum(pred[:, :2], gt[:, :2])
        br = np.minimum(pred[:, :2] + pred[:, 2:] - 1.0, gt[:, :2] + gt[:, 2:] - 1.0)
        sz = np.clip(br - tl + 1.0, 0, None)
        inter = sz[:, 0] * sz[:, 1]
        union = pred[:, 2] * pred[:, 3] + gt[:, 2] * gt[:, 3] - inter
        iou = inter / union
    centre[~valid] = np.inf
    norm[~valid] = -1.0
    iou[~valid] = -1.0
    norm[~visible] = np.inf
    centre[~visible] = np.inf
    if np.isnan(iou).any():
        raise RoloInputError(f"{source}: NaN overlap (a box of zero area)")
    return {"iou": iou, "centre_error": centre, "norm_centre_error": norm, "valid": valid}


def lasot_curves(errors: Mapping[str, np.ndarray], exclude_invalid_frames: bool = False) -> dict[str, np.ndarray]:
    """The success, precision and normalised precision curves of one sequence (pytracking's
    ``extract_results``): counts over every frame (or, with ``exclude_invalid_frames``, the valid
    ones) -> ``{curve: (thresholds,) float64}``."""
    length = int(errors["valid"].sum()) if exclude_invalid_frames else len(errors["valid"])
    if length <= 0:
        raise RoloInputError("a sequence without valid frames cannot be scored")
    out = {}
    for name, (key, thresholds) in LASOT_CURVES.items():
        e = np.asarray(errors[key])[:, None]
        hits = e > thresholds[None, :] if name == "success" else e <= thresholds[None, :]
        out[name] = hits.sum(axis=0) / length
    return out


def lasot_figures(curves: Mapping[str, np.ndarray]) -> dict[str, float]:
    """``success_auc`` (mean of the success curve), ``success_50``, ``precision_20``,
    ``norm_precision_20`` read off curves (one sequence's or the mean of several)."""
    return {
        "success_auc": float(np.mean(curves["success"])),
        "success_50": float(curves["success"][10]),
        "precision_20": float(curves["precision"][20]),
        "norm_precision_20": float(curves["norm_precision"][20]),
    }


def score_lasot_results(
    sequences: Iterable[LasotSequence],
    results: Mapping[str, np.ndarray],
    exclude_invalid_frames: bool = False,
    tracker: str = "tracker",
    sources: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score results ``{name: (R, 4)}`` (raw ``x, y, w, h``, 1-based) on LaSOT sequences.

    Returns the table (:data:`LASOT_COLUMNS`, one row per sequence and a last row ``ALL``: curves
    averaged over sequences, ``ao`` averaged, frames summed) and the curves
    (:data:`rolo.evaluation.protocols.CURVE_COLUMNS`, ``ALL`` = the mean curve)."""
    rows, curve_rows, per_seq = [], [], []
    for seq in sequences:
        if seq.name not in results:
            raise RoloInputError(f"no results for LaSOT sequence {seq.name}")
        source = (sources or {}).get(seq.name, seq.name)
        errors = lasot_frame_errors(results[seq.name], seq.boxes, seq.visible, source)
        curves = lasot_curves(errors, exclude_invalid_frames)
        per_seq.append(curves)
        valid = errors["valid"]
        ao = float(errors["iou"][valid].mean()) if valid.any() else float("nan")
        rows.append({"sequence": seq.name, "frames": len(seq), "visible": int(seq.visible.sum()), "ao": ao, **lasot_figures(curves)})
        curve_rows += _curve_rows(seq.name, tracker, curves)
    if not rows:
        raise RoloInputError("no LaSOT sequences to score")
    mean = {k: np.mean([c[k] for c in per_seq], axis=0) for k in LASOT_CURVES}
    table = pd.DataFrame(rows)
    rows.append({
        "sequence": "ALL", "frames": int(table.frames.sum()), "visible": int(table.visible.sum()),
        "ao": float(table.ao.mean()), **lasot_figures(mean),
    })
    curve_rows += _curve_rows("ALL", tracker, mean)
    return pd.DataFrame(rows)[LASOT_COLUMNS], pd.DataFrame(curve_rows)[CURVE_COLUMNS]


def _curve_rows(sequence: str, tracker: str, curves: Mapping[str, np.ndarray]) -> list[dict]:
    return [
        {"sequence": sequence, "tracker": tracker, "curve": name, "threshold": float(t), "value": float(v)}
        for name, (_, thresholds) in LASOT_CURVES.items()
        for t, v in zip(thresholds, curves[name])
    ]


def score_lasot(
    lasot_root: str | Path,
    results_dir: str | Path,
    split: str = "test",
    names: Iterable[str] | None = None,
    exclude_invalid_frames: bool = False,
    tracker: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score a results folder (``<Seq>.txt``, pytracking's layout, or got10k's
    ``<Seq>/<Seq>_001.txt``; :func:`rolo.evaluation.scoring.result_file`) on a local LaSOT copy
    (:func:`rolo.data.lasot.lasot_sequences`), as :func:`score_lasot_results`."""
    from rolo.evaluation.scoring import result_file

    sequences = lasot_sequences(lasot_root, split, names)
    files = {s.name: result_file(results_dir, [s.name]) for s in sequences}
    results = {name: read_result_file_raw(path) for name, path in files.items()}
    return score_lasot_results(
        sequences, results, exclude_invalid_frames, tracker or Path(results_dir).resolve().name,
        {k: str(v) for k, v in files.items()},
    )


def read_result_file_raw(path: str | Path) -> np.ndarray:
    """A result file (comma, tab or white space separated) -> ``(N, 4)`` raw ``x, y, w, h`` as
    written (NaN and negative sizes allowed; the protocol decides)."""
    return read_otb_boxes(path, allow_invalid=True)


# --- GOT-10k validation (got10k's ExperimentGOT10k) ------------------------------------------------

GOT10K_THRESHOLDS = np.linspace(0, 1, 101)
"""got10k's success-curve thresholds (``nbins_iou = 101``)."""
GOT10K_COLUMNS = ["sequence", "frames", "repetitions", "ao", "sr_50", "sr_75"]
"""The GOT-10k table: ``frames`` = IoUs pooled (scored frames times repetitions)."""


def got10k_iou(pred: np.ndarray, gt: np.ndarray, resolution: tuple[int, int]) -> np.ndarray:
    """IoU ``(N,)`` of raw ``x, y, w, h`` boxes ``(N, 4)`` after got10k's clipping to the image
    ``resolution = (W, H)``, computed with got10k's ``rect_iou``'s operations in its order (so to
    the last bit). The inputs are not modified."""
    w_img, h_img = resolution

    def clip(r: np.ndarray) -> np.ndarray:
        r = np.array(r, dtype=np.float64, copy=True).reshape(-1, 4)
        r[:, 0] = np.clip(r[:, 0], 0, w_img)
        r[:, 1] = np.clip(r[:, 1], 0, h_img)
        r[:, 2] = np.clip(r[:, 2], 0, w_img - r[:, 0])
        r[:, 3] = np.clip(r[:, 3], 0, h_img - r[:, 1])
        return r

    a, b = clip(pred), clip(gt)
    if a.shape != b.shape:
        raise ValueError(f"{len(a)} result boxes for {len(b)} ground-truth boxes")
    x1 = np.maximum(a[:, 0], b[:, 0])
    y1 = np.maximum(a[:, 1], b[:, 1])
    x2 = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2])
    y2 = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    return np.clip(inter / (union + np.finfo(float).eps), 0.0, 1.0)


def got10k_sequence_ious(repetitions: Iterable[np.ndarray], seq: Got10kSequence, sources: Iterable[str] | None = None) -> np.ndarray:
    """The IoUs got10k scores for one sequence: per repetition (``(N, 4)`` raw results), frames 2..N
    with ``cover > 0``; repetitions concatenated in the given order."""
    cover = seq.cover[1:]
    repetitions = list(repetitions)
    labels = list(sources) if sources is not None else [None] * len(repetitions)
    out = []
    for k, (boxes, source) in enumerate(zip(repetitions, labels)):
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        label = source or f"{seq.name} repetition {k + 1}"
        if boxes.shape != seq.boxes.shape:
            raise RoloInputError(f"{label}: {len(boxes)} boxes, but {seq.name} has {len(seq.boxes)} frames")
        if np.isnan(boxes).any():
            raise RoloInputError(f"{label}: NaN in the results (got10k would report an AO of NaN)")
        out.append(got10k_iou(boxes[1:], seq.boxes[1:], seq.resolution)[cover > 0])
    if not out:
        raise RoloInputError(f"no results for GOT-10k sequence {seq.name}")
    return np.concatenate(out)


def got10k_figures(ious: np.ndarray) -> dict[str, float]:
    """``ao``, ``sr_50``, ``sr_75`` of pooled IoUs (got10k's ``_evaluate``; ``sr_75`` is its success
    curve at 0.75)."""
    ious = np.asarray(ious, dtype=np.float64)
    return {"ao": float(np.mean(ious)), "sr_50": float(np.mean(ious > 0.5)), "sr_75": float(np.mean(ious > 0.75))}


def got10k_result_files(results_dir: str | Path, name: str) -> list[Path]:
    """A sequence's result files: got10k's repetitions ``<dir>/<name>/<name>_<k>.txt`` (``k``
    digits, sorted), else pytracking's ``<dir>/<name>.txt``; none is an error naming the folder."""
    results_dir = Path(results_dir)
    reps = sorted(
        p for p in (results_dir / name).glob(f"{name}_[0-9]*.txt") if p.stem[len(name) + 1 :].isdigit()
    )
    if reps:
        return reps
    single = results_dir / f"{name}.txt"
    if single.is_file():
        return [single]
    raise RoloInputError(f"{results_dir}: no result file for {name} (looked for {name}/{name}_001.txt, {name}.txt)")


def score_got10k_results(
    sequences: Iterable[Got10kSequence],
    results: Mapping[str, list[np.ndarray]],
    tracker: str = "tracker",
    sources: Mapping[str, list[str]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score ``{name: [repetition (N, 4), ...]}`` (raw ``x, y, w, h``) on GOT-10k val sequences.

    Returns the table (:data:`GOT10K_COLUMNS`: one row per sequence, a last row ``ALL`` over all
    sequences' IoUs pooled in the given sequence order, as got10k's ``overall``) and the success
    curves over :data:`GOT10K_THRESHOLDS` (:data:`rolo.evaluation.protocols.CURVE_COLUMNS`)."""
    rows, curve_rows, pooled = [], [], []
    for seq in sequences:
        if seq.subset == "test":
            raise RoloInputError(f"{seq.folder}: the test subset has no ground truth to score against")
        if seq.name not in results:
            raise RoloInputError(f"no results for GOT-10k sequence {seq.name}")
        ious = got10k_sequence_ious(results[seq.name], seq, (sources or {}).get(seq.name))
        pooled.append(ious)
        rows.append({"sequence": seq.name, "frames": len(ious), "repetitions": len(results[seq.name]), **got10k_figures(ious)})
        curve_rows += _got10k_curve(seq.name, tracker, ious)
    if not rows:
        raise RoloInputError("no GOT-10k sequences to score")
    ious = np.concatenate(pooled)
    rows.append({"sequence": "ALL", "frames": len(ious), "repetitions": sum(r["repetitions"] for r in rows), **got10k_figures(ious)})
    curve_rows += _got10k_curve("ALL", tracker, ious)
    return pd.DataFrame(rows)[GOT10K_COLUMNS], pd.DataFrame(curve_rows)[CURVE_COLUMNS]


def _got10k_curve(sequence: str, tracker: str, ious: np.ndarray) -> list[dict]:
    curve = np.mean(np.greater(ious[:, None], GOT10K_THRESHOLDS[None, :]), axis=0)
    return [
        {"sequence": sequence, "tracker": tracker, "curve": "success", "threshold": float(t), "value": float(v)}
        for t, v in zip(GOT10K_THRESHOLDS, curve)
    ]


def score_got10k_val(
    got10k_root: str | Path, results_dir: str | Path, tracker: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score a results folder (got10k's layout ``<Seq>/<Seq>_001.txt, _002.txt, ...``, or
    ``<Seq>.txt``) on a local GOT-10k copy's ``val`` subset (every sequence of its ``list.txt``,
    :func:`rolo.data.got10k.got10k_sequences`), as :func:`score_got10k_results`."""
    sequences = got10k_sequences(got10k_root, "val")
    files = {s.name: got10k_result_files(results_dir, s.name) for s in sequences}
    results = {name: [read_result_file_raw(p) for p in paths] for name, paths in files.items()}
    sources = {name: [str(p) for p in paths] for name, paths in files.items()}
    return score_got10k_results(sequences, results, tracker or Path(results_dir).resolve().name, sources)


# --- the workflow's experiments tested on LaSOT / GOT-10k ---------------------------------------------

PIPELINE_COLUMNS = {
    "lasot": ["sequence", "tracker", "protocol", "frames", "visible", "aos", "success_auc", "success_50", "precision_20",
              "norm_precision_20"],
    "got10k-val": ["sequence", "tracker", "protocol", "frames", "aos", "sr_50", "sr_75"],
}
"""An experiment's ``aos.csv`` when its test dataset is LaSOT or GOT-10k (:data:`DATASET_PROTOCOLS`):
the scorer's table (:data:`LASOT_COLUMNS`, :data:`GOT10K_COLUMNS`) with the tracker, the protocol, and
the scorer's ``ao`` named ``aos`` as in every experiment's table (LaSOT: the mean IoU of the valid
frames; GOT-10k: AO). ``sequence`` holds the workflow's video id (``lasot__airplane-1``)."""


def view_source_sequence(view_dir: str | Path) -> LasotSequence | Got10kSequence:
    """The dataset's own sequence behind a workflow view (:func:`rolo.data.sources.link_source_sequence`):
    ``source.json`` names the dataset, the video and its folder in the copy, which the dataset's
    loader reads and checks: the boxes as the copy holds them and the dataset's own flags (LaSOT's
    ``full_occlusion`` / ``out_of_view``, GOT-10k's ``cover`` and ``resolution``), not the view's
    ``0,0,0,0`` rows. A copy whose frame count changed since the view was written is an error."""
    import json

    from rolo.data.got10k import load_got10k_sequence
    from rolo.data.lasot import load_lasot_sequence
    from rolo.data.sources import SOURCE_JSON

    path = Path(view_dir) / SOURCE_JSON
    try:
        meta = json.loads(path.read_text())
        dataset, name, folder, frames = meta["dataset"], meta["name"], Path(meta["source"]), int(meta["frames"])
    except FileNotFoundError:
        raise RoloInputError(f"{path}: not found (not a view of a LaSOT or GOT-10k video)") from None
    except (ValueError, KeyError, TypeError) as e:
        raise RoloInputError(f"{path}: not the record of a dataset view ({e})") from None
    if dataset == "lasot":
        seq = load_lasot_sequence(folder, name)
    elif dataset == "got10k":
        seq = load_got10k_sequence(folder, folder.parent.name)
    else:
        raise RoloInputError(f"{path}: dataset {dataset!r}; known: {', '.join(DATASET_PROTOCOLS)}")
    if len(seq) != frames:
        raise RoloInputError(f"{path}: {frames} frames, but {folder} has {len(seq)} now; the view is out of date")
    return seq


def score_dataset_tracks(
    tracks: Mapping[str, str | Path],
    sequences: Mapping[str, LasotSequence | Got10kSequence],
    protocol: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score result files ``{"tracker/video": path}`` (one ``x, y, w, h`` row per frame from frame 1,
    1-based, as the workflow's tracks and other trackers' results are written) on the test videos
    ``{video id: sequence}`` (:func:`view_source_sequence`) by ``protocol`` (``lasot``: pytracking's,
    :func:`score_lasot_results`; ``got10k-val``: got10k's ``ExperimentGOT10k``, one repetition,
    :func:`score_got10k_results`), per tracker, with the scorers above and nothing else.

    Returns the table (:data:`PIPELINE_COLUMNS`: one row per (video, tracker), then an ``ALL`` row
    per tracker, the scorer's own) and the curves (:data:`rolo.evaluation.protocols.CURVE_COLUMNS`)."""
    if protocol not in PIPELINE_COLUMNS:
        raise ValueError(f"unknown dataset protocol {protocol!r}; known: {', '.join(PIPELINE_COLUMNS)}")
    files: dict[str, dict[str, str]] = {}
    for key, path in tracks.items():
        tracker, video = key.split("/", 1)
        files.setdefault(tracker, {})[video] = str(path)
    ids = {seq.name: video for video, seq in sequences.items()}
    if len(ids) != len(sequences):
        raise RoloInputError("two test videos are the same sequence of the dataset")
    tables, curves = [], []
    for tracker, paths in files.items():
        missing, extra = sorted(set(sequences) - set(paths)), sorted(set(paths) - set(sequences))
        if missing:
            raise RoloInputError(f"{tracker}: no results for the test videos {missing}")
        if extra:
            raise RoloInputError(f"{tracker}: results for videos not tested: {extra}")
        seqs = list(sequences.values())
        sources = {sequences[v].name: p for v, p in paths.items()}
        results = {name: read_result_file_raw(p) for name, p in sources.items()}
        if protocol == "lasot":
            table, curve = score_lasot_results(seqs, results, tracker=tracker, sources=sources)
        else:
            table, curve = score_got10k_results(
                seqs, {k: [v] for k, v in results.items()}, tracker, {k: [v] for k, v in sources.items()}
            )
        table = table.rename(columns={"ao": "aos"}).assign(tracker=tracker, protocol=protocol)
        for df in (table, curve):
            df["sequence"] = df.sequence.map(lambda s: ids.get(s, s))
        tables.append(table[PIPELINE_COLUMNS[protocol]])
        curves.append(curve)
    if not tables:
        raise RoloInputError("no results to score")
    table = pd.concat(tables, ignore_index=True)
    table = pd.concat([table[table.sequence != "ALL"], table[table.sequence == "ALL"]], ignore_index=True)
    return table, pd.concat(curves, ignore_index=True)[CURVE_COLUMNS]


# --- GOT-10k test: results for the evaluation server ---------------------------------------------


def write_got10k_submission(
    got10k_root: str | Path,
    results: Mapping[str, np.ndarray],
    times: Mapping[str, np.ndarray],
    out_zip: str | Path,
) -> Path:
    """Write results on GOT-10k's test subset as the zip its evaluation server takes -> ``out_zip``.

    ``results``: ``{name: (N, 4)}`` raw ``x, y, w, h`` (1-based, as the ground truth), one row per
    frame of the sequence; ``times``: ``{name: (N,)}`` seconds per frame. Every sequence of
    ``<root>/test/list.txt`` must be there with ``N`` = its number of images, finite boxes, and
    nothing else. The zip holds ``<name>/<name>_001.txt`` (``%.3f``, comma separated, as got10k's
    ``ExperimentGOT10k._record``) and ``<name>/<name>_time.txt`` (``%.8f``) per sequence, in
    ``list.txt`` order, and appears at ``out_zip`` only when complete."""
    root = Path(got10k_root)
    names = read_list(root, "test")
    extra = sorted(set(results) - set(names))
    if extra:
        raise RoloInputError(f"results for {extra[:3]}, not in {root / 'test' / 'list.txt'}")
    from rolo.data.got10k import load_got10k_sequence

    members: list[tuple[str, str]] = []
    for name in names:
        seq = load_got10k_sequence(root / "test" / name, "test")
        if name not in results or name not in times:
            raise RoloInputError(f"no {'results' if name not in results else 'times'} for GOT-10k test sequence {name}")
        boxes = np.asarray(results[name], dtype=np.float64).reshape(-1, 4)
        t = np.asarray(times[name], dtype=np.float64).reshape(-1)
        if len(boxes) != len(seq) or len(t) != len(seq):
            raise RoloInputError(f"{name}: {len(boxes)} boxes and {len(t)} times, but {seq.folder} has {len(seq)} frames")
        if not np.isfinite(boxes).all():
            raise RoloInputError(f"{name}: non-finite boxes")
        members.append((f"{name}/{name}_001.txt", "".join(",".join(f"{v:.3f}" for v in row) + "\n" for row in boxes)))
        members.append((f"{name}/{name}_time.txt", "".join(f"{v:.8f}\n" for v in t)))
    out_zip = Path(out_zip)
    with atomic_path(out_zip) as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for arcname, text in members:
                zf.writestr(zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0)), text)
    return out_zip


def got10k_submission_from_folder(got10k_root: str | Path, results_dir: str | Path, out_zip: str | Path) -> Path:
    """:func:`write_got10k_submission` from a results folder in any layout ``rolo score`` reads
    (``<Seq>.txt`` with ``<Seq>_time.txt``, or ``<Seq>/<Seq>_001.txt`` with ``<Seq>/<Seq>_time.txt``);
    a missing timing file is an error naming the box file."""
    from rolo.evaluation.scoring import result_file, timing_file

    results, times = {}, {}
    for name in read_list(got10k_root, "test"):
        path = result_file(results_dir, [name])
        tpath = timing_file(path)
        if tpath is None:
            raise RoloInputError(f"{path}: no timing file beside it ({name}_time.txt)")
        results[name] = read_result_file_raw(path)
        times[name] = _first_column(tpath)
    return write_got10k_submission(got10k_root, results, times, out_zip)


def _first_column(path: Path) -> np.ndarray:
    """Per-frame times (first column: got10k's first repetition) of a timing file, every row kept."""
    rows = [line.replace(",", " ").replace("\t", " ").split() for line in path.read_text().splitlines() if line.strip()]
    try:
        return np.asarray([float(r[0]) for r in rows], dtype=np.float64)
    except ValueError:
        raise RoloInputError(f"{path}: not a time in seconds") from None
