"""``rolo track``: follow one target through a video, an image folder or glob, a webcam or a stream with a
trained model.

One implementation, two entry points: the pipeline's tracking stage (:func:`rolo.tracking.trackers.track_job`)
reads cached extraction outputs; here the same :class:`~rolo.detection.extraction.FeatureExtractor` runs online
and its outputs are handed to the same :func:`~rolo.tracking.trackers.make_tracker` /
:func:`~rolo.tracking.trackers.iter_track` through the :class:`~rolo.tracking.trackers.VideoFrames` interface.

Streaming, so memory does not grow with the clip:

* a background thread decodes (OpenCV) and letterboxes frames into a bounded queue;
* the detector runs on batches of ``batch`` frames, aligned to the source's first frame: the
  pipeline's batch composition (``extraction.batch`` frames per forward pass, from frame 1), so the
  features and detections are bit-identical to the pipeline's on the same frames and threads. A
  batch of 1 differs from a batch of 16 in the last float bits on CPU, which moved a few boxes of
  the demo by 0.01 px in the written tracks. Reading ahead inside the batch leaks nothing: the
  detector is per-frame, and the tracker still gets frame ``t`` only after returning ``t - 1``'s box;
* only the current batch (its images, features, detections) is kept; each frame's CSV row and
  annotated video frame are written (to the outputs' temporary files) as soon as its box is known.

Sources (:mod:`rolo.tracking.streaming`): a folder, a glob of images and a video file are read as
before; a webcam or a stream URL is live: no frame count, read frame by frame from the first frame
received (the ``--init`` frame) until the stream ends or the first SIGINT/SIGTERM (Ctrl-C), after which
the frames tracked so far are written, atomically like every output. A second signal aborts and
writes nothing.

Boxes on the command line and in the CSV are OTB ``x, y, w, h`` with ``x, y`` 1-based (as in
``groundtruth_rect.txt`` and the pipeline's track files); inside, 0-based ``xyxy``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from rolo.utils.boxes import otb_to_xyxy, xyxy_to_otb
from rolo.errors import RoloInputError
from rolo.utils.io import atomic_path
from rolo.tracking.streaming import (  # noqa: F401  (FrameSource, LiveSource: re-exported for callers)
    FrameSource, LiveSource, StreamedVideo, load_extractor, one_line, open_source, stop_on_signals,
)

if TYPE_CHECKING:
    from rolo.detection.extraction import ExtractionParams

CSV_COLUMNS = ("frame", "x", "y", "w", "h", "conf", "lost")
"""``frame`` 1-based; ``x, y, w, h`` the ROLO box (OTB, 1-based); ``conf`` the associated detection's
confidence (1 on the start frame, 0 when lost); ``lost`` 1 when the association kept its previous box."""

OUT_FORMATS = ("csv", "otb")
"""``csv``: :data:`CSV_COLUMNS` with a header; ``otb``: ``x,y,w,h`` per frame (what ``rolo score`` reads)."""

VIDEO_FPS = 20.0  # output frame rate of an image folder (and of a video reporting none)


# --- inputs ----------------------------------------------------------------------------------------


def parse_box(text: str) -> np.ndarray:
    """``"x,y,w,h"`` (OTB, 1-based) -> ``(4,)`` float64; an error names the problem."""
    fields = [f for f in re.split(r"[,\s]+", text.strip()) if f]
    try:
        values = np.array([float(f) for f in fields], np.float64)
    except ValueError:
        raise RoloInputError(f"--init {text!r}: expected four numbers x,y,w,h") from None
    if len(values) != 4 or not np.isfinite(values).all():
        raise RoloInputError(f"--init {text!r}: expected four finite numbers x,y,w,h")
    if values[2] <= 0 or values[3] <= 0:
        raise RoloInputError(f"--init {text!r}: width and height must be positive")
    return values


def check_init(otb_box: np.ndarray, size: tuple[int, int], source) -> np.ndarray:
    """The start box (OTB) as 0-based ``xyxy``; an error when it lies outside the frame."""
    xyxy = otb_to_xyxy(np.asarray(otb_box, np.float64))
    w, h = size
    ix = min(xyxy[2], w) - max(xyxy[0], 0.0)
    iy = min(xyxy[3], h) - max(xyxy[1], 0.0)
    if ix <= 0 or iy <= 0:
        x, y, bw, bh = (float(v) for v in otb_box)
        raise RoloInputError(
            f"--init {x:g},{y:g},{bw:g},{bh:g} lies outside the {w}x{h} frame of {source} "
            "(x, y are 1-based: the frame spans 1..width, 1..height)"
        )
    return xyxy


def load_model(path):
    """:func:`rolo.tracking.models.load_checkpoint` with every failure as a one-line :class:`RoloInputError`."""
    from rolo.tracking.models import load_checkpoint

    path = Path(path)
    if not path.is_file():
        raise RoloInputError(f"{path}: checkpoint not found")
    try:
        model, ckpt = load_checkpoint(path)
    except RoloInputError:
        raise
    except ValueError as e:  # e.g. a model kind this version does not support
        raise RoloInputError(one_line(e) if str(path) in str(e) else f"{path}: {one_line(e)}") from None
    except Exception as e:
        raise RoloInputError(f"{path}: not a rolo checkpoint ({type(e).__name__}: {one_line(e)[:200]})") from None
    for key in ("detector", "association"):
        if not isinstance(ckpt.get(key), dict):
            raise RoloInputError(f"{path}: not a rolo checkpoint (no '{key}' record)")
    return model, ckpt


def rolo_tracker_name(ckpt: dict, model_path) -> str:
    """The registry's tracker for the checkpoint's model kind (``rolo`` runs ``coordinate`` models)."""
    from rolo.tracking.trackers import tracker_for_kind

    kind = ckpt.get("model", {}).get("kind", "coordinate")
    try:
        return tracker_for_kind(kind)
    except ValueError as e:
        raise RoloInputError(f"{model_path}: {e}") from None


def resolve_detector(recorded: str, checkpoint: Path) -> str:
    """The detector a checkpoint records, a path relative to the directory the workflow ran in (as
    ``results/detector/weights.pt``): looked up from the checkpoint's parent folders first
    (``<workdir>/results/<exp>/models/x.pt`` -> ``<workdir>/results/detector/weights.pt``: the detector
    that produced the training features, whatever the current directory), then as given. Model yamls
    (``yolov8n.yaml``) are passed through."""
    rec = Path(recorded)
    if not recorded.endswith(".pt"):
        return recorded
    if not rec.is_absolute():
        for parent in Path(checkpoint).resolve().parents:
            if (parent / rec).is_file():
                return str(parent / rec)
    if rec.is_file():
        return recorded
    raise RoloInputError(
        f"{checkpoint}: its detector {recorded!r} was not found (from the checkpoint's folders or from here); "
        "pass it with --detector"
    )


# --- drawing ---------------------------------------------------------------------------------------

_LABEL_BLUE = (80, 80, 255)  # the YOLO box's blue, lightened to read on black


def annotate(image_bgr: np.ndarray, frame: int, rolo_xyxy: np.ndarray, yolo_xyxy: np.ndarray | None, conf: float,
             lost: bool, start: bool) -> np.ndarray:
    """An RGB frame with the ROLO box (green), the associated YOLO detection (blue, absent when lost
    or on the start frame) and the frame counter."""
    from rolo.figures.drawing import box_rgb, draw_boxes, label_lines

    img = draw_boxes(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB), {"rolo": rolo_xyxy, "yolo": yolo_xyxy})
    h, w = img.shape[:2]
    if start:
        yolo = ("YOLO: start box", (255, 255, 255))
    elif lost:
        yolo = ("YOLO: lost", (255, 255, 255))
    else:
        yolo = (f"YOLO {conf:.2f}", _LABEL_BLUE)
    lines = [(f"#{frame}", (255, 255, 255)), ("ROLO", box_rgb("rolo")), yolo]
    return label_lines(img, lines, scale=max(0.4, min(w, h) / 600))


# --- the command -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackSummary:
    frames: int
    seconds: float
    first: int  # 0-based index of the start frame
    csv: str
    video: str | None
    kind: str = "video"  # the source's kind (rolo.tracking.streaming.source_kind)
    ended: str = "end of source"  # "end of source", "--end", "end of stream" (live) or "stopped" (a signal, live)

    @property
    def fps(self) -> float:
        return self.frames / max(self.seconds, 1e-9)


class _Progress:
    def __init__(self, total: int | None, stream=None):
        self.total, self.stream = total, stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = self.last = time.perf_counter()

    def __call__(self, done: int, final: bool = False) -> None:
        now = time.perf_counter()
        if not final and now - self.last < (0.5 if self.tty else 5.0):
            return
        self.last = now
        total = f"/{self.total}" if self.total else ""
        text = f"track {done}{total} frames ({done / max(now - self.t0, 1e-9):.1f} frames/s)"
        print(f"\r{text}" if self.tty else text, end="\n" if final or not self.tty else "", file=self.stream, flush=True)


def check_outputs(out_csv, out_video, source=None) -> None:
    """One-line errors, before any work, for outputs that name a folder, the same file (also through a
    link) or the source video."""
    outs = [("--out", Path(out_csv))] + ([("--video", Path(out_video))] if out_video is not None else [])
    for flag, path in outs:
        if path.is_dir():
            raise RoloInputError(f"{flag} {path}: is a folder; name the file to write")
    if out_video is not None and Path(out_csv).resolve() == Path(out_video).resolve():
        raise RoloInputError(f"--out and --video name the same file {out_csv}; give them different names")
    if source is not None and Path(source).is_file():
        for flag, path in outs:
            if path.resolve() == Path(source).resolve():
                raise RoloInputError(f"{flag} {path}: is the source video; writing it would destroy the input")


def track_source(
    source: str | Path,
    init: str | np.ndarray,
    model_path: str | Path,
    out_csv: str | Path,
    detector: str | None = None,
    out_video: str | Path | None = None,
    start: int = 1,
    end: int | None = None,
    extraction: "ExtractionParams | None" = None,
    fps: float | None = None,
    progress: bool = True,
    out_format: str = "csv",
    backend: str | None = None,
) -> TrackSummary:
    """Track from frame ``start`` (1-based) to ``end`` (inclusive; default: the source's last frame),
    starting from ``init`` (OTB ``x, y, w, h``, 1-based, or its ``"x,y,w,h"`` text). ``source``: a video
    file, an image folder, a glob of images, a webcam index or a stream URL
    (:func:`rolo.tracking.streaming.source_kind`); a live one (webcam, stream) starts at the first frame
    received (``start`` must be 1) and ends with the stream, at ``end`` or on SIGINT/SIGTERM. Writes ``out_csv``
    (:data:`CSV_COLUMNS`; with ``out_format="otb"`` an OTB result file instead: one ``x,y,w,h``
    line per tracked frame, 1-based, as ``rolo score`` and OTB's toolkits read) and, if given, ``out_video`` (H.264 MP4 with the ROLO box, the YOLO box and
    the frame counter), both atomically. ``extraction``: the pipeline's extraction settings
    (:class:`~rolo.detection.extraction.ExtractionParams`; its ``imgsz`` is replaced by the one the
    checkpoint records and frames are decoded in a thread, not in worker processes); the detector
    defaults to the one the checkpoint records. ``backend`` (``extraction.backend``, how the detector
    runs: :mod:`rolo.detection.backends`) defaults to the one the checkpoint records (the pipeline's, so
    its tracks are reproduced), else ``extraction``'s."""
    from rolo.tracking.association import AssociationParams
    from rolo.detection.extraction import ExtractionParams, check_same_detector
    from rolo.tracking.trackers import iter_track, make_tracker

    check_outputs(out_csv, out_video, source)
    otb_init = parse_box(init) if isinstance(init, str) else np.asarray(init, np.float64).reshape(4)
    if start < 1:
        raise RoloInputError(f"--start must be a frame number >= 1, not {start}")
    if end is not None and end < start:
        raise RoloInputError(f"--end {end} is before --start {start}")
    if out_video is not None and Path(out_video).suffix.lower() != ".mp4":
        raise RoloInputError(f"--video {out_video}: the annotated video is an MP4; name it *.mp4")
    src = open_source(source)  # a file source is read here (its errors come before any model is loaded)
    if src.live and start != 1:
        raise RoloInputError(f"--start {start}: a {src.kind} is tracked from the first frame received; --start must be 1")
    init_xyxy = None if src.live else check_init(otb_init, src.size, source)
    model, ckpt = load_model(model_path)
    recorded = dict(ckpt["detector"])
    replaced = detector is not None and str(detector) != str(recorded.get("detector"))
    if detector is None:
        detector = resolve_detector(str(recorded.get("detector")), Path(model_path))
    imgsz = recorded.get("imgsz")
    if not isinstance(imgsz, int):
        raise RoloInputError(f"{model_path}: the checkpoint records no detector image size (imgsz)")
    # features rounded as the training features were (extraction.features_dtype, recorded when not float32);
    # the detector in the memory format it ran in (extraction.channels_last, recorded when set)
    params = dataclasses.replace(extraction or ExtractionParams(), imgsz=imgsz, workers=0, cpu_workers=0,
                                 features_dtype=recorded.get("features_dtype", "float32"),
                                 channels_last=bool(recorded.get("channels_last", False)))
    recorded_backend = recorded.get("backend")  # absent in checkpoints made before extraction.backend
    if backend is None:
        backend = recorded_backend or params.backend
    from rolo.detection.backends import check_backend

    try:
        params = dataclasses.replace(params, backend=check_backend(backend))
    except RoloInputError as e:
        raise RoloInputError(f"--backend: {e}") from None
    if ckpt.get("neck"):  # the closed-loop ROLO reads the neck maps the model was trained on, computed online
        from rolo.detection.neck import NeckMeta

        params = dataclasses.replace(params, neck=NeckMeta.from_json(ckpt["neck"]).spec)
    if out_format not in OUT_FORMATS:
        raise RoloInputError(f"--format {out_format!r}: one of {', '.join(OUT_FORMATS)}")
    first = start - 1
    last = None if end is None else end  # exclusive 0-based end
    total = None
    if src.count:
        total = max(0, (min(src.count, last) if last else src.count) - first)
    # a live source stops on its first SIGINT/SIGTERM (Ctrl-C): the frames tracked so far are written
    stop = threading.Event() if src.live else None
    with load_extractor(detector, params) as ex, contextlib.ExitStack() as cleanup:
        cleanup.callback(src.close)
        if src.live:  # connected only now, with the models loaded: its first frame is the start frame
            src.open()
            init_xyxy = check_init(otb_init, src.size, src.label)
            cleanup.enter_context(stop_on_signals(stop))
        report = _Progress(total) if progress else (lambda done, final=False: None)
        t0 = time.perf_counter()  # the rate counts decoding, detector, tracker, drawing, encoding; not model loading
        # the pipeline's batches: extraction.cpu_batch on CPU when set, else batch
        stream = StreamedVideo(src, ex, params.forward_batch(ex.device), first, stop=stop)
        cleanup.callback(stream.close)
        if not stream.has(first):
            if src.live:
                raise RoloInputError(f"{src.label}: no frame received")
            count = f" ({src.count})" if src.count else ""
            raise RoloInputError(f"{source}: --start {start} is past the source's last frame{count}")
        meta = ex.meta(src.size, stream.letterboxed_hw, 0, stream.feature_dim)
        check_same_detector({**recorded, "detector": meta["detector"]}, meta, str(detector))
        if progress and replaced:
            print(f"note: detector {detector} replaces the checkpoint's {recorded.get('detector')}", file=sys.stderr)
        if progress and recorded_backend and recorded_backend != params.backend:
            print(f"note: backend {params.backend} replaces the checkpoint's {recorded_backend} (features differ in the "
                  "last float bits from the pipeline's)", file=sys.stderr)
        assoc_params = AssociationParams(**ckpt["association"])
        try:
            tracker = make_tracker(rolo_tracker_name(ckpt, model_path), assoc_params, src.size, model)
        except ValueError as e:
            raise RoloInputError(f"{model_path}: {one_line(e)}") from None

        def records() -> Iterator[tuple[int, np.ndarray, np.ndarray, float, bool]]:
            boxes = iter_track(tracker, stream.frames, init_xyxy, first, last if last is not None else sys.maxsize)
            try:
                for t, box in boxes:
                    a = tracker.last  # the association result of frame t (rolo.tracking.trackers.Rolo)
                    tracker.maps.clear()  # the heatmap model's per-frame maps: not kept, memory stays flat
                    yield t, box, a.box, float(a.conf), bool(a.lost)
                    if (stop is not None and stop.is_set()) or (last is not None and t + 1 >= last) or not stream.has(t + 1):
                        return
            finally:
                boxes.close()

        n = 0
        with atomic_path(out_csv) as tmp_csv, open(tmp_csv, "w") as f:
            if out_format == "csv":
                f.write(",".join(CSV_COLUMNS) + "\n")

            def rows() -> Iterator[tuple[int, np.ndarray, np.ndarray, float, bool]]:
                nonlocal n
                for rec in records():
                    t, box, _, c, lost = rec
                    x, y, w, h = xyxy_to_otb(box)
                    if not np.isfinite([x, y, w, h]).all():
                        raise RuntimeError(f"frame {t + 1}: non-finite box {box}")
                    if out_format == "csv":
                        f.write(f"{t + 1},{x:.2f},{y:.2f},{w:.2f},{h:.2f},{c:.4f},{int(lost)}\n")
                    else:  # OTB result file, as the pipeline's track files
                        f.write(f"{x:.2f},{y:.2f},{w:.2f},{h:.2f}\n")
                    n += 1
                    report(n)
                    yield rec

            if out_video is not None:
                from rolo.figures.drawing import write_video

                def annotated():
                    for t, box, yolo, c, lost in rows():
                        yield annotate(stream.image(t), t + 1, box, None if (lost or t == first) else yolo, c, lost,
                                       t == first)

                write_video(out_video, annotated(), fps or src.fps or VIDEO_FPS)
            else:
                for _ in rows():
                    pass
        seconds = time.perf_counter() - t0
        report(n, final=True)
    if stop is not None and stop.is_set():
        ended = "stopped"
    elif last is not None and n >= last - first:
        ended = "--end"
    else:
        ended = "end of stream" if src.live else "end of source"
    return TrackSummary(n, seconds, first, str(out_csv), None if out_video is None else str(out_video), src.kind, ended)


def read_track_csv(path) -> dict[str, np.ndarray]:
    """A ``rolo track`` CSV -> ``{"frame", "xyxy" (0-based), "otb", "conf", "lost"}`` arrays."""
    import pandas as pd

    df = pd.read_csv(path)
    otb = df[["x", "y", "w", "h"]].to_numpy(np.float64)
    return {"frame": df.frame.to_numpy(), "otb": otb, "xyxy": otb_to_xyxy(otb), "conf": df.conf.to_numpy(),
            "lost": df.lost.to_numpy().astype(bool)}


# --- pipeline stage --------------------------------------------------------------------------------


def track_demo_choice(choice: dict | None, experiments: dict) -> tuple[str, str]:
    """The workflow's ``track_demo`` target: ``(experiment, video)`` from the config's optional
    ``track_demo: {experiment, video}``; default the first experiment and its first test video."""
    from rolo.data.splits import test_videos

    choice = choice or {}
    exp = choice.get("experiment", next(iter(experiments)))
    if exp not in experiments:
        raise RoloInputError(f"track_demo.experiment: {exp!r} is not one of the experiments {sorted(experiments)}")
    videos = test_videos(experiments[exp])
    video = choice.get("video", videos[0])
    if video not in videos:
        raise RoloInputError(f"track_demo.video: {video!r} is not a test video of {exp} {videos}")
    return exp, video


def read_video_frames(path) -> Iterator[np.ndarray]:
    """Decode an MP4 frame by frame (OpenCV) -> BGR images."""
    cap = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, im = cap.read()
            if not ok or im is None:
                return
            yield im
    finally:
        cap.release()


def demo_job(video: str, splits_json, img_dir, model_path, detector, extraction: dict, out_csv, out_mp4,
             out_png=None) -> TrackSummary:
    """Pipeline stage: ``rolo track`` over one test video's test segment, started from the split's
    start box, with the experiment's model and extraction settings -> CSV and annotated MP4, read back
    frame by frame (its middle frame -> ``out_png``)."""
    from rolo.data.splits import read_splits
    from rolo.detection.extraction import ExtractionParams

    split = read_splits(splits_json)[video]
    if split.test is None:
        raise RoloInputError(f"{splits_json}: video {video} has no test segment")
    a, b = split.test
    summary = track_source(
        img_dir, np.asarray(split.start_box, np.float64), model_path, out_csv, detector=detector, out_video=out_mp4,
        start=a + 1, end=b, extraction=ExtractionParams.from_config(extraction), progress=True,
    )
    print(f"{video}: {summary.frames} frames ({a + 1}..{b}) in {summary.seconds:.1f} s: {summary.fps:.1f} frames/s",
          file=sys.stderr)
    n, middle = 0, None
    for im in read_video_frames(out_mp4):
        if n == summary.frames // 2:
            middle = im
        n += 1
    if n != summary.frames or middle is None:
        raise RuntimeError(f"{out_mp4}: {n} frames decoded, {summary.frames} written")
    if out_png is not None:
        with atomic_path(out_png) as tmp:
            if not cv2.imwrite(str(tmp), middle, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
                raise RuntimeError(f"{out_png}: cannot write")
    return summary
