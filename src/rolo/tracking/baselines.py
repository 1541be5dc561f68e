"""Classic single-object trackers as baselines, run exactly like ROLO (same start frame, start
box and scored frames; online): OpenCV's CSRT and KCF (opencv-contrib) and MIL, plus ``start_box``,
which never moves: the floor any tracker should beat.

OpenCV trackers take integer ``(x, y, w, h)`` 0-based boxes: the start box is rounded to the pixel
grid. When an OpenCV tracker reports failure on a frame it returns its previous box (OTB result
files need a box on every frame).
"""

from __future__ import annotations

import numpy as np

from rolo.utils.boxes import xywh_to_xyxy, xyxy_to_xywh

OPENCV_FACTORIES = {"csrt": "TrackerCSRT_create", "kcf": "TrackerKCF_create", "mil": "TrackerMIL_create"}


class StartBox:
    """Returns the start box on every frame."""

    def start(self, box, frame):
        self.box = np.asarray(box, np.float64).copy()

    def update(self, frame):
        return self.box.copy()


class OpenCVTracker:
    """An OpenCV ``cv2.Tracker`` (CSRT, KCF, MIL) fed one decoded frame at a time."""

    def __init__(self, name: str):
        import cv2

        factory = getattr(cv2, OPENCV_FACTORIES[name], None)
        if factory is None:
            raise RuntimeError(
                f"cv2.{OPENCV_FACTORIES[name]} is missing: install opencv-contrib-python-headless "
                "(make opencv) instead of opencv-python"
            )
        self.name = name
        self.tracker = factory()

    def start(self, box, frame):
        x, y, w, h = np.round(xyxy_to_xywh(np.asarray(box, np.float64))).astype(int)
        self.box = np.asarray(box, np.float64).copy()
        self.tracker.init(frame.image, (int(x), int(y), max(int(w), 1), max(int(h), 1)))

    def update(self, frame):
        ok, rect = self.tracker.update(frame.image)
        if ok:
            self.box = xywh_to_xyxy(np.asarray(rect, np.float64))
        return self.box.copy()


def opencv(spec, assoc=None, image_wh=None, model=None) -> OpenCVTracker:
    """The registry's factory of the OpenCV trackers (``spec.name`` in :data:`OPENCV_FACTORIES`)."""
    return OpenCVTracker(spec.name)


def start_box(spec=None, assoc=None, image_wh=None, model=None) -> StartBox:
    return StartBox()
