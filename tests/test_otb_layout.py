"""Reading OTB-2015 folders through the catalog: frame ranges, two-target videos, delimiters,
invalid rows, layouts found in the wild, and the prepared folders the pipeline reads."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from rolo.utils.boxes import otb_to_xyxy
from rolo.errors import RoloInputError
from rolo.data.sequences import load_sequence, read_otb_boxes
from rolo.evaluation.protocols import valid_ground_truth
from rolo.data.otb import find_entry, link_sequence, otb_frames, otb_ground_truth, sequence_folder, sequence_protocol
from test_otb_fakes import make_folder, make_tree, write_images

FOLDERS = ["David", "Tiger1", "BlurCar1", "Football1", "Jogging", "Human4", "Board"]


@pytest.fixture(scope="module")
def otb(tmp_path_factory):
    root = tmp_path_factory.mktemp("otb")
    return root, make_tree(root, FOLDERS)


def frames_and_gt(root, name, protocol="official"):
    e = find_entry(name)
    folder = sequence_folder(root, e)
    return otb_frames(folder, e, protocol), otb_ground_truth(folder, e, protocol)


@pytest.mark.parametrize(
    "name, protocol, first, last",
    [("David", "official", 300, 770), ("BlurCar1", "official", 247, 988), ("Football1", "official", 1, 74),
     ("Tiger1", "official", 6, 354), ("Tiger1", "got10k", 1, 354), ("David", "got10k", 300, 770)],
)
def test_frames_are_the_annotated_range(otb, name, protocol, first, last):
    root, gts = otb
    frames, gt = frames_and_gt(root, name, protocol)
    assert [int(f.stem) for f in frames] == list(range(first, last + 1))
    skip = first - find_entry(name).first_frame
    np.testing.assert_array_equal(gt, gts[name][skip:])  # row i of the file is image first_frame + i


def test_two_targets_share_images_not_ground_truth(otb):
    root, gts = otb
    f1, g1 = frames_and_gt(root, "Jogging.1")
    f2, g2 = frames_and_gt(root, "Jogging_2")  # alias
    assert f1 == f2 and len(f1) == 307
    np.testing.assert_array_equal(g1, gts["Jogging.1"])
    np.testing.assert_array_equal(g2, gts["Jogging.2"])
    assert not np.array_equal(g1, g2)


def test_human4_reads_its_second_ground_truth(otb):
    root, gts = otb
    assert (root / "Human4/groundtruth_rect.1.txt").read_text() == ""
    np.testing.assert_array_equal(frames_and_gt(root, "Human4")[1], gts["Human4.2"])


@pytest.mark.parametrize("delimiter", [",", "\t", " ", "mixed"])
def test_delimiters(tmp_path, delimiter):
    gts = make_folder(tmp_path, "Deer", delimiter)
    text = (tmp_path / "Deer/groundtruth_rect.txt").read_text()
    assert (delimiter in text) if delimiter != "mixed" else {",", "\t", " "} <= set(text)
    np.testing.assert_array_equal(frames_and_gt(tmp_path, "Deer")[1], gts["Deer"])


def test_invalid_rows_are_named_by_the_protocol(otb):
    root, _ = otb
    gt = otb_to_xyxy(frames_and_gt(root, "Board")[1])
    assert not valid_ground_truth(gt, "official")[697] and valid_ground_truth(gt, "official")[:697].all()
    assert valid_ground_truth(gt, "got10k").all()
    # a box reaching past the left edge (x <= 0, 1-based) is invalid for the MATLAB toolkit only
    edge = otb_to_xyxy(np.array([[0.0, 5, 10, 10], [0.5, 5, 10, 10], [3, -2, 10, 10], [3, 1, 10, 0]]))
    assert valid_ground_truth(edge, "official").tolist() == [False, True, False, False]


def test_layouts_found_in_the_wild(tmp_path):
    gts = make_folder(tmp_path / "nested", "Deer")
    (tmp_path / "nested/Deer").rename(tmp_path / "nested/tmp")
    (tmp_path / "nested/Deer").mkdir()
    (tmp_path / "nested/tmp").rename(tmp_path / "nested/Deer/Deer")  # Deer/Deer/img
    np.testing.assert_array_equal(frames_and_gt(tmp_path / "nested", "Deer")[1], gts["Deer"])
    make_folder(tmp_path / "cased", "Suv")
    (tmp_path / "cased/Suv").rename(tmp_path / "cased/SUV")  # another case
    assert len(frames_and_gt(tmp_path / "cased", "Suv")[0]) == 945


def test_clear_errors(tmp_path):
    make_folder(tmp_path, "Deer")
    e = find_entry("Deer")
    with pytest.raises(RoloInputError, match=r"Man: sequence folder of Man not found"):
        sequence_folder(tmp_path, find_entry("Man"))
    with pytest.raises(RoloInputError, match=r"nowhere: OTB root folder not found"):
        sequence_folder(tmp_path / "nowhere", e)
    gt = tmp_path / "Deer/groundtruth_rect.txt"
    gt.write_text("".join(gt.read_text().splitlines(keepends=True)[:70]))
    with pytest.raises(RoloInputError, match=r"groundtruth_rect.txt: 70 boxes, but the catalog's range of Deer is frames 1..71 \(71 boxes\)"):
        otb_ground_truth(tmp_path / "Deer", e, "official")
    (tmp_path / "Deer/img/0071.jpg").unlink()
    with pytest.raises(RoloInputError, match=r"Deer needs images 1..71, the folder holds 1..70"):
        otb_frames(tmp_path / "Deer", e, "official")
    write_images(tmp_path / "Gap/img", 1, 3)
    (tmp_path / "Gap/img/0002.jpg").unlink()
    with pytest.raises(RoloInputError, match=r"not consecutive"):
        otb_frames(tmp_path / "Gap", e, "official")


def _snapshot(root):
    return {
        str(p.relative_to(root)): (p.lstat().st_mtime_ns, p.lstat().st_size)
        for p in sorted(root.rglob("*"))
    }


def test_prepared_folders_read_like_plain_sequences_and_never_write_the_source(tmp_path):
    src = tmp_path / "otb"
    gts = make_tree(src, ["Tiger1", "Jogging", "BlurCar1"])
    for p in [src, *src.rglob("*")]:
        if p.is_dir() or p.is_file():
            p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    before = _snapshot(src)
    try:
        for name, protocol, n, first in (("Tiger1", "official", 349, 6), ("Tiger1", "got10k", 354, 1),
                                         ("Jogging.2", "official", 307, 1), ("BlurCar1", "official", 742, 247)):
            out = tmp_path / "prepared" / protocol / name
            e = find_entry(name)
            meta = link_sequence(src / e.folder, e, protocol, out)
            seq = load_sequence(out, name=name)  # the pipeline's reader
            assert len(seq) == n == meta["frames"] and int(seq.frames[0].stem) == first
            assert os.path.realpath(seq.frames[0]) == str((src / e.folder / "img" / f"{first:04d}.jpg").resolve())
            np.testing.assert_array_equal(read_otb_boxes(out / "groundtruth_rect.txt"), gts[e.name][first - e.first_frame:])
            assert sequence_protocol(out) == protocol and json.loads((out / "sequence.json").read_text())["name"] == e.name
        assert _snapshot(src) == before  # nothing added, removed or modified (root ignores the read-only bits)
    finally:
        for p in [src, *src.rglob("*")]:
            p.chmod(p.stat().st_mode | stat.S_IWUSR)
