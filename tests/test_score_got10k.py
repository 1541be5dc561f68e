"""``rolo score --protocol got10k`` against got10k's own ExperimentOTB (the PyPI package, a test
dependency) on the same fake OTB tree and result files: per-sequence figures to the last bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rolo.cli import main
from rolo.data.otb import load_catalog
from test_otb_fakes import make_tree

got10k_otb = pytest.importorskip("got10k.datasets.otb")
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
from got10k.experiments import ExperimentOTB  # noqa: E402

# the quirky ones: ranges (David, BlurCar1, Football1), Tiger1 (got10k: all 354 frames), two-target
# videos, Human4's second ground truth (got10k calls it Human4), 0,0,0,0 rows (Board, Twinnings)
FOLDERS = ["Tiger1", "David", "Jogging", "Human4", "Board", "BlurCar1", "Football1", "Twinnings"]
GOT10K_NAMES = {"Human4.2": "Human4"}


def noisy_results(gt: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Tracker-like results in OTB format: the ground truth jittered, some frames lost (far away),
    some degenerate (zero size), one all NaN; 3 decimals as got10k records them."""
    res = gt + rng.normal(0, 4, gt.shape) * [1, 1, 0.5, 0.5]
    res[:, 2:] = np.abs(res[:, 2:]) + 1
    n = len(gt)
    res[rng.choice(n, n // 10, replace=False), :2] += 80
    res[rng.choice(n, 3, replace=False), 2] = 0
    res[rng.integers(1, n)] = np.nan
    return np.round(res, 3)


@pytest.fixture(scope="module")
def tree(tmp_path_factory, monkeypatch_module):
    root = tmp_path_factory.mktemp("otb_got10k")
    data = root / "OTB"
    gts = make_tree(data, FOLDERS, delimiter="mixed")
    for folder in {e.folder for e in load_catalog().values()} - set(FOLDERS):
        (data / folder).mkdir()  # present but empty: got10k skips them and downloads nothing
    monkeypatch_module.setattr(got10k_otb, "download", lambda *a: pytest.fail(f"got10k tried to download {a}"))
    results = root / "results/OTB2015/tracker"
    results.mkdir(parents=True)
    rng = np.random.default_rng(7)
    for name, gt in gts.items():
        np.savetxt(results / f"{GOT10K_NAMES.get(name, name)}.txt", noisy_results(gt, rng), fmt="%.3f", delimiter=",")
    return root, gts


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_got10k_oracle(tree):
    root, gts = tree
    experiment = ExperimentOTB(str(root / "OTB"), version=2015, result_dir=str(root / "results"), report_dir=str(root / "reports"))
    assert sorted(experiment.dataset.seq_names) == sorted(GOT10K_NAMES.get(n, n) for n in gts)
    oracle = experiment.report(["tracker"])["tracker"]

    out = root / "scores.csv"
    assert main(["score", "--dataset-root", str(root / "OTB"), "--results", str(root / "results/OTB2015/tracker"),
                 "--protocol", "got10k", "--out", str(out)]) == 0
    ours = pd.read_csv(out).set_index("sequence")
    assert sorted(ours.index) == sorted([*gts, "ALL"])
    assert ours.frames["Tiger1"] == 354 and ours.frames["David"] == 471 and ours.frames["BlurCar1"] == 742

    for name in gts:
        theirs = oracle["seq_wise"][GOT10K_NAMES.get(name, name)]
        assert ours.success_auc[name] == theirs["success_score"], name
        assert ours.success_50[name] == theirs["success_rate"], name
        assert ours.precision_20[name] == theirs["precision_score"], name
    overall = oracle["overall"]
    assert ours.success_auc["ALL"] == pytest.approx(overall["success_score"], rel=1e-12)
    assert ours.success_50["ALL"] == pytest.approx(overall["success_rate"], rel=1e-12)
    assert ours.precision_20["ALL"] == pytest.approx(overall["precision_score"], rel=1e-12)
    print("got10k:", {k: overall[k] for k in ("success_score", "success_rate", "precision_score")})
    print("ours:  ", ours.loc["ALL", ["success_auc", "success_50", "precision_20"]].to_dict())
