"""Online trackers and the loop that runs them, frame by frame.

A tracker is started with the start frame's box (the only ground truth it ever gets) and then
updated with one frame's detections and features at a time; :func:`iter_track` hands it row ``t``
only after it has returned the box of frame ``t - 1``, so no tracker can look ahead.

Trackers:

``yolo``      YOLO-only: the associator of :mod:`rolo.association`.
``yolo_top``  the most confident detection of each frame (seed 001's choice); the previous box when
              the frame has none.
``rolo``      the associator's output fed, window by window, to the trained LSTM.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

import numpy as np

from rolo.association import AssociationParams, Associator
from rolo.boxes import cxcywh_norm_to_xyxy
from rolo.encoding import encode_inputs

if TYPE_CHECKING:  # torch is imported only by the rolo tracker: the others are numpy-only jobs
    from rolo.models import RoloLSTM


class Tracker(Protocol):
    def start(self, box: np.ndarray, features: np.ndarray, detections: np.ndarray) -> None: ...

    def update(self, features: np.ndarray, detections: np.ndarray) -> np.ndarray: ...


class YoloOnly:
    def __init__(self, assoc: AssociationParams):
        self.assoc_params = assoc

    def start(self, box, features, detections):
        self.assoc = Associator(box, self.assoc_params)

    def update(self, features, detections):
        return self.assoc.step(detections).box


class YoloTop:
    def start(self, box, features, detections):
        self.box = np.asarray(box, np.float64).copy()

    def update(self, features, detections):
        d = np.asarray(detections, np.float64).reshape(-1, 6)
        d = d[np.isfinite(d[:, 4])]
        if len(d):
            self.box = d[np.argmax(d[:, 4]), :4].copy()
        return self.box.copy()


class Rolo:
    """ROLO-coordinate: association -> per-frame input -> LSTM over the last ``steps`` frames.

    The window starts as ``steps`` copies of the start frame's input (the padding used in training).
    """

    def __init__(self, model: "RoloLSTM", assoc: AssociationParams, image_wh: tuple[float, float]):
        import torch

        self.torch = torch
        self.model = model.eval()
        self.assoc_params = assoc
        self.image_wh = image_wh
        self.steps = model.cfg.steps

    def _encode(self, features, a) -> np.ndarray:
        return encode_inputs(features[None], a.box[None], [a.conf], [a.lost], self.image_wh)[0]

    def start(self, box, features, detections):
        self.assoc = Associator(box, self.assoc_params)
        first = self._encode(features, self.assoc.first())
        self.window = deque([first] * self.steps, maxlen=self.steps)

    def update(self, features, detections):
        self.window.append(self._encode(features, self.assoc.step(detections)))
        with self.torch.inference_mode():
            out = self.model.predict(self.torch.from_numpy(np.stack(self.window))[None])[0].numpy()
        return cxcywh_norm_to_xyxy(out.astype(np.float64), self.image_wh)


def iter_track(
    tracker: Tracker, features, detections, start_box: np.ndarray, start: int, end: int
) -> Iterator[tuple[int, np.ndarray]]:
    """Run ``tracker`` over frames ``start..end-1``; yields ``(t, xyxy box)``. Frame ``start`` yields
    ``start_box``. ``features``/``detections`` are indexed one frame at a time, in order."""
    start_box = np.asarray(start_box, np.float64).reshape(4)
    tracker.start(start_box, features[start], detections[start])
    yield start, start_box.copy()
    for t in range(start + 1, end):
        yield t, np.asarray(tracker.update(features[t], detections[t]), np.float64)


def track(tracker: Tracker, features, detections, start_box: np.ndarray, start: int, end: int) -> np.ndarray:
    """:func:`iter_track` collected -> ``(end - start, 4)`` xyxy."""
    return np.stack([box for _, box in iter_track(tracker, features, detections, start_box, start, end)])


TRACKERS = ("rolo", "yolo", "yolo_top")


def make_tracker(name: str, assoc: AssociationParams, image_wh=None, model: "RoloLSTM | None" = None) -> Tracker:
    if name == "yolo":
        return YoloOnly(assoc)
    if name == "yolo_top":
        return YoloTop()
    if name == "rolo":
        if model is None or image_wh is None:
            raise ValueError("the rolo tracker needs a trained model and the image size")
        return Rolo(model, assoc, image_wh)
    raise ValueError(f"unknown tracker {name!r}; known: {TRACKERS}")


def track_job(
    tracker_name: str,
    splits_json,
    videos: dict[str, tuple[str, str, str]],
    assoc_params: dict,
    model_path,
    out_dir,
) -> None:
    """Pipeline stage: one tracker over an experiment's test videos ->
    ``out_dir/<video>.txt`` (OTB format, 1-based, one line per frame of the test segment).

    ``videos = {video: (features.npy, detections.npy, meta.json)}``; no ground truth is read: the
    start box comes from the split.
    """
    import sys
    from pathlib import Path

    from rolo.data import write_otb_boxes
    from rolo.experiments import read_splits
    from rolo.features import check_same_detector, load_extracted

    splits = read_splits(splits_json)
    assoc = AssociationParams(**assoc_params)
    model, ckpt = (None, None)
    if tracker_name == "rolo":
        from rolo.models import load_checkpoint

        model, ckpt = load_checkpoint(model_path)
        assoc = AssociationParams(**ckpt["association"])
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    for video, (f, d, m) in sorted(videos.items()):
        split = splits[video]
        feats, dets, meta = load_extracted(f, d, m)
        if ckpt is not None:
            check_same_detector(ckpt["detector"], meta, m)
        tracker = make_tracker(tracker_name, assoc, tuple(meta["image_wh"]), model)
        boxes = track(tracker, feats, dets, split.start_box_xyxy(), *split.test)
        write_otb_boxes(Path(out_dir) / f"{video}.txt", boxes)
        print(f"{tracker_name} {video}: {len(boxes)} frames", file=sys.stderr)
