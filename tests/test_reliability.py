"""Issue 14: results you can trust when the user does something unexpected.

Each test reproduces one failure: the job imports another copy of the package; one's own data
inherits OTB mode and the default experiments; a truncated frame decodes as grey; a frame replaced in
place reruns nothing; a split leaves nothing to score; outputs overwrite each other, are private to
their owner, or pick up temporary files; the workflow plans in the wrong folder. Errors are one line
naming the file or the setting. End-to-end tests reuse the tiny workflow (copies of its workdir)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from conftest import REPO, TINY_CONFIG, planned_jobs, snakemake, write_config
from rolo.cli import main
from rolo.data.sequences import check_image, image_complete, read_image
from rolo.data.splits import VideoSplit, given_experiments, make_split, split_warnings
from rolo.data.synthetic import SynthParams, write_sequence
from rolo.errors import RoloInputError
from rolo.evaluation.scoring import result_names
from rolo.tracking.live import check_outputs
from rolo.utils.io import atomic_path, current_umask, save_json
from rolo.utils.provenance import folder_identity


def truncate(path: Path, fraction: float = 0.4) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


def copy_workdir(tiny_workflow: Path, dest: Path, metadata: bool = False) -> Path:
    """A copy of the tiny workflow's workdir (mtimes kept); with ``metadata`` also Snakemake's record
    of each output's params and code, so that the params rerun trigger compares with the real run."""
    shutil.copytree(tiny_workflow, dest, symlinks=True, ignore=shutil.ignore_patterns(".snakemake"))
    if metadata:
        shutil.copytree(tiny_workflow / ".snakemake/metadata", dest / ".snakemake/metadata")
    return dest


# --- 3. every image decodes fully or fails naming it --------------------------------------------------


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_a_truncated_image_is_an_error_naming_it(tmp_path, ext):
    im = (np.arange(64 * 48 * 3) % 251).astype(np.uint8).reshape(48, 64, 3)
    path = tmp_path / f"0001{ext}"
    cv2.imwrite(str(path), im)
    np.testing.assert_array_equal(read_image(path), cv2.imread(str(path)))
    with open(path, "ab") as f:  # trailing padding is allowed
        f.write(b"\x00\x00\n")
    assert read_image(path).shape == (48, 64, 3)
    with open(path, "ab") as f:  # so is data after the end (a camera's trailer, an appended clip)
        f.write(b"trailer \xff\xd8 \x00" * 20)
    assert read_image(path).shape == (48, 64, 3)
    path.write_bytes(cv2.imencode(ext, im)[1].tobytes())
    truncate(path)
    if ext == ".jpg":  # what OpenCV alone does: a grey image and a warning, no error
        assert cv2.imread(str(path)) is not None
    with pytest.raises(RoloInputError, match=rf"^{path}: truncated or corrupt image"):
        read_image(path)
    with pytest.raises(RoloInputError, match=str(path)):
        check_image(path)
    assert image_complete(b"other format")  # formats without an end marker: left to the decoder


def test_every_truncation_of_a_frame_is_caught(tmp_path):
    """A real frame (the synthetic generator's JPEG, progressive and baseline) cut at any length."""
    p = SynthParams(width=160, height=120, frames=2)
    write_sequence(tmp_path / "S", "S", ["SV"], seed=1, p=p)
    frame = tmp_path / "S/img/0001.jpg"
    data = frame.read_bytes()
    progressive = cv2.imencode(".jpg", cv2.imread(str(frame)), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes()
    for whole in (data, progressive):
        assert image_complete(whole)
        assert not any(image_complete(whole[:k]) for k in range(4, len(whole) - 1, 7)), "a truncation passed"
        assert not image_complete(whole[:-1])


def test_garbage_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "0001.jpg"
    path.write_bytes(b"\xff\xd8 not a jpeg \xff\xd9")
    with pytest.raises(RoloInputError, match=rf"^{path}: truncated or corrupt"):
        read_image(path)


# --- 5. a split that leaves nothing to score warns ----------------------------------------------------


def test_split_warnings_name_experiment_and_video():
    gt = np.tile([10.0, 10, 30, 30], (36, 1))
    valid = np.ones(36, bool)
    short = make_split("A", gt, valid, "held_out_tail", train_fraction=0.999)
    (line,) = split_warnings("mine", short)
    assert line.startswith("warning: experiments.mine, video A: test segment of 1 frame") and "\n" not in line
    assert split_warnings("mine", make_split("A", gt, valid, "held_out_tail", train_fraction=0.5)) == []
    nolabel = VideoSplit("B", 36, (0, 36), (), None, None, ())
    assert "no labelled frame" in split_warnings("mine", nolabel)[0]


# --- 6. outputs behave --------------------------------------------------------------------------------


def test_track_outputs_are_checked_before_any_work(tmp_path, capfd):
    (tmp_path / "dir").mkdir()
    with pytest.raises(RoloInputError, match="same file"):
        check_outputs(tmp_path / "x.mp4", tmp_path / "x.mp4")
    with pytest.raises(RoloInputError, match="same file"):
        check_outputs(tmp_path / "x.mp4", tmp_path / "dir/../x.mp4")
    with pytest.raises(RoloInputError, match=r"^--out .*dir: is a folder"):
        check_outputs(tmp_path / "dir", None)
    with pytest.raises(RoloInputError, match=r"^--video .*dir: is a folder"):
        check_outputs(tmp_path / "t.csv", tmp_path / "dir")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x")
    with pytest.raises(RoloInputError, match="is the source video"):
        check_outputs(clip, None, clip)
    # through the command line: one line, status 2, before the (missing) model is loaded
    rc = main(["track", str(tmp_path), "--init", "1,1,5,5", "--model", str(tmp_path / "none.pt"),
               "--out", str(tmp_path / "o.mp4"), "--video", str(tmp_path / "o.mp4")])
    err = capfd.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "same file" in err, err


def test_files_get_the_umask_permissions(tmp_path):
    before = os.umask(0o027)
    try:
        assert current_umask() == 0o027
        save_json(tmp_path / "a.json", {})
        assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o640
        os.umask(0o002)
        with atomic_path(tmp_path / "b.txt") as tmp:
            tmp.write_text("b")
        assert (tmp_path / "b.txt").stat().st_mode & 0o777 == 0o664
    finally:
        os.umask(before)


def test_score_ignores_hidden_and_time_files(tmp_path):
    for name in ("Basketball.txt", ".Basketball.txt.abc123.txt", "Basketball_time.txt", "Bolt.txt"):
        (tmp_path / name).write_text("1,1,2,2\n")
    assert result_names(tmp_path) == ["Basketball", "Bolt"]


def test_snakefile_from_another_folder_stops(tmp_path):
    """Neither --directory nor --configfile, run outside the checkout: one clear error, nothing planned."""
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-n", "--cores", "1"],
                          capture_output=True, text=True, cwd=tmp_path)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0 and f"run from {tmp_path} without --directory or --configfile" in text, text
    assert "Job stats" not in text


def test_directory_without_configfile_still_runs(tmp_path):
    """``--directory DIR`` (as with .test/) reads DIR/config/config.yaml."""
    (tmp_path / "config").mkdir()
    write_config(tmp_path / "config", TINY_CONFIG)
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory",
                           str(tmp_path), "-n", "--cores", "1", "results/exp1/splits.json"],
                          capture_output=True, text=True, cwd=tmp_path.parent)
    assert proc.returncode == 0 and planned_jobs(proc)["splits"] == 1, proc.stdout[-3000:] + proc.stderr[-3000:]


# --- 2. one's own data leaves OTB mode; its experiments replace the default's --------------------------


def test_own_folders_leave_otb_mode_and_replace_the_experiments(tmp_path):
    """Run where config/config.yaml (OTB, exp1-3) is the default, with a config for two plain
    OTB-layout folders: no OTB preparation or download is planned, only the config's experiment
    runs, and its split with train_fraction 0.999 warns (one line, naming experiment and video)."""
    work = tmp_path / "work"
    (work / "config").mkdir(parents=True)
    shutil.copy2(REPO / "config/config.yaml", work / "config/config.yaml")
    p = SynthParams(width=96, height=72, frames=24)
    for i, name in enumerate(["Mine1", "Mine2"]):
        write_sequence(work / "data" / name, name, ["SV"], seed=i, p=p)
    mine = {
        "dataset": {"root": "data", "otb": None},
        "detector": {"model": "yolov8.yaml", "imgsz": 96, "scale": [0.33, 0.125, 1024]},
        "sweeps": None,
        "heatmap_figures": None,
        "experiments": {"mine": {"split": "held_out_tail", "train_fraction": 0.999, "videos": ["Mine1", "Mine2"]}},
    }
    write_config(work, mine, "mine.yaml")
    jobs = planned_jobs(snakemake(work, "-n", configfile="mine.yaml"))
    assert jobs["splits"] == 1 and jobs["evaluate"] == 1 and jobs["extract_features"] == 2, jobs
    assert not {"otb_sequence", "download_otb", "fetch_weights"} & set(jobs), jobs
    proc = snakemake(work, "results/mine/splits.json", configfile="mine.yaml")
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: experiments.mine")]
    assert [w.split(":")[1].strip() for w in warnings] == ["experiments.mine, video Mine1", "experiments.mine, video Mine2"]
    assert "test segment of 1 frame" in warnings[0]
    assert json.loads((work / "results/mine/splits.json").read_text())["videos"]["Mine1"]["test"] == [23, 24]


def test_given_experiments_replace_the_merged_ones(tmp_path):
    merged = {"exp1": {"split": "disjoint", "train": ["a"], "test": ["b"]}, "mine": {"split": "sparse_labels", "videos": ["x"]}}
    write_config(tmp_path, {"experiments": {"mine": {"split": "sparse_labels", "videos": ["x"]}}}, "a.yaml")
    write_config(tmp_path, {"rolo": {"epochs": 1}}, "b.yaml")
    assert given_experiments(merged, [tmp_path / "a.yaml", tmp_path / "b.yaml"]) == {"mine": merged["mine"]}
    assert given_experiments(merged, [tmp_path / "b.yaml"]) == merged
    assert given_experiments(merged, []) == merged


# --- 4. changed frames rerun what depends on them ------------------------------------------------------


def test_folder_identity_sees_in_place_changes(tmp_path):
    (tmp_path / "img").mkdir()
    for i in range(3):
        (tmp_path / f"img/{i + 1:04d}.jpg").write_bytes(b"x" * (10 + i))
    first = folder_identity(tmp_path / "img")
    assert first == folder_identity(tmp_path / "img") and folder_identity(tmp_path / "none") is None
    st = (tmp_path / "img/0002.jpg").stat()
    (tmp_path / "img/0002.jpg").write_bytes(b"y" * 11)
    os.utime(tmp_path / "img", ns=(st.st_atime_ns, st.st_mtime_ns))  # the folder's mtime does not tell
    assert folder_identity(tmp_path / "img") != first
    (tmp_path / "img/0003.jpg").unlink()
    assert folder_identity(tmp_path / "img") not in (first, None)


@pytest.mark.slow
def test_a_replaced_frame_reruns_its_video_only(tiny_workflow, tmp_path):
    """The tiny workflow's sequences read as the user's own folders (no synthesize rule): after the
    first complete run (recorded with --touch) nothing is planned; a frame of D overwritten in place
    (the folder's mtime kept) replans D's extraction and what depends on it, no other extraction."""
    work = copy_workdir(tiny_workflow, tmp_path / "work", metadata=True)
    own = {**TINY_CONFIG, "dataset": {"root": TINY_CONFIG["dataset"]["root"]}}
    write_config(work, own)
    snakemake(work, "--touch")
    assert planned_jobs(snakemake(work, "-n")) == {}  # a second run plans nothing
    img = work / "resources/synthetic/D/img"
    st = img.stat()
    frame = img / "0010.jpg"
    frame.write_bytes((img / "0011.jpg").read_bytes())
    os.utime(img, ns=(st.st_atime_ns, st.st_mtime_ns))
    jobs = planned_jobs(snakemake(work, "-n"))
    assert jobs["extract_features"] == 1, jobs
    assert jobs.get("render_video", 0) >= 3 and jobs["evaluate"] == 3, jobs  # D: test video of every experiment


@pytest.mark.slow
def test_a_complete_demo_run_plans_nothing(tiny_workflow, tmp_path):
    """Generated (synthetic) folders carry no identity of their own: a rerun plans nothing."""
    work = copy_workdir(tiny_workflow, tmp_path / "work", metadata=True)
    assert planned_jobs(snakemake(work, "-n")) == {}


# --- 3, end to end: extraction and rolo track on a truncated frame ---------------------------------------


@pytest.mark.slow
def test_truncated_frame_fails_extraction_and_track(tiny_workflow, tmp_path, capfd):
    work = copy_workdir(tiny_workflow, tmp_path / "work")
    frame = work / "resources/synthetic/D/img/0010.jpg"
    truncate(frame)
    target = "results/features/D/features.npy"
    proc = snakemake(work, target, "--force", "--rerun-triggers", "mtime", check=False)
    text = proc.stdout + proc.stderr + (work / "logs/extract_features/D.log").read_text()
    # the job names the frame as the workflow does, relative to the working directory
    assert proc.returncode != 0 and f"{frame.relative_to(work)}: truncated or corrupt image" in text, text[-3000:]
    assert not (work / target).exists() and not list((work / "results/features/D").glob(".*"))
    splits = json.loads((work / "results/exp1/splits.json").read_text())["videos"]["D"]
    steps = TINY_CONFIG["rolo"].get("steps", 6)
    rc = main(["track", str(frame.parent), "--init", ",".join(map(str, splits["start_box"])), "--quiet",
               "--model", str(work / f"results/exp1/models/coordinate_s{steps}.pt"), "--out", str(tmp_path / "t.csv"),
               "--threads", "1"])
    err = capfd.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and f"{frame}: truncated or corrupt image" in err[0], err
    assert not (tmp_path / "t.csv").exists()


# --- 1. the job runs its own checkout's package -------------------------------------------------------


@pytest.mark.slow
def test_a_job_imports_its_own_checkout(tiny_workflow, tmp_path, monkeypatch):
    """Two copies of the package: this one on PYTHONPATH, a copy whose error message differs. A job
    of the copy's workflow, on ground truth with a malformed line, reports the copy's message."""
    copy = tmp_path / "copy"
    copy.mkdir()
    for item in ("Snakefile", "environment.yml"):
        shutil.copy2(REPO / item, copy / item)
    for item in ("workflow", "src", "profiles"):
        shutil.copytree(REPO / item, copy / item, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    seqs = copy / "src/rolo/data/sequences.py"
    seqs.write_text(seqs.read_text().replace("expected 4 numbers x,y,w,h", "COPY'S OWN MESSAGE: expected 4 numbers"))
    work = copy_workdir(tiny_workflow, tmp_path / "work")
    gt = work / "resources/synthetic/A/groundtruth_rect.txt"
    gt.write_text(gt.read_text().replace("\n", "\n1,2,3\n", 1))
    # this checkout's package first on the job's path, as an editable install or PYTHONPATH puts it
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    proc = snakemake(work, "results/exp1/splits.json", "--rerun-triggers", "mtime", check=False, snakefile=copy / "Snakefile")
    text = proc.stdout + proc.stderr + (work / "logs/splits/exp1.log").read_text()
    assert proc.returncode != 0 and f"{gt.relative_to(work)}:2: COPY'S OWN MESSAGE" in text, text[-3000:]


# --- 6. provenance ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_each_experiment_records_code_and_config(tiny_workflow):
    record = json.loads((tiny_workflow / "results/exp1/provenance.json").read_text())
    assert set(record) == {"code", "config_sha256", "experiment"} and len(record["config_sha256"]) == 64
    assert record["experiment"]["name"] == "exp1" and record["code"]
    assert yaml.safe_load((tiny_workflow / "config.yaml").read_text())["experiments"]["exp1"]["split"] == "disjoint"
