"""Unit tests of rolo.data.synthetic: deterministic rendering and OTB-layout output."""

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest

from rolo.data.sequences import load_sequence, read_otb_boxes
from rolo.data.synthetic import CHALLENGES, SynthParams, render_sequence, write_sequence

# target_size is scaled down with the image: the default (28..48 px, x1.6 under SV) does not fit 96x80
SMALL = SynthParams(width=96, height=80, frames=12, target_size=(10.0, 16.0))
MIX = ("SV", "MB", "OCC", "IV", "BC")  # every challenge that fits in 12 frames (see the FM test)


def render(name="Seq", challenges=MIX, seed=11, p=SMALL):
    return render_sequence(name, list(challenges), seed, p)


def assert_same(a, b):
    frames_a, gt_a = a
    frames_b, gt_b = b
    np.testing.assert_array_equal(gt_a, gt_b)
    assert len(frames_a) == len(frames_b)
    for fa, fb in zip(frames_a, frames_b):
        np.testing.assert_array_equal(fa, fb)


def test_render_shapes():
    frames, gt = render()
    assert len(frames) == SMALL.frames
    assert all(f.shape == (80, 96, 3) and f.dtype == np.uint8 for f in frames)
    assert gt.shape == (SMALL.frames, 4) and gt.dtype == np.float64


def test_render_is_deterministic():
    assert_same(render(), render())


@pytest.mark.parametrize("other", [dict(name="Seq2"), dict(seed=12)])
def test_render_differs_for_another_name_or_seed(other):
    frames_a, gt_a = render()
    frames_b, gt_b = render(**other)
    assert not np.array_equal(gt_a, gt_b)
    assert not np.array_equal(frames_a[0], frames_b[0])


def test_sequence_does_not_depend_on_other_sequences():
    first = render("A")
    render("B")  # rendering another sequence in between changes nothing
    assert_same(render("A"), first)


@pytest.mark.parametrize("challenges", [(), ("SV",), ("OCC", "BC"), MIX])
def test_ground_truth_inside_image_with_positive_size(challenges):
    _, gt = render(challenges=challenges)
    assert np.isfinite(gt).all()
    assert (gt[:, [0, 1]] >= 0).all()
    assert (gt[:, 2] <= SMALL.width).all() and (gt[:, 3] <= SMALL.height).all()
    assert (gt[:, 2] - gt[:, 0] > 1).all() and (gt[:, 3] - gt[:, 1] > 1).all()


def test_target_moves():
    _, gt = render(challenges=())
    centres = (gt[:, :2] + gt[:, 2:]) / 2
    assert np.linalg.norm(centres[-1] - centres[0]) > 1.0


def test_unknown_challenge_raises():
    with pytest.raises(ValueError, match="XYZ"):
        render(challenges=("SV", "XYZ"))
    assert set(CHALLENGES) == {"SV", "FM", "MB", "OCC", "IV", "BC"}


def test_fast_motion_on_a_long_enough_sequence():
    frames, gt = render(challenges=("FM", "MB"), p=replace(SMALL, frames=30))
    assert len(frames) == 30
    steps = np.linalg.norm(np.diff((gt[:, :2] + gt[:, 2:]) / 2, axis=0), axis=1)
    assert steps.max() > 2 * np.median(steps)  # at least one burst


def test_fast_motion_short_sequence_works_or_explains():
    try:
        frames, _ = render(challenges=("FM",))
    except ValueError as e:
        assert "frames" in str(e) or "FM" in str(e), str(e)
    else:
        assert len(frames) == SMALL.frames


def test_target_too_large_for_image_works_or_explains():
    p = SynthParams(width=96, height=80, frames=12)
    try:
        _, gt = render(challenges=("SV",), seed=11, p=p)
    except ValueError as e:
        assert any(w in str(e) for w in ("target_size", "width", "height")), str(e)
    else:
        assert (gt[:, 2] <= 96).all() and (gt[:, 3] <= 80).all()


# --- written to disk ----------------------------------------------------------------------------


@pytest.fixture
def written(tmp_path):
    out = tmp_path / "Seq"
    write_sequence(out, "Seq", list(MIX), 11, SMALL)
    return out


def test_write_sequence_layout(written):
    names = sorted(p.name for p in (written / "img").iterdir())
    assert names == [f"{i:04d}.jpg" for i in range(1, SMALL.frames + 1)]
    img = cv2.imread(str(written / "img" / "0001.jpg"))
    assert img.shape == (80, 96, 3)
    attrs = json.loads((written / "attributes.json").read_text())
    assert attrs["name"] == "Seq" and attrs["attributes"] == list(MIX) and attrs["seed"] == 11
    assert attrs["params"]["frames"] == SMALL.frames
    assert not [p for p in written.rglob(".*")]  # no temporary files left


def test_written_ground_truth_is_one_based(written):
    _, gt = render()
    otb = read_otb_boxes(written / "groundtruth_rect.txt")
    np.testing.assert_allclose(otb[:, :2], gt[:, :2] + 1, atol=0.005 + 1e-9)
    np.testing.assert_allclose(otb[:, 2:], gt[:, 2:] - gt[:, :2], atol=0.005 + 1e-9)


def test_load_sequence_reads_back_the_rendered_boxes(written):
    frames, gt = render()
    seq = load_sequence(written)
    assert seq.name == "Seq" and len(seq) == SMALL.frames
    assert seq.valid.all()
    # x1, y1 are rounded to 0.005 px; x2 = x + w carries two roundings
    np.testing.assert_allclose(seq.gt, gt, atol=0.01 + 1e-9)
    # the JPEG is the rendered frame, up to compression
    decoded = cv2.imread(str(seq.frames[5])).astype(np.float64)
    assert np.abs(decoded - frames[5]).mean() < 8.0
