"""The ``rolo`` command line: one subcommand per task (``rolo score``, ``rolo track``, ``rolo export``).

Each subcommand is a function ``add_<name>(subparsers)`` that builds its parser and sets
``func``, which gets the parsed arguments and returns the exit status. Input errors print one
line naming the file or setting and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from rolo.errors import RoloInputError


def add_score(subparsers) -> None:
    """``rolo score``: score a tracker's results against OTB ground truth."""
    from rolo.evaluation.protocols import PROTOCOLS

    p = subparsers.add_parser(
        "score",
        help="score a tracker's OTB, pytracking or got10k results (success AUC, precision, normalised precision)",
        description="Score a tracker's results against the ground truth under DATASET_ROOT: <Sequence>.txt (OTB, "
        "pytracking) or <Sequence>/<Sequence>_001.txt (got10k), one x,y,w,h per scored frame, 1-based, comma or "
        "white-space separated. Writes one row per sequence and a last row ALL (mean over sequences); optionally "
        "the success and precision curves, per-attribute figures and plots, with the pipeline's code.",
    )
    p.add_argument("--dataset-root", required=True, help="OTB root (<Folder>/img, ground truth) or plain sequence folders")
    p.add_argument("--results", required=True,
                   help="folder of result files: <Sequence>.txt (OTB, pytracking; <Sequence>_time.txt ignored) or "
                   "<Sequence>/<Sequence>_001.txt (got10k)")
    p.add_argument(
        "--sequences",
        nargs="+",
        metavar="NAME",
        help="sequences to score (names, aliases or the groups otb100, otb30, face; comma or space "
        "separated); default: every result file in --results",
    )
    p.add_argument("--protocol", choices=PROTOCOLS, default="official", help="scoring protocol (default: official)")
    p.add_argument("--dataset", choices=DATASETS, default="otb",
                   help="otb (default; --protocol applies), lasot (pytracking's LaSOT analysis; --sequences: names or the "
                   "split test/train/all, default test) or got10k-val (got10k's ExperimentGOT10k on the val subset of a "
                   "GOT-10k root; every repetition <Seq>/<Seq>_NNN.txt). --attributes and --plot are OTB only")
    p.add_argument("--out", required=True, help="CSV to write: sequence,frames,aos,success_auc,success_50,precision_20,norm_precision_20")
    p.add_argument("--name", help="the tracker's name in --curves, --attributes and --plot (default: the --results folder's name)")
    p.add_argument("--curves", metavar="CSV",
                   help="also write the success, precision and normalised precision curves (sequence,tracker,curve,threshold,value; "
                   "ALL = mean of the sequences' curves), the format of the pipeline's curves.csv")
    p.add_argument("--attributes", metavar="CSV",
                   help="also write per-attribute figures (attribute,sequences,tracker,success_auc,success_50,precision_20,"
                   "norm_precision_20), over the sequences tagged with each attribute (OTB catalog; attributes.json in a plain folder)")
    p.add_argument("--plot", metavar="PNG",
                   help="also draw the success and precision plots as PNG (and <stem>_attributes.png when the sequences have "
                   "attributes); needs matplotlib, the [plots] extra")
    p.set_defaults(func=run_score)


def _need_matplotlib(option: str) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise RoloInputError(f"{option} needs matplotlib: pip install 'rolo[plots]' (in a checkout: pip install '.[plots]')") from None


def _write_scores(args: argparse.Namespace, table, curves) -> list[str]:
    """Write ``rolo score``'s table to ``--out`` and, if asked, its curves to ``--curves``; the paths written."""
    from rolo.utils.io import atomic_path

    written = [args.out]
    with atomic_path(args.out) as tmp:
        table.to_csv(tmp, index=False)
    if args.curves:
        with atomic_path(args.curves) as tmp:
            curves.to_csv(tmp, index=False)
        written.append(args.curves)
    return written


def _print_scores(header: str, table, written: list) -> int:
    print(header)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"wrote {', '.join(map(str, written))}")
    return 0


def run_score(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rolo.utils.io import atomic_path
    from rolo.data.otb import expand_names
    from rolo.evaluation.protocols import PROTOCOL_NOTES, attribute_table
    from rolo.evaluation.scoring import result_names, score_results

    if args.dataset != "otb":
        return run_score_benchmark(args)
    if args.plot:
        _need_matplotlib("--plot")
    if args.sequences:
        names = expand_names([n for arg in args.sequences for n in arg.split(",") if n])
    else:
        names = result_names(args.results)
    table, curves, attributes = score_results(args.dataset_root, args.results, names, args.protocol, args.name)
    written = _write_scores(args, table, curves)
    tagged = any(attributes.values())
    if args.attributes:
        if not tagged:
            print("no sequence has attributes: --attributes writes only the header", file=sys.stderr)
        with atomic_path(args.attributes) as tmp:
            attribute_table(curves, attributes).to_csv(tmp, index=False)
        written.append(args.attributes)
    if args.plot:
        from rolo.figures.plots import attribute_figure, save_figure, success_precision_figure

        png = Path(args.plot)
        title = f"{curves.tracker.iloc[0]}, {len(table) - 1} sequences"
        fig = success_precision_figure(curves, title)
        save_figure(fig, png, None)
        written.append(str(png))
        if tagged:
            attr_png = png.with_name(f"{png.stem}_attributes{png.suffix}")
            save_figure(attribute_figure(curves, attributes, title), attr_png, None)
            written.append(str(attr_png))
    return _print_scores(f"protocol: {args.protocol} ({PROTOCOL_NOTES[args.protocol]})", table, written)


DATASETS = ("otb", "lasot", "got10k-val")
"""``rolo score --dataset``: OTB (:mod:`rolo.evaluation.scoring`), LaSOT and GOT-10k val
(:mod:`rolo.evaluation.benchmarks`)."""


def run_score_benchmark(args: argparse.Namespace) -> int:
    """``rolo score --dataset lasot|got10k-val``: the table (and ``--curves``) of
    :func:`rolo.evaluation.benchmarks.score_lasot` or :func:`~rolo.evaluation.benchmarks.score_got10k_val`."""
    from rolo.evaluation.benchmarks import score_got10k_val, score_lasot

    for option in ("attributes", "plot"):
        if getattr(args, option):
            raise RoloInputError(f"--{option} is for --dataset otb only")
    if args.protocol != "official":
        raise RoloInputError(f"--protocol is for --dataset otb only ({args.dataset} has its own toolkit's rules)")
    names = [n for arg in args.sequences or [] for n in arg.split(",") if n]
    if args.dataset == "lasot":
        split = names[0] if len(names) == 1 and names[0] in ("test", "train", "all") else "test"
        chosen = None if not names or names == [split] else names
        table, curves = score_lasot(args.dataset_root, args.results, split, chosen, tracker=args.name)
        note = "pytracking's LaSOT analysis: absent frames count as failures, curves averaged over sequences"
    else:
        if names:
            raise RoloInputError("--sequences is not used with --dataset got10k-val (every sequence of val/list.txt is scored)")
        table, curves = score_got10k_val(args.dataset_root, args.results, tracker=args.name)
        note = "got10k's ExperimentGOT10k: frame 1 skipped, frames with cover 0 left out, frames of all sequences pooled"
    written = _write_scores(args, table, curves)
    return _print_scores(f"dataset: {args.dataset} ({note})", table, written)


def add_export(subparsers) -> None:
    """``rolo export``: the pipeline's track files in pytracking's or got10k's layout."""
    p = subparsers.add_parser(
        "export",
        help="write the pipeline's OTB-format tracks in pytracking's or got10k's results layout",
        description="Copy a tracker's tracks, results/<exp>/tracks/<tracker>/<Sequence>.txt (OTB x,y,w,h, 1-based, one "
        "row per tracked frame), into another toolkit's layout: pytracking (<Sequence>.txt tab separated, "
        "<Sequence>_time.txt) or got10k (<Sequence>/<Sequence>_001.txt, <Sequence>/<Sequence>_time.txt). Times come "
        "from the tracking job's speed.json (each frame: its video's mean).",
    )
    p.add_argument("--tracks", required=True, help="folder of <Sequence>.txt track files (e.g. results/exp1/tracks/rolo)")
    p.add_argument("--layout", required=True, choices=("pytracking", "got10k"), help="layout to write")
    p.add_argument("--out", required=True, help="folder to write into (created)")
    p.add_argument("--sequences", nargs="+", metavar="NAME", help="sequences to export (default: every track file)")
    p.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from rolo.evaluation.scoring import export_results

    written = export_results(args.tracks, args.out, args.layout, args.sequences)
    print(f"wrote {len(written)} files ({args.layout} layout) under {args.out}")
    return 0


def add_track(subparsers) -> None:
    """``rolo track``: follow a target through a video, image folder or glob, webcam or stream with a trained model."""
    from rolo.detection.settings import ExtractionParams

    p = subparsers.add_parser(
        "track",
        help="follow a target in a video, image folder or glob, webcam or stream with a trained ROLO model",
        description="Track one target through SOURCE (a video OpenCV can read, a folder of images in "
        "natural name order, a quoted glob of images, a webcam index or a stream URL), online and frame by "
        "frame: the detector, its feature hook, the association and the LSTM run as in the pipeline's "
        "tracking stage. Frames are streamed. A webcam or stream is tracked from the first frame received "
        "until it ends or Ctrl-C, which stops and writes the frames tracked so far. Writes a CSV "
        "(frame,x,y,w,h,conf,lost; boxes as OTB x,y,w,h, 1-based) and optionally an annotated H.264 MP4 "
        "(ROLO box green, associated YOLO detection blue, frame counter), each atomically at the end.",
    )
    p.add_argument("source", metavar="SOURCE",
                   help="a video file; a folder of images; a glob of images in quotes ('frames/*.jpg', '**' for "
                   "subfolders); a webcam index (0); or a stream URL (rtsp://, rtmp://, tcp://, http(s)://)")
    p.add_argument("--init", required=True, metavar="X,Y,W,H",
                   help="the target's box on the start frame (a webcam's or stream's first frame received): OTB "
                   "x,y,w,h (x, y 1-based, as in groundtruth_rect.txt)")
    p.add_argument("--model", required=True, metavar="MODEL.pt", help="ROLO checkpoint, results/<exp>/models/<kind>_s<steps>.pt; its model kind picks the "
                   "pipeline's tracker (closed_loop: rolo, closed_loop_heatmap: rolo_heatmap, coordinate: rolo_paper, "
                   "heatmap: rolo_heatmap_paper)")
    p.add_argument("--detector", metavar="WEIGHTS",
                   help="YOLO weights; default: the detector recorded in the checkpoint (looked up relative to "
                   "the checkpoint's parent folders, then as given)")
    p.add_argument("--out", default="track.csv", help="CSV to write (default: track.csv)")
    p.add_argument("--video", metavar="OUT.mp4", help="also write an annotated, browser-playable MP4")
    p.add_argument("--format", choices=("csv", "otb"), default="csv",
                   help="--out as a CSV (frame,x,y,w,h,conf,lost; default) or an OTB result file (x,y,w,h per "
                   "tracked frame, 1-based), which `rolo score` reads")
    p.add_argument("--start", type=int, default=1,
                   help="1-based frame to start on, given --init (default: 1; a webcam or stream starts at 1)")
    p.add_argument("--end", type=int, help="1-based last frame to track (default: the source's last; a webcam or "
                   "stream: until it ends or Ctrl-C)")
    defaults = ExtractionParams()  # one source of the extraction defaults (the pipeline's too)
    p.add_argument("--batch", type=int, default=defaults.batch,
                   help="frames per detector forward pass, aligned to the source's first frame; use the "
                   f"pipeline's extraction.batch (default {defaults.batch}) to reproduce its tracks bit for bit")
    p.add_argument("--conf", type=float, default=defaults.conf, help=f"NMS confidence floor (extraction.conf; default {defaults.conf})")
    p.add_argument("--iou", type=float, default=defaults.iou, help=f"NMS IoU (extraction.iou; default {defaults.iou})")
    p.add_argument("--max-det", type=int, default=defaults.max_det,
                   help=f"detections kept per frame (extraction.max_det; default {defaults.max_det})")
    from rolo.detection.backends import BACKENDS

    p.add_argument("--backend", choices=BACKENDS,
                   help="how the detector runs (extraction.backend, docs/backends.md); default: the one the "
                   "checkpoint records (the pipeline's: config/config.yaml's fastest path, onnxruntime; eager torch "
                   "for the demo and for checkpoints that record none), which reproduces the pipeline's tracks")
    p.add_argument("--device", help="torch device (default: CUDA when present, else CPU)")
    p.add_argument("--threads", type=int,
                   help="torch CPU threads (default: torch's). The pipeline extracts on its job's threads (2 in the "
                   "workflow): the same threads and --batch give its features bit for bit")
    p.add_argument("--fps", type=float, help="frame rate of the MP4 (default: the source video's or stream's, 20 for images)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run_track)


def run_track(args: argparse.Namespace) -> int:
    import os

    from rolo.detection.detector import ultralytics_offline

    ultralytics_offline()
    # idle OpenMP threads sleep instead of spinning: decoding, the detector and the video encoder share
    # the cores (3-4x faster with 2 threads on a busy 2-core machine; results unchanged)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    # FFmpeg's own messages (e.g. "Stream ends prematurely" at the normal end of an MJPEG stream): fatal only
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "8")
    if args.threads is not None:
        if args.threads < 1:
            raise RoloInputError(f"--threads must be at least 1, not {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    from rolo.detection.settings import ExtractionParams
    from rolo.tracking.live import track_source

    extraction = ExtractionParams(batch=args.batch, conf=args.conf, iou=args.iou, max_det=args.max_det, device=args.device)
    try:
        s = track_source(
            args.source, args.init, args.model, args.out, detector=args.detector, out_video=args.video,
            start=args.start, end=args.end, extraction=extraction, fps=args.fps, progress=not args.quiet,
            out_format=args.format, backend=args.backend,
        )
    except KeyboardInterrupt:  # a file source on Ctrl-C, or a second Ctrl-C on a live one: no outputs
        print("rolo track: interrupted; nothing written", file=sys.stderr)
        return 130
    ended = {"stopped": " (stopped by a signal)", "end of stream": " (end of stream)"}.get(s.ended, "")
    print(f"tracked {s.frames} frames ({s.first + 1}..{s.first + s.frames}) in {s.seconds:.1f} s: {s.fps:.1f} frames/s{ended}")
    print(f"wrote {', '.join(p for p in (s.csv, s.video) if p)}")
    return 0


SUBCOMMANDS: list[Callable] = [add_score, add_track, add_export]


def build_parser() -> argparse.ArgumentParser:
    from rolo import __version__

    parser = argparse.ArgumentParser(prog="rolo", description="ROLO (Recurrent YOLO) tools")
    parser.add_argument("--version", action="version", version=f"rolo {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except RoloInputError as e:
        print(f"rolo {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
