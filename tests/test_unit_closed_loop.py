"""Unit tests of rolo.detection.neck, rolo.tracking.appearance and rolo.tracking.closed_loop (fast: synthetic arrays and a tiny
random YOLOv8 built from Ultralytics' yaml; no network, no trained detector)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rolo.tracking.appearance import AppearanceModel, AppearanceParams, start_samples
from rolo.tracking.closed_loop import (
    BOX_INPUTS, ClosedLoopConfig, ClosedLoopLSTM, ClosedLoopTracker, ClosedLoopTrainParams, TrainSegment,
    apply_delta, box_delta, grid_delta, load_closed_loop, region_grid, save_closed_loop, train_closed_loop,
)
from rolo.detection.neck import Letterbox, NeckMeta, NeckSpec, bytes_per_frame, pooled_dim, roi_pool
from rolo.tracking.trackers import VideoFrames, iter_track

pytestmark = pytest.mark.usefixtures("one_torch_thread")

IMAGE_WH = (64.0, 48.0)
# a 64x48 frame letterboxed to 64x64 with 8 px of padding on top and bottom; P4/P5 strides 16/32
META = NeckMeta(NeckSpec((1, 2)), (16, 32), (4, 8), Letterbox.of((64, 64), (48, 64)), (64, 64), (64, 48))


def ones_maps():
    return [np.ones((4, 4, 4), np.float32), np.ones((8, 2, 2), np.float32)]


# --- rolo.detection.neck ------------------------------------------------------------------------------------


def test_letterbox_mapping_matches_ultralytics_inverse():
    from ultralytics.utils.ops import scale_boxes

    lb = Letterbox.of((64, 64), (48, 64))
    assert (lb.pad_x, lb.pad_y) == (0.0, 8.0)
    box = np.array([[3.0, 5.0, 20.0, 30.0]])
    back = scale_boxes((64, 64), torch.tensor(lb.forward(box), dtype=torch.float64), (48, 64)).numpy()
    np.testing.assert_allclose(back, box, atol=1e-9)


def test_roi_pool_inside_border_and_outside():
    maps = ones_maps()
    boxes = np.array([
        [16.0, 8.0, 48.0, 40.0],  # inside: exactly the map's value
        [0.0, 0.0, 64.0, 48.0],  # the whole image, touching every border
        [-32.0, 10.0, 32.0, 40.0],  # half outside on the left
        [-400.0, -400.0, -300.0, -300.0],  # wholly outside, far away
        [60.0, 40.0, 60.0, 40.0],  # degenerate, at the corner
    ])
    f = roi_pool(maps, boxes, META, (2, 1))
    assert f.shape == (5, pooled_dim(META, (2, 1))) == (5, 4 * 4 + 8)
    assert np.isfinite(f).all()
    np.testing.assert_allclose(f[0], 1.0, atol=1e-6)
    np.testing.assert_allclose(f[1], 1.0, atol=1e-6)
    left = f[2, :16].reshape(4, 2, 2)  # P4 2x2 cells: the left column lies outside the image
    assert (left[:, :, 0] < 0.6).all() and np.allclose(left[:, :, 1], 1.0, atol=1e-6)
    np.testing.assert_array_equal(f[3], 0.0)
    np.testing.assert_allclose(f[4], 1.0, atol=1e-6)


def test_neck_hook_leaves_outputs_unchanged_and_captures_head_inputs():
    from ultralytics.nn.tasks import DetectionModel

    from rolo.detection.neck import NeckHook

    torch.manual_seed(0)
    import yaml

    cfg = yaml.safe_load(_yolov8_yaml().read_text())
    cfg.update(nc=1, scales={"t": [0.33, 0.125, 1024]}, scale="t")  # the demo's width: P4 64, P5 128 channels
    model = DetectionModel(cfg, verbose=False).eval()
    x = torch.rand(2, 3, 64, 96)
    with torch.inference_mode():
        plain = model(x)[0].clone()
        hook = NeckHook(model, NeckSpec((1, 2)))
        hooked = model(x)[0]
        hook.remove()
    assert torch.equal(plain, hooked)
    assert hook.strides == (16, 32)
    assert [m.shape for m in hook.maps] == [(2, 64, 4, 6), (2, 128, 2, 3)]
    assert hook.maps[0].dtype == np.float16
    assert bytes_per_frame((64, 128), (16, 32), (64, 96)) == (64 * 24 + 128 * 6) * 2


def _yolov8_yaml():
    from pathlib import Path

    import ultralytics

    return Path(ultralytics.__file__).parent / "cfg/models/v8/yolov8.yaml"


# --- scenario and look-ahead guard ----------------------------------------------------------------


class LookAheadGuard:
    """Array-like: reading a row past ``allowed`` raises (as in test_unit_association.py)."""

    def __init__(self, array):
        self.array = array
        self.allowed = -1
        self.reads = []

    def __len__(self):
        return len(self.array)

    def __getitem__(self, index):
        if not isinstance(index, (int, np.integer)):
            raise AssertionError(f"only single frames may be read, not {index!r}")
        if index > self.allowed:
            raise AssertionError(f"look-ahead: read frame {index} while producing frame {self.allowed}")
        self.reads.append(int(index))
        return self.array[index]


def scenario(T=14, seed=0):
    """A target moving right with a detection each frame but frames 5-6, a static distractor, random maps."""
    rng = np.random.default_rng(seed)
    gt = np.array([[4.0 + 2 * t, 10.0, 16.0 + 2 * t, 26.0] for t in range(T)])
    dets = np.full((T, 4, 6), np.nan, np.float32)
    for t in range(T):
        dets[t, 0] = [40, 30, 52, 46, 0.9, 0]
        if t not in (5, 6):
            dets[t, 1, :4] = gt[t] + rng.normal(0, 0.5, 4)
            dets[t, 1, 4:] = [0.7, 0]
    p4 = rng.normal(0, 1, (T, 4, 4, 4)).astype(np.float16)
    p5 = rng.normal(0, 1, (T, 8, 2, 2)).astype(np.float16)
    feats = rng.normal(0, 1, (T, 8)).astype(np.float32)
    return gt, dets, [p4, p5], feats


def tiny_model(inputs="roi", seed=0, **kw):
    torch.manual_seed(seed)
    dim = 8 if inputs == "global" else pooled_dim(META, (4, 2))
    model = ClosedLoopLSTM(ClosedLoopConfig(feature_dim=dim, inputs=inputs, hidden=8, proj=8, steps=3, **kw))
    for p in model.parameters():  # a non-trivial model: the zero-initialised head would hide reads
        torch.nn.init.normal_(p, 0, 0.1)
    return model


@pytest.mark.parametrize("inputs,loop,head", [("roi", "closed", "box"), ("global", "closed", "box"),
                                             ("roi", "open", "box"), ("roi", "closed", "heatmap")])
@pytest.mark.parametrize("start", [0, 3])
def test_closed_loop_never_reads_ahead(inputs, loop, head, start):
    gt, dets, neck, feats = scenario()
    gd, gf = LookAheadGuard(dets), LookAheadGuard(feats)
    gn = [LookAheadGuard(m) for m in neck]
    guards = [gd, gf, *gn]
    tracker = ClosedLoopTracker(tiny_model(inputs, loop=loop, head=head), IMAGE_WH, META)
    gen = iter_track(tracker, VideoFrames(gf, gd, None, gn), gt[start], start, len(gt))
    for g in guards:
        g.allowed = start
    produced = []
    for t, box in gen:
        assert np.isfinite(box).all()
        produced.append(t)
        for g in guards:
            g.allowed = t + 1
    assert produced == list(range(start, len(gt)))
    assert max(gd.reads) == len(gt) - 1 and min(gd.reads) == start
    if inputs == "roi":
        assert gf.reads == []


def test_start_template_uses_only_the_start_frame():
    """start() reads frame s only, and the fitted appearance model does not change when every other
    frame's data changes."""
    gt, dets, neck, feats = scenario()
    s = 4
    weights = []
    for seed in (1, 2):
        rng = np.random.default_rng(seed)
        d2 = dets.copy()
        n2 = [m.copy() for m in neck]
        others = [t for t in range(len(gt)) if t != s]
        d2[others, :, :4] += rng.normal(0, 3, d2[others, :, :4].shape).astype(np.float32)
        for m in n2:
            m[others] = rng.normal(0, 1, m[others].shape)
        gd = LookAheadGuard(d2)
        gn = [LookAheadGuard(m) for m in n2]
        for g in (gd, *gn):
            g.allowed = s
        tracker = ClosedLoopTracker(tiny_model(), IMAGE_WH, META)
        tracker.start(gt[s], VideoFrames(None, gd, None, gn)[s])
        assert set(gd.reads) == {s} and all(set(g.reads) == {s} for g in gn)
        weights.append(tracker.app_model.w.copy())
    np.testing.assert_array_equal(weights[0], weights[1])


def test_appearance_model_ranks_target_over_distractor():
    rng = np.random.default_rng(0)
    target, distractor = rng.normal(0, 1, 24), rng.normal(0, 1, 24)
    box = np.array([10.0, 10.0, 20.0, 30.0])
    boxes, labels = start_samples(box, np.array([[40, 10, 50, 30, 0.9, 0]]), IMAGE_WH, AppearanceParams())
    feats = np.where(labels[:, None] == 1, target, rng.normal(0, 1, (len(labels), 24)))
    feats[len(labels) - 1] = distractor
    m = AppearanceModel()
    m.fit_start(feats + rng.normal(0, 0.1, feats.shape), labels)
    s = m.score(np.stack([target, distractor]))
    assert s[0] > 0.5 > s[1]


# --- model, training, checkpoints -----------------------------------------------------------------


def test_delta_round_trip_and_untrained_model_returns_reference():
    ref = np.array([[10.0, 20.0, 30.0, 60.0]])
    box = np.array([[12.0, 18.0, 36.0, 50.0]])
    np.testing.assert_allclose(apply_delta(ref, box_delta(ref, box)), box, atol=1e-9)
    model = ClosedLoopLSTM(ClosedLoopConfig(feature_dim=5, hidden=4, proj=4, steps=2))
    out = model(torch.randn(3, 2, 5 + BOX_INPUTS))
    assert torch.equal(out, torch.zeros(3, 4))


def test_heatmap_head_renders_and_reads_back_a_correction():
    rng = np.random.default_rng(0)
    # corrections whose box lies inside the search region (2x the reference) and spans >= 2 cells of 16
    d = np.c_[rng.uniform(-0.3, 0.3, (50, 2)), rng.uniform(-0.25, 0.25, (50, 2))]
    maps = region_grid(d, 2.0, 16).reshape(-1, 16, 16)
    assert maps.shape == (50, 16, 16) and maps.max() == 1.0
    np.testing.assert_allclose(grid_delta(maps, 2.0), d, atol=1e-6)
    # a box partly outside the region is clipped to it, never wrapped round
    edge = region_grid(np.array([[0.9, 0.0, 0.0, 0.0]]), 2.0, 16).reshape(16, 16)
    assert edge[:, :8].sum() == 0 and edge[:, -1].max() == 1.0


def test_untrained_heatmap_head_returns_the_reference():
    model = ClosedLoopLSTM(ClosedLoopConfig(feature_dim=5, hidden=4, proj=4, steps=2, head="heatmap"))
    x = torch.randn(3, 2, 5 + BOX_INPUTS)
    with torch.no_grad():
        assert model(x).shape == (3, 16 * 16)
        delta = model.delta(x)
    # the prior map, clipped to [0.02, 0.98], reads back as the reference: each edge out by 0.02 / 0.98
    # of a cell (a cell is 2 / 16 of the reference), so the centre stays and the size grows by ~0.5 %
    np.testing.assert_allclose(delta[:, :2], 0.0, atol=1e-9)
    np.testing.assert_allclose(delta[:, 2:], np.log(1 + 2 * 0.02 / 0.98 * 2.0 / 16), atol=1e-6)
    with pytest.raises(ValueError, match="head must be one of"):
        ClosedLoopConfig(feature_dim=5, head="mask")


def test_heatmap_head_trains_on_its_own_rollouts_and_round_trips(tmp_path):
    gt, dets, neck, feats = scenario(T=20)
    seg = TrainSegment("S", VideoFrames(feats, dets, None, neck), gt, np.ones(len(gt), bool), 0, len(gt), IMAGE_WH, META)
    cfg = ClosedLoopConfig(feature_dim=pooled_dim(META, (4, 2)), hidden=8, proj=8, steps=3, head="heatmap", grid=8)
    model, log = train_closed_loop([seg], cfg, ClosedLoopTrainParams(rounds=2, epochs=2, start_every=5, rollout_len=8))
    assert len(log["rounds"]) == 2 and np.isfinite(log["rounds"][-1]["loss"])
    assert any(p.abs().sum() > 0 for p in model.head.parameters())
    save_closed_loop(tmp_path / "h.pt", model)
    loaded, _, _ = load_closed_loop(tmp_path / "h.pt")
    assert loaded.cfg == model.cfg and "prior" not in torch.load(tmp_path / "h.pt", weights_only=True)["state_dict"]
    x = torch.randn(2, 3, cfg.feature_dim + BOX_INPUTS)
    with torch.no_grad():
        np.testing.assert_array_equal(model.delta(x), loaded.delta(x))


@pytest.mark.parametrize("head,kind,tracker", [("box", "closed_loop", "rolo"), ("heatmap", "closed_loop_heatmap", "rolo_heatmap")])
def test_pipeline_checkpoint_records_the_kind_its_head_names(tmp_path, head, kind, tracker):
    """The pipeline's checkpoint names the head as the model kind; ``rolo track`` and the tracking stage
    load it through the one loader and run it with that kind's tracker only."""
    from rolo.tracking.closed_loop_job import save_checkpoint
    from rolo.tracking.models import load_checkpoint
    from rolo.tracking.trackers import make_tracker, tracker_for_kind

    model = tiny_model(head=head, grid=8)
    save_checkpoint(tmp_path / "m.pt", model, AppearanceParams(), {"detector": "d"}, {}, META)
    loaded, ckpt = load_checkpoint(tmp_path / "m.pt")
    assert ckpt["model"]["kind"] == loaded.kind == kind and tracker_for_kind(kind) == tracker
    assert loaded.cfg == model.cfg
    make_tracker(tracker, None, IMAGE_WH, loaded)
    other = "rolo" if tracker == "rolo_heatmap" else "rolo_heatmap"
    with pytest.raises(ValueError, match=f"the {other} tracker runs a"):
        make_tracker(other, None, IMAGE_WH, loaded)
    ckpt["model"]["kind"] = "closed_loop_heatmap" if kind == "closed_loop" else "closed_loop"  # kind and head disagree
    torch.save(ckpt, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match=f"recorded with a {head} head"):
        load_checkpoint(tmp_path / "bad.pt")


def test_checkpoint_round_trip(tmp_path):
    model = tiny_model(app_weight=0.25)
    save_closed_loop(tmp_path / "m.pt", model, {"note": "x"}, AppearanceParams(lam=0.5))
    torch.load(tmp_path / "m.pt", weights_only=True)  # plain types only
    loaded, app, ckpt = load_closed_loop(tmp_path / "m.pt")
    assert loaded.cfg == model.cfg and app.lam == 0.5 and ckpt["note"] == "x"
    x = torch.randn(2, 3, model.cfg.feature_dim + BOX_INPUTS)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


def test_training_runs_on_its_own_rollouts():
    gt, dets, neck, feats = scenario(T=20)
    seg = TrainSegment("S", VideoFrames(feats, dets, None, neck), gt, np.ones(len(gt), bool), 0, len(gt), IMAGE_WH, META)
    cfg = ClosedLoopConfig(feature_dim=pooled_dim(META, (4, 2)), hidden=8, proj=8, steps=3)
    model, log = train_closed_loop([seg], cfg, ClosedLoopTrainParams(rounds=2, epochs=2, start_every=5, rollout_len=8))
    assert len(log["rounds"]) == 2 and all(r["windows"] > 0 for r in log["rounds"])
    assert any(p.abs().sum() > 0 for p in model.head.parameters())


def test_appearance_incremental_kernel_matches_a_fresh_solve():
    rng = np.random.default_rng(1)
    m = AppearanceModel(AppearanceParams(memory=3))
    m.fit_start(rng.normal(0, 1, (10, 6)), np.r_[np.ones(3), np.zeros(7)])
    for _ in range(6):
        m.add(rng.normal(0, 1, (4, 6)), np.r_[1.0, np.zeros(3)])
    assert len(m.parts) == 1 + 3 and len(m.X) == 10 + 3 * 4
    np.testing.assert_allclose(m.K, m.X.astype(np.float64) @ m.X.T.astype(np.float64), atol=1e-4)


def test_training_on_memory_mapped_float16_maps_equals_training_on_float32_copies(tmp_path, monkeypatch):
    """The training job reads the neck maps memory-mapped (float16, widened per frame as the tracker
    does) instead of float32 copies of whole videos: the same model, weight for weight. And the job
    hands the rollouts memory maps (so memory does not grow with the videos' frames)."""
    from rolo.detection.neck import load_neck, save_neck

    gt, dets, neck, feats = scenario(T=20)
    save_neck(tmp_path, neck, META)
    maps, meta = load_neck(tmp_path, mmap=True)
    assert all(isinstance(m, np.memmap) and m.dtype == np.float16 for m in maps)
    cfg = ClosedLoopConfig(feature_dim=pooled_dim(META, (4, 2)), hidden=8, proj=8, steps=3)
    params = ClosedLoopTrainParams(rounds=2, epochs=2, start_every=5, rollout_len=8)
    models = []
    for m in (maps, [np.asarray(m).astype(np.float32) for m in maps]):
        seg = TrainSegment("S", VideoFrames(feats, dets, None, m), gt, np.ones(len(gt), bool), 0, len(gt), IMAGE_WH, meta)
        models.append(train_closed_loop([seg], cfg, params)[0].state_dict())
    for k, v in models[0].items():
        assert torch.equal(v, models[1][k]), k

    # the job's loader: memory maps all the way to the segments
    import json

    import rolo.data.sequences
    import rolo.data.splits
    import rolo.tracking.closed_loop
    from rolo.data.splits import make_split
    from rolo.tracking import closed_loop_job

    np.save(tmp_path / "features.npy", feats)
    np.save(tmp_path / "detections.npy", dets)
    (tmp_path / "meta.json").write_text(json.dumps({"frames": len(gt), "image_wh": list(IMAGE_WH), "detector": "d",
                                                    "feature_layer": 9, "feature_dim": 8, "imgsz": 64, "backend": "torch"}))
    split = make_split("S", gt, np.ones(len(gt), bool), "disjoint", role="train")
    monkeypatch.setattr(rolo.data.splits, "read_splits", lambda path: {"S": split})
    monkeypatch.setattr(rolo.data.sequences, "load_sequence", lambda d, name: type("S", (), {"gt": gt})())
    seen = []

    def capture(segments, *args, **kw):
        seen.extend(segments)
        raise RuntimeError("captured")

    monkeypatch.setattr(rolo.tracking.closed_loop, "train_closed_loop", capture)
    files = {"features": tmp_path / "features.npy", "detections": tmp_path / "detections.npy", "meta": tmp_path / "meta.json",
             "neck_meta": tmp_path / "neck.json", "gt": tmp_path / "groundtruth_rect.txt"}
    with pytest.raises(RuntimeError, match="captured"):
        closed_loop_job.train_job("splits.json", {"S": files}, {"steps": 3}, {}, {}, tmp_path / "m.pt", tmp_path / "l.csv")
    (seg,) = seen
    assert all(isinstance(m, np.memmap) for m in seg.frames.neck) and isinstance(seg.frames.detections, np.memmap)

    # the pipeline's model kind picks the head (rolo: box, rolo_heatmap: heatmap); an unknown kind is refused
    heads = []
    monkeypatch.setattr(rolo.tracking.closed_loop, "train_closed_loop", lambda segs, cfg, *a, **k: heads.append(cfg.head) or capture(segs))
    for kind in ("closed_loop", "closed_loop_heatmap"):
        with pytest.raises(RuntimeError, match="captured"):
            closed_loop_job.train_job("splits.json", {"S": files}, {"kind": kind, "steps": 3}, {}, {}, tmp_path / "m.pt", tmp_path / "l.csv")
    assert heads == ["box", "heatmap"]
    with pytest.raises(ValueError, match="not a closed-loop kind"):
        closed_loop_job.train_job("splits.json", {"S": files}, {"kind": "heatmap", "steps": 3}, {}, {}, tmp_path / "m.pt", tmp_path / "l.csv")


def test_a_checkpoint_written_before_detection_delta_scale_keeps_refining(tmp_path):
    """Round 3 made 0 the default; a checkpoint that does not record it was trained and tracked with 1."""
    model = tiny_model(detection_delta_scale=1.0)
    save_closed_loop(tmp_path / "old.pt", model, {}, AppearanceParams())
    ckpt = torch.load(tmp_path / "old.pt", weights_only=True)
    del ckpt["closed_loop"]["detection_delta_scale"]
    torch.save(ckpt, tmp_path / "old.pt")
    assert load_closed_loop(tmp_path / "old.pt")[0].cfg.detection_delta_scale == 1.0
    save_closed_loop(tmp_path / "new.pt", tiny_model(), {}, AppearanceParams())
    assert load_closed_loop(tmp_path / "new.pt")[0].cfg.detection_delta_scale == 0.0


@pytest.mark.parametrize("scale", [0.0, 1.0])
def test_a_chosen_detection_is_the_output_unless_refined(scale):
    gt, dets, neck, feats = scenario()
    tracker = ClosedLoopTracker(tiny_model(detection_delta_scale=scale), IMAGE_WH, META)
    boxes = [b for _, b in iter_track(tracker, VideoFrames(feats, dets, None, neck), gt[0], 0, len(gt))]
    chosen = [t for t in range(1, len(gt)) if t not in (5, 6)]  # the target's detection every frame but 5-6
    same = [np.allclose(np.asarray(boxes[t]), dets[t, 1, :4], atol=1e-4) for t in chosen]
    assert all(same) if scale == 0.0 else not any(same)
    coasted = [np.allclose(np.asarray(boxes[t]), dets[t, 1, :4], atol=1e-4) for t in (5, 6)]
    assert not any(coasted)  # frames 5-6 have no detection of the target: the LSTM places the box


def test_a_kept_detection_skips_the_lstm_and_changes_no_bit():
    """detection_delta_scale=0: the LSTM runs only on frames without a chosen detection (frames 5-6),
    and the boxes are bit for bit those of a correction scaled by a vanishing factor."""
    gt, dets, neck, feats = scenario()
    model = tiny_model()
    calls = []
    model.register_forward_hook(lambda m, i, o: calls.append(1))
    frames = VideoFrames(feats, dets, None, neck)
    kept = [b for _, b in iter_track(ClosedLoopTracker(model, IMAGE_WH, META), frames, gt[0], 0, len(gt))]
    assert len(calls) == 2  # frames 5 and 6
    tiny = ClosedLoopTracker(model, IMAGE_WH, META, cfg=ClosedLoopConfig(**{**model.cfg.__dict__,
                                                                            "detection_delta_scale": 1e-300}))
    scaled = [b for _, b in iter_track(tiny, frames, gt[0], 0, len(gt))]
    assert len(calls) == 2 + len(gt) - 1
    assert all(np.array_equal(a, b) for a, b in zip(kept, scaled))


class FixedAppearance:
    """An appearance model whose scores are given: ``score`` returns ``values`` whatever it is shown."""

    def __init__(self, values):
        self.values = np.asarray(values, np.float64)

    def score(self, x):
        assert len(x) == len(self.values)
        return self.values


def _selector(app_values, **cfg):
    _, _, neck, _ = scenario()
    tracker = ClosedLoopTracker(tiny_model(**cfg), IMAGE_WH, META)
    tracker.app_model = FixedAppearance(app_values)
    tracker.coasted = 0
    maps = [torch.from_numpy(np.asarray(m[0], np.float32)) for m in neck]
    return tracker, maps


PRED = np.array([10.0, 10.0, 20.0, 20.0])


@pytest.mark.parametrize("local_app,taken", [(None, False), (0.5, True), (0.7, False)])
def test_local_re_detection_takes_a_look_alike_near_the_predicted_box_only_above_its_gate(local_app, taken):
    d = np.array([[19.0, 10.0, 29.0, 20.0, 0.3, 0]])  # IoU 0.05 with PRED (< iou_gate), centre 9 px away (< 10)
    tracker, maps = _selector([0.6], local_app=local_app)
    ref, _, has_det, _, _ = tracker._select(d, PRED, maps)
    assert has_det == taken and (np.array_equal(ref, d[0, :4]) if taken else np.array_equal(ref, PRED))
    far = d + [[30.0, 0, 30.0, 0, 0, 0]]  # outside the search region: never local
    assert not ClosedLoopTracker._select(tracker, far, PRED, maps)[2]


def test_re_detection_gate_loosens_only_after_lost_after_frames():
    d = np.array([[40.0, 30.0, 50.0, 40.0, 0.8, 0]])  # far away, confident, appearance 0.6 < app_redetect
    tracker, maps = _selector([0.6], lost_after=3, app_redetect_lost=0.5)
    for coasted, taken in [(0, False), (2, False), (3, True)]:
        tracker.coasted = coasted
        assert tracker._select(d, PRED, maps)[2] == taken


def test_candidate_confidence_floor_and_weight():
    d = np.array([[10.0, 10.0, 20.0, 21.0, 0.1, 0], [11.0, 10.0, 21.0, 20.0, 0.9, 0]])  # IoU 0.91 / 0.82
    for kw, pick in [({}, 0), ({"conf_weight": 1.0}, 1), ({"cand_conf": 0.2}, 1)]:
        tracker, maps = _selector([0.5, 0.5], **kw)
        assert np.array_equal(tracker._select(d, PRED, maps)[0], d[pick, :4]), kw
    tracker, maps = _selector([0.5], cand_conf=0.2)
    assert not tracker._select(d[:1], PRED, maps)[2]  # the only overlapping detection is below the floor


def test_training_on_no_detection_windows_only():
    gt, dets, neck, feats = scenario(T=20)
    seg = TrainSegment("S", VideoFrames(feats, dets, None, neck), gt, np.ones(len(gt), bool), 0, len(gt), IMAGE_WH, META)
    cfg = ClosedLoopConfig(feature_dim=pooled_dim(META, (4, 2)), hidden=8, proj=8, steps=3)
    p = ClosedLoopTrainParams(rounds=1, epochs=1, start_every=5, rollout_len=12)
    _, all_log = train_closed_loop([seg], cfg, p)
    _, nod_log = train_closed_loop([seg], cfg, ClosedLoopTrainParams(**{**p.__dict__, "train_on": "no_detection"}))
    assert 0 < nod_log["rounds"][0]["trained"] < all_log["rounds"][0]["trained"]
    with pytest.raises(ValueError, match="train_on"):
        train_closed_loop([seg], cfg, ClosedLoopTrainParams(**{**p.__dict__, "train_on": "some"}))


def test_storage_rounding_and_widening_match_numpy_bit_for_bit():
    """to_storage / widen convert with torch (numpy converts float16 subnormals ~100x slower): the same
    bits as numpy's astype over normal, subnormal, overflowing and special values, and on read-only
    memory-mapped arrays."""
    from rolo.detection.neck import to_storage, widen

    rng = np.random.default_rng(0)
    special = np.array([0.0, -0.0, 1e-8, -3e-8, 2.98e-8, 5.96e-8, 6.1e-5, 6.09e-5, 65504, 65519.99, 65520, 1e6,
                        -1e6, np.inf, -np.inf, 1 / 3, 2049, 2051, 0.1], np.float32)
    scaled = rng.standard_normal(200_000) * 10.0 ** rng.integers(-10, 7, 200_000)
    x = np.concatenate([special, scaled.astype(np.float32)])
    with np.errstate(over="ignore"):
        want = x.astype(np.float16)
    got = to_storage(torch.from_numpy(x), "float16")
    assert got.dtype == np.float16 and np.array_equal(got.view(np.uint16), want.view(np.uint16))
    assert np.isnan(to_storage(torch.tensor([np.nan]), "float16")).all()
    assert np.array_equal(to_storage(torch.from_numpy(x), "float32").view(np.uint32), x.view(np.uint32))
    ro = want.copy()
    ro.setflags(write=False)
    for stored in (want, ro):
        w = widen(stored)
        assert w.dtype == torch.float32 and np.array_equal(w.numpy().view(np.uint32), want.astype(np.float32).view(np.uint32))
    assert torch.equal(widen(torch.from_numpy(want)), torch.from_numpy(want.astype(np.float32)))
