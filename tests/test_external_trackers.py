"""Other trackers' results (config ``external``) scored beside ours: the layout readers, what a file's
coverage means (like-for-like or not), ``rolo score``'s curves, attributes and plots, ``rolo export``,
and, on a copy of the session's tiny workflow, rows, curves and plot lines equal to ``rolo score``'s.
"""

from __future__ import annotations

import shutil
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import TINY_CONFIG, snakemake, write_config
from rolo.cli import main
from rolo.data.sequences import load_sequence, read_otb_boxes
from rolo.data.splits import make_split
from rolo.errors import RoloInputError
from rolo.evaluation.protocols import LIKE, covered_errors, error_tables, protocol_errors, score_tracks, track_errors
from rolo.evaluation.scoring import (
    export_results,
    read_result_file,
    read_timings,
    result_file,
    result_names,
    timing_file,
)
from rolo.evaluation.tables import html_table_job, ranked_summary
from rolo.utils.boxes import otb_to_xyxy

FIGURES = ["frames", "aos", "success_auc", "success_50", "precision_20", "norm_precision_20"]


def boxes_text(otb: np.ndarray, sep: str = ",") -> str:
    return "\n".join(sep.join(f"{v:.3f}" for v in row) for row in otb) + "\n"


def noisy_ground_truth(n: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(ground truth, results)``, OTB ``x,y,w,h`` ``(n, 4)``: a moving box and a noisy copy."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    gt = np.hstack([10 + 2 * t, 20 + t, np.full((n, 1), 30.0), np.full((n, 1), 20.0)])
    return gt, gt + rng.normal(0, 3, gt.shape)


# --- layouts --------------------------------------------------------------------------------------


def test_each_layout_is_found_and_read(tmp_path):
    gt, res = noisy_ground_truth(8)
    (tmp_path / "otb").mkdir()
    (tmp_path / "otb/Seq.txt").write_text(boxes_text(res))
    (tmp_path / "pyt").mkdir()
    (tmp_path / "pyt/Seq.txt").write_text(boxes_text(res, "\t"))
    (tmp_path / "pyt/Seq_time.txt").write_text("0.5\n0.25\n0\nnan\n0.25\n")
    (tmp_path / "got/Seq").mkdir(parents=True)
    (tmp_path / "got/Seq/Seq_001.txt").write_text(boxes_text(res))
    (tmp_path / "got/Seq/Seq_time.txt").write_text("0.10000000,0.2\n0.30000000,0.4\n")
    expected = otb_to_xyxy(np.round(res, 3))
    for layout, path, times in (("otb", "otb/Seq.txt", None), ("pyt", "pyt/Seq.txt", [0.5, 0.25, 0.25]),
                                ("got", "got/Seq/Seq_001.txt", [0.1, 0.3])):
        found = result_file(tmp_path / layout, ["Seq"])
        assert found == tmp_path / path
        np.testing.assert_allclose(read_result_file(found), expected, atol=1e-9)
        assert result_names(tmp_path / layout) == ["Seq"]  # the timing files are not results
        if times is None:
            assert timing_file(found) is None
        else:
            np.testing.assert_allclose(read_timings(timing_file(found)), times)


def test_an_alias_is_looked_up_after_the_name(tmp_path):
    (tmp_path / "Jogging_1").mkdir()
    (tmp_path / "Jogging_1/Jogging_1_001.txt").write_text("1,2,3,4\n")
    assert result_file(tmp_path, ["Jogging-1", "Jogging_1"]) == tmp_path / "Jogging_1/Jogging_1_001.txt"


def test_missing_and_malformed_files_are_named(tmp_path):
    with pytest.raises(RoloInputError, match=r"no result file for Seq \(looked for Seq.txt, Seq/Seq_001.txt\)"):
        result_file(tmp_path, ["Seq"])
    (tmp_path / "Seq.txt").write_text("1,2,3,4\n1,2,three,4\n")
    with pytest.raises(RoloInputError, match=r"Seq.txt:2: not a number"):
        read_result_file(tmp_path / "Seq.txt")
    (tmp_path / "Seq_time.txt").write_text("0.1\nslow\n")
    with pytest.raises(RoloInputError, match=r"Seq_time.txt:2: not a time"):
        read_timings(tmp_path / "Seq_time.txt")


# --- coverage and like-for-like -------------------------------------------------------------------


@pytest.fixture
def video():
    gt, res = noisy_ground_truth(30)
    return otb_to_xyxy(gt), otb_to_xyxy(res)


def test_segment_results_are_scored_like_ours(video):
    gt, res = video
    split = make_split("V", gt, np.ones(len(gt), bool), "held_out_tail")
    a, b = split.test
    errors, like = covered_errors(res[a:b], gt, split, "V.txt")
    assert like
    expected = track_errors(res[a:b], gt, split)
    for k in expected:
        np.testing.assert_array_equal(errors[k], expected[k])


@pytest.mark.parametrize("kind", ["disjoint", "sparse_labels"])
def test_whole_sequences_are_like_for_like_when_the_segment_starts_at_frame_1(video, kind):
    """One-pass from frame 1 given its box is exactly what these splits track (sparse_labels scores a
    subset of the frames, the unlabelled ones; the tracker still starts from the split's start box)."""
    gt, res = video
    split = make_split("V", gt, np.ones(len(gt), bool), kind, role="test")
    assert split.test == (0, len(gt))
    errors, like = covered_errors(res, gt, split, "V.txt")
    assert like and len(errors["iou"]) == len(split.scored)


def test_whole_sequences_on_a_later_segment_are_cut_and_not_like_for_like(video):
    gt, res = video
    split = make_split("V", gt, np.ones(len(gt), bool), "held_out_tail")
    assert split.test[0] == 10
    errors, like = covered_errors(res, gt, split, "V.txt")
    assert not like
    whole = protocol_errors(res, gt, "official")  # a one-pass run of the whole sequence...
    np.testing.assert_array_equal(errors["iou"], whole["iou"][list(split.scored)])  # ...cut to the scored frames
    assert errors["iou"][0] != 1.0  # its first scored frame is its own box, not the given one


def test_sparse_labels_starting_after_an_invalid_first_frame_is_not_like_for_like(video):
    gt, res = video
    valid = np.ones(len(gt), bool)
    valid[0] = False
    split = make_split("V", gt, valid, "sparse_labels")
    assert split.test[0] == 1
    assert covered_errors(res, gt, split, "V.txt")[1] is False
    assert covered_errors(res[1:], gt, split, "V.txt")[1] is True


def test_other_lengths_are_an_error_naming_the_file_and_both_lengths(video):
    gt, res = video
    split = make_split("V", gt, np.ones(len(gt), bool), "held_out_tail")
    with pytest.raises(RoloInputError, match=r"ext/V.txt: 25 boxes, but video V has 30 frames and its test segment 20 \(11..30\)"):
        covered_errors(res[:25], gt, split, "ext/V.txt")


def test_not_like_for_like_rows_are_marked_and_ranked_apart(tmp_path, video):
    gt, res = video
    split = make_split("V", gt, np.ones(len(gt), bool), "held_out_tail")
    a, b = split.test
    ours = tmp_path / "ours.txt"
    ours.write_text(boxes_text(np.round(read_otb_boxes_from_xyxy(res[a:b] + 8), 3)))  # worse than the external
    ext = tmp_path / "ext.txt"
    ext.write_text(boxes_text(read_otb_boxes_from_xyxy(gt)))  # perfect, but whole-sequence
    seg = tmp_path / "seg.txt"
    seg.write_text(boxes_text(read_otb_boxes_from_xyxy(res[a:b])))
    table, curves = score_tracks({"ours/V": ours}, {"V": gt}, {"V": split}, external={"whole/V": ext, "segment/V": seg})
    flags = table.set_index(["sequence", "tracker"])[LIKE]
    assert flags[("V", "ours")] and flags[("V", "segment")] and not flags[("V", "whole")]
    assert not flags[("ALL", "whole")] and flags[("ALL", "ours")]
    assert set(curves[~curves[LIKE]].tracker) == {"whole"}
    summary = ranked_summary(table)
    assert summary.success_auc.iloc[-1] == summary.success_auc.max()  # the best, but not ranked first
    assert list(summary.tracker)[-1] == "whole"
    # without external trackers the tables keep their columns
    plain, plain_curves = score_tracks({"ours/V": ours}, {"V": gt}, {"V": split})
    assert LIKE not in plain.columns and LIKE not in plain_curves.columns
    html_table_job("expX", "summary", _csv(summary, tmp_path / "summary.csv"), tmp_path / "summary.html")
    page = (tmp_path / "summary.html").read_text()
    assert "<table" in page and "no †" in page and "not like-for-like" in page


def test_one_tracker_with_mixed_coverage_has_an_all_row_not_like_for_like():
    errors = {("A", "t"): {"iou": np.ones(3), "centre_error": np.zeros(3), "norm_centre_error": np.zeros(3)},
              ("B", "t"): {"iou": np.ones(3), "centre_error": np.zeros(3), "norm_centre_error": np.zeros(3)}}
    table, _ = error_tables(errors, {("A", "t"): True, ("B", "t"): False})
    assert table.set_index("sequence")[LIKE].to_dict() == {"A": True, "B": False, "ALL": False}


def read_otb_boxes_from_xyxy(xyxy: np.ndarray) -> np.ndarray:
    from rolo.utils.boxes import xyxy_to_otb

    return xyxy_to_otb(xyxy)


def _csv(df: pd.DataFrame, path) -> str:
    df.to_csv(path, index=False)
    return str(path)


# --- rolo score and rolo export -------------------------------------------------------------------


@pytest.fixture
def plain_dataset(tmp_path):
    """Two plain sequence folders with attributes.json, results in got10k's layout."""
    import json

    from test_otb_fakes import write_images

    root, results = tmp_path / "data", tmp_path / "MyTracker"
    for i, (name, tags) in enumerate((("S1", ["OCC"]), ("S2", ["OCC", "IV"]))):
        gt, res = noisy_ground_truth(12, seed=i)
        write_images(root / name / "img", 1, len(gt))
        (root / name / "groundtruth_rect.txt").write_text(boxes_text(gt))
        (root / name / "attributes.json").write_text(json.dumps({"name": name, "attributes": tags}))
        (results / name).mkdir(parents=True)
        (results / name / f"{name}_001.txt").write_text(boxes_text(res))
    return root, results


def test_rolo_score_writes_curves_attributes_and_plots(plain_dataset, tmp_path, capsys):
    root, results = plain_dataset
    out = tmp_path / "out"
    out.mkdir()
    args = ["score", "--dataset-root", str(root), "--results", str(results), "--out", str(out / "s.csv"),
            "--curves", str(out / "c.csv"), "--attributes", str(out / "a.csv"), "--plot", str(out / "p.png")]
    assert main(args) == 0
    table = pd.read_csv(out / "s.csv").set_index("sequence")
    curves = pd.read_csv(out / "c.csv")
    assert list(curves.columns) == ["sequence", "tracker", "curve", "threshold", "value"]
    assert set(curves.tracker) == {"MyTracker"} and set(curves.sequence) == {"S1", "S2", "ALL"}
    success = curves[curves.curve == "success"].groupby("sequence").value.mean()
    for seq in ("S1", "S2", "ALL"):
        assert success[seq] == pytest.approx(table.success_auc[seq], abs=1e-12)
    attrs = pd.read_csv(out / "a.csv").set_index("attribute")
    assert attrs.sequences.to_dict() == {"IV": 1, "OCC": 2}
    assert attrs.success_auc["OCC"] == pytest.approx(table.success_auc["ALL"], abs=1e-12)  # both sequences
    assert attrs.precision_20["IV"] == pytest.approx(table.precision_20["S2"], abs=1e-12)
    assert (out / "p.png").stat().st_size > 0 and (out / "p_attributes.png").stat().st_size > 0
    assert "p_attributes.png" in capsys.readouterr().out


def test_rolo_score_plot_without_matplotlib_is_one_clear_error(plain_dataset, tmp_path, monkeypatch, capsys):
    root, results = plain_dataset
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    code = main(["score", "--dataset-root", str(root), "--results", str(results), "--out", str(tmp_path / "s.csv"),
                 "--plot", str(tmp_path / "p.png")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["rolo score: error: --plot needs matplotlib: pip install 'rolo[plots]' (in a checkout: pip install '.[plots]')"]
    assert not (tmp_path / "s.csv").exists()


@pytest.mark.parametrize("layout", ["pytracking", "got10k"])
def test_export_round_trips_through_rolo_score(plain_dataset, tmp_path, layout):
    """Our OTB tracks exported to another layout score exactly as the originals."""
    import json

    root, results = plain_dataset
    ours = tmp_path / "ours"
    ours.mkdir()
    for name in ("S1", "S2"):
        shutil.copy(results / name / f"{name}_001.txt", ours / f"{name}.txt")
    (ours / "speed.json").write_text(json.dumps({"S1": {"frames": 12, "seconds": 0.6}}))
    assert main(["export", "--tracks", str(ours), "--layout", layout, "--out", str(tmp_path / "exp")]) == 0
    box = result_file(tmp_path / "exp", ["S1"])
    assert box.name == ("S1.txt" if layout == "pytracking" else "S1_001.txt")
    np.testing.assert_allclose(read_timings(timing_file(box)), np.full(12, 0.05))
    assert timing_file(result_file(tmp_path / "exp", ["S2"])) is None  # no time recorded, none invented
    np.testing.assert_array_equal(read_otb_boxes(box), read_otb_boxes(ours / "S1.txt"))
    a = _score(root, ours, tmp_path / "a.csv")
    b = _score(root, tmp_path / "exp", tmp_path / "b.csv")
    pd.testing.assert_frame_equal(a, b)


def test_export_refuses_a_speed_record_of_another_length(tmp_path):
    import json

    (tmp_path / "S1.txt").write_text("1,2,3,4\n1,2,3,4\n")
    (tmp_path / "speed.json").write_text(json.dumps({"S1": {"frames": 3, "seconds": 0.6}}))
    with pytest.raises(RoloInputError, match="speed.json: S1 has 3 frames, its track file 2"):
        export_results(tmp_path, tmp_path / "out", "got10k")


def _score(root, results, out, *args) -> pd.DataFrame:
    assert main(["score", "--dataset-root", str(root), "--results", str(results), "--out", str(out), *args]) == 0
    return pd.read_csv(out).set_index("sequence")


# --- the workflow: a fake external tracker in the tiny workflow ------------------------------------


def copy_workdir(tiny_workflow, dest):
    """The session's tiny workflow, results and all (mtimes kept), without Snakemake's metadata."""
    shutil.copytree(tiny_workflow, dest, symlinks=True, ignore=shutil.ignore_patterns(".snakemake"))
    return dest


def fake_results(work) -> dict:
    """Whole-sequence results in OTB's layout for every video (noisy ground truth), and ROLO's exp1 and
    exp2 tracks in pytracking's layout (test segments, with timing files)."""
    rng = np.random.default_rng(7)
    otb = work / "ext/otb"
    otb.mkdir(parents=True)
    for v in "ABCDE":
        gt = read_otb_boxes(work / f"resources/synthetic/{v}/groundtruth_rect.txt")
        np.savetxt(otb / f"{v}.txt", gt + rng.normal(0, 2, gt.shape), fmt="%.2f", delimiter=" ")
    for exp in ("exp1", "exp2"):
        assert main(["export", "--tracks", str(work / f"results/{exp}/tracks/rolo"), "--layout", "pytracking",
                     "--out", str(work / f"ext/pyt_{exp}")]) == 0
    return {"FakeOTB": "ext/otb", "FakePyt": {"exp1": "ext/pyt_exp1", "exp2": "ext/pyt_exp2"}}


TARGETS = [f"results/{e}/{f}" for e in ("exp1", "exp2") for f in
           ("aos.csv", "summary.html", "aos.html", "figures/success_precision.png", "figures/attributes.png",
            "figures/aos_bars.png")]


@pytest.fixture(scope="module")
def external_run(tiny_workflow, tmp_path_factory):
    work = copy_workdir(tiny_workflow, tmp_path_factory.mktemp("external") / "work")
    config = {**TINY_CONFIG, "external": fake_results(work)}
    write_config(work, config, "external.yaml")
    snakemake(work, *TARGETS, "--rerun-triggers", "mtime", configfile="external.yaml")
    return work


@pytest.mark.slow
def test_external_rows_equal_rolo_score_on_the_same_files(external_run, tmp_path):
    work = external_run
    table = pd.read_csv(work / "results/exp1/aos.csv")
    assert set(table.tracker) == {*TINY_CONFIG["trackers"], "FakeOTB", "FakePyt"}
    assert table[LIKE].all()  # exp1 is one-pass: whole sequences are its test segments
    ext = table[table.tracker == "FakeOTB"].set_index("sequence")
    ours = _score(work / "resources/synthetic", work / "ext/otb", tmp_path / "s.csv", "--sequences", "D", "E",
                  "--curves", str(tmp_path / "c.csv"), "--name", "FakeOTB")
    for seq in ("D", "E", "ALL"):
        for col in FIGURES:
            assert ext.loc[seq, col] == pytest.approx(round(ours.loc[seq, col], 4), abs=1e-9), (seq, col)
    curves = pd.read_csv(work / "results/exp1/curves.csv")
    mine = curves[curves.tracker == "FakeOTB"].drop(columns=LIKE).reset_index(drop=True)
    theirs = pd.read_csv(tmp_path / "c.csv").round(6)
    pd.testing.assert_frame_equal(mine.sort_values(["sequence", "curve", "threshold"], ignore_index=True),
                                  theirs.sort_values(["sequence", "curve", "threshold"], ignore_index=True),
                                  check_exact=False, atol=1e-9)
    # ROLO's own tracks in pytracking's layout score exactly as ROLO
    cols = ["sequence", *FIGURES]
    pyt = table[table.tracker == "FakePyt"][cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(pyt, table[table.tracker == "rolo"][cols].reset_index(drop=True))


@pytest.mark.slow
def test_external_whole_sequences_on_a_later_segment_are_marked_and_kept_apart(external_run):
    from rolo.figures.plots import NOT_LIKE_LABEL, attribute_figure, success_precision_figure

    work = external_run
    table = pd.read_csv(work / "results/exp2/aos.csv")
    flags = table.groupby("tracker")[LIKE].all()
    assert not flags["FakeOTB"] and flags["FakePyt"] and flags["rolo"]
    summary = pd.read_csv(work / "results/exp2/summary.csv")
    assert list(summary.tracker)[-1] == "FakeOTB" and summary[LIKE].tolist().count(False) == 1
    md = (work / "results/exp2/aos.md").read_text()
    assert "## Not like-for-like" in md and " †" in md
    assert "no †" in (work / "results/exp2/summary.html").read_text()
    speed = pd.read_csv(work / "results/exp2/speed.csv").set_index("tracker")
    assert speed.frames["FakePyt"] == 5 * 24 and speed.tracker_fps["FakePyt"] > 0  # from its timing files
    curves = pd.read_csv(work / "results/exp2/curves.csv")
    assert {"FakeOTB", "FakePyt"} <= set(curves.tracker)
    # the plots are drawn from these curves: the external trackers' lines are there, FakeOTB's marked
    for path in ("figures/success_precision.png", "figures/attributes.png", "figures/aos_bars.png"):
        assert (work / "results/exp2" / path).stat().st_mtime >= (work / "results/exp2/curves.csv").stat().st_mtime
    fig = success_precision_figure(curves, "exp2")
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert any(lbl.startswith("FakePyt [") and NOT_LIKE_LABEL not in lbl for lbl in labels)
    assert any(lbl.startswith("FakeOTB [") and lbl.endswith(f"({NOT_LIKE_LABEL})") for lbl in labels)
    attributes = {v: TINY_CONFIG["dataset"]["synthetic"]["sequences"][v] for v in "ABCDE"}
    fig = attribute_figure(curves, attributes, "exp2")
    assert all(any(line.get_label().startswith("FakeOTB [") for line in ax.get_lines()) for ax in fig.axes if ax.get_lines())


@pytest.mark.slow
def test_a_bad_external_file_stops_the_run_naming_it(external_run, tmp_path):
    work = copy_workdir(external_run, tmp_path / "work")
    config = yaml.safe_load((work / "external.yaml").read_text())
    bad = work / "ext/otb/D.txt"
    lines = bad.read_text().splitlines()
    bad.write_text("\n".join([*lines[:3], "1 2 x 4", *lines[4:]]) + "\n")
    proc = snakemake(work, "results/exp1/aos.csv", "--rerun-triggers", "mtime", configfile="external.yaml", check=False)
    assert proc.returncode != 0
    log = (work / "logs/evaluate/exp1.log").read_text()
    assert f"{bad.relative_to(work)}:4: not a number" in log
    bad.write_text("\n".join(lines[:30]) + "\n")  # short
    proc = snakemake(work, "results/exp1/aos.csv", "--rerun-triggers", "mtime", configfile="external.yaml", check=False)
    assert proc.returncode != 0
    assert "ext/otb/D.txt: 30 boxes, but video D has 36 frames" in (work / "logs/evaluate/exp1.log").read_text()
    bad.unlink()  # missing: the planning stops
    proc = snakemake(work, "results/exp1/aos.csv", "-n", configfile="external.yaml", check=False)
    assert proc.returncode != 0
    assert "external.FakeOTB: ext/otb: no result file for D (looked for D.txt, D/D_001.txt)" in proc.stdout + proc.stderr
    write_config(work, {**config, "external": {"rolo": "ext/otb"}}, "clash.yaml")
    proc = snakemake(work, "-n", configfile="clash.yaml", check=False)
    assert "external: ['rolo'] are names of the registry's trackers" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_changing_an_external_file_reruns_the_tables(external_run):
    from conftest import planned_jobs

    work = external_run
    assert planned_jobs(snakemake(work, *TARGETS, "-n", configfile="external.yaml")) == {}
    changed = work / "ext/pyt_exp2/C.txt"  # new content (Snakemake ignores a bare touch: same checksum)
    lines = changed.read_text().splitlines()
    changed.write_text("\n".join([*lines[:4], "50.000\t16.000\t40.000\t40.000", *lines[5:]]) + "\n")
    jobs = planned_jobs(snakemake(work, *TARGETS, "-n", configfile="external.yaml"))
    assert jobs.get("evaluate") == 1 and jobs.get("html_tables") == 1 and jobs.get("plot_curves") == 1, jobs
