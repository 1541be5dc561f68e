"""``rolo score`` and the two protocols on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rolo.utils.boxes import otb_to_xyxy
from rolo.cli import main
from rolo.evaluation.protocols import protocol_errors
from rolo.evaluation.protocols import RESULT_COLUMNS as SCORE_COLUMNS
from test_otb_fakes import format_rows, make_tree

# Five frames, OTB boxes (1-based x, y, w, h). Frame 3's ground truth is OTB's "not annotated"
# 0,0,0,0; frame 4's starts at x = 0, past the left edge (invalid for the MATLAB toolkit only).
GT = np.array([[1, 1, 10, 10], [11, 1, 10, 10], [0, 0, 0, 0], [0, 5, 10, 10], [21, 1, 10, 20]], float)
RESULT = np.array([[50, 50, 5, 5], [16, 1, 10, 10], [1, 1, 10, 10], [0, 5, 10, 10], [21, 1, 0, 20]], float)
# Hand computation, frame by frame:
#  1: set to the ground truth: IoU 1, centre error 0.
#  2: overlap 5 x 10 = 50 of union 150: IoU 1/3; centre error 5 px; normalised 5/10 = 0.5.
#  3: official: overlap fails, centre succeeds. got10k: IoU 0; centres (5.5, 5.5) and (-0.5, -0.5):
#     8.49 px (<= 20); normalised by a zero size: fails.
#  4: official: invalid ground truth as frame 3. got10k: identical boxes: IoU 1, error 0.
#  5: w = 0. official: replaced by frame 4's result (0, 5, 10, 10): IoU 0, centres (4.5, 9.5) and
#     (25.5, 10.5): 21.02 px (> 20), normalised |(-2.1, -0.05)| > 0.2. got10k: IoU 0, centre
#     (20.5, 10.5): 5 px, normalised 0.5.
# Success curve at t = 0, 0.05, ..., 1 (IoU > t): official IoUs [1, 1/3, 0, 0, 0] pass 2 frames for
# the 7 thresholds t < 1/3, 1 frame for the 13 thresholds 0.35..0.95, none at 1.
EXPECTED = {
    "official": {"frames": 5, "aos": (1 + 1 / 3) / 5, "success_auc": (7 * 2 / 5 + 13 * 1 / 5) / 21,
                 "success_50": 1 / 5, "precision_20": 4 / 5, "norm_precision_20": 3 / 5},
    "got10k": {"frames": 5, "aos": (2 + 1 / 3) / 5, "success_auc": (7 * 3 / 5 + 13 * 2 / 5) / 21,
               "success_50": 2 / 5, "precision_20": 5 / 5, "norm_precision_20": 2 / 5},
}


@pytest.fixture
def case(tmp_path):
    (tmp_path / "data/Toy5").mkdir(parents=True)
    (tmp_path / "data/Toy5/groundtruth_rect.txt").write_text(format_rows(GT, "mixed"))
    (tmp_path / "res").mkdir()
    (tmp_path / "res/Toy5.txt").write_text(format_rows(RESULT, "\t"))
    return tmp_path


def score(tmp_path, *args) -> tuple[int, pd.DataFrame | None]:
    out = tmp_path / "scores.csv"
    code = main(["score", "--dataset-root", str(tmp_path / "data"), "--results", str(tmp_path / "res"), "--out", str(out), *args])
    return code, (pd.read_csv(out) if code == 0 else None)


@pytest.mark.parametrize("protocol", ["official", "got10k"])
def test_hand_computed_figures(case, protocol, capsys):
    code, table = score(case, "--protocol", protocol)
    assert code == 0 and list(table.columns) == SCORE_COLUMNS and list(table.sequence) == ["Toy5", "ALL"]
    for row in table.itertuples():
        for key, value in EXPECTED[protocol].items():
            assert getattr(row, key) == pytest.approx(value, abs=1e-15), (row.sequence, key)
    assert capsys.readouterr().out.startswith(f"protocol: {protocol} (")


def test_official_is_the_default(case):
    assert score(case)[1].equals(score(case, "--protocol", "official")[1])


def test_all_row_is_the_mean_over_sequences(case):
    (case / "data/Toy2").mkdir()
    (case / "data/Toy2/groundtruth_rect.txt").write_text("1,1,10,10\n1,1,10,10\n")
    (case / "res/Toy2.txt").write_text("9 9 3 3\n1 1 10 10\n")
    code, table = score(case, "--sequences", "Toy5,Toy2")
    assert code == 0 and list(table.sequence) == ["Toy5", "Toy2", "ALL"]
    all_row = table.iloc[-1]
    assert all_row.frames == 7 and all_row.aos == pytest.approx((EXPECTED["official"]["aos"] + 1.0) / 2)
    assert all_row.success_auc == pytest.approx((EXPECTED["official"]["success_auc"] + 20 / 21) / 2)


def test_official_repairs_results_from_the_trackers_own_previous_box():
    """MATLAB repairs before setting frame 1 to the ground truth: frame 2's zero-size box becomes
    the tracker's frame-1 box (far away), not the ground truth."""
    gt = otb_to_xyxy(np.array([[1, 1, 10, 10]] * 4, float))
    res = otb_to_xyxy(np.array([[100, 100, 10, 10], [1, 1, 10, 0], [np.nan] * 4, [np.nan, 1, 10, 10]]))
    off = protocol_errors(res, gt, "official")
    np.testing.assert_allclose(off["iou"], [1, 0, 0, 0])
    np.testing.assert_allclose(off["centre_error"][:3], [0, 99 * np.sqrt(2), 99 * np.sqrt(2)])  # frame 3 (all NaN) repaired too
    assert np.isnan(off["centre_error"][3])  # partly NaN: kept, fails every threshold (as MATLAB)
    g10 = protocol_errors(res, gt, "got10k")
    np.testing.assert_allclose(g10["iou"], [1, 0, 0, 0])
    assert g10["centre_error"][1] == pytest.approx(5.0) and np.isnan(g10["centre_error"][2])


def test_length_mismatch_names_file_and_both_lengths(case, capsys):
    (case / "res/Toy5.txt").write_text(format_rows(RESULT[:4]))
    assert score(case)[0] == 2
    err = capsys.readouterr().err
    assert "rolo score: error:" in err and "Toy5.txt: 4 boxes, but Toy5 has 5 scored frames" in err


def test_tiger1_lengths_follow_the_protocol(tmp_path, capsys):
    gts = make_tree(tmp_path / "data", ["Tiger1", "Human4"])
    (tmp_path / "res").mkdir()
    (tmp_path / "res/Tiger1.txt").write_text(format_rows(gts["Tiger1"]))  # all 354 frames
    (tmp_path / "res/Human4.txt").write_text(format_rows(gts["Human4.2"]))  # got10k's name
    code, table = score(tmp_path, "--protocol", "got10k")
    assert code == 0 and table.set_index("sequence").frames.to_dict() == {"Human4.2": 667, "Tiger1": 354, "ALL": 1021}
    assert (table.aos == 1).all()
    assert score(tmp_path, "--protocol", "official")[0] == 2
    assert "Tiger1.txt: 354 boxes, but Tiger1 has 349 scored frames under the official protocol (frames 6..354)" in capsys.readouterr().err
    (tmp_path / "res/Tiger1.txt").write_text(format_rows(gts["Tiger1"][5:]))
    code, table = score(tmp_path, "--protocol", "official")
    assert code == 0 and table.set_index("sequence").frames["Tiger1"] == 349
    assert score(tmp_path, "--sequences", "Human4", "Human4.2")[0] == 2
    assert "Human4.2 is given twice (as 'Human4' and 'Human4.2')" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--sequences", "Toy5", "Nope"], "Nope/groundtruth_rect.txt: ground truth of Nope not found"),
        (["--sequences", "Boy"], "Boy: sequence folder of Boy not found"),
    ],
)
def test_clear_errors(case, capsys, args, message):
    assert score(case, *args)[0] == 2
    assert message in capsys.readouterr().err


def test_missing_result_file(case, capsys):
    (case / "data/Toy2").mkdir()
    (case / "data/Toy2/groundtruth_rect.txt").write_text("1,1,10,10\n")
    assert score(case, "--sequences", "Toy2")[0] == 2
    assert "no result file for Toy2 (looked for Toy2.txt, Toy2/Toy2_001.txt)" in capsys.readouterr().err
