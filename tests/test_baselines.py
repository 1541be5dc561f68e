"""The classic baselines: OpenCV's contrib trackers are installed and every baseline tracks online."""

from __future__ import annotations

import numpy as np
import pytest

from rolo.tracking.baselines import OPENCV_FACTORIES, StartBox
from rolo.utils.boxes import iou
from rolo.data.sequences import load_sequence
from rolo.data.synthetic import SynthParams, write_sequence
from rolo.tracking.registry import TRACKERS
from rolo.tracking.trackers import VideoFrames, make_tracker, track

BASELINES = [n for n, s in TRACKERS.items() if s.factory.startswith("rolo.tracking.baselines:")]


def test_opencv_contrib_trackers_are_installed():
    """opencv-contrib-python-headless, not the opencv-python Ultralytics pulls in, owns cv2 (make opencv)."""
    import cv2

    for factory in OPENCV_FACTORIES.values():
        assert callable(getattr(cv2, factory)), factory
    assert cv2.TrackerCSRT_create is not None


@pytest.fixture(scope="module")
def plain_sequence(tmp_path_factory):
    out = tmp_path_factory.mktemp("baseline") / "Plain"
    write_sequence(out, "Plain", [], seed=3, p=SynthParams(width=160, height=120, frames=24, target_size=(24.0, 30.0)))
    return load_sequence(out)


@pytest.mark.parametrize("name", BASELINES)
def test_baseline_tracks_every_frame_from_the_start_box(name, plain_sequence):
    seq = plain_sequence
    start = 4
    boxes = track(make_tracker(name, None), VideoFrames(images=seq.frames), seq.gt[start], start, len(seq))
    assert boxes.shape == (len(seq) - start, 4) and np.isfinite(boxes).all()
    np.testing.assert_array_equal(boxes[0], seq.gt[start])
    assert (boxes[:, 2:] > boxes[:, :2]).all()


def test_csrt_follows_an_unoccluded_target(plain_sequence):
    """A sanity check of the wiring (image, box convention): CSRT keeps a plain moving target."""
    seq = plain_sequence
    boxes = track(make_tracker("csrt", None), VideoFrames(images=seq.frames), seq.gt[0], 0, len(seq))
    assert np.median(iou(boxes, seq.gt)) > 0.5


def test_start_box_never_moves(plain_sequence):
    seq = plain_sequence
    boxes = track(StartBox(), VideoFrames(), seq.gt[0], 0, len(seq))
    assert (boxes == seq.gt[0]).all()
