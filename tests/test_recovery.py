"""Recovery after occlusion (rolo.evaluation.recovery): frames to IoU > 0.5 after the target reappears;
the pipeline's `recovery` tables against the same functions on the tiny workflow's files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rolo.data.splits import VideoSplit
from rolo.evaluation.recovery import recovery_episodes, recovery_frames, recovery_summary


def test_recovery_frames_counts_from_the_reappearance_over_scored_frames_only():
    ious = {8: 0.9, 10: 0.2, 11: 0.4, 13: 0.7, 20: 0.9}
    assert recovery_frames(ious, end=10, last=20) == 3  # frame 8 is before the reappearance
    assert recovery_frames(ious, end=13, last=20) == 0  # on the target at once
    assert recovery_frames(ious, end=14, last=20) is None  # frame 20 is past the segment
    assert recovery_frames({10: 0.5}, end=10, last=20) is None  # IoU must exceed 0.5


def _split(frames=30, test=(5, 30), scored=None):
    scored = tuple(range(test[0] + 1, test[1])) if scored is None else scored
    return VideoSplit("V", frames, None, (), test, (1.0, 1.0, 10.0, 10.0), scored)


def test_episodes_read_only_scored_frames_and_skip_occluders_outside_the_segment():
    gt = np.tile([[10.0, 10.0, 20.0, 20.0]], (30, 1))
    on = gt[5:30].copy()
    late = on.copy()
    late[: 15 - 5] += 50  # off the target until frame 15
    unscored = on.copy()
    unscored[: 15 - 5] += 50
    unscored[15 - 5] = gt[15]  # back on the target at frame 15, which is not scored ...
    unscored[16 - 5:] += 50  # ... and off again after it
    windows = {"V": [(2, 4, 0.5), (8, 12, 0.5), (20, 30, 0.5)]}  # the 1st ends before, the 3rd at the end
    split = _split(scored=tuple(f for f in range(6, 30) if f != 15))
    e = recovery_episodes({"on": {"V": on}, "late": {"V": late}, "unscored": {"V": unscored}},
                          {"V": gt}, {"V": split}, windows)
    assert list(e.tracker) == ["on", "late", "unscored"]  # one episode each: the occluder ending at 12
    assert list(e.reappears) == [13, 13, 13] and list(e.occluder_first) == [9, 9, 9]  # 1-based frames
    assert e.frames.iloc[0] == 0 and e.frames.iloc[1] == 16 - 12  # frame 15 is not scored: 16 is the first
    assert np.isnan(e.frames.iloc[2])


def test_summary_means_over_recovered_episodes_only():
    e = pd.DataFrame({"tracker": ["a", "a", "a", "b"], "frames": [0.0, 4.0, np.nan, np.nan]})
    s = recovery_summary(e).set_index("tracker")
    assert s.loc["a", "episodes"] == 3 and s.loc["a", "recovered"] == 2
    assert s.loc["a", "recovered_share"] == pytest.approx(2 / 3) and s.loc["a", "mean_frames"] == 2.0
    assert s.loc["b", "recovered"] == 0 and np.isnan(s.loc["b", "mean_frames"])


def test_the_pipelines_recovery_tables_are_the_episodes_of_its_files(tiny_workflow):
    """The ``recovery`` rule's outputs equal :func:`load_episodes` on the run's splits, sequences and
    tracks (what ``studies/recovery_grid.py`` reads), and its summary is :func:`recovery_summary`."""
    from conftest import TINY_CONFIG
    from rolo.evaluation.recovery import load_episodes

    synth = TINY_CONFIG["dataset"]["synthetic"]
    checked = 0
    for exp in ("exp1", "exp2", "exp3"):
        out = tiny_workflow / "results" / exp / "recovery_episodes.csv"
        if not out.exists():  # no occluded test video in this experiment
            continue
        table = pd.read_csv(out)
        trackers = list(dict.fromkeys(table.tracker))
        assert "rolo" in trackers and "yolo" in trackers
        seqs = {v: str(tiny_workflow / "resources/synthetic" / v) for v in synth["sequences"]}
        tracks = {t: str(tiny_workflow / "results" / exp / "tracks" / t) for t in trackers}
        e = load_episodes(tiny_workflow / "results" / exp / "splits.json", seqs, tracks, synth, synth["sequences"])
        assert len(e) == len(table) > 0
        np.testing.assert_allclose(e.frames.to_numpy(float), table.frames.to_numpy(float), equal_nan=True)
        assert list(e.reappears) == list(table.reappears)
        summary = pd.read_csv(tiny_workflow / "results" / exp / "recovery.csv")
        assert list(summary.recovered) == list(recovery_summary(e).recovered)
        checked += 1
    assert checked >= 1  # the tiny config's video C is occluded and tested in exp2 and exp3
