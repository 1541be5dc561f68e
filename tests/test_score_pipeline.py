"""The pipeline's tables and ``rolo score`` agree: same metric functions, same protocol, each
experiment's scored frames; on a one-pass experiment they give the same figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rolo.utils.boxes import otb_to_xyxy
from rolo.cli import main
from rolo.errors import RoloInputError
from rolo.data.sequences import load_sequence, write_otb_boxes
from rolo.data.splits import make_split
from rolo.evaluation.protocols import score_tracks
from rolo.data.otb import find_entry, link_sequence
from rolo.evaluation.protocols import experiment_protocol
from test_otb_fakes import format_rows, make_tree, write_images

FIGURES = ["frames", "aos", "success_auc", "success_50", "precision_20", "norm_precision_20"]


def rolo_score(root, results, out, *args) -> pd.DataFrame:
    assert main(["score", "--dataset-root", str(root), "--results", str(results), "--out", str(out), *args]) == 0
    return pd.read_csv(out).set_index("sequence")


def test_rolo_score_reproduces_the_one_pass_table(tiny_workflow, tmp_path):
    """exp1 of the tiny workflow (one-pass on D and E): aos.csv's ROLO rows from the track files."""
    table = pd.read_csv(tiny_workflow / "results/exp1/aos.csv")
    table = table[table.tracker == "rolo"].set_index("sequence")
    ours = rolo_score(tiny_workflow / "resources/synthetic", tiny_workflow / "results/exp1/tracks/rolo",
                      tmp_path / "scores.csv", "--sequences", "D", "E")
    assert sorted(ours.index) == sorted(table.index) == ["ALL", "D", "E"]
    shared = [c for c in FIGURES if c in table.columns]
    assert {"frames", "aos", "success_50"} <= set(shared)
    for seq in ours.index:
        for col in shared:
            assert round(ours.loc[seq, col], 4) == pytest.approx(table.loc[seq, col], abs=1e-9), (seq, col)


@pytest.mark.parametrize("protocol", ["official", "got10k"])
def test_pipeline_and_scorer_agree_on_invalid_ground_truth(tmp_path, protocol):
    """One-pass splits of sequences with 0,0,0,0 rows and a box past the left edge: the pipeline's
    scoring (protocols.score_tracks on the split's frames) equals rolo score's."""
    rng = np.random.default_rng(3)
    root, tracks = tmp_path / "data", tmp_path / "tracks"
    gts, splits, paths = {}, {}, {}
    for name, bad in (("S1", [4, 9]), ("S2", [6])):
        gt = np.column_stack([rng.integers(5, 40, (12, 2)), rng.integers(10, 30, (12, 2))]).astype(float)
        gt[bad] = 0
        gt[2, 0] = 0  # x = 0: past the left edge
        write_images(root / name / "img", 1, len(gt))
        (root / name / "groundtruth_rect.txt").write_text(format_rows(gt))
        seq = load_sequence(root / name)
        splits[name] = make_split(name, seq.gt, seq.valid, "disjoint", role="test")
        pred = otb_to_xyxy(gt + rng.normal(0, 3, gt.shape))
        pred[7, 2] = pred[7, 0]  # a zero-width result
        write_otb_boxes(tracks / f"{name}.txt", pred)
        gts[name], paths[f"rolo/{name}"] = seq.gt, tracks / f"{name}.txt"
    pipeline, _ = score_tracks(paths, gts, splits, protocol)
    pipeline = pipeline.set_index("sequence")
    ours = rolo_score(root, tracks, tmp_path / "scores.csv", "--protocol", protocol)
    assert ours.frames.to_dict() == {"S1": 12, "S2": 12, "ALL": 24}  # invalid frames count, by either protocol
    for seq in ("S1", "S2", "ALL"):
        for col in FIGURES:
            if col in pipeline.columns:
                assert pipeline.loc[seq, col] == pytest.approx(ours.loc[seq, col], abs=1e-12), (seq, col)


def test_prepared_sequences_carry_their_protocol(tmp_path):
    make_tree(tmp_path / "otb", ["Tiger1", "Deer"])
    for name, protocol in (("Tiger1", "got10k"), ("Deer", "got10k"), ("Deer", "official")):
        e = find_entry(name)
        link_sequence(tmp_path / "otb" / e.folder, e, protocol, tmp_path / protocol / name)
    assert experiment_protocol([tmp_path / "got10k/Tiger1", tmp_path / "got10k/Deer"]) == "got10k"
    assert experiment_protocol([tmp_path / "otb/Deer"]) == "official"  # a plain folder
    with pytest.raises(RoloInputError, match="different protocols"):
        experiment_protocol([tmp_path / "got10k/Deer", tmp_path / "official/Deer"])
    # rolo score reads a prepared folder as it is, if prepared for the protocol asked for
    (tmp_path / "res").mkdir()
    (tmp_path / "res/Tiger1.txt").write_text((tmp_path / "got10k/Tiger1/groundtruth_rect.txt").read_text())
    assert rolo_score(tmp_path / "got10k", tmp_path / "res", tmp_path / "s.csv", "--protocol", "got10k").frames["Tiger1"] == 354
    assert main(["score", "--dataset-root", str(tmp_path / "got10k"), "--results", str(tmp_path / "res"),
                 "--out", str(tmp_path / "s.csv")]) == 2
