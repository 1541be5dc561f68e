"""Streaming frames to the detector: a video file or an image folder decoded in a background
thread, letterboxed, and run through the detector in the pipeline's batches, so that ``rolo track``
gets the pipeline's features and detections bit for bit with memory that does not grow with the clip.

Used by :mod:`rolo.tracking.live` (``rolo track``); see there for the guarantees.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

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
    aligned to the source's first frame as in the pipeline) and drops the previous one.
    """

    def __init__(self, source: FrameSource, extractor, batch: int, first: int = 0):
        from rolo.detection.extraction import letterbox_frame
        from rolo.tracking.trackers import VideoFrames

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

                from rolo.detection.neck import Letterbox, NeckMeta

                self.neck_meta = NeckMeta(
                    spec=self.extractor.neck.spec, strides=self.extractor.neck.strides,
                    channels=tuple(int(m.shape[1]) for m in self.extractor.neck.maps),
                    letterbox=Letterbox.of(self.letterboxed_hw, (h, w)), letterboxed_hw=self.letterboxed_hw, image_wh=(w, h),
                )
                self.frames = dataclasses.replace(self.frames, neck_meta=self.neck_meta)

    def close(self) -> None:
        self._reader.close()



def load_extractor(detector: str, params):
    from rolo.detection.extraction import FeatureExtractor

    try:
        return FeatureExtractor(detector, params)
    except RoloInputError:
        raise
    except Exception as e:
        raise RoloInputError(f"{detector}: cannot load it as an Ultralytics detector ({type(e).__name__}: {one_line(e)[:200]})") from None
