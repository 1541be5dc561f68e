"""Unit tests of rolo.evaluation.metrics: success curve, summaries and scoring of OTB track files."""

import numpy as np
import pytest

from rolo.errors import RoloInputError
from rolo.data.sequences import write_otb_boxes
from rolo.data.splits import make_split
from rolo.evaluation.protocols import SCORE_COLUMNS, score_tracks, track_ious
from rolo.evaluation.metrics import SUCCESS_THRESHOLDS, success_curve, summarize

# --- success curve and summary ------------------------------------------------------------------


def test_thresholds_are_otb_grid():
    assert len(SUCCESS_THRESHOLDS) == 21
    np.testing.assert_allclose(SUCCESS_THRESHOLDS[[0, 10, 20]], [0.0, 0.5, 1.0])


def test_summarize_hand_values():
    s = summarize([1.0, 0.5, 0.0, 0.75])
    assert s["frames"] == 4
    assert s["aos"] == pytest.approx(0.5625)
    # 0.5 is not > 0.5: only 1.0 and 0.75 succeed
    assert s["success_50"] == pytest.approx(0.5)


def test_success_curve_hand_values():
    curve = success_curve([1.0, 0.5, 0.0, 0.75], thresholds=np.array([0.0, 0.5, 0.75, 1.0]))
    # > 0: 3 of 4; > 0.5: 2; > 0.75: 1; > 1: 0
    np.testing.assert_allclose(curve, [0.75, 0.5, 0.25, 0.0])


def test_perfect_tracker_curve_and_auc():
    ious = np.ones(7)
    curve = success_curve(ious)
    assert curve.shape == (21,)
    np.testing.assert_array_equal(curve[:-1], 1.0)
    assert curve[-1] == 0.0  # IoU 1 is not > 1
    assert summarize(ious)["success_auc"] == pytest.approx(20 / 21)


def test_failed_tracker_curve_is_zero():
    s = summarize(np.zeros(5))
    assert s["aos"] == 0.0 and s["success_50"] == 0.0 and s["success_auc"] == 0.0


def test_auc_is_mean_of_curve():
    ious = np.array([0.12, 0.33, 0.51, 0.98, 0.0, 0.5])
    # ious > t summed over the 21 thresholds t = 0, 0.05, ..., 1, counted by hand:
    # 0.12 -> 3 (0, .05, .1), 0.33 -> 7, 0.51 -> 11, 0.98 -> 20, 0.0 -> 0, 0.5 -> 10
    expected = (3 + 7 + 11 + 20 + 0 + 10) / (21 * 6)
    assert summarize(ious)["success_auc"] == pytest.approx(expected)


def test_summarize_empty_raises():
    with pytest.raises(ValueError):
        summarize([])


# --- track_ious and score_tracks --------------------------------------------------------------


def boxes_at(offsets, size=10.0):
    """Boxes ``(x, 0, x + size, size)`` for each x offset."""
    x = np.asarray(offsets, dtype=np.float64)
    return np.stack([x, np.zeros_like(x), x + size, np.full_like(x, size)], axis=1)


def test_track_ious_on_scored_frames_only():
    gt = boxes_at(np.zeros(10))
    split = make_split("v", gt, np.ones(10, bool), "held_out_tail")  # test (3, 10)
    track = boxes_at([0, 5, 5, 0, 0, 20, 0])  # frames 3..9
    np.testing.assert_allclose(track_ious(track, gt, split), [1, 1 / 3, 1 / 3, 1, 1, 0, 1])


def test_track_ious_skips_training_labels_under_sparse_labels():
    gt = boxes_at(np.zeros(7))
    split = make_split("v", gt, np.ones(7, bool), "sparse_labels", label_every=3)  # labels 0, 3, 6
    track = boxes_at([0, 5, 0, 0, 0, 5, 0])
    # scored frames 1, 2, 4, 5
    np.testing.assert_allclose(track_ious(track, gt, split), [1 / 3, 1, 1, 1 / 3])


@pytest.mark.parametrize("length", [6, 8])
def test_track_ious_length_mismatch_raises(length):
    gt = boxes_at(np.zeros(10))
    split = make_split("vid", gt, np.ones(10, bool), "held_out_tail")
    with pytest.raises(RoloInputError) as excinfo:
        track_ious(boxes_at(np.zeros(length)), gt, split, source="results/vid.txt")
    msg = str(excinfo.value)
    assert "results/vid.txt" in msg
    assert f"{length} boxes" in msg and "7 frames" in msg


def test_score_tracks_file_length_mismatch_names_file(tmp_path):
    gt = boxes_at(np.zeros(5))
    split = make_split("a", gt, np.ones(5, bool), "disjoint", role="test")
    path = tmp_path / "yolo" / "a.txt"
    write_otb_boxes(path, boxes_at(np.zeros(4)))
    with pytest.raises(RoloInputError) as excinfo:
        score_tracks({"yolo/a": path}, {"a": gt}, {"a": split})
    assert str(path) in str(excinfo.value)
    assert "4 boxes" in str(excinfo.value) and "5 frames" in str(excinfo.value)


def test_score_tracks_all_row_is_mean_of_sequences(tmp_path):
    gts = {"a": boxes_at(np.zeros(4)), "b": boxes_at(np.zeros(6))}
    splits = {v: make_split(v, g, np.ones(len(g), bool), "disjoint", role="test") for v, g in gts.items()}
    # a: ious [1, 1, 1/3, 0] -> aos 7/12, success 0.5;  b: ious [1, 1, 1, 1, 1, 1/3] -> aos 8/9, success 5/6
    tracks = {"a": boxes_at([0, 0, 5, 30]), "b": boxes_at([0, 0, 0, 0, 0, -5])}
    paths = {}
    for video, boxes in tracks.items():
        paths[f"rolo/{video}"] = tmp_path / "rolo" / f"{video}.txt"
        write_otb_boxes(paths[f"rolo/{video}"], boxes)
        # a second tracker that is always right
        paths[f"yolo/{video}"] = tmp_path / "yolo" / f"{video}.txt"
        write_otb_boxes(paths[f"yolo/{video}"], gts[video])

    df, curves = score_tracks(paths, gts, splits)
    assert list(df.columns) == SCORE_COLUMNS
    assert len(df) == 6  # 2 trackers x (2 videos + ALL)
    row = df.set_index(["tracker", "sequence"])

    assert row.loc[("rolo", "a"), "aos"] == pytest.approx(7 / 12)
    assert row.loc[("rolo", "b"), "aos"] == pytest.approx(8 / 9)
    assert row.loc[("rolo", "ALL"), "frames"] == 10
    # mean over sequences, not over frames (that would be (7/3 + 16/3) / 10)
    assert row.loc[("rolo", "ALL"), "aos"] == pytest.approx((7 / 12 + 8 / 9) / 2)
    assert row.loc[("rolo", "ALL"), "success_50"] == pytest.approx((0.5 + 5 / 6) / 2)
    assert row.loc[("yolo", "ALL"), "aos"] == pytest.approx(1.0)
    assert row.loc[("yolo", "ALL"), "frames"] == 10
    # the ALL success curve is the mean of the sequences' curves; its mean is the ALL row's AUC
    succ = curves[(curves.tracker == "rolo") & (curves.curve == "success")].pivot(index="threshold", columns="sequence", values="value")
    np.testing.assert_allclose(succ["ALL"], (succ["a"] + succ["b"]) / 2)
    assert succ["ALL"].mean() == pytest.approx(row.loc[("rolo", "ALL"), "success_auc"])
    assert succ.loc[0.5, "a"] == 0.5 and len(succ) == 21


def test_score_tracks_empty():
    df, curves = score_tracks({}, {}, {})
    assert df.empty and curves.empty
    assert list(df.columns) == SCORE_COLUMNS


def test_precision_and_normalized_precision_hand_values():
    from rolo.evaluation.metrics import frame_errors, summarize_errors

    gt = np.array([[0, 0, 10, 10], [0, 0, 10, 20.0]])
    pred = np.array([[0, 0, 10, 10], [3, 4, 13, 24.0]])  # second: shifted (3, 4) px
    e = frame_errors(pred, gt)
    np.testing.assert_allclose(e["iou"], [1.0, 112 / 288])  # 7 x 16 overlap, union 200 + 200 - 112
    np.testing.assert_allclose(e["centre_error"], [0.0, 5.0])
    np.testing.assert_allclose(e["norm_centre_error"], [0.0, np.hypot(0.3, 0.2)])
    s = summarize_errors(e)
    assert s["frames"] == 2
    assert s["success_auc"] == pytest.approx((20 + 8) / 42)  # 1.0 > t on 20 thresholds, 0.389 > t on 8
    assert s["success_50"] == 0.5 and s["precision_20"] == 1.0 and s["norm_precision_20"] == 0.5


def test_precision_curve_is_inclusive():
    from rolo.evaluation.metrics import precision_curve

    curve = precision_curve(np.array([20.0, 20.5]))
    assert curve[20] == 0.5 and curve[21] == 1.0 and curve[19] == 0.0
