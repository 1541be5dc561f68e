"""Where the time goes: the extraction (``extract_video``) and ``rolo track`` (``track_source``) profiled
stage by stage, for the misses of ``make bench`` (issue 17: extraction / ceiling, and ``rolo track`` on
eager PyTorch / Ultralytics' ``model.track``).

    python -m benchmarks.profile [--backends torch onnxruntime] [--frames 32] [--model yolov8s.yaml]

Each run is one ``cProfile`` of the main process (the decoding workers are other processes: their cost
shows as the main process waiting for the next batch). Stages are the cumulative time of named
functions, as a share of the run's wall time:

``wait for frames``  the ``DataLoader`` iterator's ``__next__`` (decoding and letterboxing in workers,
                     or in the main process with ``workers: 0``);
``forward``          the detector's forward pass (``torch.nn.Module.__call__`` of the model, or the
                     exported runner);
``NMS``              Ultralytics' ``non_max_suppression`` and ``scale_boxes``;
``setup``, ``warm-up``  loading the model or the exported session and the first pass (``make bench``'s
                     extraction clock starts after them; ``rolo track``'s anchor excludes the first frame);
``tracker``          (``rolo track`` only) the tracker's ``update`` (``rolo_paper``'s, or the closed-loop
                     ``rolo``'s), and for ``rolo`` the rounding of the neck maps to float16.

Beside it, ``decode + letterbox`` is timed alone in this process (``cv2.imread`` and the letterbox of
every frame, one thread): the CPU work that the decoding workers take from the forward pass's cores.
Writes ``results/bench/profile.md`` and ``profile.json``. cProfile slows Python-heavy code, not the
forward pass's kernels, so shares of the light stages are upper bounds.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import time
from pathlib import Path

from benchmarks.anchor import TRACKERS
from benchmarks.common import offline, save_model, write_video

STAGES = {
    "setup (model or session)": ("extraction.py", "__init__"),
    "warm-up (prepare)": ("extraction.py", "prepare"),
    "wait for frames": ("dataloader.py", "__next__"),
    "forward (exported runner)": ("backends.py", "__call__"),
    "NMS": ("nms.py", "non_max_suppression"),
    "scale boxes": ("ops.py", "scale_boxes"),
    "tracker update": ("trackers.py", "update"),
    "tracker update (closed loop)": ("closed_loop_job.py", "update"),
    "neck maps to float16": ("neck.py", "to_storage"),
}


def _cumulative(stats: pstats.Stats, file_part: str, func: str) -> float:
    total = 0.0
    for (fname, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():
        if name == func and fname.endswith(file_part):
            total += ct
    return total


def _forward_eager(stats: pstats.Stats) -> float:
    """Time inside the detector model's ``forward`` (Ultralytics' ``BaseModel.forward``)."""
    return _cumulative(stats, "ultralytics/nn/tasks.py", "forward")


def profile(fn) -> tuple[float, pstats.Stats]:
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    fn()
    prof.disable()
    return time.perf_counter() - t, pstats.Stats(prof)


def stage_shares(wall: float, stats: pstats.Stats) -> dict[str, float]:
    out = {name: _cumulative(stats, *key) / wall for name, key in STAGES.items()}
    out["forward (eager model)"] = _forward_eager(stats) / wall
    return {k: round(v, 4) for k, v in out.items() if v > 0}


def decode_seconds(frames: list[Path], imgsz: int, stride: int = 32) -> float:
    import cv2

    from rolo.detection.extraction import letterbox_frame, make_letterbox

    lb = make_letterbox(imgsz, stride)
    t = time.perf_counter()
    for p in frames:
        letterbox_frame(cv2.imread(str(p)), lb)
    return (time.perf_counter() - t) / len(frames)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="yolov8s.yaml")
    ap.add_argument("--imgsz", type=int, default=640)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--backends", nargs="+", default=["torch", "onnxruntime"])
    ap.add_argument("--track", action="store_true",
                    help="also profile rolo track (batch 1) on each backend, with each of the anchor's ROLO trackers")
    ap.add_argument("--out", default="results/bench")
    a = ap.parse_args(argv)
    out = Path(a.out)
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    offline(work)
    import torch

    from rolo.detection.extraction import extract_video
    from rolo.detection.settings import ExtractionParams

    torch.set_num_threads(os.cpu_count() or 1)
    w, h = (int(v) for v in a.size.lower().split("x"))
    weights = save_model(a.model, None, work / f"detector-{Path(a.model).stem}-default.pt")
    frames, gt = write_video(work, a.frames, w, h)
    res: dict = {"frames": a.frames, "model": a.model, "imgsz": a.imgsz,
                 "decode_letterbox_ms_per_frame": round(1000 * decode_seconds(frames, a.imgsz), 2), "runs": {}}
    for backend in a.backends:
        params = ExtractionParams(imgsz=a.imgsz, cpu_batch=1, backend=backend)
        extract_video(weights, frames[:2], params, progress=False)  # export / compile / warm-up outside the profile
        for workers in (params.workers, 0):  # 2 decoding processes, and decoding in the main process (the CPU default)
            p = ExtractionParams(imgsz=a.imgsz, cpu_batch=1, backend=backend, workers=workers, cpu_workers=workers)
            wall, stats = profile(lambda: extract_video(weights, frames, p, progress=False))
            res["runs"][f"extraction {backend}, workers {workers}"] = {
                "frames_per_s": round(a.frames / wall, 3), "ms_per_frame": round(1000 * wall / a.frames, 1),
                "shares": stage_shares(wall, stats)}
        if a.track:
            tb = "torch_fused" if backend == "torch" else backend  # the anchor's eager row: fused, channels-last, as Ultralytics
            for tracker in TRACKERS:
                res["runs"][f"rolo track {tb}, {tracker}"] = profile_track(weights, frames, gt, a.imgsz, tb, work, tracker)
    if a.track:
        res["runs"]["Ultralytics model.track, ByteTrack (.pt)"] = profile_ultralytics(weights, frames, a.imgsz)
    lines = [f"# Where the time goes ({a.model}, {a.imgsz} px, {a.frames} frames of {a.size})", "",
             f"decode + letterbox alone, one thread: {res['decode_letterbox_ms_per_frame']} ms/frame", "",
             "| run | frames/s | ms/frame | stage shares of wall time |", "|---|---|---|---|"]
    for name, r in res["runs"].items():
        shares = ", ".join(f"{k} {v:.0%}" for k, v in r["shares"].items())
        lines.append(f"| {name} | {r['frames_per_s']} | {r['ms_per_frame']} | {shares} |")
    text = "\n".join(lines) + "\n"
    print(text)
    (out / "profile.md").write_text(text)
    (out / "profile.json").write_text(json.dumps(res, indent=1))
    return res


def profile_track(weights: str, frames: list[Path], gt, imgsz: int, backend: str, work: Path,
                  tracker: str = "rolo_paper") -> dict:
    """``rolo track``'s loop, as ``make bench``'s anchor runs it (``rolo.tracking.live.track_source``, batch 1,
    no decoding workers, CSV only, a random-init model of ``tracker``: ``rolo_paper`` or the closed-loop
    ``rolo``), under cProfile."""
    import numpy as np

    from benchmarks.anchor import make_checkpoint
    from rolo.detection.extraction import extract_video
    from rolo.detection.settings import ExtractionParams
    from rolo.tracking.live import track_source
    from rolo.utils.boxes import xyxy_to_otb

    feats, _, _ = extract_video(weights, frames[:2], ExtractionParams(imgsz=imgsz, workers=0), progress=False)
    ckpt = make_checkpoint(weights, imgsz, feats.shape[1], backend, work / f"profile_{tracker}_{backend}.pt",
                           channels_last=backend == "torch_fused", tracker=tracker, frame=frames[0])  # as the anchor
    init = ",".join(f"{v:.2f}" for v in xyxy_to_otb(np.asarray(gt[0], np.float64)))

    def run():
        track_source(str(frames[0].parent), init, ckpt, work / "profile_track.csv", detector=weights,
                     extraction=ExtractionParams(batch=1, cpu_batch=1, workers=0), progress=False, backend=backend)

    run()  # warm-up: export / compile outside the profile
    wall, stats = profile(run)
    return {"frames_per_s": round(len(frames) / wall, 3), "ms_per_frame": round(1000 * wall / len(frames), 1),
            "shares": stage_shares(wall, stats) | {"decode (imread)": round(_cumulative(stats, "", "imread") / wall, 4)}}


def profile_ultralytics(weights: str, frames: list[Path], imgsz: int) -> dict:
    """Ultralytics' ``model.track(..., tracker="bytetrack.yaml")`` on the same frames, under cProfile."""
    import torch
    from ultralytics import YOLO

    model = YOLO(weights, task="detect")

    def run():
        for _ in model.track(source=str(frames[0].parent), tracker="bytetrack.yaml", imgsz=imgsz, save=False,
                             stream=True, verbose=False, device="cpu", persist=False):
            torch.set_num_threads(os.cpu_count() or 1)  # its predictor sets cores - 1, as the anchor undoes

    run()
    wall, stats = profile(run)
    shares = {"preprocess": _cumulative(stats, "predictor.py", "preprocess"),
              "inference": _cumulative(stats, "predictor.py", "inference"),
              "postprocess": _cumulative(stats, "detect/predict.py", "postprocess"),
              "tracker update": _cumulative(stats, "byte_tracker.py", "update"),
              "decode (imread)": _cumulative(stats, "", "imread")}
    return {"frames_per_s": round(len(frames) / wall, 3), "ms_per_frame": round(1000 * wall / len(frames), 1),
            "shares": {k: round(v / wall, 4) for k, v in shares.items() if v > 0}}


if __name__ == "__main__":
    main()
