"""``rolo track``: follow one target through a video file or an image folder with a trained model.

One implementation, two entry points: the pipeline's tracking stage (:func:`rolo.tracking.track_job`)
reads cached extraction outputs; here the same :class:`~rolo.features.FeatureExtractor` runs online
and its outputs are handed to the same :func:`~rolo.tracking.make_tracker` /
:func:`~rolo.tracking.iter_track` through the :class:`~rolo.tracking.VideoFrames` interface.

Streaming, so memory does not grow with the clip:

* a background thread decodes (OpenCV) and letterboxes frames into a bounded queue;
* the detector runs on batches of ``batch`` frames, aligned to the source's first frame: the
  pipeline's batch composition (``extraction.batch`` frames per forward pass, from frame 1), so the
  features and detections are bit-identical to the pipeline's on the same frames and threads. A
  batch of 1 differs from a batch of 16 in the last float bits on CPU, which moved a few boxes of
  the demo by 0.01 px in the written tracks. Reading ahead inside the batch leaks nothing: the
  detector is per-frame, and the tracker still gets frame ``t`` only after returning ``t - 1``'s box;
* only the current batch (its images, features, detections) is kept; each frame's CSV row and
  annotated video frame are written as soon as its box is known.

Boxes on the command line and in the CSV are OTB ``x, y, w, h`` with ``x, y`` 1-based (as in
``groundtruth_rect.txt`` and the pipeline's track files); inside, 0-based ``xyxy``.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import cv2
import numpy as np

from rolo.boxes import otb_to_xyxy, xyxy_to_otb
from rolo.data import IMAGE_SUFFIXES, RoloInputError, atomic_path

CSV_COLUMNS = ("frame", "x", "y", "w", "h", "conf", "lost")
"""``frame`` 1-based; ``x, y, w, h`` the ROLO box (OTB, 1-based); ``conf`` the associated detection's
confidence (1 on the start frame, 0 when lost); ``lost`` 1 when the association kept its previous box."""

VIDEO_FPS = 20.0  # output frame rate of an image folder (and of a video reporting none)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence file descriptor 2 (FFmpeg's and OpenCV's own messages, e.g. "moov atom not found" while
    probing a file that is no video): an unreadable source is reported once, by our error."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


# --- frame sources ---------------------------------------------------------------------------------


def _natural_key(path: Path):
    return [int(s) if s.isdigit() else s.lower() for s in re.split(r"(\d+)", path.name)]


def list_images(folder: str | Path) -> list[Path]:
    """Image files of a folder in natural order (``2.jpg`` before ``10.jpg``; OTB's ``0001.jpg`` ...)."""
    folder = Path(folder)
    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    if not files:
        raise RoloInputError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return sorted(files, key=_natural_key)


class FrameSource:
    """A video file OpenCV can read, or a folder of images: BGR uint8 frames in order, streamed.

    Opening reads the first frame (an unreadable source fails here, before any model is loaded):
    ``size`` is its ``(width, height)``; ``count`` the number of frames (a video's container
    estimate, None when unknown); ``fps`` the video's frame rate (None for a folder)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.files: list[Path] | None = None
        self.fps: float | None = None
        if self.path.is_dir():
            self.files = list_images(self.path)
            self.count: int | None = len(self.files)
        elif self.path.is_file():
            with quiet_native_stderr():
                cap = cv2.VideoCapture(str(self.path))
                try:
                    opened = cap.isOpened()
                    if opened:
                        self.count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
                        self.fps = float(cap.get(cv2.CAP_PROP_FPS)) or None
                finally:
                    cap.release()
            if not opened:
                raise RoloInputError(f"{self.path}: cannot read it as a video (OpenCV)")
        else:
            raise RoloInputError(f"{self.path}: no such video file or image folder")
        with quiet_native_stderr():
            frames = self.frames()
            first = next(frames, None)
            frames.close()
        if first is None:
            raise RoloInputError(f"{self.path}: no frames could be read")
        h, w = first[1].shape[:2]
        self.size = (int(w), int(h))

    def frames(self, skip: int = 0) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, BGR image)`` from frame ``skip`` (0-based) on."""
        if self.files is not None:
            for i in range(skip, len(self.files)):
                im = cv2.imread(str(self.files[i]))
                if im is None:
                    raise RoloInputError(f"{self.files[i]}: cannot decode image")
                yield i, im
            return
        cap = cv2.VideoCapture(str(self.path))
        try:
            for _ in range(skip):
                if not cap.grab():
                    return
            i = skip
            while True:
                ok, im = cap.read()
                if not ok or im is None:
                    return
                yield i, im
                i += 1
        finally:
            cap.release()


class ReadAhead:
    """Iterate ``items`` in a background thread through a queue of at most ``size`` items (decoding
    overlaps the detector; OpenCV and torch release the GIL). Errors are re-raised in the reader."""

    _END = object()

    def __init__(self, items: Iterable, size: int):
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, size))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(items,), daemon=True, name="rolo-read-ahead")
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, items: Iterable) -> None:
        try:
            for item in items:
                if not self._put((True, item)):
                    return
        except BaseException as e:  # handed to the consumer
            self._put((False, e))
            return
        self._put((True, self._END))

    def __iter__(self) -> Iterator:
        while True:
            ok, item = self._queue.get()
            if not ok:
                raise item
            if item is self._END:
                return
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# --- online extraction -----------------------------------------------------------------------------


class _Column:
    """``features`` or ``detections`` of a :class:`StreamedVideo` as a (forward-only) sequence."""

    def __init__(self, video: "StreamedVideo", field: str):
        self.video, self.field = video, field

    def __getitem__(self, t: int) -> np.ndarray:
        return self.video.get(t)[self.field]


class StreamedVideo:
    """A source's frames with the detector's outputs, computed batch by batch when first asked for.

    ``frames`` is a :class:`~rolo.tracking.VideoFrames` whose ``features``/``detections`` come from
    here, so :func:`~rolo.tracking.iter_track` runs unchanged. Access is forward only: asking for a
    frame past the current batch runs the detector on the next batch (``[k * batch, (k + 1) * batch)``,
    aligned to the source's first frame as in the pipeline) and drops the previous one.
    """

    def __init__(self, source: FrameSource, extractor, batch: int, first: int = 0):
        from rolo.features import letterbox_frame
        from rolo.tracking import VideoFrames

        if batch < 1:
            raise RoloInputError(f"--batch must be at least 1, not {batch}")
        self.source, self.extractor, self.batch = source, extractor, int(batch)
        lb = extractor.letterbox()
        skip = first // self.batch * self.batch
        self._reader = ReadAhead(((i, im, letterbox_frame(im, lb)) for i, im in source.frames(skip)), 2 * self.batch)
        self._items = iter(self._reader)
        self._lo = self._hi = skip
        self._batch: dict[str, list | np.ndarray] = {}
        self.exhausted = False
        self.letterboxed_hw: tuple[int, int] | None = None
        self.feature_dim: int | None = None
        self.frames = VideoFrames(features=_Column(self, "features"), detections=_Column(self, "detections"))

    def has(self, t: int) -> bool:
        """Whether the source has frame ``t`` (runs the detector on the batches up to it)."""
        while t >= self._hi and not self.exhausted:
            self._next_batch()
        return self._lo <= t < self._hi

    def get(self, t: int) -> dict:
        """Frame ``t``'s ``image`` (BGR), ``features (C,)`` and ``detections (K, 6)``."""
        if t < self._lo:
            raise RuntimeError(f"frame {t + 1} was already dropped: the stream is read forward only")
        if not self.has(t):
            raise IndexError(f"{self.source.path}: no frame {t + 1} (the source has {self._hi} frames)")
        k = t - self._lo
        return {name: values[k] for name, values in self._batch.items()}

    def image(self, t: int) -> np.ndarray:
        return self.get(t)["image"]

    def _next_batch(self) -> None:
        import torch

        items = list(islice(self._items, self.batch))
        if len(items) < self.batch:
            self.exhausted = True
        if not items:
            return
        index, images, x = zip(*items)
        w, h = self.source.size
        for i, im in zip(index, images):
            if im.shape[:2] != (h, w):
                raise RoloInputError(
                    f"{self.source.path}: frame {i + 1} is {im.shape[1]}x{im.shape[0]}, the first frame {w}x{h}; "
                    "all frames must share one size"
                )
        x = torch.stack(x)
        features, detections = self.extractor(x, (h, w))
        self.letterboxed_hw = tuple(int(v) for v in x.shape[2:])
        self.feature_dim = int(features.shape[1])
        self._lo, self._hi = index[0], index[-1] + 1
        self._batch = {"image": list(images), "features": features, "detections": detections}

    def close(self) -> None:
        self._reader.close()


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
    """:func:`rolo.models.load_checkpoint` with every failure as a one-line :class:`RoloInputError`."""
    from rolo.models import load_checkpoint

    path = Path(path)
    if not path.is_file():
        raise RoloInputError(f"{path}: checkpoint not found")
    try:
        model, ckpt = load_checkpoint(path)
    except RoloInputError:
        raise
    except ValueError as e:  # e.g. a model kind this version does not support
        raise RoloInputError(_one_line(e) if str(path) in str(e) else f"{path}: {_one_line(e)}") from None
    except Exception as e:
        raise RoloInputError(f"{path}: not a rolo checkpoint ({type(e).__name__}: {_one_line(e)[:200]})") from None
    for key in ("detector", "association"):
        if not isinstance(ckpt.get(key), dict):
            raise RoloInputError(f"{path}: not a rolo checkpoint (no '{key}' record)")
    return model, ckpt


def rolo_tracker_name(ckpt: dict, model_path) -> str:
    """The pipeline's tracker for the checkpoint's model kind (``rolo`` runs ``coordinate`` models)."""
    from rolo.tracking import ROLO_KINDS

    kind = ckpt.get("model", {}).get("kind", "coordinate")
    for name, k in ROLO_KINDS.items():
        if k == kind:
            return name
    raise RoloInputError(f"{model_path}: model kind {kind!r} has no tracker (known kinds: {', '.join(ROLO_KINDS.values())})")


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


def load_extractor(detector: str, params):
    from rolo.features import FeatureExtractor

    try:
        return FeatureExtractor(detector, params)
    except RoloInputError:
        raise
    except Exception as e:
        raise RoloInputError(f"{detector}: cannot load it as an Ultralytics detector ({type(e).__name__}: {_one_line(e)[:200]})") from None


# --- drawing ---------------------------------------------------------------------------------------

_LABEL_BLUE = (80, 80, 255)  # the YOLO box's blue, lightened to read on black


def annotate(image_bgr: np.ndarray, frame: int, rolo_xyxy: np.ndarray, yolo_xyxy: np.ndarray | None, conf: float,
             lost: bool, start: bool) -> np.ndarray:
    """An RGB frame with the ROLO box (green), the associated YOLO detection (blue, absent when lost
    or on the start frame) and the frame counter."""
    from rolo.plots import BOX_COLOURS_RGB, draw_boxes, label_lines

    img = draw_boxes(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB), {"rolo": rolo_xyxy, "yolo": yolo_xyxy})
    h, w = img.shape[:2]
    if start:
        yolo = ("YOLO: start box", (255, 255, 255))
    elif lost:
        yolo = ("YOLO: lost", (255, 255, 255))
    else:
        yolo = (f"YOLO {conf:.2f}", _LABEL_BLUE)
    lines = [(f"#{frame}", (255, 255, 255)), ("ROLO", BOX_COLOURS_RGB["rolo"]), yolo]
    return label_lines(img, lines, scale=max(0.4, min(w, h) / 600))


# --- the command -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackSummary:
    frames: int
    seconds: float
    first: int  # 0-based index of the start frame
    csv: str
    video: str | None

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


def track_source(
    source: str | Path,
    init: str | np.ndarray,
    model_path: str | Path,
    out_csv: str | Path,
    detector: str | None = None,
    out_video: str | Path | None = None,
    start: int = 1,
    end: int | None = None,
    batch: int = 16,
    conf: float = 0.05,
    iou: float = 0.7,
    max_det: int = 10,
    agnostic: bool = True,
    device: str | None = None,
    fps: float | None = None,
    progress: bool = True,
    cpu_batch: int | None = None,
    channels_last: bool = False,
) -> TrackSummary:
    """Track from frame ``start`` (1-based) to ``end`` (inclusive; default: the source's last frame),
    starting from ``init`` (OTB ``x, y, w, h``, 1-based, or its ``"x,y,w,h"`` text). Writes ``out_csv``
    (:data:`CSV_COLUMNS`) and, if given, ``out_video`` (H.264 MP4 with the ROLO box, the YOLO box and
    the frame counter), both atomically. The extraction settings default to the pipeline's
    (``extraction.*`` of the demo config); the detector defaults to the one the checkpoint records."""
    from rolo.association import AssociationParams
    from rolo.features import ExtractionParams, check_same_detector
    from rolo.tracking import iter_track, make_tracker

    otb_init = parse_box(init) if isinstance(init, str) else np.asarray(init, np.float64).reshape(4)
    if start < 1:
        raise RoloInputError(f"--start must be a frame number >= 1, not {start}")
    if end is not None and end < start:
        raise RoloInputError(f"--end {end} is before --start {start}")
    if out_video is not None and Path(out_video).suffix.lower() != ".mp4":
        raise RoloInputError(f"--video {out_video}: the annotated video is an MP4; name it *.mp4")
    src = FrameSource(source)
    init_xyxy = check_init(otb_init, src.size, source)
    model, ckpt = load_model(model_path)
    recorded = dict(ckpt["detector"])
    replaced = detector is not None and str(detector) != str(recorded.get("detector"))
    if detector is None:
        detector = resolve_detector(str(recorded.get("detector")), Path(model_path))
    imgsz = recorded.get("imgsz")
    if not isinstance(imgsz, int):
        raise RoloInputError(f"{model_path}: the checkpoint records no detector image size (imgsz)")
    params = ExtractionParams(imgsz=imgsz, batch=batch, conf=conf, iou=iou, max_det=max_det, agnostic=agnostic,
                              workers=0, device=device, cpu_batch=cpu_batch, channels_last=channels_last)
    first = start - 1
    last = None if end is None else end  # exclusive 0-based end
    total = None
    if src.count:
        total = max(0, (min(src.count, last) if last else src.count) - first)
    with load_extractor(detector, params) as ex:
        report = _Progress(total) if progress else (lambda done, final=False: None)
        t0 = time.perf_counter()  # the rate counts decoding, detector, tracker, drawing, encoding; not model loading
        # the pipeline's batches: extraction.cpu_batch on CPU when set, else batch
        stream = StreamedVideo(src, ex, params.forward_batch(ex.device), first)
        try:
            if not stream.has(first):
                count = f" ({src.count})" if src.count else ""
                raise RoloInputError(f"{source}: --start {start} is past the source's last frame{count}")
            meta = ex.meta(src.size, stream.letterboxed_hw, 0, stream.feature_dim)
            check_same_detector({**recorded, "detector": meta["detector"]}, meta, str(detector))
            if progress and replaced:
                print(f"note: detector {detector} replaces the checkpoint's {recorded.get('detector')}", file=sys.stderr)
            assoc_params = AssociationParams(**ckpt["association"])
            try:
                tracker = make_tracker(rolo_tracker_name(ckpt, model_path), assoc_params, src.size, model)
            except ValueError as e:
                raise RoloInputError(f"{model_path}: {_one_line(e)}") from None

            def records() -> Iterator[tuple[int, np.ndarray, np.ndarray, float, bool]]:
                boxes = iter_track(tracker, stream.frames, init_xyxy, first, last if last is not None else sys.maxsize)
                try:
                    for t, box in boxes:
                        a = tracker.last  # the association result of frame t (rolo.tracking.Rolo)
                        tracker.maps.clear()  # the heatmap model's per-frame maps: not kept, memory stays flat
                        yield t, box, a.box, float(a.conf), bool(a.lost)
                        if (last is not None and t + 1 >= last) or not stream.has(t + 1):
                            return
                finally:
                    boxes.close()

            n = 0
            with atomic_path(out_csv) as tmp_csv, open(tmp_csv, "w") as f:
                f.write(",".join(CSV_COLUMNS) + "\n")

                def rows() -> Iterator[tuple[int, np.ndarray, np.ndarray, float, bool]]:
                    nonlocal n
                    for rec in records():
                        t, box, _, c, lost = rec
                        x, y, w, h = xyxy_to_otb(box)
                        if not np.isfinite([x, y, w, h]).all():
                            raise RuntimeError(f"frame {t + 1}: non-finite box {box}")
                        f.write(f"{t + 1},{x:.2f},{y:.2f},{w:.2f},{h:.2f},{c:.4f},{int(lost)}\n")
                        n += 1
                        report(n)
                        yield rec

                if out_video is not None:
                    from rolo.plots import write_video

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
        finally:
            stream.close()
    return TrackSummary(n, seconds, first, str(out_csv), None if out_video is None else str(out_video))


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
    from rolo.experiments import test_videos

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
    from rolo.experiments import read_splits

    split = read_splits(splits_json)[video]
    if split.test is None:
        raise RoloInputError(f"{splits_json}: video {video} has no test segment")
    a, b = split.test
    summary = track_source(
        img_dir, np.asarray(split.start_box, np.float64), model_path, out_csv, detector=detector, out_video=out_mp4,
        start=a + 1, end=b, batch=int(extraction.get("batch", 16)), conf=float(extraction.get("conf", 0.05)),
        iou=float(extraction.get("iou", 0.7)), max_det=int(extraction.get("max_det", 10)),
        agnostic=bool(extraction.get("agnostic", True)), device=extraction.get("device"), progress=True,
        cpu_batch=extraction.get("cpu_batch"), channels_last=bool(extraction.get("channels_last", False)),
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
