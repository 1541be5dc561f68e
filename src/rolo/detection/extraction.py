"""Per-video feature extraction: one forward pass per batch gives detections and deep features.

Frames are decoded and letterboxed (Ultralytics' ``LetterBox``) by a ``torch.utils.data.DataLoader``: in
background worker processes on CUDA (``extraction.workers``), in the main process between forward passes
on CPU (``extraction.cpu_workers``, default 0: the forward pass already uses every core). The batch goes
once through the detection model; a forward hook on the last backbone layer captures the feature map,
which is global-average-pooled (512-d for YOLOv8s);
Ultralytics' ``non_max_suppression`` and ``scale_boxes`` turn the head's output into boxes in the
original image's pixels.

Outputs (see :func:`extract_video`):

``features``   ``(N, C)`` float32 (``extraction.features_dtype: float16``: float16, rounded in
               :class:`FeatureExtractor`, which ``rolo track`` shares), pooled backbone features per frame.
``detections`` ``(N, K, 6)`` float32, per frame the top ``K`` detections after NMS, most confident
               first: 0-based ``xyxy`` pixels of the original image, confidence, class; rows past
               the frame's detections are NaN.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rolo.detection.settings import ExtractionParams  # noqa: F401  (its home is light: the CLI imports it)
from rolo.errors import RoloInputError
from rolo.data.sequences import read_image
from rolo.detection.detector import feature_layer_index, load_yolo

if TYPE_CHECKING:
    import torch

    from rolo.detection.neck import NeckSpec


def letterbox_frame(im: np.ndarray, letterbox) -> "torch.Tensor":
    """A BGR uint8 image -> the letterboxed uint8 CHW RGB tensor the detector reads."""
    import torch

    lb = letterbox(image=im)
    return torch.from_numpy(np.ascontiguousarray(lb[..., ::-1].transpose(2, 0, 1)))


def make_letterbox(imgsz: int, stride: int):
    """Ultralytics' ``LetterBox`` as used for every frame (all frames of a video share one shape, so
    the minimal stride-aligned rectangle, ``auto=True``, is safe)."""
    from ultralytics.data.augment import LetterBox

    return LetterBox(new_shape=(imgsz, imgsz), auto=True, stride=stride)


class _Frames:
    """Decode and letterbox frames -> (uint8 CHW RGB tensor, original (h, w)).

    A map-style dataset for ``torch.utils.data.DataLoader`` (torch is imported lazily: the light
    jobs that only read extraction outputs never load it)."""

    def __init__(self, paths: list[Path], imgsz: int, stride: int):
        self.paths = paths
        self.letterbox = make_letterbox(imgsz, stride)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        im = read_image(self.paths[i])
        import torch

        return letterbox_frame(im, self.letterbox), torch.tensor(im.shape[:2])


def pick_device(device: str | None):
    import torch

    if device:
        return torch.device(device)
    return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")


class FeatureExtractor:
    """A loaded detector with a forward hook on its feature layer: one forward pass per batch of
    letterboxed frames gives both outputs (the pipeline's extraction and ``rolo track`` share it).

    ``extractor(x, orig_hw)``: ``x (B, 3, h, w)`` uint8 letterboxed frames (:func:`letterbox_frame`),
    ``orig_hw`` the original frames' ``(height, width)`` -> ``features (B, C)`` float32 and
    ``detections (B, K, 6)`` float32 (0-based xyxy pixels of the original frame, conf, class; NaN
    rows past the frame's detections). With ``params.neck`` set, ``extractor.neck.maps`` holds the
    same pass's stored neck maps, a list over levels of ``(B, C_l, H_l, W_l)``.
    """

    def __init__(self, detector: str | Path, params: ExtractionParams):
        import torch

        from rolo.detection.backends import EXPORTED, check_backend

        from rolo.detection.settings import check_features_dtype

        self.params = params
        self.detector = str(detector)
        self.backend = check_backend(params.backend)
        check_features_dtype(params.features_dtype)
        self.runner = None  # an exported backend (rolo.detection.backends), else None: eager PyTorch
        if self.backend in EXPORTED:
            from rolo.detection.backends import require

            require(self.backend)  # a missing package: one line, before the model is loaded
            self.device = torch.device("cpu")
            if params.device and torch.device(params.device).type != "cpu":
                raise RoloInputError(f"extraction.backend: {self.backend} runs on the CPU; on {params.device} use torch or torch_fused")
        else:
            self.device = pick_device(params.device)
        self.model = load_yolo(detector).model.to(self.device).eval()
        self.layer = feature_layer_index(self.model)
        self.stride = int(max(self.model.stride))
        if self.backend != "torch":
            self.model.fuse(verbose=False)  # Ultralytics' own Conv+BN folding (as its predict and exporter do)
        self.half = self.device.type == "cuda"
        if self.half:
            self.model.half()
        if params.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self._captured: list[torch.Tensor] = []
        self._hook = None
        self.neck = None  # the Detect head's inputs of the latest batch: ``neck.maps`` (rolo.detection.neck)
        if self.backend in EXPORTED:
            from rolo.detection.backends import ExportedNeck, ExportedRunner

            levels = tuple(params.neck.levels) if params.neck is not None else ()
            self.runner = ExportedRunner(self.backend, self.model, self.detector, self.layer, levels)
            if params.neck is not None:
                self.neck = ExportedNeck(self.model, params.neck)
            return
        self._hook = self.model.model[self.layer].register_forward_hook(
            lambda m, i, o: self._captured.append(o.mean(dim=(2, 3)))
        )
        if params.neck is not None:
            from rolo.detection.neck import NeckHook

            self.neck = NeckHook(self.model, params.neck)

    def letterbox(self):
        return make_letterbox(self.params.imgsz, self.stride)

    @contextlib.contextmanager
    def host_threads(self):
        """On an exported backend, torch's own work around the forward pass (normalising, batching,
        NMS, rescaling) runs on one thread inside this block. The exported runtime keeps the job's
        threads, and its idle workers spin for a while after each pass: torch's thread pool, woken in
        between, waited for those cores (10-25 ms a frame for YOLOv8s at 640 px on 2 cores,
        BENCHMARKS.md). These ops give the same results on any number of threads. Eager PyTorch: no change."""
        import torch

        before = torch.get_num_threads()
        if self.runner is not None and before > 1:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if torch.get_num_threads() != before:
                torch.set_num_threads(before)

    def prepare(self, first_frame: Path, batch: int) -> None:
        """An exported backend: make (or read) its export, load it for ``first_frame``'s letterboxed size
        and ``batch`` and run it once, now, outside the timed loop (as eager PyTorch's model loading is)."""
        if self.runner is not None:
            x = letterbox_frame(read_image(first_frame), self.letterbox())
            self.runner.prepare((batch, *x.shape))

    def close(self) -> None:
        if self._hook is not None:
            self._hook.remove()
        if self.runner is not None:
            self.runner.close()
        if self.neck is not None:
            self.neck.remove()

    def __enter__(self) -> "FeatureExtractor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __call__(self, x, orig_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        import torch
        from ultralytics.utils.nms import non_max_suppression
        from ultralytics.utils.ops import scale_boxes

        p = self.params
        dets = np.full((len(x), p.max_det, 6), np.nan, np.float32)
        with torch.inference_mode(), self.host_threads():
            x = x.to(self.device, non_blocking=True)
            x = (x.half() if self.half else x.float()) / 255.0
            if p.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            if self.runner is not None:  # an exported backend: the same three outputs of one pass
                preds, pooled, neck = self.runner(x)
                feats = pooled.float().numpy()
                if self.neck is not None:
                    self.neck.set(neck)
            else:
                self._captured.clear()
                preds = self.model(x)
                feats = self._captured[0].float().cpu().numpy()
            # no time limit: Ultralytics' default (2 s + 0.05 s a frame) silently drops the detections of a
            # batch's later frames when the machine is busy, so outputs would depend on the load
            if p.features_dtype != "float32":  # rounded here, where the pipeline and rolo track both pass
                feats = feats.astype(p.features_dtype)
            out = non_max_suppression(preds, p.conf, p.iou, agnostic=p.agnostic, max_det=p.max_det,
                                      nc=len(self.model.names), max_time_img=float("inf"))
            for j, d in enumerate(out):
                if len(d):
                    d = d[:, :6].float()
                    d[:, :4] = scale_boxes(x.shape[2:], d[:, :4], orig_hw)
                    dets[j, : len(d)] = d.cpu().numpy()
        return feats, dets

    def meta(self, image_wh: tuple[int, int], letterboxed_hw: tuple[int, int], frames: int, feature_dim: int) -> dict:
        """The extraction record saved beside the arrays (``meta.json``)."""
        p = self.params
        meta = {
            "detector": self.detector,
            "feature_layer": self.layer,
            "feature_module": type(self.model.model[self.layer]).__name__,
            "feature_dim": int(feature_dim),
            "imgsz": p.imgsz,
            "letterboxed_hw": list(letterboxed_hw),
            "image_wh": list(image_wh),
            "frames": frames,
            "conf": p.conf,
            "iou": p.iou,
            "max_det": p.max_det,
            "agnostic": p.agnostic,
            "class_names": {int(k): str(v) for k, v in self.model.names.items()},
            "device": str(self.device),
            "backend": self.backend,
        }
        if p.features_dtype != "float32":  # recorded only when not float32: float32 records are as before
            meta["features_dtype"] = p.features_dtype
        if p.channels_last:  # recorded only when set, likewise
            meta["channels_last"] = True
        return meta


class Progress:
    """Progress lines on stderr: rewritten in place on a terminal, else (a job's log file) one line
    per quarter of the work, so that no ``\\r`` reaches a file."""

    def __init__(self, what: str, total: int, t0: float | None = None, stream=None):
        self.what, self.total, self.stream = what, total, stream or sys.stderr
        self.t0 = time.perf_counter() if t0 is None else t0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.next_mark = 0.25
        self.printed = -1

    def __call__(self, done: int, final: bool = False) -> None:
        rate = done / max(time.perf_counter() - self.t0, 1e-9)
        text = f"{self.what} {done}/{self.total} frames ({rate:.1f} frames/s)"
        if self.tty:
            print(f"\r{text}", end="\n" if final else "", file=self.stream, flush=True)
        elif (final or done >= self.next_mark * self.total) and done != self.printed:
            while self.next_mark * self.total <= done:
                self.next_mark += 0.25
            self.printed = done
            print(text, file=self.stream, flush=True)


def extract_video(
    detector: str | Path, frames: list[Path], params: ExtractionParams, progress: bool = True,
    neck_dir: str | Path | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Run the detector over a video's frames -> ``(features (N, C), detections (N, K, 6), meta)``.

    With ``params.neck`` set, ``meta["neck"]`` holds the neck maps of the same forward passes: a
    list over levels of ``(N, C_l, H_l, W_l)`` arrays, and ``meta["neck_meta"]`` their
    :class:`~rolo.detection.neck.NeckMeta` (both removed by :func:`extract_features_job` before
    ``meta.json`` is written). ``neck_dir``: write the maps there as they are computed, into ``.npy``
    files opened memory-mapped (``.neck_<level>.npy.part``; ``meta["neck"]`` then holds those memory
    maps), so that memory does not grow with the video's frames (0.74 MB a frame for YOLOv8s at
    640x384: 8.4 GB for LaSOT's longest video)."""
    import torch

    n = len(frames)
    feats: np.ndarray | None = None
    dets = np.full((n, params.max_det, 6), np.nan, np.float32)
    first_shape = None
    letterboxed = None
    neck: list[np.ndarray] | None = None
    done = 0
    with FeatureExtractor(detector, params) as ex:
        loader = torch.utils.data.DataLoader(
            _Frames(list(frames), params.imgsz, ex.stride),
            batch_size=params.forward_batch(ex.device),
            num_workers=params.decode_workers(ex.device),
            pin_memory=ex.device.type == "cuda",
            persistent_workers=False,
        )
        if n:
            ex.prepare(frames[0], params.forward_batch(ex.device))
        t0 = time.perf_counter()
        report = Progress("extract", n, t0)
        with ex.host_threads():  # torch on one thread beside an exported backend
            for x, shapes in loader:
                if first_shape is None:
                    first_shape = tuple(int(v) for v in shapes[0])
                    letterboxed = tuple(x.shape[2:])
                if any(tuple(int(v) for v in s) != first_shape for s in shapes):
                    raise RoloInputError(f"{frames[done]}: frames of one video must share one size")
                pooled, d = ex(x, first_shape)
                if feats is None:
                    feats = np.empty((n, pooled.shape[1]), pooled.dtype)
                feats[done : done + len(x)] = pooled
                dets[done : done + len(x)] = d
                if ex.neck is not None:
                    if neck is None:
                        neck = [_neck_store(neck_dir, lvl, (n, *m.shape[1:]), m.dtype)
                                for lvl, m in zip(params.neck.levels, ex.neck.maps)]
                    for store, m in zip(neck, ex.neck.maps):
                        store[done : done + len(x)] = m
                done += len(x)
                if progress:
                    report(done)
        if progress:
            report(done, final=True)
        if done != n or feats is None:
            raise RuntimeError(f"extracted {done} of {n} frames")
        elapsed = time.perf_counter() - t0
        meta = ex.meta((first_shape[1], first_shape[0]), letterboxed, n, feats.shape[1])
        if neck is not None:
            from rolo.detection.neck import NeckMeta

            for store in neck:
                if isinstance(store, np.memmap):
                    store.flush()
            meta["neck"] = neck
            meta["neck_meta"] = NeckMeta.of(ex.neck, letterboxed, first_shape[:2])
    meta["seconds"] = round(elapsed, 3)
    return feats, dets, meta


def _neck_store(neck_dir, level: int, shape: tuple, dtype) -> np.ndarray:
    """An array for one neck level's maps: in memory, or with ``neck_dir`` an ``.npy`` file on disk
    opened memory-mapped (its bytes are those ``np.save`` writes)."""
    if neck_dir is None:
        return np.empty(shape, dtype)
    from rolo.detection.neck import LEVEL_NAMES

    path = Path(neck_dir) / f".neck_{LEVEL_NAMES[level]}.npy.part"
    path.parent.mkdir(parents=True, exist_ok=True)
    return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)


def extract_features_job(
    img_dir: str | Path, detector: str | Path, params: dict, out_features, out_detections, out_meta
) -> None:
    """Pipeline stage: a video's frames -> ``features.npy``, ``detections.npy``, ``meta.json`` and, with
    ``params["neck"]`` set, the neck maps beside them (:func:`rolo.detection.neck.save_neck`)."""
    from rolo.data.sequences import list_frames
    from rolo.utils.io import save_json, save_npy

    frames = list_frames(img_dir)
    out_dir = Path(out_meta).parent
    # the neck maps go to disk as they are computed (memory-mapped), then into place
    try:
        feats, dets, meta = extract_video(detector, list(frames), ExtractionParams.from_config(params), neck_dir=out_dir)
    except BaseException:
        for part in out_dir.glob(".neck_*.npy.part"):
            part.unlink()
        raise
    neck, neck_meta = meta.pop("neck", None), meta.pop("neck_meta", None)
    print(f"{len(frames)} frames, {meta['seconds']:.1f} s, feature layer {meta['feature_layer']} "
          f"({meta['feature_module']}, {meta['feature_dim']}-d)", file=sys.stderr)
    if neck is not None:
        import os

        from rolo.detection.neck import LEVEL_NAMES
        from rolo.utils.io import save_json

        for lvl, store in zip(neck_meta.spec.levels, neck):
            part = Path(store.filename)
            del store
            os.replace(part, out_dir / f"neck_{LEVEL_NAMES[lvl]}.npy")
        neck = None
        save_json(out_dir / "neck.json", neck_meta.to_json())
    save_npy(out_features, feats)
    save_npy(out_detections, dets)
    save_json(out_meta, meta)


DETECTOR_KEYS = ("detector", "feature_layer", "feature_dim", "imgsz", "backend", "features_dtype", "channels_last")
"""Extraction settings a trained ROLO model depends on; recorded in its checkpoint. ``backend`` (how the
detector ran, :mod:`rolo.detection.backends`) and ``channels_last`` are recorded, not checked: they move
the features in the last bits only, and ``rolo track`` runs the recorded ones (the backend unless told
otherwise), so that it reproduces the pipeline's tracks. ``features_dtype`` and ``channels_last`` are
recorded only when they are not the default (so default records are as before they existed);
``rolo track`` rounds its features to the recorded dtype."""

CHECKED_KEYS = ("detector", "feature_layer", "feature_dim", "imgsz", "features_dtype")
DEFAULTS = {"features_dtype": "float32", "channels_last": False}  # the value of a key a record leaves out


def detector_record(meta: dict) -> dict:
    """The :data:`DETECTOR_KEYS` of an extraction's ``meta.json`` (a key it leaves out is left out)."""
    return {k: meta[k] for k in DETECTOR_KEYS if k in meta or k not in DEFAULTS}


def load_extracted(features_path, detections_path, meta_path, mmap: bool = False) -> tuple[np.ndarray, np.ndarray, dict]:
    """Read one video's extraction outputs, checking they belong together. ``mmap``: open the arrays
    memory-mapped, read-only (``np.load(mmap_mode="r")``; the training stages), so that a video's
    rows are read from disk when used."""
    import json

    feats = np.load(features_path, mmap_mode="r" if mmap else None)
    dets = np.load(detections_path, mmap_mode="r" if mmap else None)
    with open(meta_path) as f:
        meta = json.load(f)
    meta.setdefault("backend", "torch")  # extraction outputs made before extraction.backend: eager PyTorch
    if not (len(feats) == len(dets) == meta["frames"]):
        raise RoloInputError(
            f"{features_path}: {len(feats)} feature rows, {len(dets)} detection rows, meta says {meta['frames']} frames"
        )
    return feats, dets, meta


def check_same_detector(expected: dict, meta: dict, source: str) -> None:
    """Raise naming the first extraction setting in :data:`CHECKED_KEYS` that differs."""
    for key in CHECKED_KEYS:
        want, got = expected.get(key, DEFAULTS.get(key)), meta.get(key, DEFAULTS.get(key))
        if want != got:
            raise RoloInputError(f"{source}: detector setting '{key}' is {got!r}, but the model was trained with {want!r}")
