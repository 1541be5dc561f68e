"""Paper comparison and seed-variation tables on hand-made inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from rolo.evaluation.tables import paper_comparison_job, variation_summary_job
from rolo.evaluation.protocols import SCORE_COLUMNS

PAPER_AOS = REPO / "src/rolo/evaluation/paper/rolo_otb30_aos.csv"
EXP1_TEST = ["Skater", "Skater2", "Dancer", "Dancer2", "CarScale", "Gym", "Human8", "Jump"]


def aos_table(path, videos, aos, auc=0.5):
    rows = [dict(zip(SCORE_COLUMNS, (v, "rolo", 10, a, auc, 0.5, 0.5, 0.5))) for v, a in zip(videos, aos)]
    rows.append(dict(zip(SCORE_COLUMNS, ("ALL", "rolo", 10 * len(videos), float(np.mean(aos)), auc, 0.5, 0.5, 0.5))))
    pd.DataFrame(rows).to_csv(path, index=False)


def test_paper_columns_on_otb_exp1(tmp_path):
    aos_table(tmp_path / "aos.csv", EXP1_TEST, [0.5] * 8, auc=0.41)
    t = paper_comparison_job("exp1", "disjoint", tmp_path / "aos.csv", tmp_path / "p.csv", tmp_path / "p.md")
    t = t.set_index("sequence")
    assert t.paper_rolo_aos["Skater"] == 0.618 and t.port_rolo_aos["Jump"] == 0.327  # the ROLO-PyTorch port, Table 4
    paper = pd.read_csv(PAPER_AOS).set_index("sequence").paper_rolo_aos
    assert t.paper_rolo_aos["ALL"] == pytest.approx(paper[EXP1_TEST].mean())
    assert t.paper_rolo_success_auc["ALL"] == 0.476 and t.ours_rolo_success_auc["ALL"] == 0.41


def test_paper_columns_are_na_on_other_videos(tmp_path):
    aos_table(tmp_path / "aos.csv", ["SynA", "SynB"], [0.2, 0.4])
    paper_comparison_job("exp2", "held_out_tail", tmp_path / "aos.csv", tmp_path / "p.csv", tmp_path / "p.md")
    t = pd.read_csv(tmp_path / "p.csv", keep_default_na=False).set_index("sequence")
    assert (t.paper_rolo_aos == "n/a").all() and (t.port_rolo_aos == "n/a").all()
    assert t.paper_rolo_success_auc["ALL"] == "n/a"
    assert float(t.ours_rolo_aos["ALL"]) == pytest.approx(0.3)
    assert "n/a" in (tmp_path / "p.md").read_text()


def test_variation_mean_and_sample_std(tmp_path):
    runs = []
    for data_seed, values in ((1, [0.5, 0.7]), (2, [0.6, 0.8])):
        rows = [{"experiment": "exp2", "data_seed": data_seed, "train_seed": s, "tracker": "rolo", "frames": 10,
                 "aos": v, "success_auc": v, "success_50": v, "precision_20": v, "norm_precision_20": v}
                for s, v in enumerate(values)]
        path = tmp_path / f"run{data_seed}.csv"
        pd.DataFrame(rows).to_csv(path, index=False)
        runs.append(path)
    out = variation_summary_job(runs, tmp_path / "s.csv", tmp_path / "s.md").iloc[0]
    assert out.runs == 4 and out.data_seeds == 2 and out.train_seeds == 2
    assert out.aos_mean == pytest.approx(0.65)
    assert out.aos_std == pytest.approx(np.std([0.5, 0.7, 0.6, 0.8], ddof=1))
    assert "0.650 ± 0.129" in (tmp_path / "s.md").read_text()


def test_paired_wins_pairs_runs_by_experiment_and_seeds():
    from rolo.evaluation.tables import paired_wins

    auc = {  # (data seed, train seed) -> rolo, yolo; yolo depends on the data seed only
        (1, 0): (0.70, 0.60), (1, 1): (0.55, 0.60), (2, 0): (0.80, 0.75), (2, 1): (0.75, 0.75),
    }
    rows = [{"experiment": "exp1", "data_seed": d, "train_seed": t, "tracker": name, "success_auc": v}
            for (d, t), pair in auc.items() for name, v in zip(("rolo", "yolo"), pair)]
    # a real-data run has no data seed; it still pairs
    rows += [{"experiment": "exp1", "data_seed": np.nan, "train_seed": 0, "tracker": "rolo", "success_auc": 0.5},
             {"experiment": "exp1", "data_seed": np.nan, "train_seed": 0, "tracker": "yolo", "success_auc": 0.4}]
    out = paired_wins(pd.DataFrame(rows)).iloc[0]
    assert (out.versus, out.runs, out.wins, out.ties) == ("yolo", 5, 3, 1)
    diffs = [0.10, -0.05, 0.05, 0.0, 0.1]
    assert out.diff_mean == pytest.approx(np.mean(diffs))
    assert out.diff_std == pytest.approx(np.std(diffs, ddof=1))


def test_variation_summary_pairs_each_closed_loop_rolo(tmp_path):
    """paired.csv and the summary's markdown hold the paired wins of `rolo` and of `rolo_heatmap`."""
    auc = {"rolo": [0.7, 0.5], "rolo_heatmap": [0.8, 0.7], "yolo": [0.6, 0.6]}
    rows = [{"experiment": "exp1", "data_seed": 1, "train_seed": s, "tracker": t, "frames": 10,
             "aos": v, "success_auc": v, "success_50": v, "precision_20": v, "norm_precision_20": v}
            for t, values in auc.items() for s, v in enumerate(values)]
    pd.DataFrame(rows).to_csv(tmp_path / "run.csv", index=False)
    variation_summary_job([tmp_path / "run.csv"], tmp_path / "s.csv", tmp_path / "s.md", tmp_path / "p.csv")
    paired = pd.read_csv(tmp_path / "p.csv").set_index(["tracker", "versus"])
    assert paired.wins.to_dict() == {("rolo", "rolo_heatmap"): 0, ("rolo", "yolo"): 1,
                                     ("rolo_heatmap", "rolo"): 2, ("rolo_heatmap", "yolo"): 2}
    md = (tmp_path / "s.md").read_text()
    assert "## Paired: `rolo` against each tracker" in md and "## Paired: `rolo_heatmap` against each tracker" in md
