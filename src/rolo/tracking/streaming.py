"""Streaming frames to the detector: a video file, an image folder, a glob of images, a webcam or a
stream URL, decoded in a background thread, letterboxed, and run through the detector in the
pipeline's batches, so that ``rolo track`` gets the pipeline's features and detections bit for bit
with memory that does not grow with the clip.

Source kinds (:func:`source_kind`, :func:`open_source`):

* ``folder``, ``video`` and ``glob`` are files on disk (:class:`FrameSource`). A glob is expanded by
  Ultralytics' ``LoadImagesAndVideos`` (its ``*``/``**`` rules and image formats), then taken in
  natural path order and decoded by the pipeline's reader, like a folder.
* ``webcam`` (an index such as ``0``) and ``stream`` (``rtsp://``, ``rtmp://``, ``tcp://``,
  ``http(s)://``) are live (:class:`LiveSource`): read through Ultralytics' ``LoadStreams`` (OpenCV's
  FFmpeg or camera backend in a thread), every frame in order, with no known frame count; they end
  when the stream ends or when asked to stop (:func:`stop_on_signals`).

Used by :mod:`rolo.tracking.live` (``rolo track``); see there for the guarantees.
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import re
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from rolo.data.sequences import IMAGE_SUFFIXES, read_image
from rolo.errors import RoloInputError


def one_line(text: object) -> str:
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

SourceKind = Literal["folder", "video", "glob", "webcam", "stream"]
LIVE_KINDS: tuple[SourceKind, ...] = ("webcam", "stream")
"""Kinds with no known end: read once, frame by frame, until the stream ends or is stopped."""

STREAM_SCHEMES = ("rtsp://", "rtmp://", "tcp://", "http://", "https://")
"""URL schemes read as streams (Ultralytics' ``check_source`` list; ``http(s)`` URLs of a media file are
streamed by FFmpeg as well, not downloaded)."""


def source_kind(source: str | Path) -> SourceKind:
    """What ``rolo track``'s SOURCE names: an existing folder or file first (a folder called ``0`` is a
    folder), then a stream URL, a webcam index (digits only), a glob (contains ``*``)."""
    text = str(source)
    path = Path(text)
    if path.is_dir():
        return "folder"
    if path.is_file():
        return "video"
    if text.lower().startswith(STREAM_SCHEMES):
        return "stream"
    if re.fullmatch(r"[0-9]+", text):
        return "webcam"
    if "*" in text:
        return "glob"
    raise RoloInputError(
        f"{text}: no such video file or image folder, and not a glob (with '*'), a webcam index (0, 1, ...) or "
        f"a stream URL ({', '.join(STREAM_SCHEMES)})"
    )


def _natural_key(path: Path):
    return [int(s) if s.isdigit() else s.lower() for s in re.split(r"(\d+)", path.name)]


def _natural_path_key(path: Path):
    return [[int(s) if s.isdigit() else s.lower() for s in re.split(r"(\d+)", part)] for part in path.parts]


def list_images(folder: str | Path) -> list[Path]:
    """Image files of a folder in natural order (``2.jpg`` before ``10.jpg``; OTB's ``0001.jpg`` ...)."""
    folder = Path(folder)
    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    if not files:
        raise RoloInputError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return sorted(files, key=_natural_key)


def glob_images(pattern: str) -> list[Path]:
    """The images a glob matches, expanded by Ultralytics' ``LoadImagesAndVideos`` (``*``, recursive
    ``**``, relative to the current folder), in natural path order (``f2.jpg`` before ``f10.jpg``;
    folder by folder). A glob that matches nothing, a video or an image format the pipeline's reader
    does not take is an error naming it."""
    from ultralytics.data.loaders import LoadImagesAndVideos

    try:
        with quiet_native_stderr():
            loader = LoadImagesAndVideos(pattern)
    except FileNotFoundError as e:
        if "No images or videos found" in str(e):
            raise RoloInputError(f"{pattern}: the glob matches no images ({', '.join(IMAGE_SUFFIXES)})") from None
        # it matched a video Ultralytics cannot open ("Failed to open video ...")
        raise RoloInputError(f"{pattern}: the glob matches a video ({one_line(e)}); a glob must match images only") from None
    loader.close()
    videos = [Path(f) for f, is_video in zip(loader.files, loader.video_flag) if is_video]
    if videos:
        raise RoloInputError(
            f"{pattern}: the glob matches {len(videos)} video file(s) ({videos[0].name}, ...); a glob must match "
            "images only (give one video file itself as SOURCE)"
        )
    files = [Path(f) for f in loader.files]
    other = [f for f in files if f.suffix.lower() not in IMAGE_SUFFIXES]
    if other:
        raise RoloInputError(
            f"{other[0]}: matched by the glob {pattern}, but rolo track reads {', '.join(IMAGE_SUFFIXES)} images; "
            "narrow the glob (e.g. '*.jpg')"
        )
    return sorted(files, key=_natural_path_key)


class FrameSource:
    """A video file OpenCV can read, a folder of images or the images a glob matches: BGR uint8 frames
    in order, streamed.

    Opening reads the first frame (an unreadable source fails here, before any model is loaded):
    ``size`` is its ``(width, height)``; ``count`` the number of frames (a video's container
    estimate, None when unknown); ``fps`` the video's frame rate (None for images)."""

    live = False

    def __init__(self, path: str | Path, kind: SourceKind | None = None):
        self.kind: SourceKind = kind or source_kind(path)
        self.label = str(path)
        self.path = Path(path)
        self.files: list[Path] | None = None
        self.fps: float | None = None
        if self.kind == "glob":
            self.files = glob_images(str(path))
            self.count: int | None = len(self.files)
        elif self.kind == "folder":
            self.files = list_images(self.path)
            self.count = len(self.files)
        elif self.kind == "video":
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
            raise ValueError(f"{path}: a {self.kind} is a live source (LiveSource), not a FrameSource")
        with quiet_native_stderr():
            frames = self.frames()
            first = next(frames, None)
            frames.close()
        if first is None:
            raise RoloInputError(f"{self.path}: no frames could be read")
        h, w = first[1].shape[:2]
        self.size = (int(w), int(h))

    def open(self) -> None:
        """Nothing to do: a file source is opened (and its first frame read) on construction."""

    def close(self) -> None:
        """Nothing to release: each :meth:`frames` iterator holds its own capture."""

    def frames(self, skip: int = 0) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, BGR image)`` from frame ``skip`` (0-based) on."""
        if self.files is not None:
            for i in range(skip, len(self.files)):
                yield i, read_image(self.files[i])
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


@functools.cache
def _every_frame_streams() -> type:
    """Ultralytics' ``LoadStreams`` with its reader thread changed in two ways, for tracking: every frame
    is kept, in order (``buffer=True``: up to 30 frames wait, then the thread waits), and a failed read
    ends the stream (``close`` also leaves a capture alone while its thread is still reading). Ultralytics' own thread instead puts a black frame in the buffer and reopens the
    stream (for an IP camera's dropouts): a tracker would be fed an invented frame, and a finite stream
    would restart from its beginning."""
    import time

    from ultralytics.data.loaders import LoadStreams

    class EveryFrameStreams(LoadStreams):
        def update(self, i: int, cap: cv2.VideoCapture, stream: str | int) -> None:
            while self.running and cap.isOpened():
                if len(self.imgs[i]) >= 30:  # Ultralytics' buffer size: wait for the consumer
                    time.sleep(0.005)
                    continue
                if not cap.grab():
                    return
                ok, im = cap.retrieve()
                if not ok or im is None:
                    return
                self.imgs[i].append(im)

        def close(self) -> None:
            """Stop the reader threads; release a capture only once its thread has finished (a thread still
            blocked in a read, e.g. a stalled stream within FFmpeg's timeout, keeps its capture: releasing
            it under the read could crash; the thread is a daemon)."""
            self.running = False
            for thread, cap in zip(self.threads, self.caps):
                if thread is not None and thread.is_alive():
                    thread.join(timeout=5)
                if cap is not None and (thread is None or not thread.is_alive()):
                    cap.release()

    return EveryFrameStreams


class LiveSource:
    """A webcam (``"0"``) or a stream URL, read through Ultralytics' ``LoadStreams`` (OpenCV in a
    thread): every frame, in order, until the stream ends. Not connected until :meth:`open`, which
    reads the first frame (``size``); ``count`` is None (unknown); ``fps`` the stream's rate as OpenCV
    reports it (Ultralytics' 30 when it reports none). Read once: :meth:`frames` cannot restart."""

    live = True
    count: int | None = None

    def __init__(self, spec: str | int, kind: SourceKind | None = None):
        self.spec = str(spec)
        self.kind: SourceKind = kind or source_kind(self.spec)
        if self.kind not in LIVE_KINDS:
            raise ValueError(f"{spec}: a {self.kind} is not a live source")
        self.label = f"webcam {self.spec}" if self.kind == "webcam" else self.spec
        self.path = self.label  # for messages, as FrameSource.path
        self.size: tuple[int, int] | None = None
        self.fps: float | None = None
        self._loader = None
        self._read = False
        host = (re.match(r"[a-z]+://([^/:?#]+)", self.spec.lower()) or [None, ""])[1]
        if host in {"www.youtube.com", "youtube.com", "youtu.be", "m.youtube.com"}:
            raise RoloInputError(f"{self.spec}: a YouTube page is not a video stream; download the video and give the file")

    def open(self) -> None:
        """Connect and read the first frame; an error naming the source when that fails."""
        if self._loader is not None:
            return
        import torch

        benchmark = torch.backends.cudnn.benchmark  # LoadStreams turns cuDNN's autotuner on for the process
        try:
            with quiet_native_stderr():
                self._loader = _every_frame_streams()(self.spec, buffer=True)
        except Exception as e:  # ConnectionError (cannot open / no first frame), OpenCV errors
            what = "open the camera" if self.kind == "webcam" else "connect to it or read a frame from it"
            raise RoloInputError(f"{self.label}: cannot {what} (OpenCV; {type(e).__name__})") from None
        finally:
            torch.backends.cudnn.benchmark = benchmark
        h, w = self._loader.shape[0][:2]
        self.size = (int(w), int(h))
        self.fps = float(self._loader.fps[0])

    def frames(self, skip: int = 0) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, BGR image)`` of every frame received, from frame ``skip`` (0-based) on; ends with the stream."""
        if self._loader is None:
            raise RuntimeError(f"{self.label}: not opened")
        if self._read:
            raise RuntimeError(f"{self.label}: a live source is read once")
        self._read = True
        for i, (_, images, _) in enumerate(self._loader):
            if i >= skip:
                yield i, images[0]

    def close(self) -> None:
        """Stop the reader thread and release the capture (safe to call twice)."""
        if self._loader is not None:
            self._loader.close()


def open_source(source: str | Path) -> FrameSource | LiveSource:
    """SOURCE -> a :class:`FrameSource` (folder, video, glob: opened, first frame read) or a
    :class:`LiveSource` (webcam, stream: not yet connected; call :meth:`LiveSource.open`)."""
    kind = source_kind(source)
    if kind in LIVE_KINDS:
        return LiveSource(str(source), kind)
    return FrameSource(source, kind)


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """While inside: the first SIGINT (Ctrl-C) or SIGTERM sets ``stop`` (the caller finishes the frame
    and writes its outputs); a second raises ``KeyboardInterrupt`` (abort). Only in the main thread
    (elsewhere signals cannot be handled; nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        os.write(2, b"\nstopping after this frame; the outputs are written (Ctrl-C again to abort without them)\n")

    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


class ReadAhead:
    """Iterate ``items`` in a background thread through a queue of at most ``size`` items (decoding
    overlaps the detector; OpenCV and torch release the GIL). Errors are re-raised in the reader.
    With ``until`` given, iteration also ends once that event is set (checked while waiting for an item)."""

    _END = object()

    def __init__(self, items: Iterable, size: int, until: threading.Event | None = None):
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, size))
        self._until = until
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
            if self._until is None:
                ok, item = self._queue.get()
            else:
                try:
                    ok, item = self._queue.get(timeout=0.1)
                except queue.Empty:
                    if self._until.is_set():
                        return
                    continue
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
    """``features``, ``detections`` or a neck level of a :class:`StreamedVideo` as a (forward-only) sequence."""

    def __init__(self, video: "StreamedVideo", field: str):
        self.video, self.field = video, field

    def __getitem__(self, t: int) -> np.ndarray:
        return self.video.get(t)[self.field]


class StreamedVideo:
    """A source's frames with the detector's outputs, computed batch by batch when first asked for.

    ``frames`` is a :class:`~rolo.tracking.trackers.VideoFrames` whose ``features``/``detections`` come from
    here, so :func:`~rolo.tracking.trackers.iter_track` runs unchanged. Access is forward only: asking for a
    frame past the current batch runs the detector on the next batch (``[k * batch, (k + 1) * batch)``,
    aligned to the source's first frame as in the pipeline) and drops the previous one. With ``stop``
    set, no more frames are read (a batch being gathered is run as it is).
    """

    def __init__(self, source: FrameSource | LiveSource, extractor, batch: int, first: int = 0,
                 stop: threading.Event | None = None):
        from rolo.detection.extraction import letterbox_frame
        from rolo.tracking.trackers import VideoFrames

        if batch < 1:
            raise RoloInputError(f"--batch must be at least 1, not {batch}")
        self.source, self.extractor, self.batch = source, extractor, int(batch)
        lb = extractor.letterbox()
        skip = first // self.batch * self.batch
        self._reader = ReadAhead(((i, im, letterbox_frame(im, lb)) for i, im in source.frames(skip)), 2 * self.batch,
                                 until=stop)
        self._items = iter(self._reader)
        self._lo = self._hi = skip
        self._batch: dict[str, list | np.ndarray] = {}
        self.exhausted = False
        self.letterboxed_hw: tuple[int, int] | None = None
        self.feature_dim: int | None = None
        neck = None
        if getattr(extractor, "neck", None) is not None:
            neck = [_Column(self, f"neck{i}") for i in range(len(extractor.neck.spec.levels))]
        self.neck_meta = None  # set with the first batch when the extractor keeps neck maps
        self.frames = VideoFrames(features=_Column(self, "features"), detections=_Column(self, "detections"), neck=neck)

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
        if getattr(self.extractor, "neck", None) is not None:
            self._batch |= {f"neck{i}": m for i, m in enumerate(self.extractor.neck.maps)}
            if self.neck_meta is None:
                import dataclasses

                from rolo.detection.neck import NeckMeta

                self.neck_meta = NeckMeta.of(self.extractor.neck, self.letterboxed_hw, (h, w))
                self.frames = dataclasses.replace(self.frames, neck_meta=self.neck_meta)

    def close(self) -> None:
        self.source.close()  # first: a live source's reader may be waiting for the stream
        self._reader.close()


def load_extractor(detector: str, params):
    from rolo.detection.extraction import FeatureExtractor

    try:
        return FeatureExtractor(detector, params)
    except RoloInputError:
        raise
    except Exception as e:
        raise RoloInputError(f"{detector}: cannot load it as an Ultralytics detector ({type(e).__name__}: {one_line(e)[:200]})") from None
