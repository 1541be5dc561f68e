"""Training the ROLO LSTM: windows from the training segments, mini-batched, seeded.

A training video contributes the frames of its training segment (see :mod:`rolo.experiments`):
per frame the encoded input (features + the associator's box, confidence and lost flag, the
associator started from the segment's first ground-truth box exactly as in tracking) and, where
the frame's label is a training label, the target box. One sample = the window of ``steps`` frames
ending at a labelled frame (padded at the segment's start); loss = MSE on ``cxcywh_norm``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from rolo.association import AssociationParams, associate
from rolo.boxes import xyxy_to_cxcywh_norm
from rolo.experiments import VideoSplit
from rolo.models import ModelConfig, RoloLSTM, encode_inputs, window_indices


@dataclass(frozen=True)
class TrainParams:
    epochs: int = 30
    batch: int = 64
    lr: float = 1e-3
    seed: int = 0
    device: str | None = None


@dataclass(frozen=True)
class TrainingVideo:
    """One video's training segment: ``inputs (L, C + 6)``, ``targets (L, 4)`` cxcywh_norm (NaN where
    unlabelled) and ``labelled (L,)``."""

    name: str
    inputs: np.ndarray
    targets: np.ndarray
    labelled: np.ndarray


def prepare_video(
    name: str,
    features: np.ndarray,
    detections: np.ndarray,
    gt: np.ndarray,
    image_wh: tuple[float, float],
    split: VideoSplit,
    assoc: AssociationParams,
) -> TrainingVideo | None:
    """Build a video's training data from its split; None if the split has no training segment."""
    if split.train is None:
        return None
    a, b = split.train
    if a not in split.train_labels:
        raise ValueError(f"video {name}: the training segment's first frame {a + 1} has no usable label")
    boxes, conf, lost = associate(detections[a:b], gt[a], assoc)
    inputs = encode_inputs(features[a:b], boxes, conf, lost, image_wh)
    labelled = np.zeros(b - a, bool)
    labelled[np.asarray(split.train_labels, dtype=np.int64) - a] = True
    targets = np.full((b - a, 4), np.nan, np.float32)
    targets[labelled] = xyxy_to_cxcywh_norm(gt[a:b][labelled], image_wh)
    return TrainingVideo(name, inputs, targets, labelled)


def build_windows(videos: list[TrainingVideo], steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stack the videos -> ``X (sum L, D)``, window indices into X ``(M, steps)``, targets ``(M, 4)``."""
    xs, idx, ys = [], [], []
    offset = 0
    for v in videos:
        ends = np.flatnonzero(v.labelled)
        idx.append(window_indices(ends, 0, steps) + offset)
        ys.append(v.targets[ends])
        xs.append(v.inputs)
        offset += len(v.inputs)
    if not idx or not sum(len(i) for i in idx):
        raise ValueError("no labelled training frames")
    return np.concatenate(xs), np.concatenate(idx), np.concatenate(ys).astype(np.float32)


def train_model(
    videos: list[TrainingVideo], model_cfg: ModelConfig, params: TrainParams, progress: bool = True
) -> tuple[RoloLSTM, pd.DataFrame]:
    """Train a fresh model; returns it (eval mode, on CPU) and the per-epoch loss table."""
    torch.manual_seed(params.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    device = torch.device(params.device or ("cuda:0" if torch.cuda.is_available() else "cpu"))
    X, idx, Y = build_windows(videos, model_cfg.steps)
    X_t = torch.from_numpy(X).to(device)
    idx_t = torch.from_numpy(idx).to(device)
    Y_t = torch.from_numpy(Y).to(device)
    model = RoloLSTM(model_cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=params.lr)
    gen = torch.Generator().manual_seed(params.seed)
    rows = []
    m = len(idx)
    for epoch in range(1, params.epochs + 1):
        model.train()
        perm = torch.randperm(m, generator=gen).to(device)
        total = 0.0
        for s in range(0, m, params.batch):
            b = perm[s : s + params.batch]
            pred = model(X_t[idx_t[b]])
            loss = torch.nn.functional.mse_loss(pred, Y_t[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(b)
        rows.append({"epoch": epoch, "train_loss": total / m, "windows": m})
        if progress:
            print(f"epoch {epoch}/{params.epochs} loss {total / m:.6f}", file=sys.stderr, flush=True)
    model.eval().cpu()
    return model, pd.DataFrame(rows)



def train_job(
    splits_json,
    videos: dict[str, tuple[str, str, str, str]],
    model_params: dict,
    train_params: dict,
    assoc_params: dict,
    out_model,
    out_loss,
) -> None:
    """Pipeline stage: ``videos = {video: (features.npy, detections.npy, meta.json, sequence dir)}`` ->
    checkpoint and per-epoch loss CSV."""
    from rolo.data import atomic_path, load_sequence
    from rolo.experiments import read_splits
    from rolo.features import DETECTOR_KEYS, check_same_detector, load_extracted
    from rolo.models import save_checkpoint

    splits = read_splits(splits_json)
    assoc = AssociationParams(**assoc_params)
    prepared, detector = [], None
    for video, (f, d, m, seq_dir) in sorted(videos.items()):
        feats, dets, meta = load_extracted(f, d, m)
        if detector is None:
            detector = {k: meta[k] for k in DETECTOR_KEYS}
        check_same_detector(detector, meta, m)
        seq = load_sequence(seq_dir, name=video)
        tv = prepare_video(video, feats, dets, seq.gt, tuple(meta["image_wh"]), splits[video], assoc)
        if tv is not None:
            prepared.append(tv)
    cfg = ModelConfig(feature_dim=detector["feature_dim"], **model_params)
    print(f"training on {len(prepared)} videos, {sum(int(v.labelled.sum()) for v in prepared)} labelled frames", file=sys.stderr)
    model, losses = train_model(prepared, cfg, TrainParams(**train_params))
    save_checkpoint(
        out_model,
        model,
        {"detector": detector, "association": dict(assoc_params), "train": dict(train_params),
         "videos": [v.name for v in prepared]},
    )
    with atomic_path(out_loss) as tmp:
        losses.to_csv(tmp, index=False)
