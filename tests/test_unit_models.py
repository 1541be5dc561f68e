"""Unit tests of rolo.tracking.models and rolo.tracking.training: windows, encodings, checkpoints, seeded training."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from rolo.errors import RoloInputError

from rolo.tracking.association import AssociationParams
from rolo.utils.boxes import cxcywh_norm_to_xyxy, xyxy_to_cxcywh_norm
from rolo.data.splits import make_split
from rolo.tracking.models import (
    ModelConfig,
    RoloLSTM,
    decode_output,
    encode_inputs,
    encode_target,
    load_checkpoint,
    save_checkpoint,
    window_indices,
)
from rolo.tracking.trackers import Rolo, VideoFrames, track
from rolo.tracking.training import TrainingVideo, TrainParams, build_windows, prepare_video, train_model

C = 8
IMAGE_WH = (100.0, 80.0)
ASSOC = AssociationParams()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def small_cfg(**kw):
    return ModelConfig(**{"feature_dim": C, "hidden": 16, "steps": 3, **kw})


def fresh_model(seed=0, **kw):
    torch.manual_seed(seed)
    return RoloLSTM(small_cfg(**kw)).eval()


def random_inputs(b=5, t=3, seed=0):
    """``(B, T, C + 6)`` inputs with plausible boxes (cxcywh_norm in (0.2, 0.8)), conf and lost."""
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(b, t, C, generator=g)
    box = 0.2 + 0.6 * torch.rand(b, t, 4, generator=g)
    conf = torch.rand(b, t, 1, generator=g)
    lost = (torch.rand(b, t, 1, generator=g) > 0.8).float()
    return torch.cat([feats, box, conf, lost], dim=-1)


def synthetic_video(T=24, seed=0, k=3):
    """Features, detections ``(T, k, 6)`` and gt for a 12x10 target moving right 1.5 px/frame; the
    first detection is the target with noise, the others are clutter."""
    rng = np.random.default_rng(seed)
    t = np.arange(T, dtype=np.float64)
    gt = np.stack([10 + 1.5 * t, 30 + 0 * t, 22 + 1.5 * t, 40 + 0 * t], axis=1)
    dets = np.full((T, k, 6), np.nan)
    dets[:, 0, :4] = gt + rng.normal(0, 1.0, gt.shape)
    dets[:, 0, 4] = rng.uniform(0.5, 0.9, T)
    dets[:, 1, :4] = [70, 5, 80, 15]
    dets[:, 1, 4] = 0.3
    dets[:, :, 5] = 0
    feats = rng.normal(size=(T, C)).astype(np.float32)
    feats[:, 0] = (gt[:, 0] - 40) / 20  # a feature that carries the target's position
    return feats, dets, gt


def training_video(protocol="disjoint", seed=0, T=24, kind="coordinate", **kw):
    feats, dets, gt = synthetic_video(T, seed)
    split_kw = {"role": "train"} if protocol == "disjoint" else {}
    split = make_split(f"v{seed}", gt, np.ones(T, bool), protocol, **split_kw, **kw)
    return prepare_video(f"v{seed}", feats, dets, gt, IMAGE_WH, split, ASSOC, kind)


# --- window_indices ---------------------------------------------------------------------------------


def test_window_indices_pad_at_segment_start():
    out = window_indices(np.array([0, 1, 5]), 0, 3)
    np.testing.assert_array_equal(out, [[0, 0, 0], [0, 0, 1], [3, 4, 5]])
    assert out.dtype == np.int64


def test_window_indices_nonzero_segment_start():
    out = window_indices(np.array([10, 11, 12, 15]), 10, 3)
    np.testing.assert_array_equal(out, [[10, 10, 10], [10, 10, 11], [10, 11, 12], [13, 14, 15]])


def test_window_indices_per_window_segment_start():
    out = window_indices(np.array([1, 21]), np.array([0, 20]), 4)
    np.testing.assert_array_equal(out, [[0, 0, 0, 1], [20, 20, 20, 21]])


# --- model and encodings ------------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["absolute", "residual"])
@pytest.mark.parametrize("b, t", [(1, 3), (5, 3), (2, 7)])
def test_model_output_shape(output, b, t):
    model = fresh_model(output=output)
    x = random_inputs(b, t)
    assert model(x).shape == (b, 4)
    assert model.predict(x).shape == (b, 4)


def test_unknown_output_raises():
    with pytest.raises(ValueError):
        RoloLSTM(small_cfg(output="delta"))


def test_untrained_residual_model_predicts_its_input_box():
    model = fresh_model(output="residual")
    x = random_inputs(4, 3)
    assert torch.count_nonzero(model(x)) == 0
    torch.testing.assert_close(model.predict(x), x[:, -1, C : C + 4])


def test_encode_target_residual_hand_value():
    ref = torch.tensor([[0.5, 0.5, 0.2, 0.4]])
    box = torch.tensor([[0.6, 0.3, 0.4, 0.4]])
    # dx / w = 0.1 / 0.2, dy / h = -0.2 / 0.4, log(0.4 / 0.2), log(0.4 / 0.4)
    expected = torch.tensor([[0.5, -0.5, float(np.log(2.0)), 0.0]])
    torch.testing.assert_close(encode_target(box, ref, "residual"), expected)
    torch.testing.assert_close(encode_target(box, ref, "absolute"), box)


@pytest.mark.parametrize("output", ["absolute", "residual"])
def test_encode_decode_round_trip(output):
    g = torch.Generator().manual_seed(1)
    ref = 0.05 + 0.9 * torch.rand(16, 4, generator=g, dtype=torch.float64)
    box = 0.05 + 0.9 * torch.rand(16, 4, generator=g, dtype=torch.float64)
    torch.testing.assert_close(decode_output(encode_target(box, ref, output), ref, output), box)


def test_encode_inputs_layout():
    feats = np.arange(2 * C, dtype=np.float32).reshape(2, C)
    boxes = np.array([[10, 20, 30, 60], [0, 0, 100, 80]], dtype=np.float64)
    x = encode_inputs(feats, boxes, [0.7, 0.0], [False, True], IMAGE_WH)
    assert x.shape == (2, C + 6) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, :C], feats)
    np.testing.assert_allclose(x[0, C:], [0.2, 0.5, 0.2, 0.5, 0.7, 0.0], rtol=1e-6)
    np.testing.assert_allclose(x[1, C:], [0.5, 0.5, 1.0, 1.0, 0.0, 1.0], rtol=1e-6)


# --- checkpoints ----------------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["absolute", "residual"])
def test_checkpoint_round_trip(tmp_path, monkeypatch, output):
    model = fresh_model(seed=3, output=output)
    with torch.no_grad():  # make the residual head non-zero so predictions depend on the weights
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    extra = {"detector": {"feature_dim": C, "name": "tiny"}, "association": {"iou_threshold": 0.3},
             "videos": ["a", "b"]}
    path = tmp_path / "ckpt" / "model.pt"
    save_checkpoint(path, model, extra)
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temporary left

    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    loaded, ckpt = load_checkpoint(path)
    assert calls == [True]
    assert not loaded.training
    assert loaded.cfg == model.cfg
    assert ckpt["detector"] == extra["detector"] and ckpt["videos"] == ["a", "b"]
    x = random_inputs(6, 4, seed=2)
    with torch.no_grad():
        torch.testing.assert_close(loaded.predict(x), model.predict(x), rtol=0, atol=0)
    assert not torch.equal(model(x), torch.zeros(6, 4))


def test_checkpoint_loads_under_weights_only_directly(tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(path, fresh_model(), {"train": {"epochs": 2, "lr": 0.01}})
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["model"]["feature_dim"] == C and ckpt["model"]["steps"] == 3


def test_checkpoint_unknown_kind_raises(tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(path, fresh_model(), {})
    ckpt = torch.load(path, weights_only=True)
    ckpt["model"]["kind"] = "segmentation"
    torch.save(ckpt, path)
    with pytest.raises(RoloInputError, match=r"model\.pt: model kind 'segmentation' is not supported"):
        load_checkpoint(path)


def test_checkpoint_of_another_kind_of_file_raises(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"model": object()}, path)  # e.g. pickled Ultralytics weights: not loadable weights-only
    with pytest.raises(RoloInputError, match="weights.pt: not a rolo checkpoint"):
        load_checkpoint(path)
    torch.save({"epoch": 3}, path)
    with pytest.raises(RoloInputError, match="weights.pt: not a rolo checkpoint"):
        load_checkpoint(path)


# --- training data -------------------------------------------------------------------------------


def test_prepare_video_full_labels():
    tv = training_video("disjoint", T=12)
    assert tv.inputs.shape == (12, C + 6) and tv.targets.shape == (12, 4)
    assert tv.labelled.all()
    _, _, gt = synthetic_video(12)
    np.testing.assert_allclose(tv.targets, xyxy_to_cxcywh_norm(gt, IMAGE_WH), rtol=1e-6)
    # frame 0's input is the start box with confidence 1 and not lost
    np.testing.assert_allclose(tv.inputs[0, C:], [*xyxy_to_cxcywh_norm(gt[0], IMAGE_WH), 1.0, 0.0], rtol=1e-6)


def test_prepare_video_sparse_labels_targets_nan_elsewhere():
    tv = training_video("sparse_labels", T=10, label_every=3)
    np.testing.assert_array_equal(np.flatnonzero(tv.labelled), [0, 3, 6, 9])
    assert np.isnan(tv.targets[~tv.labelled]).all()
    assert np.isfinite(tv.targets[tv.labelled]).all()


def test_prepare_video_held_out_tail_uses_training_segment_only():
    tv = training_video("held_out_tail", T=12)
    assert len(tv.inputs) == 4 and tv.labelled.all()


def test_prepare_video_without_training_segment():
    feats, dets, gt = synthetic_video(6)
    split = make_split("v", gt, np.ones(6, bool), "disjoint", role="test")
    assert prepare_video("v", feats, dets, gt, IMAGE_WH, split, ASSOC) is None


def test_build_windows_sparse_labels_end_at_labelled_frames():
    a = training_video("sparse_labels", seed=0, T=10, label_every=3)  # labels 0, 3, 6, 9
    b = training_video("sparse_labels", seed=1, T=8, label_every=3)  # labels 0, 3, 6
    X, idx, Y, val = build_windows([a, b], steps=3)
    assert X.shape == (18, C + 6)
    np.testing.assert_array_equal(
        idx,
        [[0, 0, 0], [1, 2, 3], [4, 5, 6], [7, 8, 9],  # video a
         [10, 10, 10], [11, 12, 13], [14, 15, 16]],  # video b, offset 10, padded at its own start
    )
    np.testing.assert_array_equal(Y, np.concatenate([a.targets[[0, 3, 6, 9]], b.targets[[0, 3, 6]]]))
    assert np.isfinite(Y).all()
    assert not val.any()


def test_build_windows_val_fraction_marks_last_windows_per_video():
    a = training_video("sparse_labels", seed=0, T=10, label_every=3)  # 4 windows
    b = training_video("sparse_labels", seed=1, T=8, label_every=3)  # 3 windows
    _, _, _, val = build_windows([a, b], steps=3, val_fraction=0.5)
    # ceil(0.5 * 4) = 2 and ceil(0.5 * 3) = 2 last windows of each video
    np.testing.assert_array_equal(val, [False, False, True, True, False, True, True])
    _, _, _, val = build_windows([a, b], steps=3, val_fraction=0.2)
    np.testing.assert_array_equal(val, [False, False, False, True, False, False, True])


def test_build_windows_without_labels_raises():
    tv = TrainingVideo("v", np.zeros((4, C + 6), np.float32), np.full((4, 4), np.nan, np.float32), np.zeros(4, bool))
    with pytest.raises(ValueError, match="no labelled"):
        build_windows([tv], steps=3)


# --- training -------------------------------------------------------------------------------------


TINY_TRAIN = TrainParams(epochs=15, batch=8, lr=1e-2, seed=7, device="cpu")


def train_tiny(params=TINY_TRAIN, output="absolute"):
    videos = [training_video("disjoint", seed=s, T=24) for s in (0, 1)]
    return train_model(videos, small_cfg(output=output), params, progress=False)


@pytest.mark.parametrize("output", ["absolute", "residual"])
def test_train_model_is_deterministic_and_learns(output):
    m1, loss1 = train_tiny(output=output)
    m2, loss2 = train_tiny(output=output)
    assert list(loss1.columns) == ["epoch", "train_loss", "windows", "val_loss", "val_iou", "seconds"]
    assert len(loss1) == TINY_TRAIN.epochs and (loss1["windows"] == 48).all()
    assert loss1["val_loss"].isna().all()
    assert (loss1["seconds"].diff().dropna() > 0).all()  # wall time: increasing, not compared
    assert loss1.drop(columns="seconds").equals(loss2.drop(columns="seconds"))
    s1, s2 = m1.state_dict(), m2.state_dict()
    assert s1.keys() == s2.keys()
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert not m1.training and next(m1.parameters()).device.type == "cpu"
    losses = loss1["train_loss"].to_numpy()
    assert losses[-3:].mean() < 0.5 * losses[:3].mean()


def test_train_model_seed_matters():
    _, loss_a = train_tiny()
    _, loss_b = train_tiny(replace(TINY_TRAIN, seed=8))
    assert not loss_a["train_loss"].equals(loss_b["train_loss"])


def test_train_model_with_validation_carve():
    params = replace(TINY_TRAIN, epochs=3, val_fraction=0.25)
    _, loss = train_tiny(params)
    assert (loss["windows"] == 2 * (24 - 6)).all()  # ceil(0.25 * 24) = 6 per video held out
    assert loss["val_loss"].notna().all()
    assert ((loss["val_iou"] >= 0) & (loss["val_iou"] <= 1)).all()


def test_train_model_no_training_windows_left_raises_value_error():
    tv = training_video("sparse_labels", T=3, label_every=3)  # one labelled frame: frame 0
    params = TrainParams(epochs=1, batch=4, seed=0, val_fraction=0.5, device="cpu")
    with pytest.raises(ValueError):
        train_model([tv], small_cfg(), params, progress=False)


# --- training and tracking see the same windows ---------------------------------------------------


@pytest.mark.parametrize("output", ["absolute", "residual"])
def test_tracker_windows_match_training_windows(output):
    """The Rolo tracker's output at frame t is the model's prediction on the training window ending at t."""
    model = fresh_model(seed=5, output=output)
    with torch.no_grad():
        for p in model.head.parameters():
            p.add_(0.05 * torch.randn_like(p))
    feats, dets, gt = synthetic_video(10)
    tv = training_video("disjoint", T=10)  # same data: all frames labelled, segment (0, 10)
    X, idx, _, _ = build_windows([tv], steps=model.cfg.steps)
    with torch.no_grad():
        expected = model.predict(torch.from_numpy(X[idx])).numpy().astype(np.float64)
    out = track(Rolo(model, ASSOC, IMAGE_WH), VideoFrames(feats, dets), gt[0], 0, 10)
    np.testing.assert_allclose(out[1:], cxcywh_norm_to_xyxy(expected[1:], IMAGE_WH), rtol=0, atol=1e-4)


@pytest.mark.parametrize("losses", ["dict", "tensor"])
def test_detector_epoch_line_has_losses_and_map(losses, capsys):
    import torch

    from rolo.detection.detector import log_epoch

    values = {"box_loss": 1.25, "cls_loss": 2.5, "dfl_loss": 0.75}
    trainer = type("T", (), {})()
    trainer.epoch, trainer.epochs = 2, 40
    trainer.loss_names = tuple(values)
    trainer.tloss = values if losses == "dict" else torch.tensor(list(values.values()))
    trainer.metrics = {"metrics/mAP50(B)": 0.5}
    log_epoch(trainer)
    assert capsys.readouterr().err == (
        "detector epoch 3/40: box_loss 1.2500, cls_loss 2.5000, dfl_loss 0.7500, mAP50 0.500\n")


# --- memory-mapped training (issue 16: scale) -----------------------------------------------------


def saved_videos(tmp_path, n=2, T=20, dtype=np.float32):
    """``n`` synthetic videos saved as the extraction writes them -> {name: (features, detections, meta, gt)}."""
    import json

    out = {}
    for seed in range(n):
        feats, dets, gt = synthetic_video(T, seed)
        f, d, m = (tmp_path / f"v{seed}_{x}" for x in ("features.npy", "detections.npy", "meta.json"))
        np.save(f, feats.astype(dtype))
        np.save(d, dets.astype(np.float32))
        m.write_text(json.dumps({"frames": T, "image_wh": list(IMAGE_WH), "detector": "d.pt", "feature_layer": 9,
                                 "feature_dim": C, "imgsz": 64, "backend": "torch"}))
        out[f"v{seed}"] = (f, d, m, gt)
    return out


def old_inputs(feats, dets, gt, split, kind):
    """The segment's stacked inputs as training built them before it read windows lazily."""
    from rolo.tracking.association import associate
    from rolo.tracking.encoding import encode_for

    a, b = split.train
    boxes, conf, lost = associate(dets[a:b], gt[a], ASSOC)
    return encode_for(kind, feats[a:b], boxes, conf, lost, IMAGE_WH)


@pytest.mark.parametrize("kind", ["coordinate", "heatmap"])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_training_reads_memory_mapped_features_and_trains_as_before(tmp_path, kind, dtype):
    """Training's windows come from memory-mapped features (the arrays it holds are np.memmap), read per
    mini-batch; every batch equals the stacked inputs' windows, and a model trained on them equals one
    trained on the stacked, in-memory inputs weight for weight (float32 and float16 features)."""
    from rolo.detection.extraction import load_extracted
    from rolo.tracking.training import LazyInputs, WindowDataset

    lazy, stacked = [], []
    for name, (f, d, m, gt) in saved_videos(tmp_path, dtype=dtype).items():
        feats, dets, _ = load_extracted(f, d, m, mmap=True)
        assert isinstance(feats, np.memmap) and isinstance(dets, np.memmap)
        split = make_split(name, gt, np.ones(len(gt), bool), "sparse_labels", label_every=2)
        tv = prepare_video(name, feats, dets, gt, IMAGE_WH, split, ASSOC, kind)
        assert isinstance(tv.inputs, LazyInputs) and isinstance(tv.inputs.features, np.memmap)
        ref = old_inputs(np.load(f), np.load(d), gt, split, kind)
        np.testing.assert_array_equal(np.asarray(tv.inputs), ref)
        lazy.append(tv)
        stacked.append(TrainingVideo(name, ref, tv.targets, tv.labelled))
    X, idx, Y, _ = build_windows(stacked, steps=3)
    ds = WindowDataset(lazy, steps=3)
    np.testing.assert_array_equal(ds.idx, idx)
    np.testing.assert_array_equal(ds.targets, Y)
    ids = np.random.default_rng(0).permutation(len(ds))[:7]
    np.testing.assert_array_equal(ds.batch(ids), X[idx[ids]])
    np.testing.assert_array_equal(ds[3], X[idx[3]])
    cfg = ModelConfig(feature_dim=C, hidden=8, steps=3, kind=kind)
    params = TrainParams(epochs=3, batch=4, seed=1, val_fraction=0.25, device="cpu")
    m1, loss1 = train_model(lazy, cfg, params, progress=True)  # (progress with a validation carve: its line each epoch)
    m2, loss2 = train_model(stacked, cfg, params, progress=False)
    for k, v in m1.state_dict().items():
        assert torch.equal(v, m2.state_dict()[k]), k
    cols = ["train_loss", "val_loss", "val_iou"]
    np.testing.assert_array_equal(loss1[cols].to_numpy(), loss2[cols].to_numpy())


def test_training_job_opens_the_features_memory_mapped(tmp_path, monkeypatch):
    """The pipeline's loader (load_training_videos, train_job's) hands training memory maps, not copies."""
    import rolo.data.sequences
    import rolo.data.splits
    from rolo.tracking.training import load_training_videos

    videos = saved_videos(tmp_path)
    splits = {v: make_split(v, gt, np.ones(len(gt), bool), "disjoint", role="train") for v, (*_, gt) in videos.items()}
    monkeypatch.setattr(rolo.data.splits, "read_splits", lambda path: splits)
    monkeypatch.setattr(rolo.data.sequences, "load_sequence", lambda d, name: type("S", (), {"gt": videos[name][3]})())
    prepared, detector = load_training_videos("splits.json", {v: (f, d, m, "seq") for v, (f, d, m, _) in videos.items()},
                                              {}, "coordinate")
    assert len(prepared) == 2 and detector == {"detector": "d.pt", "feature_layer": 9, "feature_dim": C, "imgsz": 64,
                                               "backend": "torch"}
    assert all(isinstance(tv.inputs.features, np.memmap) for tv in prepared)
