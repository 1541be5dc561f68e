"""Closed-loop ROLO: an LSTM that regresses the target's box, fed from the tracker's OWN output.

The paper-style ROLO (:mod:`rolo.tracking.models`) is open loop: the shared associator picks a detection and
the LSTM corrects it from global-average-pooled frame features that say nothing about where the
target is. Here, per frame ``t`` (boxes 0-based ``xyxy`` original-frame pixels throughout):

1. **Candidates from the tracker's own output.** ``prev`` = the tracker's box of ``t - 1``;
   ``pred`` = ``prev`` moved by the smoothed velocity of its own outputs (motion memory).
   The detections overlapping ``pred`` by IoU >= ``iou_gate`` are candidates (identity kept by
   overlap, as the associator does, but from the tracker's own box); among them the one with the
   highest ``IoU + app_weight * appearance`` is the reference box. With no overlapping detection, a
   detection is re-detected only if it is confident (``redetect_conf``) *and* looks like this target
   (appearance >= ``app_redetect``); otherwise the reference is ``pred`` itself (no detection).
2. **Appearance of THIS target** (:mod:`rolo.tracking.appearance`): a ridge classifier over RoI-pooled neck
   maps, fitted on the start frame (the given box, jittered copies, the other detections and the
   background as negatives) and updated online on confident frames.
3. **Target-aware inputs.** Per frame the LSTM reads the neck maps RoI-pooled over a search
   region (the reference box enlarged ``search_scale`` times; P4 4x4 + P5 2x2 cells), and
   the reference box relative to ``prev`` (``dx/w, dy/h, log w'/w, log h'/h``), its size / image
   size, the detection's confidence, a has-detection flag and its appearance score
   (:data:`BOX_INPUTS` = 9 numbers).
4. **The box.** Over the last ``steps`` frames the LSTM outputs a correction of the reference box
   (R-CNN parameterisation, zero-initialised head: untrained it returns the reference). With no
   detection it refines the motion-predicted box from the maps, i.e. it produces a box anyway.
   A chosen detection's correction is scaled by ``detection_delta_scale`` (default 0: the chosen
   detection is the output; 1 = the round-2 design, which refined every box).
   With ``head="heatmap"`` (ROLO-heatmap's kind on these inputs) the LSTM outputs a ``grid x grid``
   map of the target over the search region instead, added to the logits of the reference's own
   mask, and the correction is the box read from the map's extent (:func:`grid_delta`,
   :mod:`rolo.tracking.heatmap`'s decoder); trained per cell with binary cross-entropy against the
   ground truth rendered there (:func:`region_grid`). ``studies/round4.md``: level with the box head.

**Training sees what tracking sees**: the training segments are tracked by this very tracker
(:func:`rollouts`, started from labelled frames, start boxes jittered), the per-frame inputs it
built are recorded, and the LSTM learns to move each labelled frame's reference box onto the ground
truth; then the trained model tracks again and the new rollouts are added (DAgger-style rounds), so
the inputs of the last round are those of its own closed loop. Mini-batched (Adam, smooth L1).

Defaults = the design frozen on validation sequences: ``studies/closed_loop.md`` (rounds 1-2, one
detector): a box without a detection keeps its size and the velocity then decays by 0.8 a frame
instead of following the coasted boxes; ``studies/multi_detector.md`` (round 3, the validation
sequences of all three data seeds, each with its own detector): a chosen detection is not refined
(``detection_delta_scale=0``), candidates need IoU >= 0.1 with the predicted box (``iou_gate``, was
0.3) and re-detection away from it needs appearance >= 0.9 (``app_redetect``, was 0.7).

Ablation switches (:class:`ClosedLoopConfig`): ``inputs="global"`` (pooled frame features instead
of RoI features), ``loop="open"`` (reference = :class:`rolo.tracking.association.Associator`'s box, which never
sees the tracker's output), ``refine_without_detection=False`` (no detection: return ``pred``),
``appearance=False`` / ``online_appearance=False``. Switches that ``studies/round4.md`` tried and did not
adopt, off by default: ``local_app``, ``lost_after`` / ``app_redetect_lost``, ``conf_weight``,
``cand_conf`` (:class:`ClosedLoopConfig`) and ``train_on`` (:class:`ClosedLoopTrainParams`).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Sequence

import numpy as np
import torch
from torch import nn

from rolo.tracking.appearance import AppearanceModel, AppearanceParams, ring_boxes, start_samples
from rolo.tracking.association import AssociationParams, Associator
from rolo.utils.boxes import iou
from rolo.detection.neck import NeckMeta, roi_pool, widen
from rolo.tracking.trackers import Frame, VideoFrames, iter_track

BOX_INPUTS = 9  # dx/w, dy/h, log w'/w, log h'/h (reference vs previous output), w/W, h/H, conf, has_det, appearance
INPUTS = ("roi", "global")
LOOPS = ("closed", "open")
TRAIN_ON = ("all", "no_detection")
HEADS = ("box", "heatmap")
PRIOR_CLIP = 0.02  # the heatmap head's prior: logit(clip(reference mask, 0.02, 0.98)), as RoloHeatmap's residual


@dataclass(frozen=True)
class ClosedLoopConfig:
    feature_dim: int  # per-frame feature length F (roi: sum C_l * s_l**2 over search_sizes; global: C)
    inputs: str = "roi"
    hidden: int = 64
    proj: int = 64
    steps: int = 6
    search_scale: float = 2.0
    search_sizes: tuple[int, ...] = (4, 2)
    app_sizes: tuple[int, ...] = (2, 1)
    loop: str = "closed"
    appearance: bool = True
    online_appearance: bool = True
    refine_without_detection: bool = True
    iou_gate: float = 0.1
    redetect_conf: float = 0.5
    app_weight: float = 0.5
    app_redetect: float = 0.9
    app_update: float = 0.5
    velocity_momentum: float = 0.7
    coast_velocity_decay: float | None = 0.8  # None: velocity follows the outputs also without a detection;
    # else it is not updated from coasted outputs and decays by this factor per coasted frame
    coast_keep_size: bool = True  # without a detection the refinement moves the box but keeps its size
    keep_detection_conf: float | None = None  # None: as detection_delta_scale says; else a chosen detection
    # at least this confident is the output as it is
    detection_delta_scale: float = 0.0  # the LSTM's correction of a chosen detection is scaled by this: 0 = the
    # chosen detection is the output (the LSTM still reads every frame and places the box without one)
    local_app: float | None = None  # None: off; else with no candidate by IoU, a detection centred in the
    # search region around the predicted box (search_scale) whose appearance >= this is the reference
    lost_after: int | None = None  # None: off; else after this many frames in a row without a detection,
    # re-detection away from the own box needs appearance >= app_redetect_lost instead of app_redetect
    app_redetect_lost: float = 0.5
    conf_weight: float = 0.0  # the choice among the candidates: IoU + app_weight * appearance + conf_weight * conf
    cand_conf: float = 0.0  # a detection below this confidence is never a candidate
    head: str = "box"  # "box": the correction (dx/w, dy/h, log w'/w, log h'/h) regressed; "heatmap": a
    # grid x grid map of the target over the search region, trained per cell, the box read from its extent
    grid: int = 16  # the heatmap head's cells per side of the search region

    def __post_init__(self):
        if self.inputs not in INPUTS:
            raise ValueError(f"inputs must be one of {INPUTS}")
        if self.loop not in LOOPS:
            raise ValueError(f"loop must be one of {LOOPS}")
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, not {self.head!r}")


class ClosedLoopLSTM(nn.Module):
    """``(B, T, F + 9)`` windows -> for ``head="box"`` ``(B, 4)``: the correction of the last frame's
    reference box (``dx/w, dy/h, log w'/w, log h'/h``); for ``head="heatmap"`` ``(B, grid**2)``: logits
    of the target's cells over the reference's search region (:func:`region_grid`), added to the
    logits of the reference's own mask (zero-initialised head: untrained, both return the reference).
    Features are layer-normalised and projected to ``proj``. :meth:`delta` gives the correction for
    either head."""

    def __init__(self, cfg: ClosedLoopConfig):
        super().__init__()
        self.cfg = cfg
        self.norm = nn.LayerNorm(cfg.feature_dim)
        self.proj = nn.Sequential(nn.Linear(cfg.feature_dim, cfg.proj), nn.ReLU())
        self.lstm = nn.LSTM(cfg.proj + BOX_INPUTS, cfg.hidden, batch_first=True)
        self.head = nn.Linear(cfg.hidden, 4 if cfg.head == "box" else cfg.grid * cfg.grid)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        if cfg.head == "heatmap":
            prior = region_grid(np.zeros((1, 4)), cfg.search_scale, cfg.grid)[0]
            self.register_buffer("prior", torch.logit(torch.from_numpy(prior).clamp(PRIOR_CLIP, 1 - PRIOR_CLIP)),
                                 persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.cfg.feature_dim
        z = torch.cat([self.proj(self.norm(x[..., :f])), x[..., f:]], dim=-1)
        out, _ = self.lstm(z)
        out = self.head(out[:, -1])
        return out + self.prior if self.cfg.head == "heatmap" else out

    def delta(self, x: torch.Tensor) -> np.ndarray:
        """``(B, T, F + 9)`` -> ``(B, 4)`` float64 correction of each window's reference box: the box
        head's output, or the box the heatmap head's map shows (:func:`grid_delta`)."""
        out = self(x)
        if self.cfg.head == "box":
            return out.numpy().astype(np.float64)
        probs = torch.sigmoid(out).reshape(-1, self.cfg.grid, self.cfg.grid).numpy()
        return grid_delta(probs, self.cfg.search_scale)


def region_grid(delta: np.ndarray, search_scale: float, grid: int) -> np.ndarray:
    """``(N, 4)`` corrections of a reference box -> ``(N, grid**2)`` the corrected boxes rendered
    (:func:`rolo.tracking.heatmap.box_to_grid`) on the reference's search region: the reference
    enlarged ``search_scale`` times about its centre, in units of the reference's width and height,
    ``grid`` cells a side (the reference itself is the centre ``grid / search_scale`` cells)."""
    from rolo.tracking.heatmap import box_to_grid

    d = np.asarray(delta, np.float64).reshape(-1, 4)
    c, wh = search_scale / 2 + d[:, :2], np.exp(d[:, 2:])
    boxes = np.concatenate([c - wh / 2, c + wh / 2], axis=1)
    return box_to_grid(boxes, (search_scale, search_scale), grid).reshape(len(d), -1)


def grid_delta(probs: np.ndarray, search_scale: float) -> np.ndarray:
    """``(N, grid, grid)`` maps over search regions -> ``(N, 4)`` corrections of their reference
    boxes: the box each map shows (:func:`rolo.tracking.heatmap.grid_to_box`, from the map's extent),
    inverse of :func:`region_grid` for boxes inside the region."""
    from rolo.tracking.heatmap import grids_to_boxes

    b = grids_to_boxes(np.asarray(probs), (search_scale, search_scale))
    wh = np.maximum(b[:, 2:] - b[:, :2], 1e-3)
    return np.concatenate([(b[:, :2] + b[:, 2:]) / 2 - search_scale / 2, np.log(wh)], axis=1)


def apply_delta(ref: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """``ref (..., 4)`` xyxy corrected by ``delta (..., 4)`` -> xyxy."""
    c, wh = (ref[..., :2] + ref[..., 2:]) / 2, ref[..., 2:] - ref[..., :2]
    nc = c + delta[..., :2] * wh
    nwh = wh * np.exp(np.clip(delta[..., 2:], -1.0, 1.0))
    return np.concatenate([nc - nwh / 2, nc + nwh / 2], axis=-1)


def box_delta(ref: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The correction taking ``ref`` to ``box`` (inverse of :func:`apply_delta`)."""
    c0, wh0 = (ref[..., :2] + ref[..., 2:]) / 2, np.maximum(ref[..., 2:] - ref[..., :2], 1e-3)
    c1, wh1 = (box[..., :2] + box[..., 2:]) / 2, np.maximum(box[..., 2:] - box[..., :2], 1e-3)
    return np.concatenate([(c1 - c0) / wh0, np.log(wh1 / wh0)], axis=-1)


def scale_box(box: np.ndarray, s: float) -> np.ndarray:
    c, wh = (box[..., :2] + box[..., 2:]) / 2, (box[..., 2:] - box[..., :2]) * s
    return np.concatenate([c - wh / 2, c + wh / 2], axis=-1)


def sane_box(box: np.ndarray, image_wh: tuple[float, float]) -> np.ndarray:
    """Keep a box's centre inside the image and its size between 4 px and the image size."""
    W, H = image_wh
    c = np.clip((box[:2] + box[2:]) / 2, 0, [W, H])
    wh = np.clip(box[2:] - box[:2], 4.0, [W, H])
    return np.concatenate([c - wh / 2, c + wh / 2])


class ClosedLoopTracker:
    """The closed-loop ROLO tracker (:mod:`rolo.tracking.closed_loop`): ``start(box, frame)`` then
    ``update(frame) -> (4,)`` xyxy, as :class:`rolo.tracking.trackers.Rolo`. Reads ``frame.detections``,
    ``frame.neck`` (and ``frame.features`` for ``inputs="global"``) of the current frame only.

    After each step ``last`` holds that frame's ``x`` (the LSTM input row), ``ref`` (reference box),
    ``has_det`` and ``app`` (appearance score of the reference); ``step_seconds`` sums the time
    spent in ``update`` (all but the detector)."""

    def __init__(self, model: ClosedLoopLSTM, image_wh: tuple[float, float], neck_meta: NeckMeta,
                 app_params: AppearanceParams = AppearanceParams(), cfg: ClosedLoopConfig | None = None):
        self.model = model.eval()
        self.cfg = cfg or model.cfg
        self.image_wh = tuple(float(v) for v in image_wh)
        self.meta = neck_meta
        self.app_params = app_params
        self.step_seconds = 0.0

    # --- per-frame inputs -------------------------------------------------------------------------
    def _features(self, frame: Frame, ref: np.ndarray, maps) -> np.ndarray:
        if self.cfg.inputs == "global":
            return np.asarray(frame.features, np.float32)
        return roi_pool(maps, scale_box(ref, self.cfg.search_scale)[None], self.meta, self.cfg.search_sizes)[0]

    def _encode(self, feat, ref, prev, conf, has_det, app) -> np.ndarray:
        W, H = self.image_wh
        d = box_delta(prev, ref)
        wh = ref[2:] - ref[:2]
        box = [d[0], d[1], d[2], d[3], wh[0] / W, wh[1] / H, conf, float(has_det), app]
        return np.concatenate([feat, np.asarray(box, np.float32)]).astype(np.float32)

    def _maps(self, frame: Frame):
        return [widen(m) for m in frame.neck]

    # --- tracker protocol -------------------------------------------------------------------------
    def start(self, box: np.ndarray, frame: Frame) -> None:
        box = np.asarray(box, np.float64).reshape(4)
        self.out = box.copy()
        self.prev_ref = box.copy()
        self.vel = np.zeros(2)
        self.since_update = 0
        self.coasted = 0  # frames in a row without a detection
        self.app_model = None
        maps = self._maps(frame) if (self.cfg.inputs == "roi" or self.cfg.appearance) else None
        if self.cfg.appearance:
            boxes, labels = start_samples(box, frame.detections, self.image_wh, self.app_params)
            self.app_model = AppearanceModel(self.app_params)
            self.app_model.fit_start(roi_pool(maps, boxes, self.meta, self.cfg.app_sizes), labels)
        if self.cfg.loop == "open":
            self.assoc = Associator(box, AssociationParams(self.cfg.iou_gate, self.cfg.redetect_conf))
        x0 = self._encode(self._features(frame, box, maps), box, box, 1.0, True, 1.0)
        self.window = deque([x0] * self.cfg.steps, maxlen=self.cfg.steps)
        self.last = {"x": x0, "ref": box.copy(), "has_det": True, "app": 1.0}

    def _select(self, d: np.ndarray, pred: np.ndarray, maps) -> tuple[np.ndarray, float, bool, float, np.ndarray]:
        """-> reference box, its confidence, has-detection, its appearance score, all appearance scores."""
        cfg = self.cfg
        app = np.zeros(len(d))
        if self.app_model is not None and len(d):
            app = self.app_model.score(roi_pool(maps, d[:, :4], self.meta, cfg.app_sizes))
        if cfg.loop == "open":
            a = self.assoc.step(d)
            j = np.flatnonzero((d[:, :4] == a.box).all(1)) if len(d) else []
            return a.box.copy(), a.conf, not a.lost, float(app[j[0]]) if len(j) else 0.0, app
        if len(d):
            ov = iou(d[:, :4], pred[None])
            gated = np.flatnonzero((ov >= cfg.iou_gate) & (d[:, 4] >= cfg.cand_conf))
            if len(gated):
                j = gated[np.argmax(ov[gated] + cfg.app_weight * app[gated] + cfg.conf_weight * d[gated, 4])]
                return d[j, :4].copy(), float(d[j, 4]), True, float(app[j]), app
            if cfg.local_app is not None and self.app_model is not None:
                half = (pred[2:] - pred[:2]) * cfg.search_scale / 2
                near = (np.abs((d[:, :2] + d[:, 2:4]) / 2 - (pred[:2] + pred[2:]) / 2) <= half).all(1)
                near = np.flatnonzero(near & (app >= cfg.local_app))
                if len(near):
                    j = near[np.argmax(d[near, 4] + cfg.app_weight * app[near])]
                    return d[j, :4].copy(), float(d[j, 4]), True, float(app[j]), app
            ok = d[:, 4] >= cfg.redetect_conf
            if self.app_model is not None:
                lost = cfg.lost_after is not None and self.coasted >= cfg.lost_after
                ok &= app >= (cfg.app_redetect_lost if lost else cfg.app_redetect)
            ok = np.flatnonzero(ok)
            if len(ok):
                j = ok[np.argmax(d[ok, 4] + cfg.app_weight * app[ok])]
                return d[j, :4].copy(), float(d[j, 4]), True, float(app[j]), app
        return pred.copy(), 0.0, False, 0.0, app

    def update(self, frame: Frame) -> np.ndarray:
        cfg = self.cfg
        d = np.asarray(frame.detections, np.float64).reshape(-1, 6)
        t0 = time.perf_counter()
        d = d[np.isfinite(d[:, 4])]
        maps = self._maps(frame) if (cfg.inputs == "roi" or cfg.appearance) else None
        prev = self.out if cfg.loop == "closed" else self.prev_ref  # open loop: never our own output
        pred = prev + np.tile(self.vel, 2)
        ref, conf, has_det, app_ref, app = self._select(d, pred, maps)
        self.coasted = 0 if has_det else self.coasted + 1
        x = self._encode(self._features(frame, ref, maps), ref, prev, conf, has_det, app_ref)
        self.window.append(x)
        keep = has_det and (cfg.detection_delta_scale == 0.0 or (
            cfg.keep_detection_conf is not None and conf >= cfg.keep_detection_conf))
        if keep:  # the chosen detection is the output as it is (no LSTM step needed; its row is in the window),
            # through apply_delta as if corrected by 0 (bit for bit what scaling the LSTM's output by 0 gives)
            out = apply_delta(ref, np.zeros(4))
        elif has_det or cfg.refine_without_detection:
            with torch.inference_mode():
                delta = self.model.delta(torch.from_numpy(np.stack(self.window))[None])[0]
            if not has_det and cfg.coast_keep_size:
                delta[2:] = 0.0
            if has_det:
                delta = delta * cfg.detection_delta_scale
            out = apply_delta(ref, delta)
        else:
            out = ref.copy()
        out = sane_box(out, self.image_wh)
        if cfg.loop == "open":
            # the associator never sees our output; the velocity is not used
            self.out, self.prev_ref = out, ref.copy()
        else:
            m = cfg.velocity_momentum
            step = (out[:2] + out[2:]) / 2 - (prev[:2] + prev[2:]) / 2
            if has_det or cfg.coast_velocity_decay is None:
                self.vel = m * self.vel + (1 - m) * step
            else:
                self.vel = self.vel * cfg.coast_velocity_decay
            self.out = out
        self.since_update += 1
        if (self.app_model is not None and cfg.online_appearance and has_det and app_ref >= cfg.app_update
                and self.since_update >= self.app_params.update_every):
            self.since_update = 0
            neg = d[iou(d[:, :4], out[None]) < self.app_params.neg_iou, :4] if len(d) else np.zeros((0, 4))
            boxes = np.concatenate([out[None], neg, ring_boxes(out, 4, 1.0)])
            labels = np.r_[1.0, np.zeros(len(boxes) - 1)]
            self.app_model.add(roi_pool(maps, boxes, self.meta, cfg.app_sizes), labels)
        self.last = {"x": x, "ref": ref, "has_det": has_det, "app": app_ref}
        self.step_seconds += time.perf_counter() - t0
        return out.copy()


# --- training -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClosedLoopTrainParams:
    rounds: int = 2  # rollouts with the untrained model, then with each round's model
    epochs: int = 15  # per round
    batch: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    start_every: int = 6  # a rollout starts at every this-many-th labelled frame
    rollout_len: int = 40
    start_jitter: float = 0.05  # start box jitter (fraction of its size) for rollouts but the first
    train_on: str = "all"  # "all": every labelled window; "no_detection": only the windows whose last frame
    # has no chosen detection (with detection_delta_scale=0 the only frames whose output the LSTM places)

    def __post_init__(self):
        if self.train_on not in TRAIN_ON:
            raise ValueError(f"train_on must be one of {TRAIN_ON}, not {self.train_on!r}")


@dataclass
class TrainSegment:
    """A training segment: frames ``a..b-1`` of a video, ``gt (N, 4)`` xyxy of the whole video,
    ``labelled (N,)`` which labels may be used, and the video's inputs."""

    name: str
    frames: VideoFrames
    gt: np.ndarray
    labelled: np.ndarray
    a: int
    b: int
    image_wh: tuple[float, float]
    neck_meta: NeckMeta


def rollouts(model: ClosedLoopLSTM, segments: Sequence[TrainSegment], params: ClosedLoopTrainParams,
             rng: np.random.Generator, app_params: AppearanceParams = AppearanceParams()) -> dict:
    """Track each segment from labelled start frames with this tracker and model; record per frame
    the LSTM input row, the reference box, the tracker's output and the ground truth.

    Returns ``{"x": (R, F+9), "ref": (R, 4), "out": (R, 4), "gt": (R, 4), "labelled": (R,), "first": (R,)``
    (index of each row's rollout start row), ``"windows"``: (M, steps) row indices of the windows ending
    at labelled, non-start frames}``."""
    xs, refs, outs, gts, lab, first, wins = [], [], [], [], [], [], []
    steps = model.cfg.steps
    n = 0
    for seg in segments:
        starts = [t for t in range(seg.a, seg.b - 1) if seg.labelled[t]][:: params.start_every]
        for k, s in enumerate(starts):
            box = seg.gt[s].copy()
            if k > 0 and params.start_jitter > 0:
                wh = box[2:] - box[:2]
                box = box + np.tile(rng.uniform(-params.start_jitter, params.start_jitter, 2) * wh, 2)
            end = min(seg.b, s + params.rollout_len)
            tr = ClosedLoopTracker(model, seg.image_wh, seg.neck_meta, app_params)
            row0 = n
            for t, out in iter_track(tr, seg.frames, box, s, end):
                xs.append(tr.last["x"])
                refs.append(tr.last["ref"])
                outs.append(out)
                gts.append(seg.gt[t])
                lab.append(bool(seg.labelled[t]) and t > s)
                first.append(row0)
                if lab[-1]:
                    wins.append(np.maximum(np.arange(n - steps + 1, n + 1), row0))
                n += 1
    return {
        "x": np.stack(xs).astype(np.float32), "ref": np.stack(refs), "out": np.stack(outs), "gt": np.stack(gts),
        "labelled": np.array(lab), "first": np.array(first),
        "windows": np.stack(wins) if wins else np.zeros((0, steps), np.int64),
    }


def _learnable(data: dict, cfg: ClosedLoopConfig) -> np.ndarray:
    """Windows whose target lies inside the reference's search region (else the maps cannot show it)."""
    last = data["windows"][:, -1]
    d = box_delta(data["ref"][last], data["gt"][last])
    return (np.abs(d[:, :2]) < cfg.search_scale / 2).all(1) & (np.abs(d[:, 2:]) < 1.0).all(1)


def train_closed_loop(segments: Sequence[TrainSegment], cfg: ClosedLoopConfig, params: ClosedLoopTrainParams,
                      app_params: AppearanceParams = AppearanceParams(), progress: bool = False) -> tuple[ClosedLoopLSTM, dict]:
    """DAgger-style training (see the module docstring) -> (model in eval mode, log).

    ``log``: per round the number of windows and the mean IoU of the reference box / the tracker's
    output / the input's previous box with the ground truth in the rollouts (the input gap)."""
    torch.manual_seed(params.seed)
    rng = np.random.default_rng(params.seed)
    model = ClosedLoopLSTM(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    gen = torch.Generator().manual_seed(params.seed)
    pool: list[dict] = []
    log = {"rounds": []}
    loss_fn = (partial(nn.functional.smooth_l1_loss, beta=0.1) if cfg.head == "box"
               else nn.functional.binary_cross_entropy_with_logits)  # heatmap: per cell, as RoloHeatmap's training
    rounds = 1 if cfg.loop == "open" else params.rounds  # open loop: the inputs do not depend on the model
    for r in range(rounds):
        model.eval()
        data = rollouts(model, segments, params, rng, app_params)
        keep = _learnable(data, cfg)
        last = data["windows"][:, -1]
        log["rounds"].append({
            "round": r, "windows": int(len(last)), "learnable": float(keep.mean()) if len(keep) else 0.0,
            "ref_iou": float(iou(data["ref"][last], data["gt"][last]).mean()),
            "out_iou": float(iou(data["out"][last], data["gt"][last]).mean()),
            "has_det": float(np.mean(data["x"][last, cfg.feature_dim + 7])),
        })
        if params.train_on == "no_detection":
            keep &= data["x"][last, cfg.feature_dim + 7] == 0
        data["windows"] = data["windows"][keep]
        log["rounds"][-1]["trained"] = int(keep.sum())  # windows of this round's rollouts trained on
        pool.append(data)
        X = torch.from_numpy(np.concatenate([p["x"] for p in pool]))
        offs = np.cumsum([0] + [len(p["x"]) for p in pool])
        W = torch.from_numpy(np.concatenate([p["windows"] + o for p, o in zip(pool, offs)]))
        allref = np.concatenate([p["ref"] for p in pool])
        allgt = np.concatenate([p["gt"] for p in pool])
        lastrows = W[:, -1].numpy()
        target = box_delta(allref[lastrows], allgt[lastrows])
        if cfg.head == "box":
            Y = torch.from_numpy(np.clip(target, -1.5, 1.5).astype(np.float32))
        else:  # the ground truth rendered on the reference's search region (clipped to it)
            Y = torch.from_numpy(region_grid(target, cfg.search_scale, cfg.grid))
        m = len(W)
        model.train()
        for epoch in range(params.epochs):
            perm = torch.randperm(m, generator=gen)
            total = 0.0
            for s in range(0, m, params.batch):
                rows = perm[s: s + params.batch]
                loss = loss_fn(model(X[W[rows]]), Y[rows])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(rows)
            if progress:
                print(f"round {r} epoch {epoch + 1}: loss {total / max(m, 1):.4f} ({m} windows)", flush=True)
        log["rounds"][-1]["loss"] = total / max(m, 1)
    model.eval()
    return model, log


# --- checkpoints ----------------------------------------------------------------------------------


def save_closed_loop(path, model: ClosedLoopLSTM, extra: dict | None = None,
                     app_params: AppearanceParams = AppearanceParams()) -> None:
    """State dict + config + appearance settings (plain types and tensors: ``weights_only`` loadable)."""
    from rolo.utils.io import atomic_path

    payload = {"state_dict": model.state_dict(), "closed_loop": asdict(model.cfg),
               "appearance": asdict(app_params), **(extra or {})}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def config_from_checkpoint(recorded: dict) -> ClosedLoopConfig:
    """A checkpoint's recorded settings -> its :class:`ClosedLoopConfig`. A setting added after the
    checkpoint was written takes the value that reproduces how it was trained and tracked (a
    checkpoint without ``detection_delta_scale`` refined every box: 1.0), not today's default."""
    c = {"detection_delta_scale": 1.0} | dict(recorded)
    for k in ("search_sizes", "app_sizes"):
        c[k] = tuple(c[k])
    return ClosedLoopConfig(**c)


def load_closed_loop(path) -> tuple[ClosedLoopLSTM, AppearanceParams, dict]:
    """Load with ``weights_only=True`` -> ``(model in eval mode, appearance params, checkpoint dict)``."""
    from rolo.errors import RoloInputError

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise RoloInputError(f"{path}: no such file") from None
    if not isinstance(ckpt, dict) or "closed_loop" not in ckpt:
        raise RoloInputError(f"{path}: not a closed-loop rolo checkpoint")
    model = ClosedLoopLSTM(config_from_checkpoint(ckpt["closed_loop"]))
    model.load_state_dict(ckpt["state_dict"])
    return model.eval(), AppearanceParams(**ckpt["appearance"]), ckpt


def with_settings(model: ClosedLoopLSTM, **changes) -> ClosedLoopConfig:
    """The model's config with inference-time settings changed (e.g. ``appearance=False``)."""
    return replace(model.cfg, **changes)
