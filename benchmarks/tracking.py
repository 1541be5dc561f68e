"""Tracking speed: the online loop at batch size 1, association included.

Per ``steps`` value, a ROLO model at the default hidden size (random init: the cost does not depend on
the weights) tracks a video through :func:`rolo.tracking.trackers.track`: per frame the association, the
encoding and the LSTM over the window (re-run over the last ``steps`` frames each frame). Set
against: the association alone (the YOLO-only tracker), a stateful LSTM step (one LSTM cell step per
frame carrying ``(h, c)``; not equivalent, see :class:`StatefulRolo`), and the detector's per-frame
time on the same device (our :class:`rolo.detection.extraction.FeatureExtractor` on one letterboxed frame:
forward pass, feature hook, NMS). End to end = decoding + letterbox + detector + tracker per frame.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from benchmarks.common import best_of, seconds_per_call


class StatefulRolo:
    """ROLO with one LSTM step per frame, ``(h, c)`` carried over from the previous frame.

    Not equivalent to :class:`rolo.tracking.trackers.Rolo`: the window re-run sees only the last ``steps``
    frames, started from a zero state, while the stateful step has seen every frame since the start
    (the window's padding included). The outputs agree for the first frames of a segment only; how
    far the tracks drift apart is measured in the training section.
    """

    def __init__(self, model, assoc, image_wh):
        import torch

        from rolo.tracking.trackers import Rolo

        from rolo.tracking.models import decode_output

        self.torch, self.decode = torch, decode_output
        self.inner = Rolo(model, assoc, image_wh)
        self.model = model.eval()

    def _step(self, enc: np.ndarray):
        m, torch = self.model, self.torch
        c = m.cfg.feature_dim
        x = torch.from_numpy(enc)[None, None]
        with torch.inference_mode():
            z = torch.cat([m.norm(x[..., :c]), x[..., c:]], dim=-1)
            out, self.state = m.lstm(z, self.state)
            return self.decode(m.head(out[:, -1]), x[:, -1, c : c + 4], m.cfg.output)[0].numpy()

    def start(self, box, frame):
        from rolo.tracking.association import Associator

        self.assoc = Associator(box, self.inner.assoc_params)
        first = self.inner._encode(frame.features, self.assoc.first())
        self.state = None
        for _ in range(self.model.cfg.steps - 1):  # the window's padding: identical output on frame 1
            self._step(first)

    def update(self, frame):
        from rolo.utils.boxes import cxcywh_norm_to_xyxy

        enc = self.inner._encode(frame.features, self.assoc.step(frame.detections))
        out = self._step(enc)
        return cxcywh_norm_to_xyxy(out.astype(np.float64), self.inner.image_wh)


def per_frame(make, frames, start_box, n: int, rounds: int) -> float:
    """Best-of-``rounds`` seconds per frame of ``track`` over ``n`` frames (tracker built by ``make``)."""
    from rolo.tracking.trackers import track

    def once():
        tracker = make()
        t = time.perf_counter()
        track(tracker, frames, start_box, 0, n)
        return time.perf_counter() - t

    return best_of(once, rounds) / (n - 1)


def run(weights: str, frame_paths: list[Path], gt: np.ndarray, extraction, feature_dim: int, steps_values, hidden: int,
        n: int, rounds: int, log=print, threads: tuple[int, int] = (2, 1)) -> tuple[list[dict], dict]:
    """``threads``: torch threads for the detector and for the tracker."""
    import cv2
    import torch

    from benchmarks.training import simulated_detections
    from rolo.tracking.association import AssociationParams
    from rolo.detection.extraction import FeatureExtractor, letterbox_frame
    from rolo.tracking.models import ModelConfig, RoloLSTM
    from rolo.tracking.trackers import VideoFrames, make_tracker

    h, w = cv2.imread(str(frame_paths[0])).shape[:2]
    reps = int(np.ceil(n / len(gt)))
    gt_n = np.concatenate([gt] * reps)[:n]  # the video looped to n frames (a jump at each loop: association recovers)
    rng = np.random.default_rng(0)
    frames = VideoFrames(rng.normal(size=(n, feature_dim)).astype(np.float32), simulated_detections(gt_n, 1, image_wh=(w, h)))
    start = gt_n[0]
    assoc = AssociationParams()

    # the detector, batch 1, same device: decode + letterbox, then FeatureExtractor (forward, hook, NMS)
    torch.set_num_threads(threads[0])
    with FeatureExtractor(weights, extraction) as ex:
        lb = ex.letterbox()
        decode = seconds_per_call(lambda: letterbox_frame(cv2.imread(str(frame_paths[0])), lb), 1.0)
        x = letterbox_frame(cv2.imread(str(frame_paths[0])), lb)[None]
        ex(x, (h, w))  # warm-up
        detector = min(seconds_per_call(lambda: ex(x, (h, w)), 2.0) for _ in range(rounds))
    # the neck maps the closed-loop ROLO reads, as extraction stores them (same model, same frame)
    neck_frames = closed_loop_frames(weights, extraction, x, (h, w), frames, n)
    log(f"  detector (batch 1, forward + hook + NMS): {1 / detector:.2f} frames/s; decode + letterbox {1 / decode:.0f} frames/s")

    torch.set_num_threads(threads[1])
    torch.manual_seed(0)
    yolo = per_frame(lambda: make_tracker("yolo", assoc), frames, start, n, rounds)
    rows = [{"section": "tracking", "measure": f"detector per frame, batch 1 ({extraction.imgsz} px, forward + hook + NMS)",
             "value": 1 / detector, "unit": "frames/s", "ratio": 1.0, "ratio_of": "of detector time", "target": ""},
            {"section": "tracking", "measure": "association only (YOLO-only tracker)", "value": 1 / yolo, "unit": "frames/s",
             "ratio": yolo / detector, "ratio_of": "of detector time", "target": ""}]
    per_steps = {}
    for steps in steps_values:
        model = RoloLSTM(ModelConfig(feature_dim=feature_dim, hidden=hidden, steps=steps)).eval()
        s_win = per_frame(lambda: make_tracker("rolo_paper", assoc, (w, h), model), frames, start, n, rounds)
        s_state = per_frame(lambda: StatefulRolo(model, assoc, (w, h)), frames, start, n, rounds)
        per_steps[steps] = {"window": s_win, "stateful": s_state}
        log(f"  steps {steps}: ROLO stage {1 / s_win:.0f} frames/s (stateful step {1 / s_state:.0f})")
        rows.append({"section": "tracking", "measure": f"ROLO stage (association + LSTM window), steps {steps}, hidden {hidden}",
                     "value": 1 / s_win, "unit": "frames/s", "ratio": s_win / detector, "ratio_of": "of detector time",
                     "target": "<= 0.10"})
    rows.append({"section": "tracking", "measure": f"ROLO stage, stateful LSTM step (any steps), hidden {hidden}",
                 "value": 1 / np.median([v["stateful"] for v in per_steps.values()]), "unit": "frames/s",
                 "ratio": np.median([v["stateful"] for v in per_steps.values()]) / detector, "ratio_of": "of detector time",
                 "target": ""})
    s_loop = per_frame(lambda: closed_loop_tracker((w, h), neck_frames), neck_frames, start, n, rounds)
    log(f"  closed-loop ROLO stage: {1 / s_loop:.0f} frames/s ({1000 * s_loop:.1f} ms a frame)")
    rows.append({"section": "tracking", "measure": "closed-loop ROLO stage (rolo: candidates, RoI pooling, appearance, LSTM)",
                 "value": 1 / s_loop, "unit": "frames/s", "ratio": s_loop / detector, "ratio_of": "of detector time",
                 "target": "<= 0.15"})
    default = 6 if 6 in per_steps else next(iter(per_steps))
    e2e = decode + detector + per_steps[default]["window"]
    rows.append({"section": "tracking", "measure": f"end to end (decode + letterbox + detector + ROLO, steps {default})",
                 "value": 1 / e2e, "unit": "frames/s", "ratio": detector / e2e, "ratio_of": "detector share of time",
                 "target": ""})
    return rows, {"detector_s": detector, "decode_s": decode, "yolo_s": yolo, "per_steps": per_steps,
                  "closed_loop_s": s_loop, "frames": n}


def closed_loop_frames(weights, extraction, x, orig_hw, frames, n: int):
    """``frames`` with neck maps: one frame's stored maps (``extraction.neck``, P4 + P5) repeated."""
    import dataclasses

    from rolo.detection.extraction import FeatureExtractor
    from rolo.detection.neck import NeckMeta, NeckSpec

    params = dataclasses.replace(extraction, neck=extraction.neck or NeckSpec())
    with FeatureExtractor(weights, params) as ex:
        ex(x, orig_hw)
        maps = ex.neck.maps
        meta = NeckMeta.of(ex.neck, x.shape[2:], orig_hw)
    neck = [np.broadcast_to(m, (n, *m.shape[1:])) for m in maps]
    return dataclasses.replace(frames, neck=neck, neck_meta=meta)


def closed_loop_tracker(image_wh, frames):
    """``rolo`` with an untrained closed-loop model of the pipeline's settings for these maps."""
    import torch

    from rolo.tracking.appearance import AppearanceParams
    from rolo.tracking.closed_loop import ClosedLoopLSTM
    from rolo.tracking.closed_loop_job import kind_of, model_config
    from rolo.tracking.trackers import make_tracker

    torch.manual_seed(0)
    model = ClosedLoopLSTM(model_config(frames.neck_meta, 6)).eval()
    model.kind, model.app_params = kind_of(model.cfg), AppearanceParams()
    return make_tracker("rolo", None, image_wh, model)
