"""The anchor: ``rolo track`` beside Ultralytics' own tracker on the same clip, model, image size and backend.

Per comparison row, each side runs in a fresh subprocess (``python -m benchmarks.anchor SPEC``) over the
same image folder, batch 1, no video written:

``rolo``         :func:`rolo.tracking.live.track_source` (what ``rolo track`` runs: a decoding thread, the
                 detector with its feature layer, and the tracker; the CSV is written) with ``--backend`` of
                 the row, once per ROLO tracker of :data:`TRACKERS` (random-init models: the speed does not
                 depend on the weights): ``rolo``, the closed-loop ROLO (the neck maps at the pipeline's
                 settings, RoI pooling, the appearance model, the LSTM), and ``rolo_paper`` (the pooled
                 feature layer, the association, the coordinate LSTM, steps 6, hidden 256).
``ultralytics``  ``YOLO(model).track(source, tracker="bytetrack.yaml", imgsz=..., save=False, stream=True)``
                 with the same weights: the ``.pt`` for eager PyTorch (Ultralytics' ``AutoBackend`` fuses
                 Conv+BN and, on an x86 CPU, puts the model in channels-last memory format, so it is set
                 against ``torch_fused`` with ``extraction.channels_last``), and for the exported rows Ultralytics' own
                 ``model.export(format=..., dynamic=True)`` of the same weights (its export has no feature
                 output; ``dynamic`` lets it letterbox to the same rectangle as ours).

Reported: frames/s end to end (decoding, detector, tracker; model loading and the first frame excluded),
per-frame time p50 and p95 (the interval between successive output frames at batch 1, first frames
excluded), peak RSS of the subprocess (``VmHWM``, :func:`benchmarks.common.peak_rss_mb`). Same torch threads on both sides (Ultralytics'
predictor would set cores - 1; it is set back after its first frame). The sides run in turn, their order
turned round by round. A ratio is of each side's best round (:func:`benchmarks.common.best_of`'s reasoning):
on the shared 2-core VM other guests take CPU time in bursts as long as a run (``steal`` in /proc/stat,
recorded per run), which slowed one run of an identical series 1.8x, so the ratio within a round
swung from 0.71 to 1.34 between rounds. The median over rounds of the ratio within a round is shown beside it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import peak_rss_mb, stolen_seconds

WARMUP = 2  # frames excluded from the rate and the percentiles (model set-up, first-call allocations)

ROWS = (  # (row label, rolo's backend, channels-last, Ultralytics' model format: "pt" or an export format)
    ("eager PyTorch", "torch_fused", True, "pt"),  # as Ultralytics' AutoBackend runs a .pt on an x86 CPU
    ("ONNX Runtime", "onnxruntime", False, "onnx"),
    ("OpenVINO", "openvino", False, "openvino"),
)


TRACKERS = ("rolo", "rolo_paper")
"""The ROLO trackers set against Ultralytics' in every row: ``rolo``, the closed-loop ROLO (the demo's
default tracker: neck maps RoI-pooled at the candidates, appearance model, LSTM), and ``rolo_paper``
(the paper's inputs: pooled features, the association's box, open loop)."""


def make_checkpoint(weights: str, imgsz: int, feature_dim: int, backend: str, out: Path, channels_last: bool = False,
                    tracker: str = "rolo_paper", frame: Path | None = None) -> Path:
    """A random-init ROLO model recording ``weights`` as its detector (run by ``backend``, in
    channels-last memory format if ``channels_last``: what ``rolo track`` reads from the record):
    ``rolo_paper``'s coordinate model (steps 6, hidden 256), or for ``rolo`` the closed-loop model of
    the pipeline's settings over the neck maps of ``frame`` (the clip's first frame)."""
    import torch

    from rolo.detection.detector import feature_layer_index, load_yolo
    from rolo.tracking.association import AssociationParams
    from rolo.tracking.models import ModelConfig, RoloLSTM, save_checkpoint

    torch.manual_seed(0)
    layer = feature_layer_index(load_yolo(weights).model)
    detector = {"detector": str(weights), "feature_layer": layer, "feature_dim": feature_dim, "imgsz": imgsz, "backend": backend}
    if channels_last:
        detector["channels_last"] = True
    association = {"iou_threshold": AssociationParams().iou_threshold,
                   "redetect_confidence": AssociationParams().redetect_confidence}
    if tracker == "rolo_paper":
        model = RoloLSTM(ModelConfig(feature_dim=feature_dim, hidden=256, steps=6)).eval()
        save_checkpoint(out, model, {"detector": detector, "association": association})
        return out
    import cv2

    from rolo.detection.extraction import FeatureExtractor, letterbox_frame
    from rolo.detection.neck import NeckMeta, NeckSpec
    from rolo.detection.settings import ExtractionParams
    from rolo.tracking import closed_loop_job
    from rolo.tracking.appearance import AppearanceParams
    from rolo.tracking.closed_loop import ClosedLoopLSTM

    image = cv2.imread(str(frame))
    with FeatureExtractor(weights, ExtractionParams(imgsz=imgsz, neck=NeckSpec())) as ex:
        x = letterbox_frame(image, ex.letterbox())[None]
        ex(x, image.shape[:2])
        meta = NeckMeta.of(ex.neck, x.shape[2:], image.shape[:2])
    torch.manual_seed(0)
    model = ClosedLoopLSTM(closed_loop_job.model_config(meta, 6)).eval()
    closed_loop_job.save_checkpoint(out, model, AppearanceParams(), detector, association, meta)
    return out


def ultralytics_model(weights: str, fmt: str, imgsz: int, workdir: Path) -> str:
    """The weights for Ultralytics' side: the ``.pt`` or its own export (made once, in ``workdir``)."""
    if fmt == "pt":
        return weights
    stem = Path(weights).stem
    target = workdir / (f"{stem}-ultralytics-{imgsz}.onnx" if fmt == "onnx" else f"{stem}-ultralytics-{imgsz}_openvino_model")
    if not target.exists():  # in a subprocess: exporting beside loaded ONNX Runtime / OpenVINO sessions can crash
        measure({"side": "export", "label": fmt, "weights": weights, "format": fmt, "imgsz": imgsz, "target": str(target)},
                workdir)
    return str(target)


def _export(spec: dict) -> dict:
    from ultralytics import YOLO

    extra = {"simplify": False} if spec["format"] == "onnx" else {}  # onnxslim: not a dependency
    made = Path(YOLO(spec["weights"]).export(format=spec["format"], imgsz=spec["imgsz"], dynamic=True, verbose=False, **extra))
    made.rename(spec["target"])
    return {"target": spec["target"]}


def _child(spec: dict) -> dict:
    import torch

    if spec["side"] == "export":
        return _export(spec)

    torch.set_num_threads(spec["threads"])
    stamps: list[float] = []
    if spec["side"] == "rolo":
        import rolo.tracking.live as live

        class Stamp:  # the per-frame progress callback: called once a frame, after its row is written
            def __init__(self, total, stream=None):
                pass

            def __call__(self, done, final=False):
                if not final:
                    stamps.append(time.perf_counter())

        live._Progress = Stamp
        from rolo.detection.settings import ExtractionParams

        live.track_source(spec["source"], spec["init"], spec["model"], spec["out"], detector=spec["weights"],
                          extraction=ExtractionParams(batch=1, cpu_batch=1, workers=0), progress=True,
                          backend=spec["backend"])
    else:
        from ultralytics import YOLO

        model = YOLO(spec["weights"], task="detect")
        for i, _ in enumerate(model.track(source=spec["source"], tracker="bytetrack.yaml", imgsz=spec["imgsz"], save=False,
                                          stream=True, verbose=False, device="cpu")):
            stamps.append(time.perf_counter())
            if i == 0:
                torch.set_num_threads(spec["threads"])  # its predictor set cores - 1
    dt = np.diff(np.asarray(stamps[WARMUP - 1:]))
    return {"frames": len(stamps), "fps": float(len(dt) / dt.sum()), "p50_ms": float(1000 * np.percentile(dt, 50)),
            "p95_ms": float(1000 * np.percentile(dt, 95)),
            "peak_rss_mb": peak_rss_mb()}


def measure(spec: dict, workdir: Path) -> dict:
    path = Path(workdir) / f"anchor-{spec['side']}-{spec['label'].replace(' ', '_')}.json"
    path.write_text(json.dumps(spec))
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}  # as `rolo track` sets it
    stolen = stolen_seconds()
    out = subprocess.run([sys.executable, "-m", "benchmarks.anchor", str(path)], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], env=env)
    if out.returncode:
        raise RuntimeError(f"anchor {spec['side']} {spec['label']} failed:\n{out.stderr[-3000:]}")
    got = json.loads(out.stdout.strip().splitlines()[-1])
    after = stolen_seconds()
    got["steal_s"] = None if stolen is None or after is None else round(after - stolen, 2)  # during the whole subprocess
    return got


def run(weights: str, frames: list[Path], gt, imgsz: int, feature_dim: int, threads: int, workdir: Path, rounds: int,
        log=print, backends=None) -> tuple[list[dict], dict]:
    """Both sides per row of :data:`ROWS` (``backends``: the rolo backends to run; default all whose package is
    installed), ``rounds`` interleaved repeats, the best round each -> (table rows, details)."""
    import importlib.util

    from rolo.detection.backends import EXPORTED
    from rolo.utils.boxes import xyxy_to_otb

    source = str(Path(frames[0]).parent)
    init = ",".join(f"{v:.2f}" for v in xyxy_to_otb(np.asarray(gt[0], np.float64)))
    rows, details = [], {"source": source, "frames": len(frames), "rows": {}}
    for label, backend, channels_last, fmt in ROWS:
        if backends is not None and backend not in backends:
            continue
        if backend in EXPORTED and importlib.util.find_spec(EXPORTED[backend][0]) is None:
            log(f"  anchor {label}: {EXPORTED[backend][0]} not installed, skipped")
            continue
        theirs = ultralytics_model(weights, fmt, imgsz, workdir)
        base = {"source": source, "imgsz": imgsz, "threads": threads, "label": label}
        specs = {"ultralytics": {**base, "side": "ultralytics", "weights": theirs}}
        for name in TRACKERS:
            ckpt = make_checkpoint(weights, imgsz, feature_dim, backend, workdir / f"anchor-{name}-{backend}.pt", channels_last,
                                   name, frames[0])
            specs[name] = {**base, "side": "rolo", "label": f"{label} {name}", "model": str(ckpt), "weights": weights,
                           "init": init, "backend": backend, "out": str(workdir / "anchor-track.csv")}
        got = {k: [] for k in specs}
        order = list(specs)
        for i in range(rounds):  # the order turns round by round: no side always runs right after the same other one
            for k in order[i % len(order):] + order[: i % len(order)]:
                got[k].append(measure(specs[k], workdir))
        # each side's best round (other guests' CPU time, stolen in bursts as long as a run, only ever slows
        # one: benchmarks.common.best_of), and beside it the median over rounds of the ratio within a round
        best = {k: max(v, key=lambda r: r["fps"]) for k, v in got.items()}
        u = best["ultralytics"]
        ratios = {k: best[k]["fps"] / u["fps"] for k in TRACKERS}
        paired = {k: float(np.median([a["fps"] / b["fps"] for a, b in zip(got[k], got["ultralytics"])])) for k in TRACKERS}
        how = f"backend {backend}{', channels-last' if channels_last else ''}"
        log(f"  anchor {label}: " + ", ".join(f"rolo track {k} {best[k]['fps']:.2f} frames/s (ratio {ratios[k]:.2f}, "
                                              f"paired {paired[k]:.2f})" for k in TRACKERS)
            + f", Ultralytics ByteTrack ({fmt}) {u['fps']:.2f}")
        details["rows"][label] = {"backend": backend, "ultralytics_model": theirs, "rounds": got, "ratios": ratios,
                                  "paired_median": paired}

        def stolen(r: dict) -> str:
            return "" if r.get("steal_s") is None else f", {r['steal_s']:.1f} s stolen"

        for k in TRACKERS:
            r = best[k]
            rows.append({"section": "anchor", "measure": f"rolo track, tracker {k}, {label} ({how}), batch 1, end to end; "
                         f"p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms a frame, peak RSS {r['peak_rss_mb']:.0f} MB"
                         f"{stolen(r)}; paired rounds' median ratio {paired[k]:.2f}",
                         "value": r["fps"], "unit": "frames/s", "ratio": ratios[k], "ratio_of": "rolo track / Ultralytics track",
                         "target": ">= 1.0"})
        rows.append({"section": "anchor", "measure": f"Ultralytics model.track, ByteTrack, {label} ({fmt}{', its own export' if fmt != 'pt' else ''}); "
                     f"p50 {u['p50_ms']:.1f} ms, p95 {u['p95_ms']:.1f} ms a frame, peak RSS {u['peak_rss_mb']:.0f} MB{stolen(u)}",
                     "value": u["fps"], "unit": "frames/s", "ratio": np.nan, "ratio_of": "", "target": ""})
    return rows, details


if __name__ == "__main__":
    from benchmarks.common import offline

    spec_path = Path(sys.argv[1])
    offline(spec_path.parent)
    print(json.dumps(_child(json.loads(spec_path.read_text()))))
