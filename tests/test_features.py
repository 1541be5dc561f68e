"""Feature extraction: letterbox mapping, and the shared detector actually finding the target."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from rolo.utils.boxes import iou
from rolo.errors import RoloInputError
from rolo.data.sequences import list_frames, load_sequence
from rolo.detection.extraction import ExtractionParams, _Frames, check_same_detector, extract_video


def test_letterbox_maps_back_to_original_pixels(tmp_path):
    """A white block drawn in a 200x100 frame is found in the letterboxed tensor and mapped back
    with Ultralytics' scale_boxes to within a pixel."""
    from ultralytics.utils.ops import scale_boxes

    img = np.zeros((100, 200, 3), np.uint8)
    img[30:60, 120:170] = 255  # xyxy (120, 30, 170, 60)
    cv2.imwrite(str(tmp_path / "0001.png"), img)
    x, shape = _Frames([tmp_path / "0001.png"], imgsz=160, stride=32)[0]
    assert tuple(shape.tolist()) == (100, 200)
    assert x.shape[1] % 32 == 0 and x.shape[2] == 160  # minimal rectangle, long side = imgsz
    ys, xs = np.nonzero(x[0].numpy() > 200)
    found = torch.tensor([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], dtype=torch.float32)
    back = scale_boxes(tuple(x.shape[1:]), found, (100, 200)).numpy()[0]
    np.testing.assert_allclose(back, [120, 30, 170, 60], atol=1.5)


def test_shared_detector_finds_the_target(tiny_workflow):
    """The session's detector on a video it never saw: the target is among the detections, in the
    original image's pixels, on most frames; outputs match the pipeline's files."""
    video = tiny_workflow / "resources/synthetic/A"
    seq = load_sequence(video)
    weights = tiny_workflow / "results/detector/weights.pt"
    feats, dets, meta = extract_video(weights, list(seq.frames), ExtractionParams(imgsz=160, workers=0), progress=False)
    assert feats.shape == (len(seq), meta["feature_dim"]) and dets.shape == (len(seq), 10, 6)
    hit = [
        bool((iou(d[np.isfinite(d[:, 4]), :4], g[None]) >= 0.5).any()) for d, g in zip(dets, seq.gt)
    ]
    # a broken detector or box mapping scores ~0; this 30-epoch, 160 px detector scores ~0.7-1
    assert np.mean(hit) >= 0.5, f"target found on {np.mean(hit):.2f} of frames"
    conf = dets[:, :, 4]
    finite = np.isfinite(conf)
    assert (np.diff(np.where(finite, conf, -1), axis=1) <= 1e-6).all(), "detections not sorted by confidence"
    np.testing.assert_allclose(feats, np.load(tiny_workflow / "results/features/A/features.npy"), atol=1e-4)
    pipeline = json.loads((tiny_workflow / "results/features/A/meta.json").read_text())
    assert pipeline["feature_module"] == "SPPF" and pipeline["feature_layer"] == 9


def test_mismatched_detector_setting_is_named():
    with pytest.raises(RoloInputError, match="'imgsz' is 320"):
        check_same_detector({"detector": "d.pt", "feature_layer": 9, "feature_dim": 128, "imgsz": 160},
                            {"detector": "d.pt", "feature_layer": 9, "feature_dim": 128, "imgsz": 320}, "meta.json")


def test_unreadable_frame_names_the_file(tmp_path, tiny_workflow):
    (tmp_path / "img").mkdir()
    cv2.imwrite(str(tmp_path / "img/0001.jpg"), np.zeros((32, 32, 3), np.uint8))
    (tmp_path / "img/0002.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(Exception, match="0002.jpg"):
        extract_video(tiny_workflow / "results/detector/weights.pt", list(list_frames(tmp_path / "img")),
                      ExtractionParams(imgsz=160, workers=0), progress=False)


def test_missing_weights_are_not_downloaded(tmp_path):
    with pytest.raises(RoloInputError, match="not found"):
        extract_video(tmp_path / "yolov8s.pt", [], ExtractionParams(), progress=False)


def test_extraction_defaults_are_one_set():
    """The schema's documented extraction defaults are ExtractionParams' (the one source the
    pipeline, rolo track and the CLI read)."""
    import dataclasses

    import yaml

    from conftest import REPO

    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    documented = {k: v["default"] for k, v in schema["properties"]["extraction"]["properties"].items() if "default" in v}
    defaults = {f.name: f.default for f in dataclasses.fields(ExtractionParams)}
    assert documented and all(defaults[k] == v for k, v in documented.items()), (documented, defaults)
    with pytest.raises(ValueError, match="extraction.batchsize: not an extraction setting"):
        ExtractionParams.from_config({"batchsize": 4})


def test_extraction_job_writes_neck_maps_through_memory_maps(tmp_path):
    """extract_features_job writes the neck maps into memory-mapped files as it goes (memory does not
    grow with the video's frames): the files are byte for byte what np.save of the in-memory maps
    writes, no partial file is left, and the other outputs are unchanged."""
    from rolo.detection.extraction import extract_features_job
    from rolo.detection.neck import load_neck

    img = tmp_path / "img"
    img.mkdir()
    rng = np.random.default_rng(0)
    for t in range(5):
        cv2.imwrite(str(img / f"{t + 1:04d}.png"), rng.integers(0, 255, (48, 64, 3), np.uint8))
    params = {"imgsz": 64, "workers": 0, "batch": 2, "neck": {"levels": [1, 2], "channel_group": 1}}
    torch.manual_seed(0)
    extract_features_job(img, "yolov8n.yaml", params, tmp_path / "out/features.npy", tmp_path / "out/detections.npy",
                         tmp_path / "out/meta.json")
    torch.manual_seed(0)
    feats, dets, meta = extract_video("yolov8n.yaml", list_frames(img), ExtractionParams.from_config(params), progress=False)
    assert not isinstance(meta["neck"][0], np.memmap)  # without neck_dir: in memory, as before
    maps, _ = load_neck(tmp_path / "out")
    assert [m.shape for m in maps] == [m.shape for m in meta["neck"]] and maps[0].dtype == np.float16
    for lvl, m in zip(("p4", "p5"), meta["neck"]):
        np.save(tmp_path / f"ref_{lvl}.npy", m)
        assert (tmp_path / f"ref_{lvl}.npy").read_bytes() == (tmp_path / f"out/neck_{lvl}.npy").read_bytes()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "detections.npy", "features.npy", "meta.json", "neck.json", "neck_p4.npy", "neck_p5.npy"]
    np.testing.assert_array_equal(np.load(tmp_path / "out/features.npy"), feats)
    np.testing.assert_array_equal(np.load(tmp_path / "out/detections.npy"), dets)
