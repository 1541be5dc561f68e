"""Unit tests of rolo.data.sequences: the OTB loader, its error messages, and atomic writing."""

import re

import cv2
import numpy as np
import pytest

from rolo.errors import RoloInputError
from rolo.utils.io import atomic_path
from rolo.data.sequences import list_frames, load_sequence, read_otb_boxes, read_otb_xyxy, write_otb_boxes


def write_gt(path, text):
    path.write_text(text)
    return path


def make_sequence(folder, gt_text, n_frames=None, names=None):
    """An OTB-layout folder with tiny 8x8 JPEGs ``img/0001.jpg...`` and ``groundtruth_rect.txt``."""
    img = folder / "img"
    img.mkdir(parents=True)
    if names is None:
        names = [f"{i:04d}.jpg" for i in range(1, n_frames + 1)]
    for k, name in enumerate(names):
        assert cv2.imwrite(str(img / name), np.full((8, 8, 3), 10 * k, np.uint8))
    write_gt(folder / "groundtruth_rect.txt", gt_text)
    return folder


def assert_input_error(excinfo, path, lineno=None):
    msg = str(excinfo.value)
    assert str(path) in msg
    if lineno is not None:
        assert re.search(rf":{lineno}\b", msg), msg


# --- read_otb_boxes: delimiters ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "1,2,3,4\n5,6,7,8\n",
        "1\t2\t3\t4\n5\t6\t7\t8\n",
        "1 2 3 4\n5 6 7 8\n",
        "1,2\t3 4\n5, 6 ,7\t 8\n",  # mixed within a line
        "1,2,3,4\n5,6,7,8",  # no final newline
        "1,2,3,4\n5,6,7,8\n\n\n  \n",  # trailing blank lines
        "1,2,3,4\r\n5,6,7,8\r\n",  # Windows line ends
    ],
)
def test_read_otb_boxes_delimiters(tmp_path, text):
    boxes = read_otb_boxes(write_gt(tmp_path / "gt.txt", text))
    assert boxes.dtype == np.float64
    np.testing.assert_array_equal(boxes, [[1, 2, 3, 4], [5, 6, 7, 8]])


def test_read_otb_boxes_decimals(tmp_path):
    boxes = read_otb_boxes(write_gt(tmp_path / "gt.txt", "1.5,2.25,3e1,4\n"))
    np.testing.assert_array_equal(boxes, [[1.5, 2.25, 30, 4]])


def test_read_otb_xyxy_is_zero_based(tmp_path):
    np.testing.assert_array_equal(read_otb_xyxy(write_gt(tmp_path / "gt.txt", "1,1,4,2\n")), [[0, 0, 4, 2]])


# --- read_otb_boxes: malformed lines name the file and the line ----------------------------------


@pytest.mark.parametrize(
    "text, lineno",
    [
        ("1,2,3,4\n1,2,3\n", 2),  # too few fields
        ("1,2,3,4\n1,2,3,4\n1,2,3,4,5\n", 3),  # too many fields
        ("1,2,x,4\n", 1),  # not a number
        ("1,2,3,4\n1,2,-3,4\n", 2),  # negative width
        ("1,2,3,4\n1,2,3,-0.5\n", 2),  # negative height
        ("1,2,3,4\n\n1,2,3,4\n", 2),  # blank line in the middle
        ("1,2,3,4\n1,2,nan,4\n", 2),  # non-finite
        ("1,2,3,4\n1,2,3,4\n1,inf,3,4\n", 3),
    ],
)
def test_read_otb_boxes_malformed(tmp_path, text, lineno):
    path = write_gt(tmp_path / "gt.txt", text)
    with pytest.raises(RoloInputError) as excinfo:
        read_otb_boxes(path)
    assert_input_error(excinfo, path, lineno)


def test_read_otb_boxes_empty_and_missing(tmp_path):
    empty = write_gt(tmp_path / "empty.txt", "\n\n")
    with pytest.raises(RoloInputError) as excinfo:
        read_otb_boxes(empty)
    assert_input_error(excinfo, empty)
    missing = tmp_path / "missing.txt"
    with pytest.raises(RoloInputError) as excinfo:
        read_otb_boxes(missing)
    assert_input_error(excinfo, missing)


def test_rolo_input_error_is_a_value_error():
    assert issubclass(RoloInputError, ValueError)


# --- frames ----------------------------------------------------------------------------------


def test_list_frames_sorted_by_number(tmp_path):
    # 10 sorts before 9 as text; the loader sorts by number
    folder = make_sequence(tmp_path / "s", "", names=[f"{i}.jpg" for i in (9, 10, 8, 11)])
    frames = list_frames(folder / "img")
    assert [p.name for p in frames] == ["8.jpg", "9.jpg", "10.jpg", "11.jpg"]


def test_list_frames_gap_raises(tmp_path):
    folder = make_sequence(tmp_path / "s", "", names=["0001.jpg", "0002.jpg", "0004.jpg"])
    with pytest.raises(RoloInputError, match="not consecutive") as excinfo:
        list_frames(folder / "img")
    assert "[3]" in str(excinfo.value)  # names the missing frame
    assert_input_error(excinfo, folder / "img")


def test_list_frames_non_numeric_name_raises(tmp_path):
    folder = make_sequence(tmp_path / "s", "", names=["0001.jpg", "0002.jpg", "frame3.jpg"])
    with pytest.raises(RoloInputError, match="not a frame number") as excinfo:
        list_frames(folder / "img")
    assert "frame3.jpg" in str(excinfo.value)


def test_list_frames_ignores_other_files(tmp_path):
    folder = make_sequence(tmp_path / "s", "", n_frames=2)
    (folder / "img" / "notes.txt").write_text("x")
    assert len(list_frames(folder / "img")) == 2


def test_list_frames_missing_or_empty_folder(tmp_path):
    with pytest.raises(RoloInputError):
        list_frames(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RoloInputError):
        list_frames(tmp_path / "empty")


# --- load_sequence -----------------------------------------------------------------------------


def test_load_sequence_converts_to_zero_based(tmp_path):
    folder = make_sequence(tmp_path / "Seq", "1,1,4,2\n3,2,5,6\n", n_frames=2)
    seq = load_sequence(folder)
    assert seq.name == "Seq"
    assert len(seq) == 2
    assert [p.name for p in seq.frames] == ["0001.jpg", "0002.jpg"]
    np.testing.assert_array_equal(seq.gt, [[0, 0, 4, 2], [2, 1, 7, 7]])
    np.testing.assert_array_equal(seq.valid, [True, True])


def test_load_sequence_name_override(tmp_path):
    folder = make_sequence(tmp_path / "Seq", "1,1,4,2\n", n_frames=1)
    assert load_sequence(folder, name="Other").name == "Other"


@pytest.mark.parametrize("n_gt, n_frames", [(3, 4), (5, 4)])
def test_load_sequence_count_mismatch_names_both_counts(tmp_path, n_gt, n_frames):
    folder = make_sequence(tmp_path / "s", "1,1,4,2\n" * n_gt, n_frames=n_frames)
    with pytest.raises(RoloInputError) as excinfo:
        load_sequence(folder)
    msg = str(excinfo.value)
    assert f"{n_gt} boxes" in msg and f"{n_frames} frames" in msg
    assert str(folder / "groundtruth_rect.txt") in msg


def test_load_sequence_zero_rows_are_invalid(tmp_path):
    folder = make_sequence(tmp_path / "s", "1,1,4,2\n0,0,0,0\n2,2,3,3\n5,5,0,3\n", n_frames=4)
    seq = load_sequence(folder)
    np.testing.assert_array_equal(seq.valid, [True, False, True, False])


def test_load_sequence_invalid_first_frame_raises(tmp_path):
    folder = make_sequence(tmp_path / "s", "0,0,0,0\n1,1,4,2\n", n_frames=2)
    with pytest.raises(RoloInputError) as excinfo:
        load_sequence(folder)
    assert_input_error(excinfo, folder / "groundtruth_rect.txt", 1)


def test_load_sequence_malformed_gt_reports_line(tmp_path):
    folder = make_sequence(tmp_path / "s", "1,1,4,2\n1,1,4\n", n_frames=2)
    with pytest.raises(RoloInputError) as excinfo:
        load_sequence(folder)
    assert_input_error(excinfo, folder / "groundtruth_rect.txt", 2)


def test_load_sequence_missing_folder(tmp_path):
    with pytest.raises(RoloInputError):
        load_sequence(tmp_path / "absent")


# --- writing -----------------------------------------------------------------------------------


def test_write_then_read_round_trip_is_one_based(tmp_path):
    xyxy = np.array([[0, 0, 4, 2], [10.25, 3.5, 20.75, 9.0]])
    path = tmp_path / "out" / "track.txt"
    write_otb_boxes(path, xyxy)
    assert path.read_text().splitlines()[0] == "1.00,1.00,4.00,2.00"
    np.testing.assert_allclose(read_otb_boxes(path), [[1, 1, 4, 2], [11.25, 4.5, 10.5, 5.5]])
    np.testing.assert_allclose(read_otb_xyxy(path), xyxy)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_write_otb_boxes_refuses_non_finite_and_leaves_no_file(tmp_path, bad):
    path = tmp_path / "track.txt"
    with pytest.raises(ValueError):
        write_otb_boxes(path, np.array([[0, 0, 4, 2], [0, bad, 4, 2]]))
    assert list(tmp_path.iterdir()) == []


def test_write_otb_boxes_failure_keeps_previous_file(tmp_path):
    path = tmp_path / "track.txt"
    write_otb_boxes(path, np.array([[0, 0, 4, 2]]))
    before = path.read_text()
    with pytest.raises(ValueError):
        write_otb_boxes(path, np.array([[np.nan, 0, 4, 2]]))
    assert path.read_text() == before


def test_atomic_path_leaves_no_file_when_body_raises(tmp_path):
    target = tmp_path / "sub" / "result.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            assert tmp.parent == target.parent and tmp != target
            raise RuntimeError("killed")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_atomic_path_success_renames_onto_target(tmp_path):
    target = tmp_path / "result.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("done")
        assert not target.exists()
    assert target.read_text() == "done"
    assert list(tmp_path.iterdir()) == [target]
