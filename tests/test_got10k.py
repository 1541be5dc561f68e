"""GOT-10k: a fake tree (val with absent and fully covered frames, boxes past the image border,
a sequence with three repetitions; test with first-frame ground truth) read in place, scored
against got10k's own ExperimentGOT10k bit for bit, and the test-server zip."""

from __future__ import annotations

import glob
import os
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rolo.data.got10k import got10k_sequences, load_got10k_sequence
from rolo.errors import RoloInputError
from rolo.evaluation.benchmarks import (
    GOT10K_COLUMNS,
    got10k_iou,
    got10k_submission_from_folder,
    score_got10k_val,
    write_got10k_submission,
)
from test_otb_fakes import JPEG

VAL = {  # name: (frames, resolution, repetitions)
    "GOT-10k_Val_000001": (40, (64, 48), 1),
    "GOT-10k_Val_000002": (25, (80, 60), 3),
    "GOT-10k_Val_000003": (33, (50, 50), 1),
    "GOT-10k_Val_000004": (18, (96, 40), 1),
}
TEST = {"GOT-10k_Test_000001": 12, "GOT-10k_Test_000002": 7}


def write_frames(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    first = folder / "00000001.jpg"
    first.write_bytes(JPEG)
    for i in range(2, n + 1):
        os.link(first, folder / f"{i:08d}.jpg")


def boxes_in(n: int, resolution: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """``(n, 4)`` 1-based x, y, w, h; some reach past the image's edges (got10k clips them)."""
    w_img, h_img = resolution
    xy = rng.uniform(-8, [w_img - 5, h_img - 5], size=(n, 2))
    wh = rng.uniform(6, [w_img / 2, h_img / 2], size=(n, 2))
    return np.round(np.concatenate([xy, wh], axis=1), 2)


def make_val_sequence(folder: Path, n: int, resolution: tuple[int, int], rng: np.random.Generator) -> dict:
    write_frames(folder, n)
    gt = boxes_in(n, resolution, rng)
    cover = rng.integers(1, 9, n)
    absent = np.zeros(n, int)
    gone = rng.choice(np.arange(2, n), 5, replace=False)
    absent[gone[:3]] = 1  # absent: cover 0, box 0,0,0,0
    cover[gone] = 0  # the other two: fully occluded (cover 0), box kept
    gt[gone[:3]] = 0
    cut = (gt[:, 0] < 1) | (gt[:, 1] < 1)
    np.savetxt(folder / "groundtruth.txt", gt, fmt="%.4f", delimiter=",")
    for label, values in (("absence", absent), ("cover", cover), ("cut_by_image", cut.astype(int))):
        (folder / f"{label}.label").write_text("".join(f"{v}\n" for v in values))
    (folder / "meta_info.ini").write_text(
        "[METAINFO]\nurl: https://example.invalid/v\nbegin: 00:00:01\nobject_class: ant\n"
        f"resolution: ({resolution[0]}, {resolution[1]})\n"
    )
    return {"gt": gt, "cover": cover, "absent": absent}


def noisy(gt: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    res = gt + rng.normal(0, 3, gt.shape)
    res[:, 2:] = np.abs(res[:, 2:]) + 0.5
    n = len(gt)
    res[rng.choice(n, n // 8, replace=False), :2] += 40  # lost
    res[rng.integers(1, n), 2] = 0  # zero width
    return np.round(res, 3)


@pytest.fixture(scope="module")
def val_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("got10k")
    data = root / "GOT-10k"
    rng = np.random.default_rng(11)
    truth = {}
    (data / "val").mkdir(parents=True)
    (data / "val/list.txt").write_text("\n".join(VAL) + "\n")
    for name, (n, res, _) in VAL.items():
        truth[name] = make_val_sequence(data / "val" / name, n, res, rng)
    (data / "train").mkdir()
    (data / "test").mkdir()
    tracker_dir = root / "results/GOT-10k/tracker"
    for name, (n, res, reps) in VAL.items():
        for r in range(1, reps + 1):
            path = tracker_dir / name / f"{name}_{r:03d}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savetxt(path, noisy(truth[name]["gt"], rng), fmt="%.3f", delimiter=",")
        np.savetxt(tracker_dir / name / f"{name}_time.txt", rng.uniform(0.01, 0.05, (n, reps)), fmt="%.8f", delimiter=",")
    return data, tracker_dir, truth


def test_val_sequences_are_read_in_place(val_tree):
    data, _, truth = val_tree
    before = sorted(str(p) for p in data.rglob("*"))
    seqs = got10k_sequences(data, "val")
    assert [s.name for s in seqs] == list(VAL)
    s = seqs[0]
    assert len(s) == 40 and s.resolution == (64, 48) and s.meta["object_class"] == "ant"
    np.testing.assert_array_equal(s.boxes, truth[s.name]["gt"])
    assert (s.visible == (truth[s.name]["cover"] > 0)).all()
    assert (s.absence == truth[s.name]["absent"].astype(bool)).all()
    seq = s.as_sequence()  # training labels: absent and fully covered frames excluded
    assert not seq.valid[truth[s.name]["cover"] == 0].any()
    assert seq.valid.sum() == (truth[s.name]["cover"] > 0).sum()
    np.testing.assert_allclose(seq.gt[0], [s.boxes[0, 0] - 1, s.boxes[0, 1] - 1, s.boxes[0, 0] - 1 + s.boxes[0, 2], s.boxes[0, 1] - 1 + s.boxes[0, 3]])
    assert sorted(str(p) for p in data.rglob("*")) == before  # nothing written
    assert any((x.boxes[:, :2] < 0).any() for x in seqs)  # boxes past the edge: got10k's clipping matters


def test_got10k_oracle_bit_for_bit(val_tree, monkeypatch):
    got10k_exp = pytest.importorskip("got10k.experiments.got10k")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    data, tracker_dir, _ = val_tree
    # got10k pools a sequence's repetitions in glob.glob's (file system) order; sorted here, as ours
    monkeypatch.setattr(got10k_exp, "glob", types.SimpleNamespace(glob=lambda p: sorted(glob.glob(p))))
    root = tracker_dir.parents[1]
    experiment = got10k_exp.ExperimentGOT10k(str(data), subset="val", result_dir=str(root), report_dir=str(root.parent / "reports"))
    oracle = experiment.report(["tracker"])["tracker"]

    table, curves = score_got10k_val(data, tracker_dir)
    assert list(table.columns) == GOT10K_COLUMNS
    ours = table.set_index("sequence")
    for name in VAL:
        assert ours.ao[name] == oracle["seq_wise"][name]["ao"], name
        assert ours.sr_50[name] == oracle["seq_wise"][name]["sr"], name
    overall = oracle["overall"]
    assert ours.ao["ALL"] == overall["ao"]
    assert ours.sr_50["ALL"] == overall["sr"]
    assert ours.sr_75["ALL"] == overall["succ_curve"][75]
    ours_curve = curves[(curves.sequence == "ALL")].value.to_numpy()
    assert ours_curve.tolist() == overall["succ_curve"]
    # frames scored: every frame but the first with cover > 0, times repetitions, pooled
    expected = sum(reps * int((load_got10k_sequence(data / "val" / n, "val").cover[1:] > 0).sum()) for n, (_, _, reps) in VAL.items())
    assert ours.frames["ALL"] == expected and ours.repetitions["GOT-10k_Val_000002"] == 3
    # pooled, not a mean over sequences: the two differ here
    assert ours.ao["ALL"] != pytest.approx(ours.ao.drop("ALL").mean(), rel=1e-9)
    print("got10k:", overall["ao"], overall["sr"], overall["succ_curve"][75], "ours:", ours.loc["ALL"].to_dict())


def test_iou_clips_to_the_image_as_got10k():
    # a box hanging 10 px past the left edge: got10k moves x to 0 and keeps w (not a true clip)
    pred = np.array([[-10.0, 0.0, 20.0, 10.0]])
    gt = np.array([[0.0, 0.0, 20.0, 10.0]])
    assert got10k_iou(pred, gt, (100, 100))[0] == pytest.approx(1.0)
    assert pred[0, 0] == -10.0  # inputs untouched
    # past the right edge: w clipped to W - x
    assert got10k_iou(np.array([[90.0, 0, 20, 10]]), np.array([[90.0, 0, 10, 10]]), (100, 100))[0] == pytest.approx(1.0)


def test_bad_val_trees_name_the_file(val_tree, tmp_path):
    data, tracker_dir, _ = val_tree
    import shutil

    bad = tmp_path / "GOT-10k"
    shutil.copytree(data, bad, symlinks=True)
    seq = bad / "val/GOT-10k_Val_000003"
    (seq / "cover.label").unlink()
    with pytest.raises(RoloInputError, match=r"GOT-10k_Val_000003/cover.label: file not found"):
        got10k_sequences(bad, "val")
    (seq / "cover.label").write_text("8\n" * 32)
    with pytest.raises(RoloInputError, match=r"cover.label: 32 labels for 33 frames"):
        got10k_sequences(bad, "val")
    (seq / "cover.label").write_text("8\n" * 32 + "9\n")
    with pytest.raises(RoloInputError, match=r"cover.label: label '9' of frame 33 is not one of"):
        got10k_sequences(bad, "val")
    (seq / "cover.label").write_text("8\n" * 33)
    (seq / "00000033.jpg").unlink()
    with pytest.raises(RoloInputError, match=r"groundtruth.txt: 33 rows for 32 images"):
        got10k_sequences(bad, "val")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RoloInputError, match=r"empty/val/list.txt: file not found"):
        got10k_sequences(tmp_path / "empty", "val")
    # results of another length, or with NaN
    res = tmp_path / "res"
    shutil.copytree(tracker_dir, res)
    short = res / "GOT-10k_Val_000001/GOT-10k_Val_000001_001.txt"
    short.write_text("".join(short.read_text().splitlines(keepends=True)[:-1]))
    with pytest.raises(RoloInputError, match=r"GOT-10k_Val_000001_001.txt: 39 boxes, but GOT-10k_Val_000001 has 40 frames"):
        score_got10k_val(data, res)
    short.write_text("nan,nan,nan,nan\n" * 40)
    with pytest.raises(RoloInputError, match=r"GOT-10k_Val_000001_001.txt: NaN in the results"):
        score_got10k_val(data, res)
    shutil.rmtree(res / "GOT-10k_Val_000004")
    with pytest.raises(RoloInputError, match=r"no result file for GOT-10k_Val_000004"):
        score_got10k_val(data, res)


@pytest.fixture()
def test_tree(tmp_path):
    data = tmp_path / "GOT-10k"
    (data / "test").mkdir(parents=True)
    (data / "test/list.txt").write_text("\n".join(TEST) + "\n")
    for name, n in TEST.items():
        write_frames(data / "test" / name, n)
        (data / "test" / name / "groundtruth.txt").write_text("10.5,12,30,20\n")
    return data


def test_test_subset_has_first_frame_ground_truth_only(test_tree):
    seqs = got10k_sequences(test_tree, "test")
    assert [len(s) for s in seqs] == list(TEST.values()) and all(s.boxes.shape == (1, 4) for s in seqs)
    with pytest.raises(RoloInputError, match="first frame only"):
        seqs[0].as_sequence()
    (test_tree / "test/GOT-10k_Test_000002/groundtruth.txt").write_text("1,2,3,4\n5,6,7,8\n")
    with pytest.raises(RoloInputError, match=r"GOT-10k_Test_000002/groundtruth.txt: 2 rows"):
        got10k_sequences(test_tree, "test")


def test_submission_zip(test_tree, tmp_path):
    rng = np.random.default_rng(3)
    results = {n: np.round(rng.uniform(1, 50, (k, 4)), 4) for n, k in TEST.items()}
    times = {n: rng.uniform(0.01, 0.1, k) for n, k in TEST.items()}
    out = write_got10k_submission(test_tree, results, times, tmp_path / "sub" / "tracker.zip")
    with zipfile.ZipFile(out) as zf:
        assert zf.namelist() == [f"{n}/{n}_{s}.txt" for n in TEST for s in ("001", "time")]
        assert zf.testzip() is None
        for n in TEST:
            boxes = np.loadtxt(zf.open(f"{n}/{n}_001.txt"), delimiter=",", ndmin=2)
            np.testing.assert_allclose(boxes, results[n], atol=5e-4)
            np.testing.assert_allclose(np.loadtxt(zf.open(f"{n}/{n}_time.txt")), times[n], atol=5e-9)
    assert sorted(p.name for p in out.parent.iterdir()) == ["tracker.zip"]

    # the same from a results folder in got10k's layout
    folder = tmp_path / "res"
    for n in TEST:
        (folder / n).mkdir(parents=True)
        np.savetxt(folder / n / f"{n}_001.txt", results[n], fmt="%.3f", delimiter=",")
        np.savetxt(folder / n / f"{n}_time.txt", times[n], fmt="%.8f")
    out2 = got10k_submission_from_folder(test_tree, folder, tmp_path / "sub2.zip")
    with zipfile.ZipFile(out) as a, zipfile.ZipFile(out2) as b:
        assert {m: a.read(m) for m in a.namelist()} == {m: b.read(m) for m in b.namelist()}

    short = dict(results, **{"GOT-10k_Test_000002": results["GOT-10k_Test_000002"][:-1]})
    with pytest.raises(RoloInputError, match=r"GOT-10k_Test_000002: 6 boxes and 7 times, but .* has 7 frames"):
        write_got10k_submission(test_tree, short, times, tmp_path / "bad.zip")
    missing = {k: v for k, v in results.items() if k != "GOT-10k_Test_000001"}
    with pytest.raises(RoloInputError, match=r"no results for GOT-10k test sequence GOT-10k_Test_000001"):
        write_got10k_submission(test_tree, missing, times, tmp_path / "bad.zip")
    assert not (tmp_path / "bad.zip").exists()
    (folder / "GOT-10k_Test_000001/GOT-10k_Test_000001_time.txt").unlink()
    with pytest.raises(RoloInputError, match=r"GOT-10k_Test_000001_001.txt: no timing file"):
        got10k_submission_from_folder(test_tree, folder, tmp_path / "bad.zip")


def test_rolo_score_dataset_got10k_val(val_tree, tmp_path, capsys):
    import pandas as pd

    from rolo.cli import main

    data, tracker_dir, _ = val_tree
    out = tmp_path / "s.csv"
    assert main(["score", "--dataset", "got10k-val", "--dataset-root", str(data), "--results", str(tracker_dir), "--out", str(out)]) == 0
    table, _ = score_got10k_val(data, tracker_dir)
    pd.testing.assert_frame_equal(pd.read_csv(out), table, check_dtype=False, rtol=0, atol=0)
    assert "dataset: got10k-val" in capsys.readouterr().out
