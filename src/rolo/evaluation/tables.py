"""An experiment's tables: ``aos.csv``/``aos.md``/``summary.csv``/``curves.csv`` for the trackers,
``detector.csv`` for the detector, ``speed.csv`` for frames/s; the sweeps' tables
(``sweep_aos.csv``, ``sweep_steps.csv``, ``sweep_epochs.csv``, ``sweeps.md``).

Scores come from :mod:`rolo.evaluation.metrics` on the split's scored frames only. Only ``speed.csv`` holds
timings, so a rerun reproduces every other table exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rolo.data.sequences import load_sequence
from rolo.data.splits import SPLIT_NOTES, read_splits
from rolo.evaluation.metrics import detection_pr
from rolo.errors import RoloInputError
from rolo.evaluation.protocols import DATASET_PROTOCOLS, LIKE, PROTOCOL_NOTES, experiment_protocol, score_tracks
from rolo.tracking.registry import TRACKERS
from rolo.utils.io import atomic_path

DETECTOR_CONF = (0.25, 0.5)


def _write_csv(df: pd.DataFrame, path, digits: int = 4) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format=f"%.{digits}f")


def detector_table(detections: dict[str, str], seqs: dict, splits: dict) -> pd.DataFrame:
    """Precision/recall (IoU >= 0.5) of the detector on each video's scored frames, per confidence."""
    rows = []
    for v, seq in seqs.items():  # each video's detections read once
        dets = np.load(detections[v])
        mask = np.zeros(len(seq), bool)
        mask[list(splits[v].scored)] = True
        mask &= seq.valid  # an unannotated frame says nothing about the detector
        for conf in DETECTOR_CONF:
            tp, fp, fn = detection_pr(dets, seq.gt, mask, conf)
            rows.append({"sequence": v, "conf": conf, "tp": tp, "fp": fp, "fn": fn})
    det = pd.DataFrame(rows).sort_values("conf", kind="stable", ignore_index=True)
    total = det.groupby("conf", as_index=False)[["tp", "fp", "fn"]].sum().assign(sequence="ALL")
    det = pd.concat([det, total[det.columns]], ignore_index=True)
    det["precision"] = det.tp / (det.tp + det.fp).where(det.tp + det.fp > 0)
    det["recall"] = det.tp / (det.tp + det.fn).where(det.tp + det.fn > 0)
    return det


def speed_table(
    track_dirs: dict[str, str], metas: dict[str, str], external_times: dict[str, str] | None = None
) -> pd.DataFrame:
    """Frames/s per tracker: the tracker alone (association + LSTM for ROLO), for ROLO the encoding
    and LSTM alone (``model_fps``), the detector (feature extraction, decoding included) for trackers
    that use it, and both together. Machine-dependent: kept apart from the reproducible tables.

    ``external_times``: other trackers' timing files ``{"tracker/video": path}``
    (:func:`rolo.evaluation.scoring.read_timings`; every timed frame counts, also outside the scored
    ones): ``tracker_fps`` = ``end_to_end_fps`` = timed frames / their seconds, on the machine that
    ran them."""
    import json

    from rolo.evaluation.scoring import read_timings

    det_s_per_frame = {}
    for v, m in metas.items():
        meta = json.loads(Path(m).read_text())
        det_s_per_frame[v] = meta["seconds"] / meta["frames"]
    rows = []
    for tracker, d in track_dirs.items():
        speed = json.loads((Path(d) / "speed.json").read_text())
        frames = sum(s["frames"] for s in speed.values())
        seconds = sum(s["seconds"] for s in speed.values())
        row = {"tracker": tracker, "frames": frames, "tracker_fps": frames / max(seconds, 1e-9)}
        model_seconds = [s["model_seconds"] for s in speed.values() if "model_seconds" in s]
        row["model_fps"] = frames / max(sum(model_seconds), 1e-9) if model_seconds else np.nan
        if tracker in TRACKERS and TRACKERS[tracker].uses_detector:
            det_seconds = sum(det_s_per_frame[v] * s["frames"] for v, s in speed.items())
            row["detector_fps"] = frames / det_seconds
            row["end_to_end_fps"] = frames / (det_seconds + seconds)
        else:
            row["detector_fps"] = np.nan
            row["end_to_end_fps"] = row["tracker_fps"]
        rows.append(row)
    timed: dict[str, list[np.ndarray]] = {}
    for key, path in sorted((external_times or {}).items()):
        timed.setdefault(key.split("/", 1)[0], []).append(read_timings(path))
    for tracker, times in timed.items():
        t = np.concatenate(times)
        fps = len(t) / t.sum() if len(t) else np.nan
        rows.append({"tracker": tracker, "frames": len(t), "tracker_fps": fps, "model_fps": np.nan,
                     "detector_fps": np.nan, "end_to_end_fps": fps})
    return pd.DataFrame(rows, columns=["tracker", "frames", "tracker_fps", "model_fps", "detector_fps", "end_to_end_fps"])


def _experiment(splits_json, seq_dirs: dict[str, str]):
    """An experiment's split kind, splits, tested sequences (sorted) and scoring protocol."""
    import json

    with open(splits_json) as f:
        split = json.load(f)["split"]
    splits = read_splits(splits_json)
    tested = sorted(v for v, sp in splits.items() if sp.test is not None)
    seqs = {v: load_sequence(seq_dirs[v], name=v) for v in tested}
    return split, splits, seqs, experiment_protocol(seq_dirs[v] for v in tested)


def _score(
    track_dirs: dict[str, str], splits, seqs, scoring: str, external: dict[str, str] | None = None,
    seq_dirs: dict[str, str] | None = None,
):
    """Score ``{name: dir of <video>.txt}`` (and other trackers' result files ``{"tracker/video":
    path}``) for the tested sequences: :func:`rolo.evaluation.protocols.score_tracks` under an OTB
    protocol, :func:`_score_dataset` under a test dataset's own (LaSOT, GOT-10k)."""
    tracks = {f"{t}/{v}": Path(d) / f"{v}.txt" for t, d in track_dirs.items() for v in seqs}
    missing = sorted({k.split("/", 1)[1] for k in external or {}} - set(seqs))
    if missing:
        raise ValueError(f"external results given for videos this experiment does not test: {missing}")
    if scoring in DATASET_PROTOCOLS.values():
        return _score_dataset({**tracks, **(external or {})}, splits, seqs, seq_dirs or {}, scoring)
    return score_tracks(tracks, {v: sq.gt for v, sq in seqs.items()}, splits, scoring, external)


def _score_dataset(
    results: dict[str, Path | str], splits: dict, seqs: dict, seq_dirs: dict[str, str], scoring: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`rolo.evaluation.benchmarks.score_dataset_tracks` on the test videos' own sequences
    (:func:`rolo.evaluation.benchmarks.view_source_sequence`: the copy's boxes and flags). Every
    test video is tracked from frame 1 through its last frame (a ``cross_dataset`` split), so every
    result file, ours or another tracker's, covers the whole sequence: all like-for-like."""
    from rolo.evaluation.benchmarks import score_dataset_tracks, view_source_sequence

    sources = {}
    for v in seqs:
        split, source = splits[v], view_source_sequence(seq_dirs[v])
        if split.test != (0, split.frames) or len(source) != split.frames:
            raise RoloInputError(
                f"video {v}: its test segment {split.test} of {split.frames} frames is not the whole sequence of "
                f"{len(source)} frames from frame 1, which the {scoring} protocol scores"
            )
        sources[v] = source
    return score_dataset_tracks(results, sources, scoring)


FIGURE_NOTES = {
    "otb": (
        "average overlap (AOS) and OTB scores",
        "AOS = mean IoU over the scored frames; success_auc = area under the success curve (IoU > t, "
        "t = 0, 0.05, ..., 1); success_50 = fraction of scored frames with IoU > 0.5; precision_20 = "
        "fraction with centre error <= 20 px; norm_precision_20 = the same with the error divided by "
        "the ground truth's size, at 0.20. `ALL` = mean over sequences (frames summed).",
    ),
    "lasot": (
        "LaSOT scores (pytracking's protocol)",
        "Every frame of each test video is scored (frames); visible = frames with the target visible. "
        "success_auc = mean of the success curve (IoU > t, t = 0, 0.05, ..., 1); success_50 = at 0.5; "
        "precision_20 = fraction with centre error <= 20 px; norm_precision_20 = the normalised error <= 0.20; "
        "absent frames count in every denominator and fail. aos = mean IoU of the valid frames (pytracking's "
        "ao). `ALL` = the mean of the videos' curves (aos: of their aos; frames summed).",
    ),
    "got10k-val": (
        "GOT-10k scores (got10k's protocol)",
        "aos = AO (mean IoU), sr_50 / sr_75 = fraction of frames with IoU > 0.5 / > 0.75, over frames 2..N "
        "with cover > 0 (frames = their number). `ALL` = every scored frame of every video pooled, as got10k's "
        "overall (not a mean over videos).",
    ),
}
"""Per protocol (OTB's two share one): the title and the figures' definitions in ``aos.md``."""


NOT_LIKE_NOTE = (
    "† not like-for-like: results of the whole sequence from frame 1 (another tracker's, `external` in the "
    "config), cut to the scored frames; they did not start from this experiment's start box, so they are not "
    "ranked with the trackers above."
)


def rank_figure(table: pd.DataFrame) -> str:
    """The figure trackers are ranked by: the success AUC, or where the protocol has none (GOT-10k's)
    the average overlap (``aos``, GOT-10k's AO)."""
    return "success_auc" if "success_auc" in table.columns else "aos"


def ranked_summary(table: pd.DataFrame) -> pd.DataFrame:
    """The ``ALL`` rows of ``aos.csv``, one per tracker: the like-for-like ones ranked by success AUC
    (GOT-10k's protocol: by AO, :func:`rank_figure`),
    then (when the table has the column :data:`rolo.evaluation.protocols.LIKE`) the others, ranked
    among themselves."""
    summary = table[table.sequence == "ALL"].drop(columns="sequence")
    keys, ascending = [rank_figure(table)], [False]
    if LIKE in summary.columns:
        keys, ascending = [LIKE, "success_auc"], [False, False]
    return summary.sort_values(keys, ascending=ascending, kind="stable")


def _aos_pivot(table: pd.DataFrame, trackers: list[str]) -> pd.DataFrame:
    """Per-sequence AOS, a column per tracker, as text; rows not like-for-like marked ``†``."""
    rows = table[table.sequence != "ALL"]
    text = rows.aos.map(lambda v: f"{v:.3f}")
    if LIKE in rows.columns:
        text = text + np.where(rows[LIKE].astype(bool), "", " †")
    return rows.assign(text=text).pivot(index="sequence", columns="tracker", values="text")[trackers]


def evaluate_job(
    exp_name: str,
    splits_json,
    seq_dirs: dict[str, str],
    track_dirs: dict[str, str],
    detections: dict[str, str],
    metas: dict[str, str],
    out: dict[str, str],
    external: dict[str, str] | None = None,
    external_times: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Pipeline stage: score every tracker's tracks of one experiment ->
    ``out["aos"]`` (csv), ``out["md"]``, ``out["summary"]``, ``out["curves"]``, ``out["detector"]``,
    ``out["speed"]``.

    ``external``: other trackers' result files ``{"tracker/video": path}`` (config ``external``),
    scored beside ours by :func:`rolo.evaluation.protocols.covered_errors`; with them, ``aos.csv``,
    ``summary.csv`` and ``curves.csv`` get the column ``like_for_like`` and the markdown marks the
    rows that are not. ``external_times``: their timing files, for ``speed.csv``."""
    split, splits, seqs, scoring = _experiment(splits_json, seq_dirs)
    table, curves = _score(track_dirs, splits, seqs, scoring, external, seq_dirs)
    _write_csv(table, out["aos"])
    _write_csv(curves, out["curves"], digits=6)
    summary = ranked_summary(table)
    _write_csv(summary, out["summary"])
    det = detector_table(detections, seqs, splits)
    _write_csv(det, out["detector"])
    _write_csv(speed_table(track_dirs, metas, external_times), out["speed"], digits=1)

    trackers = list(dict.fromkeys([*track_dirs, *table.tracker]))
    like = summary[LIKE].astype(bool) if LIKE in summary.columns else pd.Series(True, index=summary.index)
    shown = summary.drop(columns=[LIKE], errors="ignore")
    title, figures = FIGURE_NOTES.get(scoring, FIGURE_NOTES["otb"])
    md = [
        f"# {exp_name}: {title}",
        "",
        SPLIT_NOTES[split],
        "",
        figures,
        "",
        f"Scoring protocol `{scoring}` ({PROTOCOL_NOTES[scoring]})"
        + ("." if scoring in DATASET_PROTOCOLS.values() else "; the first frame of each tracked segment is set to its ground truth."),
        "",
        f"## {'Mean over sequences' if scoring != 'got10k-val' else 'All frames pooled'} (ranked by "
        f"{'success AUC' if rank_figure(table) == 'success_auc' else 'AO'})",
        "",
        shown[like.to_numpy()].to_markdown(index=False, floatfmt=".3f"),
        "",
    ]
    if not like.all():
        md += [
            "## Not like-for-like (not ranked with the above) †",
            "",
            NOT_LIKE_NOTE,
            "",
            shown[~like.to_numpy()].to_markdown(index=False, floatfmt=".3f"),
            "",
        ]
    md += [
        "## Per sequence (AOS)",
        "",
        _aos_pivot(table, trackers).to_markdown(),
        "",
    ]
    if LIKE in table.columns and not table[LIKE].astype(bool).all():
        md += ["† not like-for-like (see above).", ""]
    md += [
        "## Detector on the scored frames (IoU >= 0.5 with the ground truth)",
        "",
        det[det.sequence == "ALL"][["conf", "tp", "fp", "fn", "precision", "recall"]].to_markdown(index=False, floatfmt=".3f"),
        "",
    ]
    with atomic_path(out["md"]) as tmp:
        tmp.write_text("\n".join(md))
    return table


TABLE_TITLES = {
    "summary": "{exp}: mean over the test videos, one row per tracker (ranked by success AUC)",
    "aos": "{exp}: scores per test video and tracker (ALL = mean over the videos)",
}


def html_table_job(exp_name: str, kind: str, csv, out_html) -> None:
    """``aos.csv`` or ``summary.csv`` (``kind``) as a standalone HTML table (3 decimals; rows not
    like-for-like marked) for Snakemake's report, which shows HTML results in place."""
    import html

    table = pd.read_csv(csv)
    note = ""
    if LIKE in table.columns and not table[LIKE].astype(bool).all():
        note = f"<p>{html.escape(NOT_LIKE_NOTE.replace('`', ''))}</p>"
        table[LIKE] = np.where(table[LIKE].astype(bool), "yes", "no †")
    title = TABLE_TITLES[kind].format(exp=exp_name)
    body = table.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="n/a", border=0, classes="rolo")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; font-size: 14px; margin: 1em; }}
table.rolo {{ border-collapse: collapse; }}
table.rolo th, table.rolo td {{ padding: 0.25em 0.7em; border-bottom: 1px solid #ddd; text-align: right; }}
table.rolo th {{ background: #f0f0f0; }}
table.rolo td:nth-child(-n+2), table.rolo th:nth-child(-n+2) {{ text-align: left; }}
</style></head>
<body><h3>{html.escape(title)}</h3>
{body}
{note}
<p>From <code>{html.escape(str(csv))}</code> (full precision there).</p>
</body></html>
"""
    with atomic_path(out_html) as tmp:
        tmp.write_text(page)


PAPER_NOTES = {
    "disjoint": "Ours: one-pass on videos never trained on, no ground truth after the start box. "
    "The published figures are one-pass too, with the original YOLO (VOC) features.",
    "held_out_tail": "Ours: scored on the held-out two thirds only, tracked from their first frame. "
    "The ROLO-PyTorch port scored every frame, training frames included.",
    "sparse_labels": "Ours: transductive (trained on the test videos' frames), scored on the unlabelled "
    "frames only. The ROLO-PyTorch port scored every frame, labelled ones included; the paper's protocol for this "
    "experiment is not one-pass either.",
    "cross_dataset": "Ours: one-pass on videos of a dataset never trained on (trained on another dataset's videos). "
    "The published figures trained and tested on OTB-30 videos, with the original YOLO (VOC) features.",
}


PAPER_DIR = Path(__file__).resolve().parent / "paper"
PAPER_FILES = ("evaluation/paper/rolo_otb30_aos.csv", "evaluation/paper/rolo_success_auc.csv")
"""The published ROLO figures (package data; see paper/README.md)."""


def paper_comparison_job(
    exp_name: str, split: str, aos_csv, out_csv, out_md,
    paper_aos_csv=PAPER_DIR / "rolo_otb30_aos.csv", paper_auc_csv=PAPER_DIR / "rolo_success_auc.csv",
) -> pd.DataFrame:
    """Our ROLO AOS per test video beside the published ROLO figures (n/a where the published tables
    have no such video, e.g. on the synthetic demo), and the success AUC beside the published one
    when our test videos are exactly a published subset."""
    ours = pd.read_csv(aos_csv)
    ours = ours[ours.tracker == "rolo"].set_index("sequence")
    paper = pd.read_csv(paper_aos_csv).set_index("sequence")
    videos = [v for v in ours.index if v != "ALL"]
    rows = [
        {"sequence": v, "ours_rolo_aos": ours.aos[v],
         "paper_rolo_aos": paper.paper_rolo_aos.get(v, np.nan), "port_rolo_aos": paper.port_rolo_aos.get(v, np.nan)}
        for v in videos
    ]
    table = pd.DataFrame(rows)
    complete = table[["paper_rolo_aos", "port_rolo_aos"]].notna().all()
    table.loc[len(table)] = {
        "sequence": "ALL",
        "ours_rolo_aos": ours.aos["ALL"],
        "paper_rolo_aos": table.paper_rolo_aos.mean() if complete.paper_rolo_aos else np.nan,
        "port_rolo_aos": table.port_rolo_aos.mean() if complete.port_rolo_aos else np.nan,
    }
    auc = pd.read_csv(paper_auc_csv)
    match = auc[auc.videos.str.split().map(set) == set(videos)]
    paper_auc = float(match.paper_success_auc.iloc[0]) if len(match) else np.nan
    table["ours_rolo_success_auc"] = np.where(table.sequence == "ALL", ours.success_auc["ALL"], np.nan)
    table["paper_rolo_success_auc"] = np.where(table.sequence == "ALL", paper_auc, np.nan)
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False, float_format="%.3f", na_rep="n/a")
    md = [
        f"# {exp_name}: ROLO against the published figures",
        "",
        PAPER_NOTES[split],
        "",
        "n/a: the published tables have no figure for this video or subset (always so on the synthetic demo).",
        "",
        table.to_markdown(index=False, floatfmt=".3f", missingval="n/a"),
        "",
    ]
    with atomic_path(out_md) as tmp:
        tmp.write_text("\n".join(md))
    return table


METRICS = ["aos", "success_auc", "success_50", "precision_20", "norm_precision_20"]


def variation_collect_job(tables: list[tuple[str, int, str]], data_seed: int | None, out_csv) -> pd.DataFrame:
    """``[(experiment, train seed, aos.csv)]`` -> one row per (experiment, seed, tracker): the ALL row."""
    rows = []
    for exp, seed, path in tables:
        t = pd.read_csv(path)
        t = t[t.sequence == "ALL"].drop(columns="sequence").assign(experiment=exp, train_seed=seed, data_seed=data_seed)
        rows.append(t)
    # (a GOT-10k test set's table has no success_auc, precision_20, ...: NaN here)
    df = pd.concat(rows, ignore_index=True).reindex(columns=["experiment", "data_seed", "train_seed", "tracker", "frames", *METRICS])
    _write_csv(df, out_csv)
    return df


def paired_wins(df: pd.DataFrame, ours: str = "rolo", metric: str = "success_auc") -> pd.DataFrame:
    """The paired comparison over the variation grid: for every other tracker, in how many runs (same
    experiment, data seed and training seed) ``ours`` scored a higher ``metric``, and the mean and
    sample std of the paired difference. ``df``: rows of :func:`variation_collect_job`'s table."""
    runs = df.assign(data_seed=df.data_seed.fillna(-1))  # real data: no data seed
    wide = runs.pivot_table(index=["experiment", "data_seed", "train_seed"], columns="tracker", values=metric)
    rows = []
    if ours not in wide.columns:
        return pd.DataFrame(rows)
    for exp, sub in wide.groupby(level="experiment", sort=False):
        for other in [t for t in sub.columns if t != ours]:
            diff = (sub[ours] - sub[other]).dropna()
            rows.append({"experiment": exp, "tracker": ours, "versus": other, "metric": metric, "runs": len(diff),
                         "wins": int((diff > 0).sum()), "ties": int((diff == 0).sum()),
                         "diff_mean": diff.mean(), "diff_std": diff.std(ddof=1)})
    return pd.DataFrame(rows)


PAIRED = [n for n, s in TRACKERS.items() if s.model_kind and "neck" in s.inputs]
"""The trackers whose paired wins the variation summary reports: the closed-loop ROLOs (``rolo``,
``rolo_heatmap``)."""


def variation_summary_job(runs: list[str], out_csv, out_md, out_paired=None) -> pd.DataFrame:
    """Mean and sample std over every (data seed, training seed) run, per (experiment, tracker); and,
    to ``out_paired``, the paired wins of each closed-loop ROLO (:data:`PAIRED`) in the runs against
    every other tracker (:func:`paired_wins`)."""
    df = pd.concat([pd.read_csv(p) for p in runs], ignore_index=True)
    g = df.groupby(["experiment", "tracker"], sort=False)
    out = g.size().rename("runs").to_frame()
    out["data_seeds"] = g.data_seed.nunique()
    out["train_seeds"] = g.train_seed.nunique()
    for m in METRICS:
        out[f"{m}_mean"] = g[m].mean()
        out[f"{m}_std"] = g[m].std(ddof=1)
    out = out.reset_index().sort_values(["experiment", "success_auc_mean"], ascending=[True, False])
    _write_csv(out, out_csv)
    md = ["# Variation over seeds", "",
          "Mean ± sample standard deviation over every (data seed, ROLO training seed) run. Only ROLO "
          "depends on the training seed; on synthetic data every tracker depends on the data seed.", ""]
    for exp, sub in out.groupby("experiment", sort=False):
        shown = sub[["tracker", "runs"]].copy()
        for m in METRICS:
            shown[m] = [f"{a:.3f} ± {b:.3f}" for a, b in zip(sub[f"{m}_mean"], sub[f"{m}_std"].fillna(0))]
        md += [f"## {exp}", "", shown.to_markdown(index=False), ""]
    paired = pd.concat([paired_wins(df, ours) for ours in PAIRED], ignore_index=True)
    for ours, sub in paired.groupby("tracker", sort=False) if "tracker" in paired else []:
        md += [f"## Paired: `{ours}` against each tracker", "",
               f"Runs (same experiment, data seed and training seed) in which `{ours}`'s success AUC is higher, "
               "and the mean ± sample std of the difference.", ""]
        shown = sub[["experiment", "versus", "runs", "wins"]].assign(
            diff=[f"{a:+.3f} ± {b:.3f}" for a, b in zip(sub.diff_mean, sub.diff_std.fillna(0))])
        md += [shown.to_markdown(index=False), ""]
    if out_paired is not None:
        _write_csv(paired, out_paired)
    with atomic_path(out_md) as tmp:
        tmp.write_text("\n".join(md))
    return out


def parse_setting(setting: str) -> dict:
    """A sweep setting's name -> ``{"kind", "steps", "epochs"}`` (epochs None: ``rolo.epochs``).

    Names: ``<kind>_s<steps>`` (steps sweep) and ``<kind>_s<steps>_e<epochs>`` (epoch sweep)."""
    import re

    m = re.fullmatch(r"(?P<kind>[a-z]+)_s(?P<steps>[0-9]+)(?:_e(?P<epochs>[0-9]+))?", setting)
    if not m:
        raise ValueError(f"not a sweep setting: {setting!r}")
    return {"kind": m["kind"], "steps": int(m["steps"]), "epochs": int(m["epochs"]) if m["epochs"] else None}


def sweep_job(
    exp_name: str,
    splits_json,
    seq_dirs: dict[str, str],
    steps_settings: dict[str, str],
    epochs_settings: dict[str, str],
    default_epochs: int,
    out: dict[str, str],
) -> pd.DataFrame:
    """Pipeline stage: score the sweeps' tracks (``{setting: track dir}``, see :func:`parse_setting`) ->

    ``out["aos"]``     every (setting, sequence) with the scores of :func:`rolo.evaluation.protocols.score_tracks`
                       (``ALL`` = mean over sequences);
    ``out["steps"]``   per (kind, steps): mean AOS, success AUC, success@0.5, and frames/s of the
                       ROLO stage (association + LSTM, ``stage_fps``) and of the LSTM alone
                       (encoding + LSTM, ``lstm_fps``), features precomputed;
    ``out["epochs"]``  per kind, a row per sequence and ``ALL``, a column of AOS per epoch count (the
                       layout of the ROLO-PyTorch port's tables 1-3);
    ``out["md"]``      both as markdown.
    """
    import json

    split, splits, seqs, scoring = _experiment(splits_json, seq_dirs)
    tested = list(seqs)
    settings = {**steps_settings, **epochs_settings}
    table, _ = _score(settings, splits, seqs, scoring, seq_dirs=seq_dirs)
    table = table.rename(columns={"tracker": "setting"})
    params = pd.DataFrame([{"setting": n, **parse_setting(n)} for n in settings])
    params["epochs"] = params["epochs"].fillna(default_epochs).astype(int)
    params["sweep"] = ["steps" if n in steps_settings else "epochs" for n in settings]
    table = params.merge(table, on="setting")
    _write_csv(table, out["aos"])

    steps_rows = []
    for name, d in steps_settings.items():
        speed = json.loads((Path(d) / "speed.json").read_text())
        frames = sum(sp["frames"] for sp in speed.values())
        row = table[(table.setting == name) & (table.sequence == "ALL")].iloc[0]
        steps_rows.append({
            "kind": row.kind, "steps": row.steps, "epochs": row.epochs, "aos": row.aos,
            # (not figures of every protocol: GOT-10k's has neither)
            "success_auc": row.get("success_auc", np.nan), "success_50": row.get("success_50", np.nan),
            "stage_fps": frames / max(sum(sp["seconds"] for sp in speed.values()), 1e-9),
            "lstm_fps": frames / max(sum(sp.get("model_seconds", np.nan) for sp in speed.values()), 1e-9),
        })
    steps = pd.DataFrame(steps_rows, columns=["kind", "steps", "epochs", "aos", "success_auc", "success_50", "stage_fps", "lstm_fps"])
    steps = steps.sort_values(["kind", "steps"], ignore_index=True)
    _write_csv(steps, out["steps"])

    ep = table[table.sweep == "epochs"]
    epochs = ep.pivot_table(index=["kind", "sequence"], columns="epochs", values="aos", sort=True)
    epochs.columns = [f"e{c}" for c in epochs.columns]
    epochs = epochs.reset_index()
    order = {v: i for i, v in enumerate(tested + ["ALL"])}
    epochs = epochs.sort_values(["kind", "sequence"], key=lambda c: c.map(order) if c.name == "sequence" else c, ignore_index=True)
    _write_csv(epochs, out["epochs"])

    md = [
        f"# {exp_name}: sweeps (reported, never used to choose the defaults)",
        "",
        SPLIT_NOTES[split],
        "",
        "## Steps (mean over sequences; frames/s on precomputed features, machine-dependent)",
        "",
        steps.to_markdown(index=False, floatfmt=".3f"),
        "",
        "## Epochs (AOS per sequence; one training run per kind, read at each epoch count)",
        "",
        epochs.to_markdown(index=False, floatfmt=".3f"),
        "",
    ]
    with atomic_path(out["md"]) as tmp:
        tmp.write_text("\n".join(md))
    return table
