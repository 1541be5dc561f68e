"""``rolo track`` (issue 8): the pipeline's tracker, online, on a user's video or image folder.

On the tiny workflow's test videos: the image-folder run reproduces the pipeline's ROLO track bit
for bit; the same frames as a lossy MP4 give an AOS within 0.02; the annotated MP4 it writes is read
back frame by frame; bad input is a one-line error with exit status 2; the workflow's ``track_demo``
target runs the same function.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

from conftest import REPO, TINY_CONFIG, snakemake
from rolo.tracking.registry import TRACKERS
from rolo.tracking.association import AssociationParams, associate
from rolo.cli import main
from rolo.data.sequences import load_sequence, read_otb_boxes
from rolo.data.splits import read_splits
from rolo.tracking.live import read_track_csv
from rolo.evaluation.protocols import track_ious
from rolo.figures.drawing import box_rgb, write_video

EXTRACTION_THREADS = 2  # extract_features' threads in the tiny workflow (snakemake --cores 2)


ROLO_KINDS = {n: s.model_kind for n, s in TRACKERS.items() if s.model_kind}  # pipeline tracker -> model kind


def model_path(workdir: Path, exp: str, tracker: str = "rolo") -> Path:
    """The checkpoint the pipeline's ``tracks/<tracker>`` used: the model of the tracker's kind with
    ``rolo.steps`` (the sweeps train others beside it)."""
    steps = TINY_CONFIG.get("rolo", {}).get("steps") or yaml.safe_load((REPO / "config/config.yaml").read_text())["rolo"]["steps"]
    path = workdir / f"results/{exp}/models/{ROLO_KINDS[tracker]}_s{steps}.pt"
    assert path.is_file(), f"no checkpoint {path}"
    return path


def init_arg(start_box) -> str:
    return ",".join(repr(float(v)) for v in start_box)


@pytest.fixture
def torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run from an empty folder: the checkpoint's detector must be found from the checkpoint."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def rolo(capfd, *argv: str) -> tuple[int, str, str]:
    rc = main(["track", *map(str, argv)])
    out, err = capfd.readouterr()
    return rc, out, err


def track_folder(workdir, exp, video, out, capfd, tracker="rolo"):
    split = read_splits(workdir / f"results/{exp}/splits.json")[video]
    a, _ = split.test
    rc, out_text, err = rolo(
        capfd, workdir / f"resources/synthetic/{video}/img", "--init", init_arg(split.start_box),
        "--model", model_path(workdir, exp, tracker), "--out", out, "--start", a + 1, "--threads", EXTRACTION_THREADS,
    )
    assert rc == 0, err
    return split, out_text, err


EXACT_CASES = [("exp1", "D", "rolo"), ("exp2", "A", "rolo")] + [("exp1", "D", t) for t in ROLO_KINDS if t != "rolo"]


@pytest.mark.parametrize("exp, video, tracker", EXACT_CASES)
def test_image_folder_reproduces_the_pipeline_track_exactly(tiny_workflow, in_tmp, capfd, torch_threads, exp, video, tracker):
    """Same frames, same detector batches, same threads -> the OTB track file's numbers, bit for bit
    (each model kind: its checkpoint picks the pipeline's tracker); conf/lost are the associator's over
    the pipeline's detections. exp2 starts mid-video (--start)."""
    split, out_text, err = track_folder(tiny_workflow, exp, video, in_tmp / "track.csv", capfd, tracker)
    assert "frames/s" in out_text and "frames/s" in err  # achieved rate, and progress
    got = read_track_csv(in_tmp / "track.csv")
    a, b = split.test
    np.testing.assert_array_equal(got["frame"], np.arange(a + 1, b + 1))
    np.testing.assert_array_equal(got["otb"], read_otb_boxes(tiny_workflow / f"results/{exp}/tracks/{tracker}/{video}.txt"))
    if not TRACKERS[tracker].association:  # the closed-loop ROLO: its own reference's detection
        assert ((got["conf"] >= 0) & (got["conf"] <= 1)).all() and (got["conf"][got["lost"]] == 0).all()
        return
    ckpt = torch.load(model_path(tiny_workflow, exp, tracker), weights_only=True)
    dets = np.load(tiny_workflow / f"results/features/{video}/detections.npy")
    _, conf, lost = associate(dets[a:b], split.start_box_xyxy(), AssociationParams(**ckpt["association"]))
    np.testing.assert_allclose(got["conf"], conf, atol=6e-5)
    np.testing.assert_array_equal(got["lost"], lost)


def test_float16_features_image_folder_reproduces_the_pipeline_track_exactly(tiny_workflow, in_tmp, capfd, torch_threads,
                                                                              monkeypatch):
    """extraction.features_dtype: float16 stores features.npy in float16 (detections stay float32); a
    model whose record says float16 makes rolo track round its live features the same way, so it
    reproduces the pipeline's track (extraction and tracking stages) bit for bit. The model here is
    the paper-input ROLO trained on float32 features, its record switched to float16: tracking reads
    the features, which is what this checks."""
    import json

    from rolo.detection.extraction import extract_features_job
    from rolo.tracking.trackers import track_job

    exp, video, tracker = "exp1", "D", "rolo_paper"
    ckpt = torch.load(model_path(tiny_workflow, exp, tracker), weights_only=True)
    ckpt["detector"]["features_dtype"] = "float16"
    torch.save(ckpt, in_tmp / "model.pt")
    out = in_tmp / "features"
    out.mkdir()
    extraction = {"imgsz": ckpt["detector"]["imgsz"], "workers": 0, "backend": ckpt["detector"].get("backend", "torch"),
                  "features_dtype": "float16"}
    torch.set_num_threads(EXTRACTION_THREADS)
    monkeypatch.chdir(tiny_workflow)  # the checkpoint records the detector relative to the workflow's folder
    extract_features_job(tiny_workflow / f"resources/synthetic/{video}/img", ckpt["detector"]["detector"], extraction,
                         out / "features.npy", out / "detections.npy", out / "meta.json")
    monkeypatch.chdir(in_tmp)
    feats, dets = np.load(out / "features.npy"), np.load(out / "detections.npy")
    assert feats.dtype == np.float16 and dets.dtype == np.float32
    f32 = np.load(tiny_workflow / f"results/features/{video}/features.npy")
    # the pipeline's float32 features (same detector, batches and threads), rounded: nothing else changes
    assert f32.dtype == np.float32 and not np.array_equal(feats.astype(np.float32), f32)
    np.testing.assert_array_equal(feats, f32.astype(np.float16))
    splits = json.loads((tiny_workflow / f"results/{exp}/splits.json").read_text())
    splits["videos"] = {video: splits["videos"][video]}
    (in_tmp / "splits.json").write_text(json.dumps(splits))
    files = {"features": out / "features.npy", "detections": out / "detections.npy", "meta": out / "meta.json"}
    track_job(tracker, in_tmp / "splits.json", {video: files}, {}, in_tmp / "model.pt", in_tmp / "tracks")
    split = read_splits(in_tmp / "splits.json")[video]
    a, b = split.test
    rc, _, err = rolo(capfd, tiny_workflow / f"resources/synthetic/{video}/img", "--init", init_arg(split.start_box),
                      "--model", in_tmp / "model.pt", "--detector", tiny_workflow / ckpt["detector"]["detector"],
                      "--out", in_tmp / "track.csv", "--start", a + 1, "--threads", EXTRACTION_THREADS)
    assert rc == 0, err
    got = read_track_csv(in_tmp / "track.csv")
    assert len(got["otb"]) == b - a
    np.testing.assert_array_equal(got["otb"], read_otb_boxes(in_tmp / f"tracks/{video}.txt"))


def test_features_dtype_bad_value_is_one_line():
    from rolo.detection.settings import ExtractionParams
    from rolo.errors import RoloInputError

    with pytest.raises(RoloInputError) as e:
        ExtractionParams.from_config({"features_dtype": "float64"})
    assert str(e.value) == "extraction.features_dtype: 'float64' is not one of float32, float16"


def test_lossy_mp4_source_and_annotated_mp4_output(tiny_workflow, in_tmp, capfd, torch_threads):
    """The test video encoded as H.264 (lossy): AOS within 0.02 of the image-folder run. The annotated
    MP4 decodes frame by frame, one frame per tracked frame, H.264/yuv420p at the source's rate, with
    the ROLO box drawn in green."""
    import imageio_ffmpeg

    exp, video = "exp1", "D"
    seq = load_sequence(tiny_workflow / f"resources/synthetic/{video}")
    src = in_tmp / f"{video}.mp4"
    write_video(src, (cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in seq.frames), fps=10)
    split, _, _ = track_folder(tiny_workflow, exp, video, in_tmp / "folder.csv", capfd)
    rc, _, err = rolo(capfd, src, "--init", init_arg(split.start_box), "--model", model_path(tiny_workflow, exp),
                      "--out", in_tmp / "mp4.csv", "--video", in_tmp / "out.mp4", "--threads", EXTRACTION_THREADS)
    assert rc == 0, err
    folder, mp4 = read_track_csv(in_tmp / "folder.csv"), read_track_csv(in_tmp / "mp4.csv")
    assert len(mp4["frame"]) == len(seq)
    aos = {k: float(track_ious(t["xyxy"], seq.gt, split).mean()) for k, t in (("folder", folder), ("mp4", mp4))}
    assert abs(aos["mp4"] - aos["folder"]) <= 0.02, aos

    reader = imageio_ffmpeg.read_frames(str(in_tmp / "out.mp4"))
    meta = next(reader)
    reader.close()
    assert meta["codec"].startswith("h264") and meta["pix_fmt"].startswith("yuv420p") and meta["fps"] == 10, meta
    cap = cv2.VideoCapture(str(in_tmp / "out.mp4"))
    frames = []
    while True:
        ok, im = cap.read()
        if not ok:
            break
        frames.append(im)
    cap.release()
    assert len(frames) == len(seq) and all(f.shape == (120, 160, 3) for f in frames)
    k = len(frames) // 2
    x1, y1, x2, _ = np.floor(mp4["xyxy"][k]).astype(int)

    def top_edge(bgr):  # the ROLO box's top edge, corners left out
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)[max(y1, 0), max(x1, 0) + 2 : min(x2, 159) - 2].astype(float)

    green = np.array(box_rgb("rolo"), float)
    assert np.abs(top_edge(frames[k]) - green).mean() < np.abs(top_edge(cv2.imread(str(seq.frames[k]))) - green).mean()


def _bad_kind_checkpoint(workdir: Path, tmp: Path) -> Path:
    ckpt = torch.load(model_path(workdir, "exp1"), weights_only=True)
    ckpt["model"] = {**ckpt["model"], "kind": "segmentation"}
    path = tmp / "segmentation.pt"
    torch.save(ckpt, path)
    return path


def _case(name: str, workdir: Path, tmp: Path) -> tuple[list, str]:
    """(argv after ``track``, text the error must contain) of a bad-input case."""
    img = workdir / "resources/synthetic/D/img"
    model = model_path(workdir, "exp1")
    good = ["--init", "30,40,50,40", "--model", model, "--out", tmp / "t.csv"]
    if name == "unreadable_file":
        (tmp / "clip.mp4").write_bytes(b"not a video\n" * 100)
        return [tmp / "clip.mp4", *good], "cannot read"
    if name == "missing_source":
        return [tmp / "nothing.mp4", *good], "no such"
    if name == "empty_folder":
        (tmp / "empty").mkdir()
        return [tmp / "empty", *good], "no images"
    if name == "init_outside":
        return [img, "--init", "500,400,20,20", "--model", model], "outside"
    if name == "init_zero_width":
        return [img, "--init", "30,40,0,20", "--model", model], "positive"
    if name == "init_negative_height":
        return [img, "--init", "30,40,20,-5", "--model", model], "positive"
    if name == "init_three_numbers":
        return [img, "--init", "30,40,20", "--model", model], "four"
    if name == "other_model_kind":
        return [img, "--init", "30,40,50,40", "--model", _bad_kind_checkpoint(workdir, tmp)], "segmentation"
    if name == "not_a_checkpoint":
        (tmp / "junk.pt").write_bytes(b"\x00junk" * 50)
        return [img, "--init", "30,40,50,40", "--model", tmp / "junk.pt"], "not a rolo checkpoint"
    if name == "detector_mismatch":  # yolov8n: 256-d features; the tiny detector's are 128-d (width 0.125)
        return [img, *good, "--detector", "yolov8n.yaml"], "feature_dim"
    raise AssertionError(name)


BAD_INPUTS = ["unreadable_file", "missing_source", "empty_folder", "init_outside", "init_zero_width",
              "init_negative_height", "init_three_numbers", "other_model_kind", "not_a_checkpoint", "detector_mismatch"]


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_and_exit_2(tiny_workflow, in_tmp, capfd, torch_threads, case):
    argv, expected = _case(case, tiny_workflow, in_tmp)
    rc, out, err = rolo(capfd, *argv)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1, err
    assert lines[0].startswith("rolo track: error:") and expected in lines[0] and "Traceback" not in err, err
    assert not (in_tmp / "t.csv").exists()


def test_console_script_bad_model_kind(tiny_workflow, tmp_path):
    """The installed ``rolo`` script: a checkpoint of another model kind -> one line, status 2."""
    script = Path(sys.executable).with_name("rolo")
    argv, expected = _case("other_model_kind", tiny_workflow, tmp_path)
    proc = subprocess.run([str(script), "track", *map(str, argv)], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "YOLO_OFFLINE": "1"})
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert expected in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_workflow_track_demo_target(tiny_workflow):
    """``snakemake track_demo``: the first experiment's first test video through ``rolo track``'s
    function: its CSV is the pipeline's track; the MP4 and its still frame exist."""
    snakemake(tiny_workflow, "track_demo")
    demo = tiny_workflow / "results/exp1/demo"
    got = read_track_csv(demo / "D.csv")
    np.testing.assert_array_equal(got["otb"], read_otb_boxes(tiny_workflow / "results/exp1/tracks/rolo/D.txt"))
    assert (demo / "D.mp4").stat().st_size > 0
    assert cv2.imread(str(demo / "D.png")).shape == (120, 160, 3)
    assert "frames/s" in (tiny_workflow / "logs/track_demo/exp1/D.log").read_text()


def test_stream_is_forward_only_and_holds_one_batch(tiny_workflow, torch_threads):
    """Memory does not grow with the clip: the stream keeps the current batch only (and a bounded
    read-ahead queue), and a dropped frame cannot be asked for again."""
    from rolo.detection.extraction import ExtractionParams, FeatureExtractor
    from rolo.tracking.live import FrameSource, StreamedVideo

    torch.set_num_threads(1)
    src = FrameSource(tiny_workflow / "resources/synthetic/D/img")
    with FeatureExtractor(tiny_workflow / "results/detector/weights.pt", ExtractionParams(imgsz=160, workers=0)) as ex:
        stream = StreamedVideo(src, ex, batch=4, first=5)  # the batch of frame 5 (0-based) starts at 4
        try:
            assert stream.get(5)["features"].shape == (stream.feature_dim,)
            assert stream.has(21) and len(stream._batch["image"]) == 4
            with pytest.raises(RuntimeError, match="forward only"):
                stream.get(5)
            assert not stream.has(36) and stream.exhausted
        finally:
            stream.close()


def test_otb_format_output_scores_with_rolo_score(tiny_workflow, in_tmp, capfd, torch_threads):
    """`rolo track --format otb` over a whole video writes what `rolo score` reads; its scores are
    those of the pipeline's track file (exp1: one-pass from frame 1)."""
    split = read_splits(tiny_workflow / "results/exp1/splits.json")["D"]
    (in_tmp / "mine").mkdir()
    rc, _, err = rolo(capfd, tiny_workflow / "resources/synthetic/D/img", "--init", init_arg(split.start_box),
                      "--model", model_path(tiny_workflow, "exp1"), "--out", in_tmp / "mine/D.txt", "--format", "otb",
                      "--threads", EXTRACTION_THREADS, "--quiet")
    assert rc == 0, err
    np.testing.assert_array_equal(read_otb_boxes(in_tmp / "mine/D.txt"),
                                  read_otb_boxes(tiny_workflow / "results/exp1/tracks/rolo/D.txt"))
    args = ["score", "--dataset-root", str(tiny_workflow / "resources/synthetic"), "--sequences", "D"]
    assert main([*args, "--results", str(in_tmp / "mine"), "--out", str(in_tmp / "mine.csv")]) == 0
    assert main([*args, "--results", str(tiny_workflow / "results/exp1/tracks/rolo"), "--out", str(in_tmp / "pipe.csv")]) == 0
    assert (in_tmp / "mine.csv").read_text() == (in_tmp / "pipe.csv").read_text()


def test_version(capsys):
    from rolo import __version__

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"rolo {__version__}"
