"""Online trackers and the loop that runs them, frame by frame.

A tracker is started with the start frame's box (the only ground truth it ever gets) and then
updated one :class:`Frame` at a time. A frame reads its inputs (detections, features, neck maps, image) only
when the tracker asks for them, and :func:`iter_track` hands frame ``t`` over only after the box
of frame ``t - 1`` was returned, so no tracker can look ahead.

Trackers (their names, inputs and factories are in :mod:`rolo.tracking.registry`):

``rolo``       the closed-loop, target-aware ROLO (:mod:`rolo.tracking.closed_loop`): its own last box
               picks the candidate, neck maps pooled at it and an online appearance model of the target
               feed the LSTM, which regresses the box (also where no detection fits).
``rolo_paper`` the paper's inputs, open loop: the associator's output fed, window by window, with the
               globally pooled frame features to the trained LSTM (ROLO-coordinate, :class:`Rolo`).
``rolo_heatmap`` the closed-loop ROLO with the heatmap head: the LSTM outputs a map of the target over
               the search region and the box is read from it (``ClosedLoopConfig.head``).
``rolo_heatmap_paper`` ``rolo_paper`` with the ROLO-heatmap model (:mod:`rolo.tracking.models`); its
               per-frame maps are kept (``Rolo.maps``) and saved beside the track.
``yolo``       YOLO-only: the associator of :mod:`rolo.tracking.association`.
``yolo_top``   the most confident detection of each frame (the ROLO-PyTorch port's choice); the previous box
               when the frame has none.
``csrt``, ``kcf``, ``mil``, ``start_box``: the classic baselines of :mod:`rolo.tracking.baselines`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from rolo.tracking import registry
from rolo.tracking.association import AssociationParams, Associator
from rolo.utils.boxes import cxcywh_norm_to_xyxy

if TYPE_CHECKING:  # torch is imported only by the rolo tracker: the others are numpy-only jobs
    from rolo.tracking.models import RoloLSTM


@dataclass(frozen=True)
class VideoFrames:
    """A video's per-frame inputs: ``features (N, C)``, ``detections (N, K, 6)`` (see
    :mod:`rolo.detection.extraction`), image paths, and ``neck``, a list over stored levels of the
    neck maps ``(N, C_l, H_l, W_l)`` with their ``neck_meta``
    (:class:`~rolo.detection.neck.NeckMeta`); any may be None when no tracker needs it."""

    features: Any = None
    detections: Any = None
    images: Sequence[Path] | None = None
    neck: Sequence[Any] | None = None
    neck_meta: Any = None

    def __getitem__(self, t: int) -> "Frame":
        return Frame(t, self)


@dataclass(frozen=True)
class Frame:
    """Frame ``index`` of a video; each input is read from the video on access."""

    index: int
    video: VideoFrames

    @property
    def features(self) -> np.ndarray:
        return self.video.features[self.index]

    @property
    def detections(self) -> np.ndarray:
        return self.video.detections[self.index]

    @property
    def neck(self) -> list[np.ndarray]:
        """This frame's stored neck maps: a list over levels of ``(C_l, H_l, W_l)``."""
        return [level[self.index] for level in self.video.neck]

    @property
    def image(self) -> np.ndarray:
        """The frame as a BGR uint8 image."""
        from rolo.data.sequences import read_image

        return read_image(self.video.images[self.index])


class Tracker(Protocol):
    def start(self, box: np.ndarray, frame: Frame) -> None: ...

    def update(self, frame: Frame) -> np.ndarray: ...


class YoloOnly:
    def __init__(self, assoc: AssociationParams):
        self.assoc_params = assoc

    def start(self, box, frame):
        self.assoc = Associator(box, self.assoc_params)

    def update(self, frame):
        return self.assoc.step(frame.detections).box


class YoloTop:
    def start(self, box, frame):
        self.box = np.asarray(box, np.float64).copy()

    def update(self, frame):
        d = np.asarray(frame.detections, np.float64).reshape(-1, 6)
        d = d[np.isfinite(d[:, 4])]
        if len(d):
            self.box = d[np.argmax(d[:, 4]), :4].copy()
        return self.box.copy()


class Rolo:
    """ROLO: association -> per-frame input -> LSTM over the last ``steps`` frames, for either model
    kind (the model encodes its inputs and predicts a box).

    The window starts as ``steps`` copies of the start frame's input (the padding used in training).
    ``last`` is the association result of the latest frame (box, conf, lost); ``maps`` collects the
    heatmap model's per-frame ``(GRID, GRID)`` probabilities (frames after the start frame);
    ``model_seconds`` is the time spent encoding and in the LSTM (association excluded).
    """

    def __init__(self, model: "RoloLSTM", assoc: AssociationParams, image_wh: tuple[float, float]):
        import torch

        self.torch = torch
        self.model = model.eval()
        self.assoc_params = assoc
        self.image_wh = image_wh
        self.steps = model.cfg.steps
        self.maps: list[np.ndarray] = []
        self.model_seconds = 0.0

    def _encode(self, features, a) -> np.ndarray:
        return self.model.encode(features[None], a.box[None], [a.conf], [a.lost], self.image_wh)[0]

    def start(self, box, frame):
        self.assoc = Associator(box, self.assoc_params)
        self.last = self.assoc.first()
        first = self._encode(frame.features, self.last)
        self.window = deque([first] * self.steps, maxlen=self.steps)

    def update(self, frame):
        self.last = self.assoc.step(frame.detections)
        t0 = time.perf_counter()
        self.window.append(self._encode(frame.features, self.last))
        with self.torch.inference_mode():
            x = self.torch.from_numpy(np.stack(self.window))[None]
            if self.model.kind == "heatmap":
                from rolo.tracking.models import maps_to_cxcywh

                maps = self.model.predict_maps(x)
                self.maps.append(maps[0].numpy())
                out = maps_to_cxcywh(maps)[0].numpy()
            else:
                out = self.model.predict(x)[0].numpy()
        self.model_seconds += time.perf_counter() - t0
        return cxcywh_norm_to_xyxy(out.astype(np.float64), self.image_wh)


def iter_track(tracker: Tracker, frames: VideoFrames, start_box: np.ndarray, start: int, end: int) -> Iterator[tuple[int, np.ndarray]]:
    """Run ``tracker`` over frames ``start..end-1``; yields ``(t, xyxy box)``. Frame ``start`` yields
    ``start_box``; frame ``t`` is handed over only after frame ``t - 1``'s box was yielded."""
    start_box = np.asarray(start_box, np.float64).reshape(4)
    tracker.start(start_box, frames[start])
    yield start, start_box.copy()
    for t in range(start + 1, end):
        yield t, np.asarray(tracker.update(frames[t]), np.float64)


def track(tracker: Tracker, frames: VideoFrames, start_box: np.ndarray, start: int, end: int) -> np.ndarray:
    """:func:`iter_track` collected -> ``(end - start, 4)`` xyxy."""
    return np.stack([box for _, box in iter_track(tracker, frames, start_box, start, end)])


def yolo_only(spec, assoc, image_wh=None, model=None) -> YoloOnly:
    return YoloOnly(assoc)


def yolo_top(spec, assoc=None, image_wh=None, model=None) -> YoloTop:
    return YoloTop()


def rolo(spec, assoc, image_wh=None, model: "RoloLSTM | None" = None) -> Rolo:
    """A ROLO tracker of the registry entry ``spec``; ``model`` must be of its ``model_kind``."""
    if model is None or image_wh is None:
        raise ValueError(f"the {spec.name} tracker needs a trained model and the image size")
    if model.kind != spec.model_kind:
        raise ValueError(f"the {spec.name} tracker runs a {spec.model_kind} model, not a {model.kind} one")
    return Rolo(model, assoc, image_wh)


def make_tracker(name: str, assoc: AssociationParams, image_wh=None, model: "RoloLSTM | None" = None) -> Tracker:
    """A new instance of the registry's tracker ``name`` (:mod:`rolo.tracking.registry`)."""
    return registry.spec(name).build(assoc=assoc, image_wh=image_wh, model=model)


def tracker_for_kind(kind: str) -> str:
    """The registry's ROLO tracker that runs a model of ``kind``."""
    for name, s in registry.TRACKERS.items():
        if s.model_kind == kind:
            return name
    known = sorted({s.model_kind for s in registry.TRACKERS.values() if s.model_kind})
    raise ValueError(f"model kind {kind!r} has no tracker (known kinds: {', '.join(known)})")


def track_job(
    tracker_name: str,
    splits_json,
    videos: dict[str, dict[str, str]],
    assoc_params: dict,
    model_path,
    out_dir,
) -> None:
    """Pipeline stage: one tracker over an experiment's test videos ->
    ``out_dir/<video>.txt`` (OTB format, 1-based, one line per frame of the test segment) and
    ``out_dir/speed.json`` (seconds per video: timings stay out of the tables; for ROLO also the
    encoding + LSTM part), and for ``rolo_heatmap_paper`` the per-frame maps ``out_dir/<video>.maps.npy``
    ``(frames, GRID, GRID)`` float16 (frames after the start frame).

    ``videos = {video: {"features": .npy, "detections": .npy, "meta": .json, "images": dir,
    "neck_meta": neck.json (the neck maps are read beside it)}}``, each
    key present when the tracker needs it (a video absent: the tracker reads nothing but its start
    box). Every tested video of the splits is tracked. No ground truth is read: the start box comes
    from the split.
    """
    import sys

    from rolo.data.sequences import list_frames, write_otb_boxes
    from rolo.utils.io import save_json
    from rolo.data.splits import read_splits
    from rolo.detection.extraction import check_same_detector, load_extracted

    splits = read_splits(splits_json)
    assoc = AssociationParams(**assoc_params)
    model, ckpt = (None, None)
    if registry.spec(tracker_name).model_kind:
        from rolo.tracking.models import load_checkpoint

        model, ckpt = load_checkpoint(model_path)
        assoc = AssociationParams(**ckpt["association"])
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    speed = {}
    for video in sorted(v for v, sp in splits.items() if sp.test is not None):
        files = videos.get(video, {})
        split = splits[video]
        feats = dets = images = neck = neck_meta = None
        image_wh = None
        if "neck_meta" in files:
            from rolo.detection.neck import load_neck

            neck, neck_meta = load_neck(Path(files["neck_meta"]).parent)
        if "features" in files:
            feats, dets, meta = load_extracted(files["features"], files["detections"], files["meta"])
            image_wh = tuple(meta["image_wh"])
            if ckpt is not None:
                check_same_detector(ckpt["detector"], meta, files["meta"])
        if "images" in files:
            images = list_frames(files["images"])
        tracker = make_tracker(tracker_name, assoc, image_wh, model)
        t0 = time.perf_counter()
        boxes = track(tracker, VideoFrames(feats, dets, images, neck, neck_meta), split.start_box_xyxy(), *split.test)
        speed[video] = {"frames": len(boxes), "seconds": time.perf_counter() - t0}
        if hasattr(tracker, "model_seconds"):  # the ROLO trackers: the LSTM part, association excluded
            speed[video]["model_seconds"] = tracker.model_seconds
            if getattr(tracker, "maps", None):
                from rolo.utils.io import save_npy

                save_npy(Path(out_dir) / f"{video}.maps.npy", np.stack(tracker.maps).astype(np.float16))
        write_otb_boxes(Path(out_dir) / f"{video}.txt", boxes)
        print(f"{tracker_name} {video}: {len(boxes)} frames, {len(boxes) / speed[video]['seconds']:.0f} frames/s",
              file=sys.stderr)
    save_json(Path(out_dir) / "speed.json", speed)
