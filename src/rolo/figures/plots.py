"""Figures and videos from cached results (matplotlib, OpenCV, imageio-ffmpeg).

Every figure function takes the tables it draws and returns a matplotlib ``Figure``, so a test can
compare the drawn data with the CSV; :func:`save_figure` writes it as PNG and PDF. Box colours
follow the original ROLO's figures: ground truth red, YOLO blue, ROLO green.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.patches

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from rolo.evaluation.protocols import LIKE, attribute_curves  # noqa: E402,F401  (attribute_curves: shared with rolo score)
from rolo.figures.drawing import box_label, box_rgb, draw_boxes, label_lines, write_video  # noqa: E402,F401
from rolo.tracking.registry import TRACKERS, label  # noqa: E402
from rolo.utils.io import atomic_path  # noqa: E402


OTHER_COLOURS = ("black", "tab:pink", "darkgoldenrod", "teal", "navy", "crimson", "darkviolet", "lime")
"""Colours of trackers not in the registry (config ``external``): none of the registry's."""


def colour(tracker: str) -> str:
    """A tracker's colour in every figure: the registry's, else one of :data:`OTHER_COLOURS` picked
    by the name (the same in every figure and run)."""
    import zlib

    if tracker in TRACKERS:
        return TRACKERS[tracker].colour
    return OTHER_COLOURS[zlib.crc32(tracker.encode()) % len(OTHER_COLOURS)]


_STYLE = {"font.size": 10, "axes.titlesize": 11, "legend.fontsize": 8, "figure.dpi": 100}


def save_figure(fig, png, pdf=None) -> None:
    """Write ``fig`` as PNG (150 dpi) and, unless ``pdf`` is None, PDF, atomically; close it. (The
    format follows each path's suffix, PNG without one.)"""
    for path, kw in ((png, {"dpi": 150}), (pdf, {})):
        if path is None:
            continue
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=Path(path).suffix[1:] or "png", bbox_inches="tight", **kw)
    plt.close(fig)


NOT_LIKE_LABEL = "not like-for-like"
"""Legend suffix of another tracker's whole-sequence results cut to a later test segment (dashed lines)."""


def not_like(table: pd.DataFrame) -> set[str]:
    """Trackers with a row not like-for-like in ``table`` (column :data:`rolo.evaluation.protocols.LIKE`)."""
    if LIKE not in table.columns:
        return set()
    return set(table.tracker[~table[LIKE].astype(bool)])


def _ranked_lines(ax, curves: pd.DataFrame, curve: str, score) -> None:
    """One line per tracker of ``curves`` (rows of one sequence or group), legend ranked by ``score``;
    trackers not like-for-like dashed, labelled so and listed after the others."""
    ranked = []
    apart = not_like(curves)
    if not (curves.curve == curve).any():  # e.g. GOT-10k's protocol: a success curve only
        ax.text(0.5, 0.5, f"no {curve.replace('_', ' ')} curve under this protocol", ha="center", va="center",
                transform=ax.transAxes)
        return
    for tracker, c in curves[curves.curve == curve].groupby("tracker", sort=False):
        c = c.sort_values("threshold")
        ranked.append((score(c), tracker, c))
    for value, tracker, c in sorted(ranked, key=lambda r: (r[1] in apart, -r[0])):
        text = f"{label(tracker)} [{value:.3f}]" + (f" ({NOT_LIKE_LABEL})" if tracker in apart else "")
        ax.plot(c.threshold, c.value, label=text, color=colour(tracker), lw=2.4 if tracker == "rolo" else 1.4,
                ls="--" if tracker in apart else "-")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left" if curve == "success" else "lower right", frameon=True)


def _auc(c: pd.DataFrame) -> float:
    return float(c.value.mean())


def _at(x: float):
    def value(c: pd.DataFrame) -> float:
        return float(np.interp(x, c.threshold, c.value))

    return value


def success_precision_figure(curves: pd.DataFrame, title: str):
    """OTB's success plot (legend: AUC) and precision plot (legend: precision at 20 px) of every
    tracker, from the ``ALL`` rows of ``curves.csv``."""
    with plt.rc_context(_STYLE):
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4.2))
        allc = curves[curves.sequence == "ALL"]
        _ranked_lines(a, allc, "success", _auc)
        a.set(title=f"Success plot — {title}", xlabel="overlap threshold (IoU >)", ylabel="success rate", xlim=(0, 1))
        _ranked_lines(b, allc, "precision", _at(20))
        b.set(title=f"Precision plot — {title}", xlabel="location error threshold (px)", ylabel="precision", xlim=(0, 50))
        fig.tight_layout()
    return fig


def attribute_figure(curves: pd.DataFrame, attributes: dict[str, list[str]], title: str, curve: str = "success"):
    """Success (or precision) plots per attribute tag, one panel each."""
    per_attr = attribute_curves(curves, attributes)
    tags = list(dict.fromkeys(per_attr.attribute))
    cols = min(3, max(len(tags), 1))
    rows = max(1, int(np.ceil(len(tags) / cols)))
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.6 * rows), squeeze=False)
        for ax, tag in zip(axes.flat, tags):
            sub = per_attr[per_attr.attribute == tag]
            _ranked_lines(ax, sub, curve, _auc if curve == "success" else _at(20))
            ax.set(title=f"{tag} ({int(sub.sequences.iloc[0])} sequences)",
                   xlabel="overlap threshold" if curve == "success" else "location error (px)",
                   ylabel="success rate" if curve == "success" else "precision")
        for ax in list(axes.flat)[len(tags):]:
            ax.axis("off")
        if not tags:
            axes.flat[0].text(0.5, 0.5, "no attribute tags for these sequences", ha="center")
        fig.suptitle(f"{title}: {curve} per attribute")
        fig.tight_layout()
    return fig


def aos_bars_figure(table: pd.DataFrame, title: str):
    """Per-video AOS, one bar per tracker, from ``aos.csv`` (``ALL`` rows left out)."""
    t = table[table.sequence != "ALL"]
    trackers = list(dict.fromkeys(t.tracker))
    videos = sorted(t.sequence.unique())
    width = 0.8 / len(trackers)
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(videos) * len(trackers) * width + 3), 4))
        apart = not_like(t)
        for i, tracker in enumerate(trackers):
            aos = t[t.tracker == tracker].set_index("sequence").aos.reindex(videos)
            text = label(tracker) + (f" ({NOT_LIKE_LABEL})" if tracker in apart else "")
            ax.bar(np.arange(len(videos)) + (i - (len(trackers) - 1) / 2) * width, aos.values, width, label=text,
                   color=colour(tracker), hatch="//" if tracker in apart else None)
        ax.set_xticks(np.arange(len(videos)), videos, rotation=45, ha="right")
        ax.set(ylabel="AOS (mean IoU)", ylim=(0, 1), title=f"Per-video AOS — {title}")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(ncol=min(len(trackers), 4), loc="upper center", bbox_to_anchor=(0.5, -0.3))
        fig.tight_layout()
    return fig


def loss_figure(losses: dict[str, pd.DataFrame]):
    """Training loss per epoch (and validation loss where recorded), one line per experiment."""
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(6, 4))
        for exp, df in losses.items():
            line = ax.plot(df.epoch, df.train_loss, label=f"{exp} train")[0]
            if "val_loss" in df and df.val_loss.notna().any():
                ax.plot(df.epoch, df.val_loss, ls="--", color=line.get_color(), label=f"{exp} validation")
        ax.set(xlabel="epoch", ylabel="loss (MSE; per-cell BCE for heatmap)", yscale="log", title="ROLO training loss")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
    return fig


def box_handles(kinds=("gt", "yolo", "rolo")) -> list:
    return [Line2D([], [], color=np.array(box_rgb(k)) / 255, lw=2, label=box_label(k)) for k in kinds]


def panel_figure(tiles: list[tuple[str, np.ndarray]], title: str, cols: int = 4, kinds=("gt", "yolo", "rolo")):
    """A grid of annotated frames ``[(caption, RGB image)]`` with the box legend below. Constrained
    layout keeps each tile's caption clear of the row above."""
    rows = max(1, int(np.ceil(len(tiles) / cols)))
    cols = min(cols, max(len(tiles), 1))
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.7 * rows + 0.9), squeeze=False, layout="constrained")
        for ax, (caption, img) in zip(axes.flat, tiles):
            ax.imshow(img, interpolation="nearest")
            ax.set_title(caption, fontsize=9)
        for ax in axes.flat:
            ax.set_xticks([])
            ax.set_yticks([])
        for ax in list(axes.flat)[len(tiles):]:
            ax.axis("off")
        fig.suptitle(title)
        fig.legend(handles=box_handles(kinds), loc="outside lower center", ncol=len(kinds), frameon=False)
        fig.get_layout_engine().set(h_pad=0.08, hspace=0.06)
    return fig


# --- pipeline stages: read cached results, write figures ---------------------------------------


def curve_figures_job(exp: str, curves_csv, attributes: dict[str, list[str]], out: dict[str, str]) -> None:
    """``success_precision.{png,pdf}`` and ``attributes.{png,pdf}`` of one experiment."""
    curves = pd.read_csv(curves_csv)
    save_figure(success_precision_figure(curves, exp), out["success_png"], out["success_pdf"])
    save_figure(attribute_figure(curves, attributes, exp), out["attributes_png"], out["attributes_pdf"])


def aos_bars_job(exp: str, aos_csv, out_png, out_pdf) -> None:
    save_figure(aos_bars_figure(pd.read_csv(aos_csv), exp), out_png, out_pdf)


def loss_job(exp: str, loss_csv, out_png, out_pdf) -> None:
    save_figure(loss_figure({exp: pd.read_csv(loss_csv)}), out_png, out_pdf)


def _rgb(path) -> np.ndarray:
    import cv2

    from rolo.data.sequences import read_image

    return cv2.cvtColor(read_image(path), cv2.COLOR_BGR2RGB)


def _video_boxes(video: str, split, seq_dir, track_dirs: dict[str, str]):
    """(sequence, {kind: (T, 4) xyxy over the test segment}) for the ground truth (``gt``) and every
    tracker of ``track_dirs`` (trackers the registry draws)."""
    from rolo.data.sequences import load_sequence, read_otb_xyxy

    seq = load_sequence(seq_dir, name=video)
    a, b = split.test
    boxes = {"gt": np.where(seq.valid[a:b, None], seq.gt[a:b], np.nan)}
    for kind, d in track_dirs.items():
        boxes[kind] = read_otb_xyxy(Path(d) / f"{video}.txt")
    return seq, boxes


def panel_job(exp: str, aos_csv, splits_json, seq_dirs: dict[str, str], track_dirs: dict[str, str], out_png, out_pdf) -> None:
    """Qualitative panel: the middle scored frame of each test video, with the ground truth and the
    boxes of ``track_dirs``' trackers; videos ordered by the AOS (lowest first) of the first of
    them in registry order (ROLO when it runs), or of the table's first tracker if none is drawn."""
    from rolo.data.splits import read_splits

    table = pd.read_csv(aos_csv)
    kinds = [k for k in TRACKERS if k in track_dirs]
    ranker = kinds[0] if kinds else table.tracker.iloc[0]
    ranked = table[(table.sequence != "ALL") & (table.tracker == ranker)].sort_values("aos")
    splits = read_splits(splits_json)
    tiles = []
    for _, row in ranked.head(12).iterrows():
        split = splits[row.sequence]
        seq, boxes = _video_boxes(row.sequence, split, seq_dirs[row.sequence], {k: track_dirs[k] for k in kinds})
        t = split.scored[len(split.scored) // 2]
        k = t - split.test[0]
        img = draw_boxes(_rgb(seq.frames[t]), {kind: b[k] for kind, b in boxes.items()})
        tiles.append((f"{row.sequence} #{t + 1} — {label(ranker)} AOS {row.aos:.2f}", img))
    title = f"{exp}: test videos by {label(ranker)} AOS (lowest first)"
    save_figure(panel_figure(tiles, title, kinds=("gt", *kinds)), out_png, out_pdf)


def video_job(video: str, splits_json, seq_dir, track_dirs: dict[str, str], out_mp4, fps: float = 20.0) -> int:
    """An H.264 MP4 of a test video's test segment with the ground truth and the boxes of
    ``track_dirs``' trackers, the frame number and each tracker's IoU on the frame (shown on scored
    frames only)."""
    from rolo.data.splits import read_splits
    from rolo.utils.boxes import iou

    split = read_splits(splits_json)[video]
    kinds = [k for k in TRACKERS if k in track_dirs]
    seq, boxes = _video_boxes(video, split, seq_dir, {k: track_dirs[k] for k in kinds})
    scored = set(split.scored)

    def frames():
        for k, t in enumerate(range(*split.test)):
            img = draw_boxes(_rgb(seq.frames[t]), {kind: b[k] for kind, b in boxes.items()})
            text = [f"#{t + 1}"]
            if t in scored:
                text += [f"{box_label(kind)} IoU {float(iou(boxes[kind][k], seq.gt[t])):.2f}" for kind in kinds]
            yield label_lines(img, [(line, (255, 255, 255)) for line in text])

    return write_video(out_mp4, frames(), fps)


# --- sweeps and heatmaps ---------------------------------------------------------------------------


def sweep_steps_figure(steps: pd.DataFrame, title: str):
    """Accuracy (AOS, success AUC) and speed (LSTM-stage frames/s, log scale) against ``steps``, one
    line style per model kind, from ``sweep_steps.csv``."""
    with plt.rc_context(_STYLE):
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
        for kind, df in steps.groupby("kind", sort=True):
            df = df.sort_values("steps")
            ls = "-" if kind == "coordinate" else "--"
            ax.plot(df.steps, df.aos, "o" + ls, color="tab:green", label=f"{kind}: AOS")
            ax.plot(df.steps, df.success_auc, "s" + ls, color="tab:blue", label=f"{kind}: success AUC")
            ax2.plot(df.steps, df.lstm_fps, "o" + ls, color="tab:red", label=f"{kind}: LSTM (encode + LSTM)")
            ax2.plot(df.steps, df.stage_fps, "s" + ls, color="tab:orange", label=f"{kind}: association + LSTM")
        ax.set(xlabel="LSTM steps", ylabel="score", ylim=(0, 1), title=f"Accuracy against steps — {title}")
        ax2.set(xlabel="LSTM steps", ylabel="frames/s (features precomputed)", yscale="log", title="Speed against steps")
        for a in (ax, ax2):
            a.set_xticks(sorted(steps.steps.unique()))
            a.grid(alpha=0.3)
            a.legend(fontsize=7)
        fig.tight_layout()
    return fig


def sweep_aos_figure(aos: pd.DataFrame, title: str):
    """AOS heat map, sequences (and ``ALL``) x sweep settings, from ``sweep_aos.csv``; settings in
    table order (steps sweep, then epochs sweep)."""
    settings = list(dict.fromkeys(aos.setting))
    rows = [s for s in dict.fromkeys(aos.sequence) if s != "ALL"] + ["ALL"]
    grid = aos.pivot(index="sequence", columns="setting", values="aos").reindex(index=rows, columns=settings)
    cols = [f"{r.kind}\n{'e' + str(r.epochs) if r.sweep == 'epochs' else 's' + str(r.steps)}"
            for r in aos.drop_duplicates("setting").set_index("setting").loc[settings].itertuples()]
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(1.0 * len(settings) + 2.5, 0.42 * len(rows) + 1.8))
        im = ax.imshow(grid.values, cmap="viridis", vmin=0, vmax=1, aspect="auto")
        for i in range(len(rows)):
            for j in range(len(settings)):
                v = grid.values[i, j]
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white" if v < 0.6 else "black")
        ax.set_xticks(range(len(settings)), cols, fontsize=7)
        ax.set_yticks(range(len(rows)), rows)
        ax.axhline(len(rows) - 1.5, color="white", lw=2)
        n_steps = int((aos.drop_duplicates("setting").sweep == "steps").sum())
        if 0 < n_steps < len(settings):
            ax.axvline(n_steps - 0.5, color="white", lw=2)
        ax.set_title(f"AOS per sequence and setting (s: steps, e: epochs) — {title}")
        fig.colorbar(im, ax=ax, label="AOS", fraction=0.04)
        fig.tight_layout()
    return fig


def overlay_map(image_rgb: np.ndarray, prob: np.ndarray, alpha: float = 0.8) -> np.ndarray:
    """Blend a ``(GRID, GRID)`` probability map over a frame: the frame in dimmed grey, each cell
    coloured by ``inferno`` with opacity ``alpha * p`` (cells near 0 leave the frame visible)."""
    import cv2

    h, w = image_rgb.shape[:2]
    grey = cv2.cvtColor(np.ascontiguousarray(image_rgb), cv2.COLOR_RGB2GRAY)[..., None].astype(np.float64) * 0.7
    p = cv2.resize(np.asarray(prob, np.float32), (w, h), interpolation=cv2.INTER_NEAREST)
    colour = plt.get_cmap("inferno")(p)[..., :3] * 255
    a = (alpha * np.clip(p, 0, 1))[..., None]
    return (grey * (1 - a) + colour * a).round().astype(np.uint8)


def _heatmap_inputs(video: str, split, seq_dir, track_dir):
    """(sequence, GT boxes, heatmap boxes over the test segment, maps of frames test start + 1...)."""
    from rolo.data.sequences import load_sequence, read_otb_xyxy

    seq = load_sequence(seq_dir, name=video)
    a, b = split.test
    gt = np.where(seq.valid[a:b, None], seq.gt[a:b], np.nan)
    boxes = read_otb_xyxy(Path(track_dir) / f"{video}.txt")
    maps = np.load(Path(track_dir) / f"{video}.maps.npy").astype(np.float32)
    if len(maps) != b - a - 1:
        raise ValueError(f"{track_dir}/{video}.maps.npy: {len(maps)} maps for a test segment of {b - a} frames")
    return seq, gt, boxes, maps


def heatmap_strip_job(video: str, splits_json, seq_dir, track_dir, out_png, out_pdf, frames: int = 12, cols: int = 6) -> None:
    """A strip of ``frames`` consecutive frames from the middle of a test video's test segment: the
    ROLO-heatmap map overlaid on the frame in grey, its box (cyan) and the ground truth (red)."""
    from rolo.data.splits import read_splits

    split = read_splits(splits_json)[video]
    seq, gt, boxes, maps = _heatmap_inputs(video, split, seq_dir, track_dir)
    a, b = split.test
    n = min(frames, b - a - 1)
    k0 = 1 + (b - a - 1 - n) // 2
    tiles = []
    for k in range(k0, k0 + n):
        img = overlay_map(_rgb(seq.frames[a + k]), maps[k - 1])
        tiles.append((f"#{a + k + 1}", draw_boxes(img, {"gt": gt[k], "rolo_heatmap_paper": boxes[k]})))
    fig = panel_figure(tiles, f"{video}: ROLO-heatmap (paper inputs) maps, frames {a + k0 + 1}-{a + k0 + n}", cols=cols,
                       kinds=("gt", "rolo_heatmap_paper"))
    save_figure(fig, out_png, out_pdf)


def heatmap_pairs_job(exp: str, splits_json, seq_dirs: dict[str, str], track_dir, out_png, out_pdf, pairs: int = 6) -> None:
    """Map beside box for ``pairs`` frames: the middle scored frame of the first test videos; left the
    frame with the ground truth and the heatmap's box, right the 32 x 32 map with the same boxes on
    the grid."""
    from rolo.data.splits import read_splits
    from rolo.tracking.heatmap import GRID

    splits = read_splits(splits_json)
    videos = sorted(v for v, sp in splits.items() if sp.test is not None and sp.test[1] - sp.test[0] > 1)[:pairs]
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(len(videos), 2, figsize=(6.4, 2.5 * len(videos) + 0.4), squeeze=False)
        for row, video in zip(axes, videos):
            split = splits[video]
            seq, gt, boxes, maps = _heatmap_inputs(video, split, seq_dirs[video], track_dir)
            a, _ = split.test
            scored = [t for t in split.scored if t > a]
            t = scored[len(scored) // 2]
            k = t - a
            frame = _rgb(seq.frames[t])
            h, w = frame.shape[:2]
            row[0].imshow(draw_boxes(frame, {"gt": gt[k], "rolo": boxes[k]}))
            row[0].set_title(f"{video} #{t + 1}", fontsize=9)
            row[1].imshow(maps[k - 1], cmap="inferno", vmin=0, vmax=1, extent=(0, GRID, GRID, 0), interpolation="nearest")
            for box, colour in ((gt[k], "red"), (boxes[k], "lime")):
                if np.isfinite(box).all():
                    u0, v0, u1, v1 = box[0] / w * GRID, box[1] / h * GRID, box[2] / w * GRID, box[3] / h * GRID
                    row[1].add_patch(matplotlib.patches.Rectangle((u0, v0), u1 - u0, v1 - v0, fill=False, ec=colour, lw=1.5))
            row[1].set_title("map (32 x 32 cells)", fontsize=9)
            for ax in row:
                ax.set_xticks([])
                ax.set_yticks([])
        fig.suptitle(f"{exp}: ROLO-heatmap (paper inputs), frame and map (ground truth red, decoded box green)")
        fig.tight_layout()
    save_figure(fig, out_png, out_pdf)


def sweep_figures_job(exp: str, steps_csv, aos_csv, out: dict[str, str]) -> None:
    """``sweep_steps.{png,pdf}`` and ``sweep_aos.{png,pdf}`` of one experiment."""
    save_figure(sweep_steps_figure(pd.read_csv(steps_csv), exp), out["steps_png"], out["steps_pdf"])
    save_figure(sweep_aos_figure(pd.read_csv(aos_csv), exp), out["aos_png"], out["aos_pdf"])


# --- recovery after occlusion ------------------------------------------------------------------------


def recovery_figure(episodes: pd.DataFrame, title: str):
    """Per tracker: each episode's frames to recover (dots, jittered; not recovered at the top,
    marked x) and the share of episodes recovered (bars), from ``recovery_episodes.csv``."""
    trackers = list(dict.fromkeys(episodes.tracker))
    with plt.rc_context(_STYLE):
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [2, 1]})
        top = max(float(episodes.frames.max()) if episodes.frames.notna().any() else 0.0, 5.0) * 1.15 + 1
        rng = np.random.default_rng(0)
        for i, t in enumerate(trackers):
            e = episodes[episodes.tracker == t]
            x = i + rng.uniform(-0.15, 0.15, len(e))
            done = e.frames.notna().to_numpy()
            ax.scatter(x[done], e.frames[done], s=18, color=colour(t), alpha=0.8)
            ax.scatter(x[~done], np.full((~done).sum(), top), s=28, marker="x", color=colour(t))
            ax2.bar(i, done.mean() if len(e) else 0, color=colour(t))
        for a in (ax, ax2):
            a.set_xticks(range(len(trackers)), [label(t) for t in trackers], rotation=45, ha="right")
            a.grid(axis="y", alpha=0.3)
        ax.axhline(top, color="0.6", lw=0.8, ls=":")
        ax.text(-0.45, top, "not recovered", va="bottom", fontsize=8, color="0.4")
        ax.set(ylabel="frames to IoU > 0.5 after reappearance", title=f"Recovery after occlusion — {title}")
        ax2.set(ylabel="episodes recovered", ylim=(0, 1.02), title="share recovered")
        fig.tight_layout()
    return fig


def recovery_job(exp: str, episodes_csv, out_png, out_pdf) -> None:
    save_figure(recovery_figure(pd.read_csv(episodes_csv), exp), out_png, out_pdf)
