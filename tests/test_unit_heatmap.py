"""ROLO-heatmap: box <-> grid rendering at the edges, the map -> box rule on hand-made maps, the
heatmap model's shapes and loss, resumable training, the tracker's maps."""

import numpy as np
import pytest
import torch

from rolo.tracking.association import AssociationParams
from rolo.utils.boxes import cxcywh_norm_to_xyxy, xyxy_to_cxcywh_norm
from rolo.tracking.heatmap import GRID, box_to_grid, grid_to_box, grids_to_boxes
from rolo.tracking.models import ModelConfig, RoloHeatmap, RoloLSTM, build_model, load_checkpoint, save_checkpoint
from rolo.tracking.trackers import VideoFrames, make_tracker, track
from rolo.tracking.training import TrainParams, train_model

W, H = 320.0, 240.0  # cells of 10 x 7.5 px
CW, CH = W / GRID, H / GRID
C = 8

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# --- rendering ------------------------------------------------------------------------------------


def test_grid_aligned_box_fills_its_cells_exactly():
    g = box_to_grid(np.array([[20, 15, 50, 45]]), (W, H))[0]  # columns 2-4, rows 2-5
    expected = np.zeros((GRID, GRID), np.float32)
    expected[2:6, 2:5] = 1
    np.testing.assert_array_equal(g, expected)


def test_partial_cells_hold_the_covered_fraction():
    g = box_to_grid(np.array([[25, 15, 43, 30]]), (W, H))[0]  # x: half of col 2, cols 3, 0.3 of col 4
    np.testing.assert_allclose(g[2, 2:5], [0.5, 1.0, 0.3], atol=1e-6)
    np.testing.assert_allclose(g.sum(), (43 - 25) / CW * (30 - 15) / CH, rtol=1e-6)


def test_box_smaller_than_a_cell():
    g = box_to_grid(np.array([[101, 31, 104, 33]]), (W, H))[0]  # inside cell (row 4, col 10)
    assert np.count_nonzero(g) == 1
    assert g[4, 10] == pytest.approx((3 / CW) * (2 / CH), rel=1e-6)


@pytest.mark.parametrize(
    "box, cols, rows",
    [
        ([-30, 10, 25, 40], (0, 3), (1, 6)),  # crosses the left border: clipped, nothing on the right
        ([300, -20, 360, 12], (30, 32), (0, 2)),  # crosses the right and top borders
        ([0, 0, 320, 240], (0, 32), (0, 32)),  # the whole image
        ([310, 232.5, 320, 240], (31, 32), (31, 32)),  # touches the bottom-right corner
    ],
)
def test_border_boxes_are_clipped_never_wrapped(box, cols, rows):
    g = box_to_grid(np.array([box], float), (W, H))[0]
    nz_rows, nz_cols = np.nonzero(g)
    assert (nz_cols.min(), nz_cols.max() + 1) == cols
    assert (nz_rows.min(), nz_rows.max() + 1) == rows
    x0, y0, x1, y1 = np.clip(box, 0, [W, H, W, H])
    np.testing.assert_allclose(g.sum(), (x1 - x0) / CW * (y1 - y0) / CH, rtol=1e-5)


def test_boxes_outside_or_nan_render_as_zeros():
    g = box_to_grid(np.array([[-50, 10, -5, 40], [330, 10, 400, 40], [np.nan] * 4]), (W, H))
    assert g.shape == (3, GRID, GRID) and not g.any()


# --- map -> box -----------------------------------------------------------------------------------


def _random_boxes(n, lo, hi, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.uniform(lo, hi, n) * CW
    h = rng.uniform(lo, hi, n) * CH
    x = rng.uniform(-0.3 * w, W - 0.7 * w)
    y = rng.uniform(-0.3 * h, H - 0.7 * h)
    boxes = np.stack([x, y, x + w, y + h], 1)
    return np.clip(boxes, 0, [W, H, W, H])


def test_rendered_boxes_two_cells_or_larger_decode_exactly():
    boxes = _random_boxes(500, 2, 20)
    decoded = grids_to_boxes(box_to_grid(boxes, (W, H)), (W, H))
    np.testing.assert_allclose(decoded, boxes, atol=1e-3)


def test_rendered_boxes_between_one_and_two_cells_decode_within_half_a_cell():
    boxes = _random_boxes(2000, 1, 2, seed=1)
    err = np.abs(grids_to_boxes(box_to_grid(boxes, (W, H)), (W, H)) - boxes) / [CW, CH, CW, CH]
    assert err.max() <= 0.5 and np.percentile(err, 99) <= 0.25


def test_rendered_sub_cell_boxes_decode_within_a_cell():
    boxes = _random_boxes(2000, 0.1, 1, seed=2)
    d = grids_to_boxes(box_to_grid(boxes, (W, H)), (W, H))
    err = np.abs(d - boxes) / [CW, CH, CW, CH]
    centre_err = np.abs((d[:, 2:] + d[:, :2]) - (boxes[:, 2:] + boxes[:, :2])) / 2 / [CW, CH]
    assert err.max() <= 0.75 and centre_err.max() <= 0.5


def test_decoding_uses_the_peaks_blob_and_its_extent_not_a_fixed_box():
    m = np.zeros((GRID, GRID))
    m[10:14, 20:28] = 0.9  # target: 8 x 4 cells
    m[12, 23] = 0.95  # its peak
    m[2:4, 2:4] = 0.8  # a weaker distractor blob, not connected
    d = grid_to_box(m, (W, H))
    np.testing.assert_allclose(d, [20 * CW, 10 * CH, 28 * CW, 14 * CH], atol=0.15 * CW)
    big = m.copy()
    big[8:16, 16:30] = 0.9  # a larger blob around the same peak: a larger box
    d2 = grid_to_box(big, (W, H))
    assert d2[2] - d2[0] > 1.5 * (d[2] - d[0])


def test_weak_maps_use_a_threshold_relative_to_the_peak():
    m = np.zeros((GRID, GRID))
    m[5:9, 5:15] = 0.3  # confident nowhere, but clearly a 10 x 4 cell region
    d = grid_to_box(m, (W, H))
    np.testing.assert_allclose(d, [5 * CW, 5 * CH, 15 * CW, 9 * CH], atol=1e-6)


def test_all_zero_map_raises():
    with pytest.raises(ValueError, match="all zeros"):
        grid_to_box(np.zeros((GRID, GRID)), (W, H))


# --- the model ------------------------------------------------------------------------------------


def heatmap_cfg(**kw):
    return ModelConfig(**{"feature_dim": C, "hidden": 16, "steps": 3, "kind": "heatmap", **kw})


def heatmap_inputs(b=4, t=3, seed=0):
    """``(B, T, C + GRID**2 + 2)`` windows whose masks render random boxes; also the last boxes."""
    rng = np.random.default_rng(seed)
    boxes = _random_boxes(b * t, 3, 10, seed=seed)
    feats = rng.normal(size=(b * t, C))
    from rolo.tracking.encoding import encode_heatmap_inputs

    x = encode_heatmap_inputs(feats, boxes, rng.uniform(0, 1, b * t), np.zeros(b * t), (W, H))
    return torch.from_numpy(x.reshape(b, t, -1)), boxes.reshape(b, t, 4)[:, -1]


def test_heatmap_model_shapes():
    torch.manual_seed(0)
    model = build_model(heatmap_cfg()).eval()
    assert isinstance(model, RoloHeatmap)
    x, _ = heatmap_inputs()
    assert x.shape == (4, 3, C + GRID * GRID + 2)
    assert model(x).shape == (4, GRID * GRID)
    maps = model.predict_maps(x)
    assert maps.shape == (4, GRID, GRID) and float(maps.detach().min()) >= 0 and float(maps.detach().max()) <= 1
    assert model.predict(x).shape == (4, 4)


def test_untrained_residual_heatmap_returns_its_input_box():
    model = build_model(heatmap_cfg(output="residual")).eval()
    x, last = heatmap_inputs(seed=3)
    with torch.no_grad():
        pred = cxcywh_norm_to_xyxy(model.predict(x).numpy().astype(np.float64), (W, H))
    np.testing.assert_allclose(pred, last, atol=0.05 * CW)


def test_heatmap_loss_is_per_cell_bce_against_the_rendered_target():
    torch.manual_seed(1)
    model = build_model(heatmap_cfg(output="absolute")).eval()
    x, _ = heatmap_inputs(seed=4)
    target_boxes = _random_boxes(4, 2, 8, seed=9)
    targets = torch.from_numpy(model.training_targets(xyxy_to_cxcywh_norm(target_boxes, (W, H)).astype(np.float32)))
    np.testing.assert_allclose(targets.numpy().reshape(4, GRID, GRID), box_to_grid(target_boxes, (W, H)), atol=1e-5)
    logits = model(x)
    p = torch.sigmoid(logits)
    manual = -(targets * torch.log(p) + (1 - targets) * torch.log(1 - p)).mean()
    torch.testing.assert_close(model.loss(x, targets), manual, rtol=1e-5, atol=1e-6)
    model.loss(x, targets).backward()
    assert model.head.weight.grad is not None and model.lstm.weight_ih_l0.grad.abs().sum() > 0


def test_model_kinds_are_not_interchangeable():
    with pytest.raises(ValueError, match="heatmap"):
        RoloLSTM(heatmap_cfg())
    with pytest.raises(ValueError, match="coordinate"):
        RoloHeatmap(ModelConfig(feature_dim=C))
    with pytest.raises(ValueError, match="kind"):
        build_model(heatmap_cfg(kind="segmentation"))


def test_heatmap_checkpoint_round_trip(tmp_path):
    torch.manual_seed(2)
    model = build_model(heatmap_cfg()).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    save_checkpoint(tmp_path / "m.pt", model, {"detector": {"feature_dim": C}})
    loaded, ckpt = load_checkpoint(tmp_path / "m.pt")
    assert isinstance(loaded, RoloHeatmap) and ckpt["model"]["kind"] == "heatmap"
    x, _ = heatmap_inputs()
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


# --- training: both kinds learn; resuming equals one run ------------------------------------------


def _videos(kind):
    from test_unit_models import training_video  # the coordinate tests' synthetic training videos

    return [training_video("disjoint", seed=s, T=24, kind=kind) for s in (0, 1)]


@pytest.mark.parametrize("kind", ["coordinate", "heatmap"])
def test_resumed_training_equals_one_run(kind):
    videos = _videos(kind)
    cfg = ModelConfig(feature_dim=C, hidden=16, steps=3, kind=kind)
    params = TrainParams(epochs=4, batch=8, lr=1e-2, seed=3, device="cpu")
    straight, loss_straight = train_model(videos, cfg, params, progress=False)
    saved = {}

    def keep(epoch, model, state):
        if epoch == 2:
            saved.update(state_dict={k: v.clone() for k, v in model.state_dict().items()}, resume=state)

    train_model(videos, cfg, TrainParams(**{**params.__dict__, "epochs": 2}), progress=False, on_epoch=keep)
    resumed, loss_resumed = train_model(videos, cfg, params, progress=False, resume=saved)
    for k, v in straight.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k
    cols = ["epoch", "train_loss", "windows"]
    assert loss_straight[cols].equals(loss_resumed[cols])
    losses = loss_straight["train_loss"].to_numpy()
    assert losses[-1] < losses[0]


# --- tracking -------------------------------------------------------------------------------------


def test_heatmap_tracker_records_one_map_per_frame_and_checks_the_kind():
    from test_unit_models import synthetic_video

    feats, dets, gt = synthetic_video(T=10)
    model = build_model(ModelConfig(feature_dim=C, hidden=16, steps=3, kind="heatmap")).eval()
    tracker = make_tracker("rolo_heatmap_paper", AssociationParams(), (100.0, 80.0), model)
    boxes = track(tracker, VideoFrames(feats, dets), gt[0], 0, 10)
    assert boxes.shape == (10, 4) and np.isfinite(boxes).all()
    assert len(tracker.maps) == 9 and tracker.maps[0].shape == (GRID, GRID)
    assert tracker.model_seconds > 0
    with pytest.raises(ValueError, match="rolo_paper tracker runs a coordinate model"):
        make_tracker("rolo_paper", AssociationParams(), (100.0, 80.0), model)
    with pytest.raises(ValueError, match="rolo tracker runs a closed_loop model"):
        make_tracker("rolo", AssociationParams(), (100.0, 80.0), model)
    with pytest.raises(ValueError, match="rolo_heatmap tracker runs a closed_loop_heatmap model"):
        make_tracker("rolo_heatmap", AssociationParams(), (100.0, 80.0), model)
