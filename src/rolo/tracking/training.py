"""Training the ROLO LSTMs: windows from the training segments, mini-batched, seeded, resumable.

A training video contributes the frames of its training segment (see :mod:`rolo.data.splits`):
per frame the encoded input of the model kind (features + the associator's box, confidence and
lost flag, the associator started from the segment's first ground-truth box exactly as in
tracking) and, where the frame's label is a training label, the target box. One sample = the
window of ``steps`` frames ending at a labelled frame (padded at the segment's start); the loss is
the model kind's (:mod:`rolo.tracking.models`: MSE on the box for ``coordinate``, per-cell BCE for
``heatmap``).

Windows are read lazily (:class:`WindowDataset`): the features stay where ``np.load(mmap_mode="r")``
opened them and each mini-batch gathers its windows' rows, so that memory holds per frame only the
associated box (the coordinate kind's 6 input floats; the heatmap kind's masks are encoded per batch),
not the features; the batches are those of the stacked inputs, value for value.

A run can stop after any epoch and resume from the checkpoint it saved (weights, Adam's state and
the shuffling generator's state): ``n`` epochs then ``m`` more give the same weights as ``n + m``
in one go. The epoch sweep reads its models from one such run (``workflow/rules/sweeps.smk``).
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import torch

from rolo.tracking.association import AssociationParams, associate
from rolo.utils.boxes import xyxy_to_cxcywh_norm
from rolo.data.splits import VideoSplit
from rolo.tracking.models import ModelConfig, build_model, encode_for, window_indices


@dataclass(frozen=True)
class TrainParams:
    epochs: int = 30
    batch: int = 64
    lr: float = 1e-3
    seed: int = 0
    val_fraction: float = 0.0
    device: str | None = None


class LazyInputs:
    """A segment's per-frame inputs ``(L, C + B)`` as the features ``(L, C)`` (e.g. a slice of a
    memory-mapped ``features.npy``, float32 or float16) and the box part ``(L, B)`` float32 (an array or
    :class:`EncodedRows`), joined
    only for the rows asked for. The joined rows equal :func:`rolo.tracking.encoding.encode_for`'s
    value for value (it too only widens the features and rounds the box part to float32)."""

    def __init__(self, features, tail: "np.ndarray | EncodedRows"):
        if len(features) != len(tail):
            raise ValueError(f"{len(features)} feature rows, {len(tail)} box rows")
        self.features, self.tail = features, tail
        self.shape = (len(tail), int(features.shape[1]) + int(tail.shape[1]))
        self.dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return self.shape[0]

    def rows(self, r: np.ndarray) -> np.ndarray:
        """Rows ``r`` (1-d integer indices) -> ``(len(r), C + B)`` float32, read from the features' file."""
        r = np.asarray(r, np.int64)
        return np.concatenate([np.asarray(self.features[r], np.float32), self.tail[r]], axis=1)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        a = self.rows(np.arange(len(self)))
        return a if dtype is None else a.astype(dtype)

    def __getitem__(self, key):
        return np.asarray(self)[key]


class EncodedRows:
    """The box part of a segment's inputs, encoded when rows are asked for (``rows[r]``): the
    heatmap kind's is a ``GRID * GRID`` mask a frame (4 kB), too large to hold for millions of frames.
    Each row is encoded on its own, so the rows equal those of the whole segment encoded at once."""

    def __init__(self, kind: str, boxes: np.ndarray, conf: np.ndarray, lost: np.ndarray, image_wh):
        self.kind, self.boxes, self.conf, self.lost, self.image_wh = kind, boxes, conf, lost, image_wh
        width = encode_for(kind, np.zeros((1, 0), np.float32), np.full((1, 4), np.nan), np.zeros(1), np.zeros(1, bool),
                           image_wh).shape[1]
        self.shape = (len(boxes), int(width))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, r) -> np.ndarray:
        r = np.asarray(r, np.int64)
        return encode_for(self.kind, np.zeros((len(r), 0), np.float32), self.boxes[r], self.conf[r], self.lost[r],
                          self.image_wh)


def rows_of(inputs, r: np.ndarray) -> np.ndarray:
    """Rows ``r`` of a segment's inputs: a :class:`LazyInputs` or an in-memory ``(L, D)`` array."""
    return inputs.rows(r) if isinstance(inputs, LazyInputs) else np.asarray(inputs[np.asarray(r, np.int64)], np.float32)


@dataclass(frozen=True)
class TrainingVideo:
    """One video's training segment: ``inputs (L, C + 6)`` (an array or :class:`LazyInputs`),
    ``targets (L, 4)`` cxcywh_norm (NaN where unlabelled) and ``labelled (L,)``."""

    name: str
    inputs: "np.ndarray | LazyInputs"
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
    kind: str = "coordinate",
) -> TrainingVideo | None:
    """Build a video's training data from its split for model ``kind``; None if the split has no
    training segment."""
    if split.train is None:
        return None
    a, b = split.train
    if a not in split.train_labels:
        raise ValueError(f"video {name}: the training segment's first frame {a + 1} has no usable label")
    boxes, conf, lost = associate(detections[a:b], gt[a], assoc)
    # the features stay in their (memory-mapped) array; the box part is encoded here (coordinate: 6
    # floats a frame) or, for the heatmap kind's masks, when a batch asks for its rows
    tail = EncodedRows(kind, boxes, conf, lost, image_wh)
    inputs = LazyInputs(features[a:b], tail if kind == "heatmap" else tail[np.arange(b - a)])
    labelled = np.zeros(b - a, bool)
    labelled[np.asarray(split.train_labels, dtype=np.int64) - a] = True
    targets = np.full((b - a, 4), np.nan, np.float32)
    targets[labelled] = xyxy_to_cxcywh_norm(gt[a:b][labelled], image_wh)
    return TrainingVideo(name, inputs, targets, labelled)


def window_index(
    videos: list[TrainingVideo], steps: int, val_fraction: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The windows of the stacked videos, without stacking them -> ``offsets (V + 1,)`` (first row of
    each video in the stack), window row indices ``(M, steps)``, targets ``(M, 4)`` and ``val (M,)``:
    True for windows ending at the last ``val_fraction`` of each video's labelled frames (in time
    order), held out of training to measure validation loss."""
    idx, ys, val, offsets = [], [], [], [0]
    for v in videos:
        ends = np.flatnonzero(v.labelled)
        idx.append(window_indices(ends, 0, steps) + offsets[-1])
        ys.append(v.targets[ends])
        is_val = np.zeros(len(ends), bool)
        n_val = int(np.ceil(val_fraction * len(ends))) if val_fraction > 0 else 0
        if n_val:
            is_val[-n_val:] = True
        val.append(is_val)
        offsets.append(offsets[-1] + len(v.inputs))
    if not idx or not sum(len(i) for i in idx):
        raise ValueError("no labelled training frames")
    return np.asarray(offsets, np.int64), np.concatenate(idx), np.concatenate(ys).astype(np.float32), np.concatenate(val)


def build_windows(
    videos: list[TrainingVideo], steps: int, val_fraction: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stack the videos in memory -> ``X (sum L, D)``, window indices into X ``(M, steps)``, targets
    ``(M, 4)`` and ``val (M,)`` (see :func:`window_index`). Training reads the same windows lazily
    (:class:`WindowDataset`); this is for analyses over small data."""
    _, idx, y, val = window_index(videos, steps, val_fraction)
    return np.concatenate([np.asarray(v.inputs, np.float32) for v in videos]), idx, y, val


class WindowDataset(torch.utils.data.Dataset):
    """The training windows, read lazily: item ``i`` is window ``i``'s ``(steps, D)`` float32 rows,
    gathered from the videos' inputs (memory-mapped features + in-memory box part) when asked for;
    :meth:`batch` gathers a mini-batch in one read per video. ``idx``, ``targets`` and ``val`` are
    :func:`window_index`'s; ``batch(ids)`` equals ``X[idx[ids]]`` of :func:`build_windows`."""

    def __init__(self, videos: list[TrainingVideo], steps: int, val_fraction: float = 0.0):
        self.videos = list(videos)
        self.offsets, self.idx, self.targets, self.val = window_index(self.videos, steps, val_fraction)

    def __len__(self) -> int:
        return len(self.idx)

    def rows(self, r: np.ndarray) -> np.ndarray:
        """Stacked-row indices ``r (n,)`` -> ``(n, D)`` float32."""
        r = np.asarray(r, np.int64)
        which = np.searchsorted(self.offsets, r, side="right") - 1
        out = None
        for v in np.unique(which):
            sel = np.flatnonzero(which == v)
            part = rows_of(self.videos[v].inputs, r[sel] - self.offsets[v])
            if out is None:
                out = np.empty((len(r), part.shape[1]), np.float32)
            out[sel] = part
        return out

    def batch(self, ids) -> np.ndarray:
        """Windows ``ids`` -> ``(len(ids), steps, D)`` float32."""
        w = self.idx[np.asarray(ids, np.int64)]
        return self.rows(w.reshape(-1)).reshape(*w.shape, -1)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.batch([i])[0]

    def __getitems__(self, ids) -> np.ndarray:  # torch's DataLoader fetches a batch with one call
        return self.batch(ids)


def train_model(
    videos: list[TrainingVideo],
    model_cfg: ModelConfig,
    params: TrainParams,
    progress: bool = True,
    resume: dict | None = None,
    on_epoch=None,
) -> tuple[torch.nn.Module, pd.DataFrame]:
    """Train a fresh model; returns it (eval mode, on CPU) and the per-epoch table
    ``epoch, train_loss, windows, val_loss, val_iou, seconds`` (val columns NaN without a validation
    carve; ``seconds``: wall time since training started, at the end of the epoch's training steps,
    validation excluded).

    ``resume``: a checkpoint dict saved by a run of the same data and settings (``state_dict`` and
    ``resume``: epoch, optimizer and generator states, the loss table so far); training continues
    from its epoch up to ``params.epochs``. ``on_epoch(epoch, model, resume_state)`` is called
    after every epoch, e.g. to save a resumable checkpoint."""
    import time

    from rolo.utils.boxes import iou

    torch.manual_seed(params.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    device = torch.device(params.device or ("cuda:0" if torch.cuda.is_available() else "cpu"))
    data = WindowDataset(videos, model_cfg.steps, params.val_fraction)
    Y, val = data.targets, data.val
    tr = torch.from_numpy(np.flatnonzero(~val)).to(device)
    va = torch.from_numpy(np.flatnonzero(val)).to(device)
    model = build_model(model_cfg).to(device)
    T_t = torch.from_numpy(np.ascontiguousarray(model.training_targets(Y), dtype=np.float32)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=params.lr)
    gen = torch.Generator().manual_seed(params.seed)
    records = []
    first = 1
    if resume is not None:
        model.load_state_dict(resume["state_dict"])
        opt.load_state_dict(resume["resume"]["optimizer"])
        gen.set_state(resume["resume"]["generator"])
        first = int(resume["resume"]["epoch"]) + 1
        records = list(resume["resume"]["losses"])
        if first > params.epochs:
            raise ValueError(f"cannot resume at epoch {first - 1} to train up to epoch {params.epochs}")

    def windows(rows: torch.Tensor) -> torch.Tensor:  # a mini-batch, read now (features from their files)
        return torch.from_numpy(data.batch(rows.cpu().numpy())).to(device)

    def loss_of(rows: torch.Tensor) -> torch.Tensor:
        return model.loss(windows(rows), T_t[rows])

    m = len(tr)
    if not m:
        raise ValueError(f"val_fraction={params.val_fraction} leaves no training windows ({len(va)} validation windows)")
    t0 = time.perf_counter()
    spent_validating = 0.0
    earlier = records[-1]["seconds"] if records else 0.0  # training time of the resumed run
    for epoch in range(first, params.epochs + 1):
        model.train()
        perm = tr[torch.randperm(m, generator=gen).to(device)]
        total = 0.0
        for s in range(0, m, params.batch):
            loss = loss_of(perm[s : s + params.batch])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(perm[s : s + params.batch])
        seconds = time.perf_counter() - t0 - spent_validating
        rec = {"epoch": epoch, "train_loss": total / m, "windows": m, "val_loss": np.nan, "val_iou": np.nan}
        t_val = time.perf_counter()
        if len(va):
            model.eval()
            with torch.no_grad():
                rec["val_loss"] = float(loss_of(va))
                x = windows(va)
                pred = model.predict(x).cpu().numpy()
            rec["val_iou"] = float(iou(_xyxy(pred), _xyxy(Y[val])).mean())
        spent_validating += time.perf_counter() - t_val
        rec["seconds"] = earlier + seconds
        records.append(rec)
        if on_epoch is not None:
            state = {"epoch": epoch, "optimizer": opt.state_dict(), "generator": gen.get_state(), "losses": records}
            on_epoch(epoch, model, state)
        if progress:  # the validation part only when there is a validation carve
            val_text = f" val {rec['val_loss']:.6f} val IoU {rec['val_iou']:.3f}" if np.isfinite(rec['val_loss']) else ""
            print(f"epoch {epoch}/{params.epochs} loss {rec['train_loss']:.6f}{val_text}", file=sys.stderr, flush=True)
    model.eval().cpu()
    return model, pd.DataFrame(records)


def _xyxy(cxcywh: np.ndarray) -> np.ndarray:
    """cxcywh (any common scale) -> xyxy in that scale; IoU is scale-free per axis."""
    from rolo.utils.boxes import cxcywh_norm_to_xyxy

    return cxcywh_norm_to_xyxy(cxcywh, (1.0, 1.0))


def load_training_videos(splits_json, videos: dict[str, tuple[str, str, str, str]], assoc_params: dict,
                         kind: str = "coordinate") -> tuple[list[TrainingVideo], dict]:
    """The training segments of ``videos`` (as :func:`train_job`'s) -> ``(videos, detector record)``.
    Features and detections are opened memory-mapped: the segments' inputs read their features from
    the files (:class:`LazyInputs`)."""
    from rolo.data.sequences import load_sequence
    from rolo.data.splits import read_splits
    from rolo.detection.extraction import check_same_detector, detector_record, load_extracted

    splits = read_splits(splits_json)
    assoc = AssociationParams(**assoc_params)
    prepared, detector = [], None
    for video, (f, d, m, seq_dir) in sorted(videos.items()):
        feats, dets, meta = load_extracted(f, d, m, mmap=True)
        if detector is None:
            detector = detector_record(meta)
        check_same_detector(detector, meta, m)
        seq = load_sequence(seq_dir, name=video)
        tv = prepare_video(video, feats, dets, seq.gt, tuple(meta["image_wh"]), splits[video], assoc, kind)
        if tv is not None:
            prepared.append(tv)
    return prepared, detector


def train_job(
    splits_json,
    videos: dict[str, tuple[str, str, str, str]],
    model_params: dict,
    train_params: dict,
    assoc_params: dict,
    out_model,
    out_loss,
    resume_from=None,
    resumable: bool = False,
) -> None:
    """Pipeline stage: ``videos = {video: (features.npy, detections.npy, meta.json, sequence dir)}`` ->
    checkpoint and per-epoch loss CSV.

    ``resume_from``: a resumable checkpoint of the same data and settings, trained for fewer epochs
    than ``train_params["epochs"]``; training continues from it. ``resumable``: save the optimizer
    and generator states too (the epoch sweep's checkpoints; about three times the size)."""
    from rolo.errors import RoloInputError
    from rolo.utils.io import atomic_path
    from rolo.tracking.models import save_checkpoint

    kind = model_params.get("kind", "coordinate")
    prepared, detector = load_training_videos(splits_json, videos, assoc_params, kind)
    cfg = ModelConfig(feature_dim=detector["feature_dim"], **model_params)
    extra = {"detector": detector, "association": dict(assoc_params), "train": dict(train_params),
             "videos": [v.name for v in prepared]}
    resume = None
    if resume_from is not None:
        resume = torch.load(resume_from, map_location="cpu", weights_only=True)
        if "resume" not in resume:
            raise RoloInputError(f"{resume_from}: not a resumable checkpoint")
        before = {k: resume[k] for k in extra} | {"model": resume["model"]}
        now = extra | {"model": asdict(cfg)}
        before["train"] = {k: v for k, v in before["train"].items() if k != "epochs"}
        now["train"] = {k: v for k, v in now["train"].items() if k != "epochs"}
        for key in now:
            if before[key] != now[key]:
                raise RoloInputError(f"{resume_from}: trained with other '{key}' settings ({before[key]} vs {now[key]})")
        print(f"resuming from {resume_from} (epoch {resume['resume']['epoch']})", file=sys.stderr)
    print(f"training on {len(prepared)} videos, {sum(int(v.labelled.sum()) for v in prepared)} labelled frames", file=sys.stderr)
    last = {}
    model, losses = train_model(prepared, cfg, TrainParams(**train_params), resume=resume,
                                on_epoch=(lambda e, mdl, state: last.update(state)) if resumable else None)
    save_checkpoint(out_model, model, extra | ({"resume": last} if resumable else {}))
    with atomic_path(out_loss) as tmp:
        losses.to_csv(tmp, index=False)
