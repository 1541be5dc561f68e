"""LaSOT: the catalog (1,120/280 split), fake trees read in place (absent frames, full-occlusion and
out-of-view flags, a flat copy), per-class zips downloaded from a server on 127.0.0.1 (a good
one, a path-escaping member, truncated archives, an incomplete class), and scores equal to
hand-computed cases of pytracking's LaSOT analysis, absent frames included."""

from __future__ import annotations

import io
import os
import zipfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from rolo.data import lasot
from rolo.data.download import DownloadError
from rolo.errors import RoloInputError
from rolo.evaluation.benchmarks import (
    LASOT_COLUMNS,
    lasot_curves,
    lasot_frame_errors,
    score_lasot,
    score_lasot_results,
)
from test_otb_download import FAST, Server, body
from test_otb_fakes import JPEG


def test_catalog_split():
    test, train = lasot.testing_set(), lasot.training_set()
    assert len(test) == 280 and len(train) == 1120 and len(lasot.all_names()) == 1400
    assert len(lasot.classes()) == 70 and "rubicCube" in lasot.classes()
    assert not set(test) & set(train)
    per_class = {c: sum(n.rsplit("-", 1)[0] == c for n in test) for c in lasot.classes()}
    assert set(per_class.values()) == {4}
    assert {"airplane-1", "airplane-9", "airplane-13", "airplane-15", "rubicCube-14", "volleyball-19"} <= set(test)
    assert lasot.parse_name("rubicCube-14") == ("rubicCube", 14)
    for bad in ("rubiccube-14", "airplane-21", "airplane-0", "airplane_1", "unicorn-1"):
        with pytest.raises(RoloInputError, match="not a LaSOT sequence name"):
            lasot.parse_name(bad)
    with pytest.raises(RoloInputError, match="unknown LaSOT split"):
        lasot.split_names("val")


# --- fake trees --------------------------------------------------------------------------------


def flags_text(values) -> str:
    return ",".join(str(int(v)) for v in values) + "\n"  # one line, comma separated, as LaSOT


def make_sequence(folder: Path, boxes: np.ndarray, full=None, oov=None, nlp: str | None = "a thing") -> None:
    n = len(boxes)
    img = folder / "img"
    img.mkdir(parents=True, exist_ok=True)
    (img / "00000001.jpg").write_bytes(JPEG)
    for i in range(2, n + 1):
        os.link(img / "00000001.jpg", img / f"{i:08d}.jpg")
    (folder / "groundtruth.txt").write_text("".join(",".join(f"{v:g}" for v in r) + "\n" for r in boxes))
    (folder / "full_occlusion.txt").write_text(flags_text(np.zeros(n) if full is None else full))
    (folder / "out_of_view.txt").write_text(flags_text(np.zeros(n) if oov is None else oov))
    if nlp is not None:
        (folder / "nlp.txt").write_text(nlp + "\n")


def plain_boxes(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.integers(1, 40, (n, 2)), rng.integers(5, 30, (n, 2))], axis=1).astype(float)


# the hand-computed sequence: 1-based x, y, w, h; frame 3 absent (full occlusion, 0,0,0,0), frame 4
# out of view (box kept), frame 6 visible but x = 0 (not four positive numbers)
GT = np.array([[1, 1, 10, 10], [1, 1, 10, 10], [0, 0, 0, 0], [1, 1, 10, 10], [1, 1, 10, 10], [0, 5, 10, 10]], float)
FULL = [0, 0, 1, 0, 0, 0]
OOV = [0, 0, 0, 1, 0, 0]
PRED = np.array([[50, 50, 5, 5], [6, 1, 10, 10], [1, 1, 10, 10], [1, 1, 10, 10], [30, 30, 0, 8], [0, 5, 10, 10]], float)


def test_local_copy_in_place(tmp_path):
    root = tmp_path / "LaSOT"
    make_sequence(root / "airplane/airplane-1", GT, FULL, OOV)
    make_sequence(root / "bear-2", plain_boxes(4, 1), nlp=None)  # a flat copy
    before = sorted(p.name for p in root.rglob("*"))
    a, b = lasot.lasot_sequences(root, names=["airplane-1", "bear-2"])
    assert (a.name, a.cls, len(a), a.nlp) == ("airplane-1", "airplane", 6, "a thing") and b.nlp == ""
    assert a.frames[0].name == "00000001.jpg" and a.folder == root / "airplane/airplane-1"
    assert a.visible.tolist() == [True, True, False, False, True, True]
    assert a.valid.tolist() == [True, True, False, False, True, True]  # training labels: absent frames excluded
    seq = a.as_sequence()
    assert seq.valid.tolist() == a.valid.tolist()
    np.testing.assert_array_equal(seq.gt[0], [0, 0, 10, 10])  # 1-based x, y, w, h -> 0-based xyxy
    assert sorted(p.name for p in root.rglob("*")) == before


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda f: (f / "out_of_view.txt").unlink(), r"airplane-1/out_of_view.txt: file not found"),
        (lambda f: (f / "full_occlusion.txt").write_text("0,0,1\n"), r"full_occlusion.txt: 3 labels for 6 frames"),
        (lambda f: (f / "full_occlusion.txt").write_text("0,0,2,0,0,0\n"), r"full_occlusion.txt: label '2' of frame 3"),
        (lambda f: (f / "img/00000006.jpg").unlink(), r"img: images 00000001.jpg..00000005.jpg \(5\), but .*groundtruth.txt has 6 rows"),
        (lambda f: (f / "groundtruth.txt").write_text("1,2,3\n"), r"groundtruth.txt:1: expected 4 numbers"),
    ],
)
def test_bad_sequences_name_the_file(tmp_path, damage, message):
    folder = tmp_path / "airplane/airplane-1"
    make_sequence(folder, GT, FULL, OOV)
    damage(folder)
    with pytest.raises(RoloInputError, match=message):
        lasot.lasot_sequences(tmp_path, names=["airplane-1"])


def test_missing_sequence_folder(tmp_path):
    with pytest.raises(RoloInputError, match=r"airplane/airplane-1: LaSOT sequence folder not found"):
        lasot.lasot_sequences(tmp_path, "test")


# --- scoring: hand-computed (pytracking's calc_seq_err_robust / extract_results) ---------------


def test_frame_errors_by_hand():
    e = lasot_frame_errors(PRED, GT, ~(np.array(FULL, bool) | np.array(OOV, bool)))
    assert e["valid"].tolist() == [True, True, False, False, True, False]
    # frame 1 = ground truth; frame 2 half-shifted: inter 5x10, union 150; frame 5 zero width ->
    # frame 4's box (1,1,10,10); frames 3, 4 (absent) and 6 (x = 0) invalid -> -1
    np.testing.assert_allclose(e["iou"], [1, 1 / 3, -1, -1, 1, -1], rtol=1e-15)
    assert e["centre_error"].tolist()[:2] == [0, 5] and e["centre_error"][4] == 0
    assert np.isinf(e["centre_error"][[2, 3, 5]]).all()
    # normalised: 5 px / w 10 = 0.5; absent -> +inf (fails); visible but invalid -> -1 (passes)
    np.testing.assert_allclose(e["norm_centre_error"][[0, 1, 4]], [0, 0.5, 0], atol=1e-15)
    assert np.isinf(e["norm_centre_error"][[2, 3]]).all() and e["norm_centre_error"][5] == -1


def by_hand(exclude: bool) -> dict[str, Fraction]:
    n = 3 if exclude else 6
    # IoUs > t: {1, 1/3, 1} for t < 1/3 (7 thresholds 0..0.30), {1, 1} for 0.35..0.95 (13), none at 1
    return {
        "success_auc": Fraction(7 * 3 + 13 * 2, 21 * n),
        "success_50": Fraction(2, n),
        "precision_20": Fraction(3, n),  # frames 1, 2 (5 px), 5
        "norm_precision_20": Fraction(3, n),  # frames 1, 5 and frame 6's -1; frame 2's 0.5 fails
        "ao": Fraction(7, 9),  # valid frames only: (1 + 1/3 + 1) / 3
    }


@pytest.mark.parametrize("exclude", [False, True])
def test_scores_by_hand_with_absent_frames(tmp_path, exclude):
    root, results = tmp_path / "LaSOT", tmp_path / "results/tracker"
    make_sequence(root / "airplane/airplane-1", GT, FULL, OOV)
    perfect = plain_boxes(2, 5)
    make_sequence(root / "bear/bear-2", perfect)
    results.mkdir(parents=True)
    np.savetxt(results / "airplane-1.txt", PRED, fmt="%g", delimiter="\t")  # pytracking's layout
    (results / "bear-2").mkdir()
    np.savetxt(results / "bear-2/bear-2_001.txt", np.vstack([perfect, [[1, 1, 1, 1]]]), fmt="%g", delimiter=",")  # one row too many: dropped
    table, curves = score_lasot(root, results, names=["airplane-1", "bear-2"], exclude_invalid_frames=exclude)
    assert list(table.columns) == LASOT_COLUMNS and table.sequence.tolist() == ["airplane-1", "bear-2", "ALL"]
    row = table.set_index("sequence")
    want = by_hand(exclude)
    for k, v in want.items():
        assert row.loc["airplane-1", k] == pytest.approx(float(v), rel=1e-12), k
    assert row.frames["airplane-1"] == 6 and row.visible["airplane-1"] == 4 and row.frames["ALL"] == 8
    # bear-2: both frames perfect: every threshold but 1.0
    assert row.success_auc["bear-2"] == pytest.approx(20 / 21) and row.precision_20["bear-2"] == 1
    # ALL: the mean of the sequences' curves
    assert row.success_auc["ALL"] == pytest.approx(float((want["success_auc"] + Fraction(20, 21)) / 2), rel=1e-12)
    assert row.norm_precision_20["ALL"] == pytest.approx(float((want["norm_precision_20"] + 1) / 2), rel=1e-12)
    assert row.ao["ALL"] == pytest.approx(float((want["ao"] + 1) / 2), rel=1e-12)
    all_success = curves[(curves.sequence == "ALL") & (curves.curve == "success")].value.to_numpy()
    assert all_success.mean() == pytest.approx(row.success_auc["ALL"], rel=1e-12) and len(all_success) == 21


def test_bad_results_are_refused():
    visible = np.ones(len(GT), bool)
    for bad, message in (
        (np.vstack([PRED[:3], [[1, 1, -2, 3]], PRED[4:]]), "invalid results"),
        (np.vstack([PRED[:3], [[np.nan] * 4], PRED[4:]]), "invalid results"),
        (PRED[:5], "r.txt: 5 boxes for 6 frames"),
    ):
        with pytest.raises(RoloInputError, match=message):
            lasot_frame_errors(bad, GT, visible, source="r.txt")
    with pytest.raises(RoloInputError, match="without valid frames"):
        lasot_curves(lasot_frame_errors(PRED[:1], GT[2:3] + [1, 1, 1, 1], np.zeros(1, bool)), exclude_invalid_frames=True)
    with pytest.raises(RoloInputError, match="no results for LaSOT sequence"):
        score_lasot_results([lasot.LasotSequence("bear-2", "bear", Path("."), (), GT, np.zeros(6, bool), np.zeros(6, bool))], {})


# --- downloads from 127.0.0.1 ------------------------------------------------------------------


def class_zip(cls: str, frames: int = 3, top: bool = True, skip: int | None = None, extra=()) -> bytes:
    """``<cls>.zip`` as distributed: ``<cls>/<cls>-<n>/{img/,groundtruth.txt,...}`` for n = 1..20."""
    buf = io.BytesIO()
    prefix = f"{cls}/" if top else ""
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for n in range(1, 21):
            if n == skip:
                continue
            d = f"{prefix}{cls}-{n}"
            for i in range(1, frames + 1):
                zf.writestr(f"{d}/img/{i:08d}.jpg", JPEG)
            boxes = plain_boxes(frames, n)
            zf.writestr(f"{d}/groundtruth.txt", "".join(",".join(f"{v:g}" for v in r) + "\n" for r in boxes))
            zf.writestr(f"{d}/full_occlusion.txt", flags_text([0] * (frames - 1) + [1]))
            zf.writestr(f"{d}/out_of_view.txt", flags_text([0] * frames))
            zf.writestr(f"{d}/nlp.txt", f"{cls} number {n}\n")
        for name, data in extra:
            zf.writestr(name, data)
    return buf.getvalue()


GOOD = class_zip("airplane")


@pytest.fixture(scope="module")
def server():
    s = Server()
    s.routes.update({
        "/good/airplane.zip": body(GOOD),
        "/flat/airplane.zip": body(class_zip("airplane", top=False)),
        "/slip/airplane.zip": body(class_zip("airplane", extra=[("airplane/../../evil.txt", b"pwned")])),
        "/trunc/airplane.zip": body(GOOD[: len(GOOD) * 2 // 3], length=len(GOOD)),  # cut off in transfer
        "/cut/airplane.zip": body(GOOD[: len(GOOD) * 2 // 3]),  # a truncated file on the mirror
        "/short/airplane.zip": body(class_zip("airplane", skip=17)),
        "/nolabels/airplane.zip": body(_without("airplane", "airplane/airplane-5/out_of_view.txt")),
    })
    yield s
    s.close()


def _without(cls: str, member: str) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(class_zip(cls)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for info in src.infolist():
            if info.filename != member:
                zf.writestr(info, src.read(info))
    return buf.getvalue()


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_class_download(server, tmp_path):
    path = lasot.fetch_lasot_class("airplane", tmp_path, base_url=f"{server.url}/good", **FAST)
    assert path == tmp_path / "airplane" and leftovers(tmp_path) == ["airplane"]
    assert leftovers(path) == sorted(f"airplane-{n}" for n in range(1, 21))
    seqs = lasot.lasot_sequences(tmp_path, names=["airplane-1", "airplane-20"])
    assert [len(s) for s in seqs] == [3, 3] and seqs[1].nlp == "airplane number 20"
    assert seqs[0].visible.tolist() == [True, True, False]
    with pytest.raises(DownloadError, match="already exists"):
        lasot.fetch_lasot_class("airplane", tmp_path, base_url=f"{server.url}/good", **FAST)


def test_class_zip_without_the_class_folder(server, tmp_path):
    lasot.fetch_lasot_class("airplane", tmp_path, base_url=f"{server.url}/flat/", **FAST)
    assert leftovers(tmp_path) == ["airplane"] and (tmp_path / "airplane/airplane-7/img/00000003.jpg").is_file()


@pytest.mark.parametrize(
    "route, message",
    [
        ("slip", r"refusing to extract 'airplane/../../evil.txt': path escapes the target folder"),
        ("trunc", r"truncated: received \d+ of \d+ bytes \(gave up after 2 attempts\)"),
        ("cut", r"corrupt or truncated archive"),
        ("short", r"airplane/airplane-17/ missing from the archive"),
        ("nolabels", r"airplane/airplane-5/out_of_view.txt: file not found"),
        ("missing", r"HTTP 404 Not Found$"),
    ],
)
def test_bad_class_zips_leave_nothing(server, tmp_path, route, message):
    root = tmp_path / "LaSOT"
    url = f"{server.url}/{route}/airplane.zip"
    with pytest.raises(DownloadError, match=message) as err:
        lasot.fetch_lasot_class("airplane", root, base_url=f"{server.url}/{route}", **FAST)
    assert url in str(err.value)
    assert leftovers(root) == []  # no class folder, no partial folder
    assert not (tmp_path / "evil.txt").exists() and not (root.parent / "evil.txt").exists()


def test_fetch_split_downloads_only_missing_classes(server, tmp_path):
    root = tmp_path / "LaSOT"
    make_sequence(root / "bear/bear-2", plain_boxes(3, 2))  # present: left alone, not downloaded
    with pytest.raises(DownloadError, match=r"/good/basketball.zip: HTTP 404"):
        lasot.fetch_lasot(root, "test", base_url=f"{server.url}/good", **FAST)
    assert leftovers(root) == ["airplane", "bear"]  # classes in order: airplane fetched, then basketball failed
    assert server.hits.get("/good/bear.zip") is None


def test_rolo_score_dataset_lasot(tmp_path, capsys):
    import pandas as pd

    from rolo.cli import main

    root, results = tmp_path / "LaSOT", tmp_path / "results/mine"
    make_sequence(root / "airplane/airplane-1", GT, FULL, OOV)
    results.mkdir(parents=True)
    np.savetxt(results / "airplane-1.txt", PRED, fmt="%g", delimiter=",")
    out = tmp_path / "s.csv"
    assert main(["score", "--dataset", "lasot", "--dataset-root", str(root), "--results", str(results),
                 "--sequences", "airplane-1", "--out", str(out), "--curves", str(tmp_path / "c.csv")]) == 0
    table = pd.read_csv(out).set_index("sequence")
    assert table.success_auc["airplane-1"] == pytest.approx(47 / 126, rel=1e-12) and table.success_auc["ALL"] == table.success_auc["airplane-1"]
    assert "dataset: lasot" in capsys.readouterr().out
    assert main(["score", "--dataset", "lasot", "--dataset-root", str(root), "--results", str(results),
                 "--out", str(out), "--plot", str(tmp_path / "p.png")]) == 2
    assert "--plot is for --dataset otb only" in capsys.readouterr().err
    assert main(["score", "--dataset", "lasot", "--dataset-root", str(root), "--results", str(results), "--out", str(out)]) == 2
    assert "airplane/airplane-9: LaSOT sequence folder not found" in capsys.readouterr().err  # the test split by default
