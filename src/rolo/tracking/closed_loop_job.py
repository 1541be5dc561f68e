"""The closed-loop ROLO (:mod:`rolo.tracking.closed_loop`) in the pipeline: the registry's factory,
the checkpoint format shared with the other model kinds, and the training stage.

Model kinds ``closed_loop`` (the tracker ``rolo``: the box head) and ``closed_loop_heatmap`` (the
tracker ``rolo_heatmap``: the heatmap head, ``ClosedLoopConfig.head``); the kind names the head, the
other settings are the same. The checkpoint holds the LSTM's weights and settings, the appearance
model's settings, and, like every ROLO checkpoint, the detector and association records
(``detector``, ``association``) that ``rolo track`` and the tracking stage check.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from rolo.tracking.association import Association

KINDS = {"closed_loop": "box", "closed_loop_heatmap": "heatmap"}
"""The closed-loop model kinds and the head (``ClosedLoopConfig.head``) each one trains."""


def kind_of(cfg) -> str:
    """The model kind of a :class:`~rolo.tracking.closed_loop.ClosedLoopConfig`: its head's."""
    return next(k for k, head in KINDS.items() if head == cfg.head)


class PipelineTracker:
    """A :class:`~rolo.tracking.closed_loop.ClosedLoopTracker` built at ``start`` from the video's
    stored neck-map record (``frame.video.neck_meta``); ``last`` reports the frame's reference box
    as an association (``conf``: its detection's confidence, ``lost``: no detection) for ``rolo
    track``'s CSV; ``model_seconds`` is the time in ``update`` (everything but the detector)."""

    def __init__(self, model, image_wh):
        if model is None or image_wh is None:
            raise ValueError("the closed-loop ROLO tracker needs a trained model and the image size")
        self.model, self.image_wh = model, image_wh
        self.maps: list = []  # (the heatmap model's; none here)

    def start(self, box: np.ndarray, frame) -> None:
        from rolo.tracking.closed_loop import ClosedLoopTracker

        meta = frame.video.neck_meta
        if meta is None:
            raise ValueError("the closed-loop ROLO tracker reads the stored neck maps (extraction.neck)")
        self.inner = ClosedLoopTracker(self.model, self.image_wh, meta, self.model.app_params)
        self.inner.start(box, frame)
        self.last = Association(np.asarray(box, np.float64).copy(), 1.0, False)

    def update(self, frame) -> np.ndarray:
        box = self.inner.update(frame)
        info = self.inner.last
        conf = float(info["x"][self.model.cfg.feature_dim + 6]) if info["has_det"] else 0.0  # BOX_INPUTS[6]: conf
        self.last = Association(np.asarray(info["ref"], np.float64), conf, not info["has_det"])
        return box

    @property
    def model_seconds(self) -> float:
        return self.inner.step_seconds


def tracker(spec, assoc=None, image_wh=None, model=None) -> PipelineTracker:
    """The registry's factory (``rolo``, ``rolo_heatmap``): ``model`` must be of the spec's model kind."""
    if model is not None and getattr(model, "kind", None) != spec.model_kind:
        raise ValueError(f"the {spec.name} tracker runs a {spec.model_kind} model, not a {getattr(model, 'kind', '?')} one")
    return PipelineTracker(model, image_wh)


def load(ckpt: dict):
    """A closed-loop model from a loaded checkpoint dict (see :func:`rolo.tracking.models.load_checkpoint`)."""
    from rolo.tracking.appearance import AppearanceParams
    from rolo.tracking.closed_loop import ClosedLoopLSTM, config_from_checkpoint

    model = ClosedLoopLSTM(config_from_checkpoint(ckpt["closed_loop"]))
    model.load_state_dict(ckpt["state_dict"])
    model.kind = kind_of(model.cfg)
    recorded = ckpt.get("model", {}).get("kind", model.kind)
    if recorded != model.kind:
        raise ValueError(f"model kind {recorded!r} recorded with a {model.cfg.head} head (a {model.kind} model)")
    model.app_params = AppearanceParams(**ckpt["appearance"])
    return model.eval()


def model_config(neck_meta, steps: int, overrides: dict | None = None):
    """The chosen closed-loop settings (:class:`~rolo.tracking.closed_loop.ClosedLoopConfig`'s
    defaults, fixed by ``studies/closed_loop.py`` on validation sequences) for these neck maps."""
    from rolo.detection.neck import pooled_dim
    from rolo.tracking.closed_loop import ClosedLoopConfig

    base = ClosedLoopConfig(feature_dim=1, steps=steps)
    base = replace(base, **(overrides or {}))
    dim = pooled_dim(neck_meta, base.search_sizes) if base.inputs == "roi" else None
    if dim is None:
        raise ValueError("the pipeline's closed-loop ROLO reads RoI-pooled neck maps (inputs: roi)")
    return replace(base, feature_dim=dim)


def save_checkpoint(path, model, app, detector: dict, association: dict, neck_meta, **extra) -> None:
    """A closed-loop checkpoint (atomically): the model's weights and settings (``model.cfg``), the
    appearance settings ``app``, the detector and association records, the neck maps' record, and
    ``extra`` entries (training: ``train``, ``videos``)."""
    import torch

    from rolo.utils.io import atomic_path

    payload = {
        "state_dict": model.state_dict(), "closed_loop": asdict(model.cfg), "appearance": asdict(app),
        "model": {"kind": kind_of(model.cfg), "steps": model.cfg.steps}, "detector": dict(detector), "association": dict(association),
        "neck": neck_meta.to_json(), **extra,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def train_job(splits_json, videos: dict[str, dict[str, str]], model_params: dict, train_params: dict,
              assoc_params: dict, out_model, out_loss) -> None:
    """Pipeline stage: ``videos = {video: {"features", "detections", "meta", "neck_meta", "gt"}}``
    (paths) -> checkpoint and per-round training log (CSV)."""
    import pandas as pd
    import torch

    from rolo.data.sequences import load_sequence
    from rolo.data.splits import read_splits
    from rolo.detection.extraction import check_same_detector, detector_record, load_extracted
    from rolo.detection.neck import load_neck
    from rolo.tracking.appearance import AppearanceParams
    from rolo.tracking.closed_loop import ClosedLoopTrainParams, TrainSegment, train_closed_loop
    from rolo.tracking.trackers import VideoFrames
    from rolo.utils.io import atomic_path

    splits = read_splits(splits_json)
    segments, detector, neck_meta = [], None, None
    for video, f in sorted(videos.items()):
        split = splits[video]
        if split.train is None:
            continue
        # memory-mapped: a frame's maps are read (and widened to float32, as the tracker does for
        # every frame) when the rollouts reach it, so memory does not grow with the videos' frames
        feats, dets, meta = load_extracted(f["features"], f["detections"], f["meta"], mmap=True)
        if detector is None:
            detector = detector_record(meta)
        check_same_detector(detector, meta, f["meta"])
        maps, neck_meta = load_neck(Path(f["neck_meta"]).parent, mmap=True)
        seq = load_sequence(Path(f["gt"]).parent, name=video)
        labelled = np.zeros(len(seq.gt), bool)
        labelled[list(split.train_labels)] = True
        frames = VideoFrames(feats, dets, None, maps, neck_meta)
        segments.append(TrainSegment(video, frames, seq.gt, labelled, split.train[0], split.train[1],
                                     tuple(meta["image_wh"]), neck_meta))
    if not segments:
        raise ValueError(f"{splits_json}: no training segment")
    kind = model_params.get("kind")  # the pipeline's; a study may set the head in model_params["closed_loop"]
    if kind is not None and kind not in KINDS:
        raise ValueError(f"model kind {kind!r} is not a closed-loop kind ({', '.join(KINDS)})")
    overrides = ({"head": KINDS[kind]} if kind else {}) | dict(model_params.get("closed_loop") or {})
    cfg = model_config(neck_meta, int(model_params.get("steps", 6)), overrides)
    if kind is not None and kind_of(cfg) != kind:
        raise ValueError(f"model kind {kind!r} with head {cfg.head!r}")
    params = ClosedLoopTrainParams(**{k: v for k, v in train_params.items() if k in ClosedLoopTrainParams.__dataclass_fields__})
    app = AppearanceParams()
    torch.manual_seed(params.seed)
    print(f"training the closed-loop ROLO ({cfg.head} head) on {len(segments)} segments ({cfg.feature_dim}-d RoI features)",
          file=sys.stderr)
    model, log = train_closed_loop(segments, cfg, params, app, progress=True)
    save_checkpoint(out_model, model, app, detector, assoc_params, neck_meta,
                    train=asdict(params), videos=[s.name for s in segments])
    rows = log.get("rounds", []) if isinstance(log, dict) else []
    with atomic_path(out_loss) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)
