"""Unit tests of rolo.utils.boxes: OTB <-> xyxy conventions, normalised encoding, IoU and centre error."""

import numpy as np
import pytest

from rolo.utils.boxes import (
    area,
    centre_error,
    clip_xyxy,
    cxcywh_norm_to_xyxy,
    iou,
    iou_matrix,
    otb_to_xyxy,
    xywh_to_xyxy,
    xyxy_to_cxcywh_norm,
    xyxy_to_otb,
    xyxy_to_xywh,
)


def random_xyxy(rng, n, size=200.0):
    x1y1 = rng.uniform(0, size, (n, 2))
    wh = rng.uniform(0.5, size / 2, (n, 2))
    return np.concatenate([x1y1, x1y1 + wh], axis=1)


# --- OTB 1-based <-> 0-based xyxy -------------------------------------------------------------


def test_otb_top_left_pixel_is_origin():
    # OTB x=1, y=1 is the image's top-left pixel: 0-based x1 = 0; 10 x 5 px covers [0, 10) x [0, 5).
    np.testing.assert_array_equal(otb_to_xyxy([1, 1, 10, 5]), [0, 0, 10, 5])
    np.testing.assert_array_equal(xyxy_to_otb([0, 0, 10, 5]), [1, 1, 10, 5])


def test_otb_hand_values_non_trivial():
    np.testing.assert_allclose(otb_to_xyxy([[21.5, 3, 4, 7.25]]), [[20.5, 2, 24.5, 9.25]])
    np.testing.assert_allclose(xyxy_to_otb([[20.5, 2, 24.5, 9.25]]), [[21.5, 3, 4, 7.25]])


def test_otb_round_trip_random():
    rng = np.random.default_rng(0)
    xyxy = random_xyxy(rng, 50)
    np.testing.assert_allclose(otb_to_xyxy(xyxy_to_otb(xyxy)), xyxy, atol=1e-12)
    otb = xyxy_to_otb(xyxy)
    np.testing.assert_allclose(xyxy_to_otb(otb_to_xyxy(otb)), otb, atol=1e-12)


def test_otb_conversion_keeps_leading_shape():
    xyxy = random_xyxy(np.random.default_rng(1), 6).reshape(2, 3, 4)
    assert xyxy_to_otb(xyxy).shape == (2, 3, 4)
    assert otb_to_xyxy(xyxy).shape == (2, 3, 4)


def test_xywh_round_trip_and_hand_value():
    np.testing.assert_array_equal(xyxy_to_xywh([2, 3, 12, 8]), [2, 3, 10, 5])
    np.testing.assert_array_equal(xywh_to_xyxy([2, 3, 10, 5]), [2, 3, 12, 8])
    xyxy = random_xyxy(np.random.default_rng(2), 20)
    np.testing.assert_allclose(xywh_to_xyxy(xyxy_to_xywh(xyxy)), xyxy, atol=1e-12)


# --- normalised centre/size ---------------------------------------------------------------------


def test_cxcywh_norm_hand_value():
    # box (10, 20)-(30, 60) in a 100 x 200 image: centre (20, 40), size (20, 40)
    np.testing.assert_allclose(xyxy_to_cxcywh_norm([10, 20, 30, 60], (100, 200)), [0.2, 0.2, 0.2, 0.2])
    np.testing.assert_allclose(xyxy_to_cxcywh_norm([0, 0, 100, 50], (100, 200)), [0.5, 0.125, 1.0, 0.25])
    np.testing.assert_allclose(cxcywh_norm_to_xyxy([0.5, 0.125, 1.0, 0.25], (100, 200)), [0, 0, 100, 50])


def test_cxcywh_norm_round_trip():
    xyxy = random_xyxy(np.random.default_rng(3), 40)
    wh = (320, 240)
    np.testing.assert_allclose(cxcywh_norm_to_xyxy(xyxy_to_cxcywh_norm(xyxy, wh), wh), xyxy, atol=1e-9)


def test_cxcywh_norm_negative_size_clamped_to_zero():
    np.testing.assert_allclose(cxcywh_norm_to_xyxy([0.5, 0.5, -0.1, 0.2], (10, 10)), [5, 4, 5, 6])


# --- IoU ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ([0, 0, 10, 10], [0, 0, 10, 10], 1.0),  # identical
        ([0, 0, 10, 10], [20, 20, 30, 30], 0.0),  # disjoint
        ([0, 0, 10, 10], [5, 0, 15, 10], 50 / 150),  # half overlap: 50 / (100 + 100 - 50)
        ([0, 0, 10, 10], [2, 2, 7, 7], 25 / 100),  # contained
        ([0, 0, 10, 10], [10, 0, 20, 10], 0.0),  # touching edges
        ([0, 0, 10, 10], [10, 10, 20, 20], 0.0),  # touching corners
        ([0, 0, 4, 4], [2, 2, 6, 6], 4 / 28),  # diagonal overlap
        ([0.5, 0, 1.5, 1], [1, 0, 2, 1], 0.5 / 1.5),  # continuous, unrounded coordinates
    ],
)
def test_iou_hand_values(a, b, expected):
    assert iou(a, b) == pytest.approx(expected, abs=1e-12)
    assert iou(b, a) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    "degenerate",
    [
        [5, 5, 5, 8],  # zero width, inside the other box
        [5, 5, 8, 5],  # zero height
        [3, 3, 3, 3],  # a point
        [8, 8, 2, 2],  # negative size
        [np.nan, 0, 10, 10],
        [np.nan] * 4,
    ],
)
def test_iou_degenerate_boxes_are_zero(degenerate):
    out = iou(degenerate, [0, 0, 10, 10])
    assert np.isfinite(out) and out == 0.0
    assert iou(degenerate, degenerate) == 0.0


def test_iou_broadcasts_elementwise():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10]])
    np.testing.assert_allclose(iou(a, b), [1.0, 1 / 3])


def test_iou_matrix_shape_and_values():
    a = np.array([[0, 0, 10, 10], [20, 20, 30, 30]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [25, 20, 35, 30]])
    m = iou_matrix(a, b)
    assert m.shape == (2, 3)
    np.testing.assert_allclose(m, [[1.0, 1 / 3, 0.0], [0.0, 0.0, 1 / 3]])


def test_iou_matrix_single_box_and_empty():
    assert iou_matrix([0, 0, 1, 1], [[0, 0, 1, 1], [0, 0, 2, 1]]).shape == (1, 2)
    assert iou_matrix(np.zeros((0, 4)), [[0, 0, 1, 1]]).shape == (0, 1)


def test_area_clamps_negative_sizes():
    np.testing.assert_array_equal(area([[0, 0, 2, 3], [5, 5, 4, 9]]), [6.0, 0.0])


# --- centre error and clipping --------------------------------------------------------------------


def test_centre_error_hand_value():
    # centres (5, 5) and (8, 9): distance 5 (3-4-5 triangle)
    assert centre_error([0, 0, 10, 10], [3, 4, 13, 14]) == pytest.approx(5.0)
    # a different size, same centre: 0
    assert centre_error([0, 0, 10, 10], [4, 4, 6, 6]) == pytest.approx(0.0)
    np.testing.assert_allclose(centre_error([[0, 0, 2, 2]] * 2, [[0, 0, 2, 2], [6, 0, 8, 2]]), [0.0, 6.0])


def test_clip_xyxy():
    boxes = np.array([[-5, -3, 50, 20], [10, 10, 200, 300], [1, 2, 3, 4]], dtype=np.float64)
    out = clip_xyxy(boxes, (100, 80))
    np.testing.assert_array_equal(out, [[0, 0, 50, 20], [10, 10, 100, 80], [1, 2, 3, 4]])
    # the input is not modified
    assert boxes[0, 0] == -5
