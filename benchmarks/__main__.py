"""One command, one table: ``python -m benchmarks [options]`` (run from the repository root)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import machine, offline, save_model, write_video

SECTIONS = ("extraction", "anchor", "tracking", "training", "pipeline", "identity")
COLUMNS = ["section", "measure", "value", "unit", "ratio", "ratio_of", "target"]
TINY_SCALE = [0.33, 0.125, 1024]  # the demo's detector: half of yolov8n's width, 128-d features


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--model", default="yolov8s.yaml", help="detector: Ultralytics model yaml (random init) or weights")
    p.add_argument("--scale", type=float, nargs=3, default=None, metavar=("DEPTH", "WIDTH", "MAXCH"),
                   help="detector.scale for a model yaml (as in the config)")
    p.add_argument("--imgsz", type=int, default=640)
    p.add_argument("--frames", type=int, default=32, help="frames timed; peak memory is compared at this and twice this")
    p.add_argument("--size", default="640x480", help="synthetic video frame size WxH")
    p.add_argument("--device", default=None, help="cpu, cuda:0 (default: CUDA when present)")
    p.add_argument("--batch", type=int, default=None, help="our extraction batch on CUDA (default: ExtractionParams)")
    p.add_argument("--cpu-batch", type=int, default=1, help="our extraction batch on CPU (extraction.cpu_batch)")
    p.add_argument("--backend", default=None,
                   help="the chosen extraction.backend timed beside the default eager path (default: config/config.yaml's)")
    p.add_argument("--anchor-backends", nargs="+", default=None, metavar="BACKEND",
                   help="rolo track's backends set against Ultralytics' model.track (default: torch_fused, onnxruntime, "
                   "openvino; --quick: the chosen backend only)")
    p.add_argument("--no-before", action="store_true", help="skip timing the extraction settings before the fix")
    p.add_argument("--workers", type=int, default=None, help="our decoding processes, on CPU and CUDA alike (default: ExtractionParams': 0 on CPU, 2 on CUDA)")
    p.add_argument("--ceiling-batches", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads (default: all cores; Ultralytics alone would leave torch at cores - 1)")
    p.add_argument("--lstm-threads", type=int, default=1,
                   help="torch threads for the tracking and training sections (the LSTM is too small for more to pay)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved repeats; the best of each is kept")
    p.add_argument("--steps", type=int, nargs="+", default=[1, 3, 6, 9])
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--track-frames", type=int, default=300)
    p.add_argument("--train-frames", type=int, default=120, help="frames per synthetic training/test video")
    p.add_argument("--epochs", type=int, default=30, help="mini-batched epochs (the config's default)")
    p.add_argument("--train-batch", type=int, default=64)
    p.add_argument("--epochs-batch1", type=int, default=8)
    p.add_argument("--stages", default="results/benchmarks", help="the demo's Snakemake benchmark files")
    p.add_argument("--identity-files", type=int, default=59_000, help="files of the frame-identity dry runs' tree")
    p.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=SECTIONS)
    p.add_argument("--out", default="results/bench", help="table.md, table.csv, details.json, losses.csv")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: the demo's tiny detector at 96 px, 8 frames, short training; seconds, not a measurement")
    a = p.parse_args(argv)
    if a.quick:
        a.scale, a.model = a.scale or TINY_SCALE, a.model if a.model != "yolov8s.yaml" else "yolov8.yaml"
        a.imgsz, a.frames, a.size, a.rounds = 96, 6, "160x120", 1
        a.ceiling_batches, a.steps, a.track_frames = [1, 4], [1, 6], 40
        a.train_frames, a.epochs, a.epochs_batch1, a.hidden = 30, 4, 2, 32
        a.identity_files = 300
    if a.backend is None:
        a.backend = config_backend()
    if a.quick and a.anchor_backends is None:
        a.anchor_backends = [a.backend if a.backend != "torch" else "torch_fused"]
    return a


def config_backend() -> str:
    """config/config.yaml's extraction.backend (the chosen path), else the default."""
    import yaml

    from rolo.detection.settings import ExtractionParams

    path = Path(__file__).resolve().parents[1] / "config" / "config.yaml"
    try:
        return yaml.safe_load(path.read_text())["extraction"].get("backend", ExtractionParams.backend)
    except (OSError, KeyError, TypeError):
        return ExtractionParams.backend


def fmt_table(df: pd.DataFrame) -> str:
    def num(v):
        if not np.isfinite(v):
            return ""
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"

    shown = df.assign(value=df["value"].map(num), ratio=df["ratio"].map(num))
    return shown.to_markdown(index=False)


def main(argv=None) -> pd.DataFrame:
    a = parse_args(argv)
    out = Path(a.out)
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    offline(work)
    import os

    import torch

    from rolo.detection.extraction import ExtractionParams

    torch.set_num_threads(a.threads or os.cpu_count() or 1)

    t_start = time.perf_counter()
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    w, h = (int(v) for v in a.size.lower().split("x"))
    overrides = {k: v for k, v in (("batch", a.batch), ("workers", a.workers), ("cpu_workers", a.workers)) if v is not None}
    params = ExtractionParams(imgsz=a.imgsz, device=a.device, cpu_batch=a.cpu_batch, **overrides)
    before = None if a.no_before else ExtractionParams(imgsz=a.imgsz, device=a.device, cpu_batch=None, **overrides)
    chosen = ExtractionParams(imgsz=a.imgsz, device=a.device, cpu_batch=a.cpu_batch, backend=a.backend, **overrides)
    opt_in = ExtractionParams(imgsz=a.imgsz, device=a.device, cpu_batch=a.cpu_batch, channels_last=True, **overrides)
    scale_tag = "-".join(str(s) for s in a.scale) if a.scale else "default"
    weights = save_model(a.model, a.scale, work / f"detector-{Path(a.model).stem}-{scale_tag}.pt")
    frames, gt = write_video(work, 2 * a.frames, w, h)
    rows, details = [], {"command": "python -m benchmarks " + shlex.join(argv if argv is not None else sys.argv[1:]),
                         "machine": machine(), "args": vars(a), "extraction_params": params.__dict__}
    feature_dim = None
    if "extraction" in a.sections or "tracking" in a.sections or "anchor" in a.sections:
        from rolo.detection.extraction import extract_video

        feats, _, _ = extract_video(weights, frames[:2], ExtractionParams(imgsz=a.imgsz, workers=0, device=a.device),
                                    progress=False)
        feature_dim = feats.shape[1]
    if "extraction" in a.sections:
        from benchmarks import extraction

        log(f"extraction: {a.model} at {a.imgsz} px, {a.frames} frames of {a.size}")
        r, d = extraction.run(weights, frames, params, a.rounds, tuple(a.ceiling_batches), work, log, before, opt_in,
                              chosen)
        rows += r
        details["extraction"] = d
    if "anchor" in a.sections:
        from benchmarks import anchor

        log(f"anchor: rolo track vs Ultralytics model.track (ByteTrack), {a.model} at {a.imgsz} px, {2 * a.frames} frames")
        r, d = anchor.run(weights, frames, gt, a.imgsz, feature_dim, a.threads or os.cpu_count() or 1, work,
                          max(1, a.rounds), log, backends=a.anchor_backends)
        rows += r
        details["anchor"] = d
    if "tracking" in a.sections:
        from benchmarks import tracking

        log(f"tracking: steps {a.steps}, hidden {a.hidden}, feature dim {feature_dim}, {a.track_frames} frames")
        r, d = tracking.run(weights, frames, gt, params, feature_dim, a.steps, a.hidden, a.track_frames, max(a.rounds, 2), log,
                            threads=(a.threads or os.cpu_count() or 1, a.lstm_threads))
        rows += r
        details["tracking"] = d
    if "training" in a.sections:
        from benchmarks import training

        torch.set_num_threads(a.lstm_threads)
        tw, th = (160, 120) if a.quick else (320, 240)
        tiny = save_model("yolov8.yaml", TINY_SCALE, work / "detector-training-features.pt")
        log(f"training: features from a random-init tiny YOLOv8 at 160 px on {len(training.TRAIN_VIDEOS)} + "
            f"{len(training.TEST_VIDEOS)} synthetic videos of {a.train_frames} frames")
        data = training.make_data(work, tiny, ExtractionParams(imgsz=160, workers=0, device=a.device), a.train_frames, tw, th)
        r, d = training.run(data, (tw, th), a.hidden, 6, a.epochs, a.train_batch, a.epochs_batch1, 0.2, 1e-3, log)
        rows += r
        losses = pd.concat([v.assign(run=k) for k, v in d.pop("losses").items()])
        losses.to_csv(out / "losses.csv", index=False)
        models = d.pop("models")
        # the stateful step's effect on results: same trained model, same test videos
        from benchmarks.tracking import StatefulRolo
        from rolo.tracking.association import AssociationParams

        m = models["ours"]
        aos_state = training.aos(m, data, (tw, th), lambda: StatefulRolo(m, AssociationParams(), (tw, th)))
        d["aos_stateful_ours"] = aos_state
        rows.append({"section": "training", "measure": "AOS: ours, tracked with a stateful LSTM step instead of the window",
                     "value": aos_state, "unit": "AOS", "ratio": aos_state - d["runs"]["ours"]["aos"],
                     "ratio_of": "stateful - window", "target": ""})
        details["training"] = d
    if "pipeline" in a.sections:
        from benchmarks import stages

        r = stages.rows(Path(a.stages))
        if not r:
            log(f"pipeline: no benchmark files under {a.stages} (run the demo first)")
        rows += r
    if "identity" in a.sections:
        from benchmarks import identity

        r, d = identity.run(work, a.identity_files, log, rounds=1 if a.quick else 2)
        rows += r
        details["identity"] = d
    df = pd.DataFrame(rows, columns=COLUMNS)
    details["wall_seconds"] = round(time.perf_counter() - t_start, 1)
    table = fmt_table(df)
    md = (f"Command: `{details['command']}`  \nMachine: {details['machine']}  \n"
          f"Detector: {a.model}{' scale ' + str(a.scale) if a.scale else ''}, "
          f"{'random init' if str(a.model).endswith(('.yaml', '.yml')) else 'weights'}; "
          f"benchmark wall time {details['wall_seconds']:.0f} s\n\n{table}\n")
    (out / "table.md").write_text(md)
    df.to_csv(out / "table.csv", index=False)
    (out / "details.json").write_text(json.dumps(details, indent=1, default=str))
    print(md)
    log(f"wrote {out / 'table.md'}, {out / 'table.csv'}, {out / 'details.json'}")
    return df


if __name__ == "__main__":
    main()
