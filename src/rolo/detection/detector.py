"""The YOLO detector: building it from weights or a yaml, finding its feature layer, training it.

Everything here goes through Ultralytics: its model classes, its trainer and its dataset format.
A detector spec is anything ``ultralytics.YOLO`` accepts: a weights file (``yolov8s.pt``) or a model
yaml (``yolov8n.yaml``). Training uses a single class, ``target``.
"""

from __future__ import annotations

import contextlib

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from rolo.utils.boxes import clip_xyxy
from rolo.errors import RoloInputError
from rolo.data.sequences import Sequence
from rolo.utils.io import atomic_path


def ultralytics_offline(config_dir: str | Path | None = None) -> None:
    """Keep Ultralytics from touching the network (no update, font, weight or telemetry calls).

    Must run before ``ultralytics`` is imported. ``config_dir`` keeps its settings file out of
    the user's home (useful on clusters and in tests).
    """
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_VERBOSE", "False")
    if config_dir is not None:
        os.environ.setdefault("YOLO_CONFIG_DIR", str(config_dir))


def load_yolo(spec: str | Path):
    """``ultralytics.YOLO`` from weights or a yaml; a missing weights file is an error naming it.

    A bare ``*.pt`` name that is not a local file would make Ultralytics download it: we refuse
    instead (downloads belong to a dedicated workflow rule, not to compute jobs).
    """
    from ultralytics import YOLO

    spec = str(spec)
    if spec.endswith(".pt") and not Path(spec).is_file():
        raise RoloInputError(
            f"detector weights {spec!r} not found (detector.model in the config); "
            "download them first or use a model yaml such as yolov8n.yaml"
        )
    return YOLO(spec)


def feature_layer_index(torch_model) -> int:
    """Index of the last backbone layer of an Ultralytics detection model (SPPF in YOLOv8: 9)."""
    yaml = getattr(torch_model, "yaml", None)
    if not isinstance(yaml, dict) or "backbone" not in yaml:
        raise RoloInputError("the detector has no Ultralytics model yaml; cannot locate its backbone")
    return len(yaml["backbone"]) - 1


def write_yolo_dataset(
    train: Iterable[Sequence],
    val: Iterable[Sequence],
    out_dir: str | Path,
    every: int = 1,
    frames: dict[str, Iterable[int]] | None = None,
) -> Path:
    """Write a single-class Ultralytics dataset (images linked, labels written) -> its ``data.yaml``.

    Frames with invalid ground truth are skipped; every ``every``-th frame of each sequence is used.
    ``frames`` (``{sequence name: 0-based frame indices}``) restricts each sequence to those frames
    (every ``every``-th of them); a sequence it does not name contributes nothing.
    """
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    for split, seqs in (("train", train), ("val", val)):
        img_dir, lbl_dir = out_dir / "images" / split, out_dir / "labels" / split
        img_dir.mkdir(parents=True)
        lbl_dir.mkdir(parents=True)
        for seq in seqs:
            from rolo.data.sequences import check_image, read_image

            h, w = read_image(seq.frames[0]).shape[:2]
            gt = clip_xyxy(seq.gt, (w, h))
            if frames is None:
                chosen = range(0, len(seq), every)
            else:
                chosen = sorted(int(i) for i in frames.get(seq.name, ()))[::every]
            for i in chosen:
                if not seq.valid[i]:
                    continue
                stem = f"{seq.name}_{i + 1:05d}"
                src = seq.frames[i]
                check_image(src)
                (img_dir / f"{stem}{src.suffix}").symlink_to(src.resolve())
                x1, y1, x2, y2 = gt[i]
                cx, cy, bw, bh = (x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h
                (lbl_dir / f"{stem}.txt").write_text(f"0 {cx:.6f} {cy:.6f} {bw:.6f} {bh:.6f}\n")
    data = out_dir / "data.yaml"
    data.write_text(f"path: {out_dir.resolve()}\ntrain: images/train\nval: images/val\nnames:\n  0: target\n")
    return data


def train_detector(
    model_spec: str,
    data_yaml: str | Path,
    out_weights: str | Path,
    work_dir: str | Path,
    epochs: int,
    imgsz: int,
    batch: int,
    seed: int,
    workers: int = 2,
    device: str | None = None,
    extra: dict | None = None,
) -> dict[str, float]:
    """Train with Ultralytics' trainer; copy ``best.pt`` to ``out_weights``; return val metrics."""
    model = load_yolo(model_spec)
    work_dir = Path(work_dir)
    model.add_callback("on_fit_epoch_end", log_epoch)
    with nms_without_time_limit():
        results = _train(model, data_yaml, work_dir, epochs, imgsz, batch, seed, workers, device, extra)
    best = Path(model.trainer.best)
    if not best.is_file():
        raise RuntimeError(f"Ultralytics training wrote no weights at {best}")
    with atomic_path(out_weights) as tmp:
        shutil.copyfile(best, tmp)
    curves = Path(model.trainer.save_dir) / "results.csv"  # Ultralytics' per-epoch table, beside the weights
    if curves.is_file():
        with atomic_path(Path(out_weights).with_name("results.csv")) as tmp:
            shutil.copyfile(curves, tmp)
    metrics = getattr(results, "results_dict", {}) or {}
    return {k: float(v) for k, v in metrics.items()}


def log_epoch(trainer) -> None:
    """One line per epoch in the job's log (Ultralytics' own output goes to its TTY-aware bars)."""
    import sys

    losses = getattr(trainer, "tloss", None)  # the epoch's mean losses: a dict {name: value}, or a tensor
    if isinstance(losses, dict):
        named = [(n, float(v)) for n, v in losses.items()]
    elif hasattr(losses, "tolist"):  # older Ultralytics: a tensor in the order of trainer.loss_names
        values = losses.tolist()
        named = list(zip(getattr(trainer, "loss_names", ()), values if isinstance(values, list) else [values]))
    else:
        named = []
    parts = [f"{n} {v:.4f}" for n, v in named]
    m = getattr(trainer, "metrics", {}) or {}
    map50 = m.get("metrics/mAP50(B)")
    parts.append(f"mAP50 {map50:.3f}" if map50 is not None else "mAP50 -")
    print(f"detector epoch {trainer.epoch + 1}/{trainer.epochs}: " + ", ".join(parts), file=sys.stderr, flush=True)


@contextlib.contextmanager
def nms_without_time_limit():
    """Ultralytics' validation NMS stops after ``2 s + 0.05 s`` a batch image and drops the rest of
    the batch's detections (a warning in the log): on a busy machine the per-epoch mAP, hence the
    epoch kept as ``best.pt``, would depend on the load. While training, NMS runs to completion, as
    it does on an idle machine (and as extraction always runs it)."""
    import functools

    from ultralytics.utils import nms

    original = nms.non_max_suppression
    nms.non_max_suppression = functools.partial(original, max_time_img=float("inf"))
    try:
        yield
    finally:
        nms.non_max_suppression = original


def _train(model, data_yaml, work_dir: Path, epochs, imgsz, batch, seed, workers, device, extra):
    return model.train(
        data=str(data_yaml),
        epochs=epochs,
        imgsz=imgsz,
        batch=batch,
        seed=seed,
        deterministic=True,
        workers=workers,
        device=device if device is not None else ("0" if _cuda() else "cpu"),
        project=str(work_dir.resolve()),
        name="train",
        exist_ok=True,
        plots=False,
        single_cls=True,
        amp=_cuda(),
        verbose=False,
        **(extra or {}),
    )


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _train_with(model: str, data: Path, out_weights, work_dir, params: dict) -> dict[str, float]:
    """:func:`train_detector` with a job's ``detector.train`` / ``detector.finetune`` settings."""
    return train_detector(
        model,
        data,
        out_weights,
        Path(work_dir) / "runs",
        epochs=int(params["epochs"]),
        imgsz=int(params["imgsz"]),
        batch=int(params["batch"]),
        seed=int(params.get("seed", 0)),
        workers=int(params.get("workers", 2)),
        extra=params.get("ultralytics") or None,
    )


def train_detector_job(
    model: str, train_dirs: list[str], val_dirs: list[str], params: dict, out_weights, out_metrics, work_dir
) -> None:
    """Pipeline stage: fine-tune or train ``model`` on OTB-layout sequence folders (single class)."""
    from rolo.data.sequences import load_sequence
    from rolo.utils.io import save_json

    train = [load_sequence(d) for d in train_dirs]
    val = [load_sequence(d) for d in val_dirs]
    data = write_yolo_dataset(train, val, Path(work_dir) / "dataset", every=int(params.get("every", 1)))
    metrics = _train_with(model, data, out_weights, work_dir, params)
    save_json(out_metrics, {"model": model, "train": [s.name for s in train], "val": [s.name for s in val], **metrics})


def labelled_frames(dataset_dir: str | Path, split: str = "train") -> dict[str, list[int]]:
    """``{sequence: 0-based frames}`` whose labels a dataset of :func:`write_yolo_dataset` holds."""
    out: dict[str, list[int]] = {}
    for label in sorted((Path(dataset_dir) / "labels" / split).glob("*.txt")):
        name, _, number = label.stem.rpartition("_")
        out.setdefault(name, []).append(int(number) - 1)
    return out


def finetune_detector_job(
    model: str, seq_dirs: dict[str, str], splits_json, params: dict, out_weights, out_metrics, work_dir
) -> None:
    """Pipeline stage: fine-tune ``model`` as a one-class ``target`` detector on one experiment's
    labelled training frames only (:func:`rolo.data.splits.detector_training_frames`), never on a
    scored frame's label. There is no other labelled frame to validate on: the training frames are
    the validation set too (it only picks the epoch kept). The metrics record the frames trained on."""
    from rolo.data.sequences import load_sequence
    from rolo.data.splits import detector_training_frames, read_splits
    from rolo.utils.io import save_json

    frames = detector_training_frames(read_splits(splits_json))
    if not frames:
        raise RoloInputError(f"{splits_json}: no labelled training frame to fine-tune the detector on")
    seqs = [load_sequence(seq_dirs[v], name=v) for v in frames]
    dataset = Path(work_dir) / "dataset"
    data = write_yolo_dataset(seqs, seqs, dataset, every=int(params.get("every", 1)), frames=frames)
    used = labelled_frames(dataset)
    metrics = _train_with(model, data, out_weights, work_dir, params)
    save_json(out_metrics, {
        "model": model,
        "splits": str(splits_json),
        "train": sorted(used),
        "labels": sum(len(f) for f in used.values()),
        # 0-based frames whose labels were trained on (and validated on), per video
        "train_frames": used,
        **metrics,
    })


def finetune_comparison(base: dict[str, str], tuned: dict[str, str]) -> dict:
    """What a fine-tuned detector did to one experiment: from ``{"summary", "detector"}`` tables of
    the experiment (``base``, the workflow's detector) and of its twin (``tuned``), the detector's
    precision and recall on the scored frames per confidence, and every tracker's success AUC and
    precision@20 px. Returns ``{"detector": DataFrame, "trackers": DataFrame}``."""
    import pandas as pd

    def det(path):
        d = pd.read_csv(path)
        return d[d.sequence == "ALL"].set_index("conf")[["precision", "recall"]]

    b, t = det(base["detector"]), det(tuned["detector"])
    detector = pd.DataFrame({
        "precision_default": b.precision, "precision_finetuned": t.precision,
        "recall_default": b.recall, "recall_finetuned": t.recall,
    }).reset_index()
    detector["recall_change"] = detector.recall_finetuned - detector.recall_default
    sb = pd.read_csv(base["summary"]).set_index("tracker")
    st = pd.read_csv(tuned["summary"]).set_index("tracker")
    names = [n for n in sb.index if n in st.index]
    trackers = pd.DataFrame({
        "tracker": names,
        "auc_default": sb.loc[names, "success_auc"].to_numpy(),
        "auc_finetuned": st.loc[names, "success_auc"].to_numpy(),
        "precision_20_default": sb.loc[names, "precision_20"].to_numpy(),
        "precision_20_finetuned": st.loc[names, "precision_20"].to_numpy(),
    })
    trackers["auc_change"] = trackers.auc_finetuned - trackers.auc_default
    return {"detector": detector, "trackers": trackers}


def finetune_comparison_job(exp: str, base: dict[str, str], tuned: dict[str, str], out_csv, out_md) -> None:
    """Pipeline stage: :func:`finetune_comparison` as a CSV (the trackers) and a Markdown page (both)."""
    tables = finetune_comparison(base, tuned)
    with atomic_path(out_csv) as tmp:
        tables["trackers"].to_csv(tmp, index=False, float_format="%.4f")
    text = (
        f"# {exp}: the workflow's detector against one fine-tuned on {exp}'s labelled training frames\n\n"
        f"Twin experiment: results/{exp}_ft/ (same splits and start boxes; trackers that do not read "
        "the detector share their tracks).\n\n"
        "## Detector on the scored frames (IoU >= 0.5)\n\n"
        + tables["detector"].to_markdown(index=False, floatfmt=".3f")
        + "\n\n## Trackers\n\n"
        + tables["trackers"].to_markdown(index=False, floatfmt=".3f")
        + "\n"
    )
    with atomic_path(out_md) as tmp:
        tmp.write_text(text)


def resolve_model(model: str, scale: list[float] | None, work_dir: str | Path) -> str:
    """``model`` as Ultralytics should load it. With ``scale = [depth, width, max_channels]`` and a
    model yaml, write a copy of Ultralytics' model dict whose only scale is ``scale`` into
    ``work_dir`` and return its path (Ultralytics otherwise only knows the n/s/m/l/x scales)."""
    if not scale:
        return str(model)
    if not str(model).endswith((".yaml", ".yml")):
        raise RoloInputError(f"detector.scale applies to a model yaml, not to weights ({model})")
    import yaml
    from ultralytics.nn.tasks import yaml_model_load

    d = yaml_model_load(model)
    d.pop("scale", None)
    d.pop("yaml_file", None)
    d["scales"] = {"custom": [float(scale[0]), float(scale[1]), int(scale[2])]}
    stem = Path(str(model)).stem
    out = Path(work_dir) / f"{stem}-rolo-scale.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        tmp.write_text(yaml.safe_dump(d, sort_keys=False))
    return str(out)
