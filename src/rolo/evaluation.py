"""An experiment's tables: ``aos.csv``/``aos.md`` for the trackers, ``detector.csv`` for the detector.

Scores come from :mod:`rolo.metrics` on the split's scored frames only. Tables hold no timings, so
a rerun reproduces them exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rolo.data import atomic_path, load_sequence
from rolo.detector import detection_pr
from rolo.experiments import read_splits
from rolo.metrics import score_tracks

PROTOCOL_NOTES = {
    "disjoint": "One-pass (OTB OPE) on videos never used in training; tracking starts at frame 1 with its ground-truth box.",
    "held_out_tail": "Trained on the first part of every video; tracked from the first held-out frame, given its box; only held-out frames are scored.",
    "sparse_labels": "**Transductive: trained on the test videos' frames** (labels of every k-th frame used); tracked from frame 1; "
    "only the unlabelled frames are scored. Not a one-pass result.",
}

DETECTOR_CONF = (0.25, 0.5)


def evaluate_job(
    exp_name: str,
    splits_json,
    seq_dirs: dict[str, str],
    track_dirs: dict[str, str],
    detections: dict[str, str],
    out_csv,
    out_md,
    out_detector,
) -> pd.DataFrame:
    """Pipeline stage: score every tracker's tracks of one experiment; the detector's precision/recall."""
    import json

    with open(splits_json) as f:
        protocol = json.load(f)["protocol"]
    splits = read_splits(splits_json)
    tested = sorted(v for v, s in splits.items() if s.test is not None)
    seqs = {v: load_sequence(seq_dirs[v], name=v) for v in tested}
    tracks = {f"{t}/{v}": Path(d) / f"{v}.txt" for t, d in track_dirs.items() for v in tested}
    table = score_tracks(tracks, {v: s.gt for v, s in seqs.items()}, splits)
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")

    det_rows = []
    for conf in DETECTOR_CONF:
        for v in tested:
            mask = np.zeros(len(seqs[v]), bool)
            mask[list(splits[v].scored)] = True
            tp, fp, fn = detection_pr(np.load(detections[v]), seqs[v].gt, mask, conf)
            det_rows.append({"sequence": v, "conf": conf, "tp": tp, "fp": fp, "fn": fn})
    det = pd.DataFrame(det_rows)
    total = det.groupby("conf", as_index=False)[["tp", "fp", "fn"]].sum().assign(sequence="ALL")
    det = pd.concat([det, total[det.columns]], ignore_index=True)
    det["precision"] = det.tp / (det.tp + det.fp).where(det.tp + det.fp > 0)
    det["recall"] = det.tp / (det.tp + det.fn).where(det.tp + det.fn > 0)
    with atomic_path(out_detector) as tmp:
        det.to_csv(tmp, index=False, float_format="%.4f")

    summary = table[table.sequence == "ALL"].drop(columns="sequence")
    md = [
        f"# {exp_name}: average overlap (AOS)",
        "",
        PROTOCOL_NOTES[protocol],
        "",
        "AOS = mean IoU over the scored frames; success_50 = fraction of scored frames with IoU > 0.5. "
        "`ALL` = mean over sequences (frames summed).",
        "",
        "## Mean over sequences",
        "",
        summary.to_markdown(index=False, floatfmt=".3f"),
        "",
        "## Per sequence (AOS)",
        "",
        table[table.sequence != "ALL"].pivot(index="sequence", columns="tracker", values="aos").to_markdown(floatfmt=".3f"),
        "",
        "## Detector on the scored frames (IoU >= 0.5 with the ground truth)",
        "",
        det[det.sequence == "ALL"][["conf", "tp", "fp", "fn", "precision", "recall"]].to_markdown(index=False, floatfmt=".3f"),
        "",
    ]
    with atomic_path(out_md) as tmp:
        tmp.write_text("\n".join(md))
    return table
