"""The per-frame costs behind docs/scale.md (planning LaSOT-train at 640 px with YOLOv8s), measured here.

    python studies/scale_plan.py [--frames 24] [--train-frames 240] [--out results/scale/scale_plan.json]

No download, no dataset: YOLOv8s is built from Ultralytics' ``yolov8s.yaml`` (random weights: the
sizes and the speed are those of the trained model, the detections are not), the frames are
synthetic 1280x720 JPEGs (LaSOT's most common frame size), and the closed-loop ROLO trains on
synthetic segments whose neck maps have the real YOLOv8s-640 shapes (random values, memory-mapped
from disk as the pipeline's training reads them). What it measures, per frame:

* **sizes**: global features (float32 / float16), detections (float32), neck maps P4 + P5 (float16,
  ``channel_group`` 1 and 2), from the shapes the extraction writes;
* **decoding**: JPEG decode + letterbox, one core (the CPU side of a GPU extraction job);
* **extraction**: the pipeline's :func:`rolo.detection.extraction.extract_video` (eager PyTorch,
  ``cpu_batch`` 1, neck maps kept), frames/s on this machine's cores;
* **closed-loop training**: one rollout round and three epochs over its windows (:func:`train_closed_loop`'s steps), seconds per
  rollout row (a frame tracked) and per window-epoch (a training window seen once).

It prints a JSON summary and writes it to ``--out``. The plan's arithmetic (jobs, disk, GPU-hours)
is in docs/scale.md; :func:`plan` repeats it from a summary so the page's numbers can be recomputed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

WH = (1280, 720)  # LaSOT's most common frame size
# LaSOT (Fan et al., CVPR 2019, arXiv:1809.07845): 1,400 videos, 3.52 M frames, 70 classes of 20 videos;
# protocol II trains on 1,120 videos (16 per class) and tests on 280 (4 per class). Training frames: the
# total pro rata, 3.52 M x 1,120 / 1,400 = 2.816 M. The longest video has about 11,400 frames (11,397)
LASOT = {"videos": 1400, "frames": 3_520_000, "train_videos": 1120, "max_frames": 11_397}
LASOT["train_frames"] = LASOT["frames"] * LASOT["train_videos"] // LASOT["videos"]
# Ultralytics' YOLOv8 table (https://docs.ultralytics.com/models/yolov8/), YOLOv8s at 640 px, batch 1:
GPU_MS = 1.20  # A100, TensorRT FP16
CPU_ONNX_MS = 128.4  # CPU, ONNX
# Assumptions of the plan (not measured here; docs/scale.md states them): our extraction runs eager PyTorch
# FP16 at batch 16, not TensorRT; we take its forward as 3x TensorRT's batch-1 time, plus 2 ms a frame for
# the feature pooling, NMS, the device-to-host copy of the neck maps and writing the arrays; and 30 s a
# job to start (Python and torch imports, CUDA context, model load)
EAGER_FACTOR, OVERHEAD_MS, JOB_START_S = 3.0, 2.0, 30.0


def write_frames(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """``n`` smooth synthetic 1280x720 frames with a few moving boxes, as JPEGs (quality 95)."""
    import cv2

    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.integers(0, 255, (WH[1] // 8, WH[0] // 8, 3), np.uint8), (5, 5), 0)
    base = cv2.resize(base, WH, interpolation=cv2.INTER_CUBIC)
    paths = []
    for t in range(n):
        im = base.copy()
        for k in range(4):
            x, y = 100 + 200 * k + 3 * t, 150 + 80 * k + 2 * t
            cv2.rectangle(im, (x, y), (x + 120, y + 90), tuple(int(v) for v in rng.integers(0, 255, 3)), -1)
        p = folder / f"{t + 1:04d}.jpg"
        cv2.imwrite(str(p), im, [cv2.IMWRITE_JPEG_QUALITY, 95])
        paths.append(p)
    return paths


def measure_decoding(paths: list[Path], imgsz: int = 640) -> float:
    """Seconds per frame to read a JPEG and letterbox it (one thread)."""
    import cv2

    from rolo.detection.extraction import letterbox_frame, make_letterbox
    from rolo.data.sequences import read_image

    cv2.setNumThreads(1)
    lb = make_letterbox(imgsz, 32)
    letterbox_frame(read_image(paths[0]), lb)
    t0 = time.perf_counter()
    for p in paths:
        letterbox_frame(read_image(p), lb)
    return (time.perf_counter() - t0) / len(paths)


def measure_extraction(paths: list[Path], threads: int) -> dict:
    """The pipeline's extraction of ``paths`` with YOLOv8s (yaml) at 640 px: rate and stored shapes."""
    import torch

    from rolo.detection.extraction import extract_video
    from rolo.detection.neck import NeckSpec, bytes_per_frame
    from rolo.detection.settings import ExtractionParams

    torch.set_num_threads(threads)
    params = ExtractionParams(imgsz=640, cpu_batch=1, workers=1, neck=NeckSpec(levels=(1, 2), channel_group=1))
    extract_video("yolov8s.yaml", paths[:2], params, progress=False)  # warm-up (first-call allocations)
    t0, c0 = time.perf_counter(), time.process_time()
    feats, dets, meta = extract_video("yolov8s.yaml", paths, params, progress=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    nm = meta["neck_meta"]
    neck = meta["neck"]
    hw = tuple(meta["letterboxed_hw"])
    return {
        "frames": len(paths), "threads": threads, "seconds": meta["seconds"], "wall_seconds": round(wall, 3),
        "frames_per_second": len(paths) / meta["seconds"],
        # CPU time of this process's threads (the decoding worker's excluded): less sensitive to other load
        "cpu_seconds_per_frame": cpu / len(paths),
        "letterboxed_hw": list(hw), "feature_dim": int(feats.shape[1]),
        "neck_shapes": [list(m.shape[1:]) for m in neck], "neck_dtype": str(neck[0].dtype),
        "bytes_per_frame": {
            "features_float32": feats.shape[1] * 4,
            "features_float16": feats.shape[1] * 2,
            "detections_float32": int(np.prod(dets.shape[1:])) * 4,
            "neck_cg1": sum(int(np.prod(m.shape[1:])) * m.itemsize for m in neck),
            "neck_cg2": bytes_per_frame(nm.channels, nm.strides, hw, NeckSpec(levels=(1, 2), channel_group=2)),
        },
        "neck_meta": nm.to_json(),
    }


def measure_closed_loop(neck_json: dict, frames: int, folder: Path, seed: int = 0) -> dict:
    """One rollout round and three epochs over its windows (the closed-loop ROLO's training) on ``frames`` synthetic
    frames with the measured neck shapes (channel_group 2, as config/config.yaml), read from memory-mapped
    files: seconds per rollout row and per window-epoch."""
    import dataclasses

    import torch

    from benchmarks.training import simulated_detections
    from rolo.detection.neck import NeckMeta, NeckSpec, load_neck, save_neck
    from rolo.tracking.closed_loop import ClosedLoopLSTM, ClosedLoopTrainParams, TrainSegment, _learnable, rollouts
    from rolo.tracking.closed_loop_job import model_config
    from rolo.tracking.trackers import VideoFrames

    meta = NeckMeta.from_json(neck_json)
    meta = dataclasses.replace(meta, spec=NeckSpec(levels=meta.spec.levels, channel_group=2),
                               channels=tuple(c // 2 for c in meta.channels))
    rng = np.random.default_rng(seed)
    h, w = meta.letterboxed_hw
    maps = [rng.standard_normal((frames, c, h // s, w // s), np.float32).astype(np.float16)
            for c, s in zip(meta.channels, meta.strides)]
    save_neck(folder, maps, meta)
    del maps
    maps, meta = load_neck(folder, mmap=True)
    t = np.arange(frames)
    cx, cy = 400 + 2.0 * t, 300 + 40 * np.sin(t / 30)
    gt = np.stack([cx - 60, cy - 45, cx + 60, cy + 45], 1)
    dets = simulated_detections(gt, seed, image_wh=WH)
    segment = TrainSegment("synthetic", VideoFrames(None, dets, None, maps, meta), gt, np.ones(frames, bool),
                           0, frames, WH, meta)
    cfg = model_config(meta, 6)
    params = ClosedLoopTrainParams()
    # one rollout round with an untrained model (the first round's), as train_closed_loop runs it
    torch.manual_seed(0)
    model = ClosedLoopLSTM(cfg)
    t0, c0 = time.perf_counter(), time.process_time()
    data = rollouts(model, [segment], params, np.random.default_rng(0))
    rollout, rollout_cpu = time.perf_counter() - t0, time.process_time() - c0
    rows = len(data["x"])
    # then epochs over its windows: train_closed_loop's mini-batch step (batch 64, Adam, smooth L1)
    X, W = torch.from_numpy(data["x"]), torch.from_numpy(data["windows"])
    Y = torch.from_numpy(rng.uniform(-0.2, 0.2, (len(W), 4)).astype(np.float32))
    opt = torch.optim.Adam(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    model.train()
    epochs = 3
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(epochs):
        perm = torch.randperm(len(W))
        for s in range(0, len(W), params.batch):
            rows_b = perm[s: s + params.batch]
            loss = torch.nn.functional.smooth_l1_loss(model(X[W[rows_b]]), Y[rows_b], beta=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    epoch_seconds, epoch_cpu = (time.perf_counter() - t0) / epochs, (time.process_time() - c0) / epochs
    windows = len(W)
    learnable = float(np.mean(_learnable(data, cfg))) if windows else 0.0
    return {
        "frames": frames, "feature_dim": cfg.feature_dim, "rollout_rows": rows, "windows": windows,
        "learnable": learnable, "rollout_seconds": round(rollout, 3), "epoch_seconds": round(epoch_seconds, 3),
        "seconds_per_rollout_row": rollout / rows,
        "seconds_per_window_epoch": epoch_seconds / max(1, windows),
        "cpu_seconds_per_rollout_row": rollout_cpu / rows, "cpu_seconds_per_window_epoch": epoch_cpu / max(1, windows),
        "params": dataclasses.asdict(ClosedLoopTrainParams()),
    }


def plan(m: dict, workers: tuple[int, ...] = (2, 4)) -> dict:
    """The LaSOT-train plan from a summary (docs/scale.md shows the same arithmetic)."""
    frames = LASOT["train_frames"]
    b = m["extraction"]["bytes_per_frame"]
    cl = m["closed_loop"]
    p = cl["params"]
    rows_per_frame = cl["rollout_rows"] / cl["frames"]  # measured (rollouts end at the segment's end)
    windows_per_row = cl["windows"] * cl["learnable"] / cl["rollout_rows"]
    rows = rows_per_frame * frames
    # round r trains its epochs on the windows of rounds 1..r (the pool grows)
    window_epochs = p["epochs"] * sum(range(1, p["rounds"] + 1)) * rows * windows_per_row
    gpu_ms = GPU_MS * EAGER_FACTOR + OVERHEAD_MS
    decode_ms = 1e3 * m["decoding_seconds_per_frame"]
    per_frame = {w: max(gpu_ms, decode_ms / w) for w in workers}  # GPU-bound or decoding-bound
    return {
        "train_frames": frames,
        "extraction_jobs": LASOT["train_videos"],
        "disk_gb": {k: round(v * frames / 1e9, 2) for k, v in b.items()},
        "gpu_hours_tensorrt_batch1": round(frames * GPU_MS / 3.6e6, 2),
        "gpu_ms_per_frame_assumed": gpu_ms,
        "decode_ms_per_frame_one_core": round(decode_ms, 1),
        "gpu_hours_extraction": {f"workers={w}": round(frames * ms / 3.6e6, 1) for w, ms in per_frame.items()},
        "gpu_hours_job_starts": round(LASOT["train_videos"] * JOB_START_S / 3600, 1),
        "longest_video_minutes": {f"workers={w}": round(LASOT["max_frames"] * ms / 6e4 + JOB_START_S / 60, 1)
                                  for w, ms in per_frame.items()},
        "longest_video_neck_gb": {k: round(LASOT["max_frames"] * b[k] / 1e9, 1) for k in ("neck_cg1", "neck_cg2")},
        "cpu_hours_extraction_measured": round(frames / m["extraction"]["frames_per_second"] / 3600),
        "rollout_rows_per_frame": round(rows_per_frame, 2),
        "rollout_rows_per_round": round(rows),
        "rollout_buffer_gb_per_round": round(rows * (cl["feature_dim"] + 9) * 4 / 1e9),
        "cpu_hours_rollouts": round(p["rounds"] * rows * cl["seconds_per_rollout_row"] / 3600),
        "window_epochs": round(window_epochs),
        "cpu_hours_epochs": round(window_epochs * cl["seconds_per_window_epoch"] / 3600),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=24, help="frames extracted (default 24)")
    ap.add_argument("--train-frames", type=int, default=240, help="frames of the closed-loop training segment (default 240)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads for extraction (default 2: extract_features')")
    ap.add_argument("--out", default="results/scale/scale_plan.json")
    args = ap.parse_args(argv)
    os.environ.setdefault("YOLO_OFFLINE", "1")
    sys.path.insert(0, str(REPO))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ.setdefault("YOLO_CONFIG_DIR", str(tmp / "ultralytics"))
        (tmp / "img").mkdir()
        paths = write_frames(tmp / "img", args.frames)
        summary = {"load_average_before": os.getloadavg()[0], "cpus": os.cpu_count(), "frame_wh": list(WH), "jpeg_kb": round(np.mean([p.stat().st_size for p in paths]) / 1e3, 1)}
        say = lambda what: print(f"[{time.strftime('%H:%M:%S')}] {what}", file=sys.stderr, flush=True)  # noqa: E731
        say("decoding")
        summary["decoding_seconds_per_frame"] = measure_decoding(paths)
        say("extraction")
        summary["extraction"] = measure_extraction(paths, args.threads)
        (tmp / "neck").mkdir()
        say("closed-loop training")
        summary["closed_loop"] = measure_closed_loop(summary["extraction"]["neck_meta"], args.train_frames, tmp / "neck")
    summary["load_average_after"] = os.getloadavg()[0]
    summary["plan"] = plan(summary)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
