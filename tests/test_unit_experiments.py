"""Unit tests of rolo.data.splits: the three split kinds' splits and their invariants."""

import json

import numpy as np
import pytest

from rolo.data.splits import (
    SPLITS,
    VideoSplit,
    experiment_videos,
    make_split,
    test_videos as experiment_test_videos,  # renamed: pytest would collect a name starting with test_
    train_videos,
)

N = 10


def gt_boxes(n=N):
    """Distinct 0-based xyxy boxes: frame t is ``(2t, t, 2t + 4, t + 2)``."""
    t = np.arange(n, dtype=np.float64)
    return np.stack([2 * t, t, 2 * t + 4, t + 2], axis=1)


def all_valid(n=N):
    return np.ones(n, bool)


def valid_except(*frames, n=N):
    v = all_valid(n)
    v[list(frames)] = False
    return v


def split(kind, valid=None, **kw):
    valid = all_valid() if valid is None else valid
    gt = gt_boxes(len(valid))
    gt[~valid] = [-1, -1, -1, -1]  # OTB 0,0,0,0
    return make_split("vid", gt, valid, kind, **kw)


def otb_of_frame(t):
    """OTB 1-based (x, y, w, h) of gt_boxes()[t]."""
    return (2 * t + 1.0, t + 1.0, 4.0, 2.0)


# --- disjoint -------------------------------------------------------------------------------------


def test_disjoint_train_role():
    s = split("disjoint", role="train")
    assert s.video == "vid" and s.frames == N
    assert s.train == (0, N)
    assert s.train_labels == tuple(range(N))
    assert s.test is None and s.start_box is None and s.scored == ()
    with pytest.raises(ValueError):
        s.start_box_xyxy()


def test_disjoint_test_role():
    s = split("disjoint", role="test")
    assert s.train is None and s.train_labels == ()
    assert s.test == (0, N)
    assert s.scored == tuple(range(N))  # the start frame is scored (OTB one-pass)
    assert s.start_box == otb_of_frame(0) == (1.0, 1.0, 4.0, 2.0)
    np.testing.assert_array_equal(s.start_box_xyxy(), [0, 0, 4, 2])


def test_disjoint_needs_a_role():
    with pytest.raises(ValueError, match="role"):
        split("disjoint")


# --- held_out_tail -----------------------------------------------------------------------------


def test_held_out_tail_third():
    s = split("held_out_tail", train_fraction=1 / 3)
    assert s.train == (0, 3)
    assert s.train_labels == (0, 1, 2)
    assert s.test == (3, N)
    assert s.scored == tuple(range(3, N))
    assert s.start_box == otb_of_frame(3)
    np.testing.assert_array_equal(s.start_box_xyxy(), gt_boxes()[3])
    assert not set(s.scored) & set(s.train_labels)


@pytest.mark.parametrize("fraction", [0.0, 0.05, 1.0])
def test_held_out_tail_degenerate_fraction_raises(fraction):
    with pytest.raises(ValueError):
        split("held_out_tail", train_fraction=fraction)


def test_held_out_tail_fraction_is_exact():
    gt = gt_boxes(90)
    s = make_split("vid", gt, all_valid(90), "held_out_tail", train_fraction=0.7)
    assert s.train == (0, 63)


# --- sparse_labels ---------------------------------------------------------------------------------


def test_sparse_labels_every_third():
    s = split("sparse_labels", label_every=3)
    assert s.train == (0, N) and s.test == (0, N)
    assert s.train_labels == (0, 3, 6, 9)
    assert s.scored == (1, 2, 4, 5, 7, 8)
    assert 0 not in s.scored  # the start frame's label was used in training
    assert s.start_box == otb_of_frame(0)


def test_sparse_labels_every_fourth():
    s = split("sparse_labels", label_every=4)
    assert s.train_labels == (0, 4, 8)
    assert s.scored == (1, 2, 3, 5, 6, 7, 9)


def test_sparse_labels_needs_label_every_at_least_two():
    with pytest.raises(ValueError):
        split("sparse_labels", label_every=1)


def test_unknown_split_raises():
    with pytest.raises(ValueError, match="unknown split"):
        split("random")


# --- invalid ground truth -----------------------------------------------------------------------


def test_invalid_frames_are_not_labels_but_scored_sparse():
    """Invalid frames are never training targets; they are scored, as the protocol says (OTB counts them)."""
    s = split("sparse_labels", valid=valid_except(3, 5), label_every=3)
    assert s.train_labels == (0, 6, 9)
    assert s.scored == (1, 2, 3, 4, 5, 7, 8)


def test_invalid_frames_are_not_labels_but_scored_held_out_tail():
    s = split("held_out_tail", valid=valid_except(1, 6))
    assert s.train_labels == (0, 2)
    assert s.scored == (3, 4, 5, 6, 7, 8, 9)


def test_invalid_frames_disjoint():
    assert split("disjoint", valid=valid_except(4), role="train").train_labels == (0, 1, 2, 3, 5, 6, 7, 8, 9)
    assert split("disjoint", valid=valid_except(4), role="test").scored == tuple(range(10))


def test_invalid_start_frame_moves_start_held_out_tail():
    s = split("held_out_tail", valid=valid_except(3, 4))
    assert s.test == (5, N)  # the start moves to the first valid frame: frames before it are not tracked
    assert s.start_box == otb_of_frame(5)
    assert s.scored == (5, 6, 7, 8, 9)


def test_invalid_start_frame_moves_start_disjoint():
    s = split("disjoint", valid=valid_except(0), role="test")
    assert s.test == (1, N)
    assert s.start_box == otb_of_frame(1)
    assert s.scored == tuple(range(1, N))


def test_no_valid_test_frame_raises():
    with pytest.raises(ValueError, match="no valid ground truth"):
        split("held_out_tail", valid=valid_except(*range(3, N)))


# --- serialisation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw",
    [
        dict(split="disjoint", role="train"),
        dict(split="disjoint", role="test"),
        dict(split="held_out_tail"),
        dict(split="sparse_labels"),
    ],
)
def test_to_dict_from_dict_round_trip_through_json(kw):
    s = split(kw.pop("split"), valid=valid_except(7), **kw)
    text = json.dumps(s.to_dict())
    back = VideoSplit.from_dict(json.loads(text))
    assert back == s
    assert isinstance(back.train_labels, tuple) and isinstance(back.scored, tuple)
    assert back.test is None or isinstance(back.test, tuple)


# --- invariants of every split kind -------------------------------------------------------------


def every_split(valid):
    yield split("disjoint", valid=valid, role="train")
    yield split("disjoint", valid=valid, role="test")
    for f in (1 / 3, 0.5, 0.8):
        yield split("held_out_tail", valid=valid, train_fraction=f)
    for k in (2, 3, 5):
        yield split("sparse_labels", valid=valid, label_every=k)


@pytest.mark.parametrize("seed", range(5))
def test_scored_never_trained_on_and_unique(seed):
    rng = np.random.default_rng(seed)
    valid = rng.random(N) > 0.3
    valid[0] = True  # load_sequence guarantees a valid first frame
    valid[-3:] = True  # every split kind keeps a valid test frame
    for s in every_split(valid):
        assert not set(s.scored) & set(s.train_labels), s
        assert len(set(s.scored)) == len(s.scored), s
        assert list(s.scored) == sorted(s.scored)
        assert all(valid[t] for t in s.train_labels)
        if s.test is not None:
            assert set(s.scored) == set(range(*s.test)) - set(s.train_labels)
            assert all(s.test[0] <= t < s.test[1] for t in s.scored)
            assert valid[s.test[0]]
            np.testing.assert_array_equal(s.start_box_xyxy(), gt_boxes()[s.test[0]])
        if s.train is not None:
            assert all(s.train[0] <= t < s.train[1] for t in s.train_labels)


# --- experiment config helpers ------------------------------------------------------------------


def test_experiment_video_roles():
    exp1 = {"split": "disjoint", "train": ["a", "b"], "test": ["c"]}
    assert experiment_videos(exp1) == {"a": "train", "b": "train", "c": "test"}
    assert experiment_test_videos(exp1) == ["c"] and train_videos(exp1) == ["a", "b"]
    exp2 = {"split": "held_out_tail", "videos": ["a", "c"]}
    assert experiment_videos(exp2) == {"a": "both", "c": "both"}
    assert experiment_test_videos(exp2) == ["a", "c"] and train_videos(exp2) == ["a", "c"]
    assert set(SPLITS) == {"disjoint", "held_out_tail", "sparse_labels"}


# --- experiment settings: errors that name the field ---------------------------------------------


@pytest.mark.parametrize(
    "exp, message",
    [
        ({"protocol": "disjoint", "train": ["a"], "test": ["b"]}, "experiments.e.protocol: renamed to 'split'"),
        ({"split": "held-out-tail", "videos": ["a"]}, "experiments.e.split: 'held-out-tail' is not a split kind; allowed: disjoint, held_out_tail, sparse_labels"),
        ({"split": "sparse_labels", "videos": ["a"], "label_every": 0}, "experiments.e.label_every: 0; allowed: an integer >= 2"),
        ({"split": "sparse_labels", "videos": ["a"], "tset": ["b"]}, "experiments.e.tset: not a setting of split sparse_labels; allowed: split, videos, label_every"),
        ({"split": "disjoint", "train": ["a"]}, "experiments.e.test: required by split disjoint"),
        ({"split": "held_out_tail", "videos": ["a"], "train_fraction": 1.5}, "experiments.e.train_fraction: 1.5; allowed: a number between 0 and 1"),
    ],
)
def test_experiment_errors_name_the_field(exp, message):
    from rolo.data.splits import check_experiments

    with pytest.raises(ValueError) as e:
        check_experiments({"e": exp})
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_valid_experiments_pass():
    from rolo.data.splits import check_experiments

    check_experiments({
        "a": {"split": "disjoint", "train": ["x"], "test": ["y"]},
        "b": {"split": "held_out_tail", "videos": ["x"], "train_fraction": 0.5},
        "c": {"split": "sparse_labels", "videos": ["x"], "label_every": 3},
    })
