"""Causal detector-level association: which detection is the target, frame by frame.

The associator gets the segment's first box and nothing else of the ground truth. At each later
frame it takes the detection that best overlaps its previous box if that IoU reaches
``iou_threshold``; otherwise it re-detects, taking the most confident detection at or above
``redetect_confidence``; otherwise it keeps its previous box and raises the ``lost`` flag.

Its output is both the **YOLO-only** tracker and ROLO's per-frame input, in training and testing
alike, so the LSTM is trained on exactly what it sees when tracking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rolo.utils.boxes import iou


@dataclass(frozen=True)
class AssociationParams:
    iou_threshold: float = 0.3
    redetect_confidence: float = 0.5


@dataclass(frozen=True)
class Association:
    """One frame's associated detection: ``box`` 0-based xyxy, its ``conf`` (0 when lost), ``lost``."""

    box: np.ndarray
    conf: float
    lost: bool


class Associator:
    """Online association. ``step(detections)`` takes one frame's ``(K, 6)`` NaN-padded detections."""

    def __init__(self, start_box: np.ndarray, params: AssociationParams = AssociationParams()):
        self.params = params
        self.box = np.asarray(start_box, dtype=np.float64).reshape(4).copy()

    def first(self) -> Association:
        """The start frame: the given box, with full confidence."""
        return Association(self.box.copy(), 1.0, False)

    def step(self, detections: np.ndarray) -> Association:
        d = np.asarray(detections, dtype=np.float64).reshape(-1, 6)
        d = d[np.isfinite(d[:, 4])]
        if len(d):
            overlaps = iou(d[:, :4], self.box[None, :])
            best = int(np.argmax(overlaps))
            if overlaps[best] >= self.params.iou_threshold:
                return self._take(d[best])
            confident = np.flatnonzero(d[:, 4] >= self.params.redetect_confidence)
            if len(confident):
                return self._take(d[confident[np.argmax(d[confident, 4])]])
        return Association(self.box.copy(), 0.0, True)

    def _take(self, det: np.ndarray) -> Association:
        self.box = det[:4].copy()
        return Association(self.box.copy(), float(det[4]), False)


def associate(detections: np.ndarray, start_box: np.ndarray, params: AssociationParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the associator over a segment's detections ``(T, K, 6)``; frame 0 is the start frame.

    Returns ``boxes (T, 4)`` xyxy, ``conf (T,)``, ``lost (T,)`` bool.
    """
    a = Associator(start_box, params)
    out = [a.first()]
    for t in range(1, len(detections)):
        out.append(a.step(detections[t]))
    return (
        np.stack([o.box for o in out]),
        np.array([o.conf for o in out], dtype=np.float64),
        np.array([o.lost for o in out], dtype=bool),
    )
