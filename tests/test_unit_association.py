"""Unit tests of rolo.tracking.association and of the causality of rolo.tracking.trackers's trackers."""

import numpy as np
import pytest
import torch

from rolo.tracking.association import AssociationParams, Associator, associate
from rolo.tracking.models import ModelConfig, RoloLSTM
from rolo.tracking.trackers import Rolo, VideoFrames, YoloOnly, YoloTop, iter_track, make_tracker, track

PARAMS = AssociationParams(iou_threshold=0.3, redetect_confidence=0.5)
START = np.array([0.0, 0.0, 10.0, 10.0])
IMAGE_WH = (100.0, 80.0)
FEATURE_DIM = 8


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def dets(*rows, k=4):
    """One frame's ``(k, 6)`` detections: given ``(x1, y1, x2, y2, conf)`` rows, then NaN padding."""
    out = np.full((k, 6), np.nan)
    for i, r in enumerate(rows):
        out[i, :5] = r
        out[i, 5] = 0.0
    return out


# --- Associator -----------------------------------------------------------------------------------


def test_first_is_start_box_with_full_confidence():
    a = Associator(START, PARAMS).first()
    np.testing.assert_array_equal(a.box, START)
    assert a.conf == 1.0 and a.lost is False


def test_follows_best_overlap_even_if_less_confident():
    a = Associator(START, PARAMS)
    # IoU with START: (5..15) 1/3, (2..12) 80/120, far box 0 but confident
    out = a.step(dets((5, 0, 15, 10, 0.3), (2, 0, 12, 10, 0.2), (50, 50, 60, 60, 0.99)))
    np.testing.assert_array_equal(out.box, [2, 0, 12, 10])
    assert out.conf == pytest.approx(0.2) and out.lost is False
    # the next frame is associated against the new box (2..12): (4..14) has IoU 80/120
    out = a.step(dets((4, 0, 14, 10, 0.25), (0, 0, 5, 10, 0.9)))
    np.testing.assert_array_equal(out.box, [4, 0, 14, 10])


def test_overlap_threshold_is_inclusive():
    a = Associator(START, AssociationParams(iou_threshold=0.5, redetect_confidence=0.9))
    out = a.step(dets((0, 0, 10, 5, 0.1)))  # IoU exactly 0.5
    np.testing.assert_array_equal(out.box, [0, 0, 10, 5])
    assert not out.lost


def test_redetects_most_confident_when_nothing_overlaps():
    a = Associator(START, PARAMS)
    # (7..17) overlaps by 30/170 < 0.3; among the rest the most confident >= 0.5 is taken
    out = a.step(dets((7, 0, 17, 10, 0.45), (50, 50, 60, 60, 0.6), (80, 60, 90, 70, 0.55)))
    np.testing.assert_array_equal(out.box, [50, 50, 60, 60])
    assert out.conf == pytest.approx(0.6) and out.lost is False
    np.testing.assert_array_equal(a.box, [50, 50, 60, 60])


def test_redetect_confidence_is_inclusive():
    a = Associator(START, PARAMS)
    out = a.step(dets((50, 50, 60, 60, 0.5)))
    np.testing.assert_array_equal(out.box, [50, 50, 60, 60])


def test_holds_box_and_is_lost_when_nothing_qualifies():
    a = Associator(START, PARAMS)
    out = a.step(dets((7, 0, 17, 10, 0.45), (50, 50, 60, 60, 0.49)))
    np.testing.assert_array_equal(out.box, START)
    assert out.conf == 0.0 and out.lost is True
    # and it stays where it was: a detection overlapping START is picked up again
    out = a.step(dets((1, 0, 11, 10, 0.1)))
    np.testing.assert_array_equal(out.box, [1, 0, 11, 10])
    assert not out.lost


def test_nan_padded_rows_are_ignored():
    a = Associator(START, PARAMS)
    out = a.step(dets())  # all padding
    assert out.lost and out.conf == 0.0
    np.testing.assert_array_equal(out.box, START)
    # padding before a real row
    frame = dets((1, 0, 11, 10, 0.3))[::-1].copy()
    out = a.step(frame)
    np.testing.assert_array_equal(out.box, [1, 0, 11, 10])
    assert np.isfinite(out.box).all()


def test_returned_box_is_a_copy():
    a = Associator(START, PARAMS)
    out = a.step(dets((1, 0, 11, 10, 0.3)))
    out.box[:] = -1
    np.testing.assert_array_equal(a.box, [1, 0, 11, 10])


def test_associate_shapes_and_first_frame():
    detections = np.stack([
        dets((60, 60, 70, 70, 0.99)),  # frame 0's detections are not used
        dets((1, 0, 11, 10, 0.7)),
        dets(),
        dets((50, 50, 60, 60, 0.8)),
    ])
    boxes, conf, lost = associate(detections, START, PARAMS)
    assert boxes.shape == (4, 4) and conf.shape == (4,) and lost.shape == (4,)
    assert lost.dtype == bool
    np.testing.assert_array_equal(boxes, [START, [1, 0, 11, 10], [1, 0, 11, 10], [50, 50, 60, 60]])
    np.testing.assert_allclose(conf, [1.0, 0.7, 0.0, 0.8])
    np.testing.assert_array_equal(lost, [False, False, True, False])


# --- a small scenario for the trackers ----------------------------------------------------------


def scenario(T=12, seed=0):
    """Features ``(T, 8)`` and detections ``(T, 4, 6)``: a 10x10 target moving right 2 px/frame, a
    confident distractor, a missed frame, a frame with the target only weakly detected."""
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(T, FEATURE_DIM)).astype(np.float32)
    frames = []
    for t in range(T):
        x = 10.0 + 2 * t
        rows = [(x, 20, x + 10, 30, 0.6 + 0.02 * t), (70, 50, 80, 60, 0.9)]
        if t == 5:
            rows = [(70, 50, 80, 60, 0.9)]  # target missed: re-detection jumps to the distractor
        if t == 6:
            rows = [(x, 20, x + 10, 30, 0.4)]  # weak, far from the distractor: lost
        frames.append(dets(*rows))
    start_box = np.array([10.0, 20.0, 20.0, 30.0])
    return feats, np.stack(frames), start_box


def small_model(output="residual", seed=0):
    torch.manual_seed(seed)
    return RoloLSTM(ModelConfig(feature_dim=FEATURE_DIM, hidden=16, steps=3, output=output)).eval()


TRACKER_FACTORIES = {
    "yolo": lambda: YoloOnly(PARAMS),
    "yolo_top": lambda: YoloTop(),
    "rolo_residual": lambda: Rolo(small_model("residual"), PARAMS, IMAGE_WH),
    "rolo_absolute": lambda: Rolo(small_model("absolute"), PARAMS, IMAGE_WH),
}


def test_scenario_association_as_designed():
    feats, detections, start_box = scenario()
    boxes, conf, lost = associate(detections, start_box, PARAMS)
    np.testing.assert_array_equal(boxes[4], [18, 20, 28, 30])
    np.testing.assert_array_equal(boxes[5], [70, 50, 80, 60])  # re-detected the distractor
    assert lost[6] and not lost[:6].any()
    np.testing.assert_array_equal(boxes[6], boxes[5])


# --- causality ------------------------------------------------------------------------------------


class LookAheadGuard:
    """Array-like: reading a row past ``allowed`` raises; every index read is recorded."""

    def __init__(self, array):
        self.array = array
        self.allowed = -1
        self.reads = []

    def __len__(self):
        return len(self.array)

    def __getitem__(self, index):
        if not isinstance(index, (int, np.integer)):
            raise AssertionError(f"only single frames may be read, not {index!r}")
        if index > self.allowed:
            raise AssertionError(f"look-ahead: read frame {index} while producing frame {self.allowed}")
        self.reads.append(int(index))
        return self.array[index]


def test_guard_catches_look_ahead():
    g = LookAheadGuard(np.arange(5))
    g.allowed = 2
    assert g[2] == 2
    with pytest.raises(AssertionError):
        g[3]
    with pytest.raises(AssertionError):
        g[1:4]


@pytest.mark.parametrize("name", sorted(TRACKER_FACTORIES))
@pytest.mark.parametrize("start", [0, 2])
def test_iter_track_never_reads_ahead(name, start):
    feats, detections, _ = scenario()
    end = len(detections)
    start_box = detections[start, 0, :4].copy()
    gf, gd = LookAheadGuard(feats), LookAheadGuard(detections)
    gen = iter_track(TRACKER_FACTORIES[name](), VideoFrames(gf, gd), start_box, start, end)
    produced = []
    for expected_t in range(start, end):
        gf.allowed = gd.allowed = expected_t  # frame t may read rows <= t, nothing later
        t, box = next(gen)
        assert t == expected_t
        assert box.shape == (4,) and np.isfinite(box).all()
        # frame t's detections have been read by the time frame t is produced (the start frame's
        # are not needed: its box is given)
        if t > start:
            assert max(gd.reads) == t
        produced.append(t)
    with pytest.raises(StopIteration):
        next(gen)
    assert produced == list(range(start, end))
    assert gd.reads == list(range(start + 1, end))  # each later frame read once, in order


@pytest.mark.parametrize("name", sorted(TRACKER_FACTORIES))
@pytest.mark.parametrize("k", [0, 3, 7])
def test_perturbing_future_leaves_past_unchanged(name, k):
    feats, detections, start_box = scenario()
    T = len(detections)
    base = track(TRACKER_FACTORIES[name](), VideoFrames(feats, detections), start_box, 0, T)
    rng = np.random.default_rng(k)
    feats2, dets2 = feats.copy(), detections.copy()
    feats2[k + 1 :] = rng.normal(size=feats2[k + 1 :].shape)
    future = dets2[k + 1 :]  # a view: perturb the real (non-padding) rows
    real = np.isfinite(future[..., 4])
    future[..., :4][real] += rng.uniform(-30, 30, size=(real.sum(), 4))
    future[..., 4][real] = rng.uniform(0, 1, size=real.sum())
    pert = track(TRACKER_FACTORIES[name](), VideoFrames(feats2, dets2), start_box, 0, T)
    assert base.shape == pert.shape == (T, 4)
    np.testing.assert_array_equal(pert[: k + 1], base[: k + 1])
    # the perturbation is large enough to be seen afterwards
    assert not np.allclose(pert[k + 1 :], base[k + 1 :])


def test_track_first_frame_is_start_box():
    feats, detections, start_box = scenario()
    for name, make in TRACKER_FACTORIES.items():
        out = track(make(), VideoFrames(feats, detections), start_box, 0, len(detections))
        np.testing.assert_array_equal(out[0], start_box, err_msg=name)


def test_yolo_only_equals_associate():
    feats, detections, start_box = scenario()
    boxes, _, _ = associate(detections, start_box, PARAMS)
    np.testing.assert_array_equal(track(YoloOnly(PARAMS), VideoFrames(feats, detections), start_box, 0, len(detections)), boxes)


def test_yolo_top_takes_most_confident_or_holds():
    feats, detections, start_box = scenario()
    out = track(YoloTop(), VideoFrames(feats, detections), start_box, 0, len(detections))
    np.testing.assert_array_equal(out[1], [70, 50, 80, 60])  # the distractor (0.9) beats the target (0.62)
    np.testing.assert_array_equal(out[6], [22, 20, 32, 30])  # the only detection
    detections[8] = np.nan
    out = track(YoloTop(), VideoFrames(feats, detections), start_box, 0, len(detections))
    np.testing.assert_array_equal(out[8], out[7])


def test_untrained_residual_rolo_returns_associator_boxes():
    feats, detections, start_box = scenario()
    boxes, _, _ = associate(detections, start_box, PARAMS)
    out = track(Rolo(small_model("residual"), PARAMS, IMAGE_WH), VideoFrames(feats, detections), start_box, 0, len(detections))
    # equal up to the float32 of the LSTM's inputs
    np.testing.assert_allclose(out, boxes, rtol=0, atol=1e-4)


def test_make_tracker():
    assert isinstance(make_tracker("yolo", PARAMS), YoloOnly)
    assert isinstance(make_tracker("yolo_top", PARAMS), YoloTop)
    assert isinstance(make_tracker("rolo_paper", PARAMS, IMAGE_WH, small_model()), Rolo)
    with pytest.raises(ValueError):
        make_tracker("rolo_paper", PARAMS)
    with pytest.raises(ValueError):
        make_tracker("no_such_tracker", PARAMS)
