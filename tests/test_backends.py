"""``extraction.backend`` (issue 17): every way the detector runs gives the same outputs, to a bound.

Tiny models only and no timing asserted. Each backend loads and yields features, detections and neck
maps of the right shapes; a missing package is a one-line error naming the setting; against eager
PyTorch (``torch``) the other paths stay within these bounds on the tiny workflow's trained detector:

* features (pooled feature layer): max |difference| <= 1e-4 x max |feature|;
* neck maps (stored float16): max |difference| <= 1e-2 (absolute);
* detections: the same number per frame, boxes within 0.05 px, confidences within 1e-4.

(Measured: about 1e-6 relative on the features and 1e-5 px on the boxes.) Then the pipeline's extraction
and tracking stage with a non-default backend, and ``rolo track`` with that backend, give the same track
bit for bit. The onnxruntime and openvino packages are installed in CI (.ci/run); without them their
cases skip here (the missing-package error is tested by hiding the module).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import TINY_CONFIG
from rolo.detection.backends import BACKENDS, DEFAULT_BACKEND, EXPORTED
from rolo.detection.extraction import ExtractionParams, FeatureExtractor, extract_features_job, extract_video
from rolo.detection.neck import NeckSpec
from rolo.errors import RoloInputError

THREADS = 2


def available(backend: str) -> bool:
    return backend not in EXPORTED or (importlib.util.find_spec(EXPORTED[backend][0]) is not None
                                       and importlib.util.find_spec("onnx") is not None)


def needs(backend: str):
    return pytest.param(backend, marks=pytest.mark.skipif(not available(backend), reason=f"{backend} not installed"))


ALL = [needs(b) for b in BACKENDS]
OTHERS = [needs(b) for b in BACKENDS if b != DEFAULT_BACKEND]


@pytest.fixture
def threads():
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("backend", ALL)
def test_each_backend_gives_features_detections_and_neck_maps(backend, threads):
    """A random-init YOLOv8n (from Ultralytics' yaml) at 96 px: shapes as eager PyTorch's."""
    torch.manual_seed(0)
    params = ExtractionParams(imgsz=96, workers=0, backend=backend, neck=NeckSpec((1, 2), 2), conf=1e-4)
    x = torch.randint(0, 256, (3, 3, 96, 128), dtype=torch.uint8)
    with FeatureExtractor("yolov8n.yaml", params) as ex:
        feats, dets = ex(x, (120, 160))
        assert feats.shape == (3, 256) and feats.dtype == np.float32 and np.isfinite(feats).all()
        assert dets.shape == (3, params.max_det, 6) and dets.dtype == np.float32
        assert [m.shape for m in ex.neck.maps] == [(3, 64, 6, 8), (3, 128, 3, 4)]
        assert all(m.dtype == np.float16 for m in ex.neck.maps) and ex.neck.strides == (16, 32)
        assert ex.meta((160, 120), (96, 128), 3, 256)["backend"] == backend
        feats1, dets1 = ex(x[:1], (120, 160))  # a smaller last batch
        assert feats1.shape == (1, 256) and dets1.shape == (1, params.max_det, 6)


@pytest.mark.parametrize("backend", ALL)
def test_torch_runs_on_one_thread_beside_an_exported_backend_only(backend, threads):
    """Around an exported backend's forward pass torch runs on one thread (its pool would wait for the
    runtime's spinning workers); the runtime keeps the job's threads; torch's count is restored after.
    Eager PyTorch keeps the job's threads throughout."""
    from ultralytics.utils import nms

    seen = []
    real_nms = nms.non_max_suppression

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real_nms(*args, **kwargs)

    params = ExtractionParams(imgsz=96, workers=0, backend=backend, conf=1e-4)
    x = torch.randint(0, 256, (2, 3, 96, 128), dtype=torch.uint8)
    with FeatureExtractor("yolov8n.yaml", params) as ex, pytest.MonkeyPatch.context() as mp:
        mp.setattr(nms, "non_max_suppression", spy)
        ex(x, (120, 160))
        if backend in EXPORTED:
            assert ex.runner.threads == THREADS
    assert seen == [1 if backend in EXPORTED else THREADS] and torch.get_num_threads() == THREADS


@pytest.mark.parametrize("backend", sorted(EXPORTED))
def test_missing_backend_package_is_one_line_naming_the_setting(backend, monkeypatch):
    monkeypatch.setitem(sys.modules, EXPORTED[backend][0], None)  # import fails as if not installed
    with pytest.raises(RoloInputError) as e:
        FeatureExtractor("yolov8n.yaml", ExtractionParams(imgsz=64, workers=0, backend=backend))
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(f"extraction.backend: {backend} needs the {EXPORTED[backend][0]} package")
    assert f"pip install 'rolo[{EXPORTED[backend][1]}]'" in msg


def test_unknown_backend_is_an_error_naming_the_setting():
    with pytest.raises(RoloInputError, match="extraction.backend: 'tensorrt' is not one of"):
        ExtractionParams.from_config({"backend": "tensorrt"})


def test_only_config_yaml_selects_a_fast_backend():
    """config/config.yaml picks the fastest path; the demo and the tests' configuration say torch
    explicitly, as a --configfile is merged into config/config.yaml key by key (the demo's
    detections.npy stay byte-identical)."""
    import yaml

    from conftest import REPO

    def backend(path):
        return yaml.safe_load((REPO / path).read_text())["extraction"].get("backend")

    assert backend("config/config.yaml") == "onnxruntime"
    assert backend("config/demo.yaml") == DEFAULT_BACKEND == "torch"
    assert backend(".test/config/config.yaml") == DEFAULT_BACKEND


# --- on the tiny workflow's trained detector -------------------------------------------------------


@pytest.fixture(scope="module")
def eager(tiny_workflow):
    return extract(tiny_workflow, DEFAULT_BACKEND)


def extract(workdir, backend):
    from rolo.data.sequences import list_frames

    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        params = ExtractionParams(imgsz=TINY_CONFIG["detector"]["imgsz"], workers=0, backend=backend,
                                  neck=NeckSpec((1, 2)))
        return extract_video(workdir / "results/detector/weights.pt", list(list_frames(workdir / "resources/synthetic/D/img")),
                             params, progress=False)
    finally:
        torch.set_num_threads(before)


def test_eager_backend_is_the_pipelines_extraction(tiny_workflow, eager):
    feats, dets, _ = eager
    np.testing.assert_array_equal(feats, np.load(tiny_workflow / "results/features/D/features.npy"))
    np.testing.assert_array_equal(dets, np.load(tiny_workflow / "results/features/D/detections.npy"))


@pytest.mark.parametrize("backend", OTHERS)
def test_differences_against_eager_pytorch_are_bounded(tiny_workflow, eager, backend):
    feats0, dets0, meta0 = eager
    feats, dets, meta = extract(tiny_workflow, backend)
    assert meta["backend"] == backend and meta0["backend"] == DEFAULT_BACKEND
    assert np.abs(feats - feats0).max() <= 1e-4 * np.abs(feats0).max()
    for m, m0 in zip(meta["neck"], meta0["neck"]):
        assert m.shape == m0.shape and np.abs(m.astype(np.float32) - m0.astype(np.float32)).max() <= 1e-2
    assert (np.isnan(dets[..., 0]) == np.isnan(dets0[..., 0])).all(), "detection counts differ"
    assert (~np.isnan(dets0[..., 0])).sum() > 0, "the trained detector finds boxes"
    ok = ~np.isnan(dets0[..., 0])
    assert np.abs(dets[ok][:, :4] - dets0[ok][:, :4]).max() <= 0.05
    assert np.abs(dets[ok][:, 4] - dets0[ok][:, 4]).max() <= 1e-4
    np.testing.assert_array_equal(dets[ok][:, 5], dets0[ok][:, 5])


def pipeline_features(workdir, video: str, extraction: dict, out) -> dict:
    """The pipeline's extraction stage (extract_features_job) of ``video`` into ``out`` -> the tracking
    stage's file record for it. Run from ``workdir`` (the detector's path is recorded relative to it)."""
    out.mkdir(parents=True)
    extract_features_job(workdir / f"resources/synthetic/{video}/img", "results/detector/weights.pt", extraction,
                         out / "features.npy", out / "detections.npy", out / "meta.json")
    return {"features": str(out / "features.npy"), "detections": str(out / "detections.npy"),
            "meta": str(out / "meta.json"), "neck_meta": str(out / "neck.json")}


def rolo_track(workdir, video: str, split, model, out, batch: int, *extra: str) -> int:
    """``rolo track`` over ``video``'s test frames from its start box -> exit status (OTB file ``out``)."""
    from rolo.cli import main

    return main(["track", str(workdir / f"resources/synthetic/{video}/img"), "--init",
                 ",".join(repr(float(v)) for v in split.start_box), "--model", str(model), "--out", str(out),
                 "--format", "otb", "--start", str(split.test[0] + 1), "--threads", str(THREADS),
                 "--batch", str(batch), "--quiet", *extra])


@pytest.mark.parametrize("backend", OTHERS)
def test_pipeline_and_rolo_track_match_exactly_on_a_backend(tiny_workflow, tmp_path, capfd, threads, backend, monkeypatch):
    """The pipeline's extraction (extract_features_job) and tracking stage (track_job) with ``backend``,
    then ``rolo track --backend`` on the same frames: the same closed-loop ROLO track, bit for bit."""
    monkeypatch.chdir(tiny_workflow)  # the workflow's folder: the detector's path is recorded relative to it
    from rolo.data.sequences import read_otb_boxes
    from rolo.data.splits import read_splits
    from rolo.tracking.registry import TRACKERS
    from rolo.tracking.trackers import track_job

    exp, video, tracker = "exp1", "D", "rolo"
    steps = TINY_CONFIG.get("rolo", {}).get("steps", 6)
    model = tiny_workflow / f"results/{exp}/models/{TRACKERS[tracker].model_kind}_s{steps}.pt"
    splits_json = tiny_workflow / f"results/{exp}/splits.json"
    splits = read_splits(splits_json)
    extraction = {**TINY_CONFIG["extraction"], "imgsz": TINY_CONFIG["detector"]["imgsz"], "backend": backend}
    videos = {}
    for v in sorted(s for s, sp in splits.items() if sp.test is not None):
        videos[v] = pipeline_features(tiny_workflow, v, extraction, tmp_path / "features" / v)
        assert json.loads(Path(videos[v]["meta"]).read_text())["backend"] == backend
    track_job(tracker, splits_json, videos, {}, model, tmp_path / "tracks")
    rc = rolo_track(tiny_workflow, video, splits[video], model, tmp_path / "track.csv", extraction["batch"],
                    "--backend", backend)
    _, err = capfd.readouterr()
    assert rc == 0, err
    np.testing.assert_array_equal(read_otb_boxes(tmp_path / "track.csv"), read_otb_boxes(tmp_path / "tracks" / f"{video}.txt"))


def test_rolo_track_missing_backend_is_one_line_exit_2(tiny_workflow, tmp_path, capfd, monkeypatch):
    from rolo.cli import main
    from rolo.tracking.registry import TRACKERS

    monkeypatch.setitem(sys.modules, "openvino", None)
    steps = TINY_CONFIG.get("rolo", {}).get("steps", 6)
    model = tiny_workflow / f"results/exp1/models/{TRACKERS['rolo'].model_kind}_s{steps}.pt"
    rc = main(["track", str(tiny_workflow / "resources/synthetic/D/img"), "--init", "10,10,20,20", "--model", str(model),
               "--out", str(tmp_path / "t.csv"), "--backend", "openvino", "--quiet"])
    _, err = capfd.readouterr()
    assert rc == 2 and err.count("\n") == 1
    assert "extraction.backend: openvino needs the openvino package" in err and not (tmp_path / "t.csv").exists()


def test_checkpoint_records_the_backend_and_rolo_track_defaults_to_it(tiny_workflow):
    """The tiny workflow runs the default: its checkpoints record torch, which rolo track then runs."""
    from rolo.tracking.registry import TRACKERS

    steps = TINY_CONFIG.get("rolo", {}).get("steps", 6)
    ckpt = torch.load(tiny_workflow / f"results/exp1/models/{TRACKERS['rolo'].model_kind}_s{steps}.pt", weights_only=True)
    assert ckpt["detector"]["backend"] == DEFAULT_BACKEND
    assert json.loads((tiny_workflow / "results/features/D/meta.json").read_text())["backend"] == DEFAULT_BACKEND
    assert dataclasses.replace(ExtractionParams(), backend="openvino").backend == "openvino"


def test_channels_last_is_recorded_and_rolo_track_runs_it(tiny_workflow, tmp_path, capfd, threads, monkeypatch):
    """``extraction.channels_last`` (how Ultralytics' own predictor runs a ``.pt`` on an x86 CPU, with
    ``torch_fused``) is recorded in ``meta.json`` and the model's record, and ``rolo track`` runs the
    recorded one (and without the record, the default), reproducing the pipeline's track bit for bit."""
    monkeypatch.chdir(tiny_workflow)
    import rolo.tracking.live as live
    from rolo.data.sequences import read_otb_boxes
    from rolo.data.splits import read_splits
    from rolo.detection.extraction import detector_record
    from rolo.tracking.registry import TRACKERS
    from rolo.tracking.trackers import track_job

    exp, video, tracker = "exp1", "D", "rolo"
    steps = TINY_CONFIG.get("rolo", {}).get("steps", 6)
    ckpt = torch.load(tiny_workflow / f"results/{exp}/models/{TRACKERS[tracker].model_kind}_s{steps}.pt", weights_only=True)
    assert "channels_last" not in ckpt["detector"]  # recorded only when set
    splits_json = tiny_workflow / f"results/{exp}/splits.json"
    split = read_splits(splits_json)[video]
    extraction = {**TINY_CONFIG["extraction"], "imgsz": TINY_CONFIG["detector"]["imgsz"], "backend": "torch_fused",
                  "channels_last": True}
    files = pipeline_features(tiny_workflow, video, extraction, tmp_path / "features")
    meta = json.loads(Path(files["meta"]).read_text())
    assert meta["channels_last"] is True and detector_record(meta)["channels_last"] is True
    ckpt["detector"].update(backend="torch_fused", channels_last=True)  # as a model trained on these features records
    torch.save(ckpt, tmp_path / "model.pt")
    only = json.loads(splits_json.read_text())
    only["videos"] = {video: only["videos"][video]}
    (tmp_path / "splits.json").write_text(json.dumps(only))
    track_job(tracker, tmp_path / "splits.json", {video: files}, {}, tmp_path / "model.pt", tmp_path / "tracks")
    pipeline = read_otb_boxes(tmp_path / "tracks" / f"{video}.txt")

    ran = []  # the extraction settings rolo track loads its detector with
    real = live.load_extractor
    monkeypatch.setattr(live, "load_extractor", lambda detector, params: ran.append(params) or real(detector, params))
    for record in (True, False):
        ckpt["detector"]["channels_last"] = record
        torch.save(ckpt, tmp_path / "model.pt")
        rc = rolo_track(tiny_workflow, video, split, tmp_path / "model.pt", tmp_path / f"{record}.txt", extraction["batch"])
        assert rc == 0, capfd.readouterr()[1]
    assert [(p.backend, p.channels_last) for p in ran] == [("torch_fused", True), ("torch_fused", False)]
    np.testing.assert_array_equal(read_otb_boxes(tmp_path / "True.txt"), pipeline)
