"""Extraction speed: our code against the model's own ceiling and against the ROLO-PyTorch port's way.

``ours``      :func:`rolo.detection.extraction.extract_video`, as the pipeline runs it (decoding, batches,
              one forward pass with a hook for the features, NMS), frames/s from its own clock (started
              once the model is loaded and, on an exported backend, run once, as the ceilings warm up).
``ceiling``   the bare forward pass of the same model on pre-decoded, pre-letterboxed, pre-normalised
              tensors already on the device, at its best batch size (no decoding, no hook, no NMS;
              the batch size chosen by a sweep, best of two passes each), in five ways: eager PyTorch
              unfused, fused (Ultralytics' fuse), fused in channels-last memory format, and the fused model
              exported with its feature layer as an extra output run by ONNX Runtime and by OpenVINO.
              Ratios are taken against the best of them, round by round.
``chosen``    ours on the chosen backend (``--backend``, default config/config.yaml's ``extraction.backend``).

Rounds are interleaved (ours, before, ceiling, the port's way, what-ifs; again); a ratio is the median over
rounds of the ratio within a round, so that slow changes in the machine's load cancel; frames/s are
each way's best round.
``port``      frames stretched to ``imgsz x imgsz``, one ``model.predict`` call per frame, then a
              second pass through the backbone (layers up to the feature layer) for the features.

Peak memory: ``extract_video`` run in a fresh subprocess on the first ``N`` and on all ``2N`` frames;
peak RSS (``VmHWM``) of the subprocess (and ``ru_maxrss`` of its decoding workers) shows whether memory grows
with the video's length.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np



def load_frames(frames: list[Path], imgsz: int, stride: int):
    """Decode and letterbox every frame once -> uint8 ``(N, 3, h, w)`` and the original ``(h, w)``."""
    import cv2
    import torch

    from rolo.detection.extraction import letterbox_frame, make_letterbox

    lb = make_letterbox(imgsz, stride)
    ims = [cv2.imread(str(p)) for p in frames]
    return torch.stack([letterbox_frame(im, lb) for im in ims]), ims[0].shape[:2]


def time_ours(weights: str, frames: list[Path], params) -> float:
    from rolo.detection.extraction import extract_video

    _, _, meta = extract_video(weights, frames, params, progress=False)
    return float(meta["seconds"])


class Ceiling:
    """The bare forward pass over pre-letterboxed frames, batch by batch."""

    def __init__(self, weights: str, x_uint8, device: str | None, fuse: bool = False, channels_last: bool = False):
        import torch

        from rolo.detection.detector import load_yolo
        from rolo.detection.extraction import pick_device

        self.device = pick_device(device)
        self.model = load_yolo(weights).model.to(self.device).eval()
        if fuse:
            self.model = self.model.fuse(verbose=False)
        half = self.device.type == "cuda"
        if half:
            self.model.half()
        x = x_uint8.to(self.device)
        self.x = (x.half() if half else x.float()) / 255.0
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
            self.x = self.x.contiguous(memory_format=torch.channels_last)
        self.torch = torch

    def seconds(self, batch: int) -> float:
        n = len(self.x)
        with self.torch.inference_mode():
            self.model(self.x[:batch])  # warm-up at this shape
            self._sync()
            t = time.perf_counter()
            for s in range(0, n, batch):
                self.model(self.x[s : s + batch])
            self._sync()
        return time.perf_counter() - t

    def _sync(self):
        if self.device.type == "cuda":
            self.torch.cuda.synchronize()


class ExportedCeiling:
    """The bare forward pass of an exported backend (:mod:`rolo.detection.backends`: the fused model with
    the feature layer as an extra output, ONNX Runtime or OpenVINO) over the same pre-letterboxed frames."""

    def __init__(self, weights: str, x_uint8, backend: str):
        from rolo.detection.backends import ExportedRunner
        from rolo.detection.detector import feature_layer_index, load_yolo

        model = load_yolo(weights).model.eval()
        model.fuse(verbose=False)
        self.runner = ExportedRunner(backend, model, weights, feature_layer_index(model), ())
        self.x = x_uint8.float() / 255.0

    def seconds(self, batch: int) -> float:
        n = len(self.x)
        self.runner(self.x[:batch])  # warm-up at this shape (exports or compiles once)
        t = time.perf_counter()
        for s in range(0, n, batch):
            self.runner(self.x[s : s + batch])
        return time.perf_counter() - t

    def close(self) -> None:
        self.runner.close()


def installed(backend: str) -> bool:
    import importlib.util

    from rolo.detection.backends import EXPORTED

    return backend not in EXPORTED or importlib.util.find_spec(EXPORTED[backend][0]) is not None


class SeedWay:
    """The ROLO-PyTorch port's way: stretch to a square, ``model.predict`` per frame, a second backbone pass for features."""

    def __init__(self, weights: str, imgsz: int, device: str | None, feature_layer: int, params):
        from rolo.detection.detector import load_yolo
        from rolo.detection.extraction import pick_device

        import torch

        self.yolo = load_yolo(weights)
        self.threads = torch.get_num_threads()  # Ultralytics' predictor sets cores - 1 on CPU: we restore ours
        self.imgsz = imgsz
        self.device = str(pick_device(device))
        self.layer = feature_layer
        self.p = params

    def run(self, frames: list[Path]) -> tuple[np.ndarray, list]:
        import cv2
        import torch

        feats, boxes = [], []
        for path in frames:
            im = cv2.resize(cv2.imread(str(path)), (self.imgsz, self.imgsz))
            r = self.yolo.predict(im, imgsz=self.imgsz, conf=self.p.conf, iou=self.p.iou, max_det=self.p.max_det,
                                  device=self.device, verbose=False)[0]
            torch.set_num_threads(self.threads)  # same threads as every other way
            boxes.append(r.boxes.xyxy.cpu().numpy())
            net = self.yolo.predictor.model.model  # the predictor's (fused) DetectionModel
            dtype = next(net.parameters()).dtype
            with torch.inference_mode():
                x = torch.from_numpy(np.ascontiguousarray(im[..., ::-1].transpose(2, 0, 1)))[None]
                x = x.to(self.device).to(dtype) / 255.0
                for m in net.model[: self.layer + 1]:  # the backbone is sequential (from = -1)
                    x = m(x)
                feats.append(x.mean(dim=(2, 3)).float().cpu().numpy()[0])
        return np.stack(feats), boxes

    def seconds(self, frames: list[Path]) -> float:
        t = time.perf_counter()
        self.run(frames)
        return time.perf_counter() - t


def peak_memory(weights: str, frames: list[Path], params, workdir: Path) -> dict:
    """Run ``extract_video`` on ``frames`` in a fresh subprocess -> its peak RSS (MB), main and workers."""
    spec = {"weights": weights, "frames": [str(p) for p in frames], "params": asdict(params)}
    path = Path(workdir) / f"memory-{len(frames)}.json"
    path.write_text(json.dumps(spec))
    out = subprocess.run([sys.executable, "-m", "benchmarks.extraction", str(path)], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1])
    if out.returncode:
        raise RuntimeError(f"memory probe failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _memory_child(spec_path: str) -> None:
    from benchmarks.common import peak_rss_mb
    from rolo.detection.extraction import ExtractionParams, extract_video

    spec = json.loads(Path(spec_path).read_text())
    _, _, meta = extract_video(spec["weights"], [Path(p) for p in spec["frames"]], ExtractionParams(**spec["params"]),
                               progress=False)
    kb = 1024.0  # Linux reports ru_maxrss in KiB
    print(json.dumps({
        "frames": len(spec["frames"]),
        "seconds": meta["seconds"],
        "peak_rss_mb": peak_rss_mb(),  # VmHWM: ru_maxrss would report the parent's size (carried across exec)
        "workers_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / kb,
    }))


def run(weights: str, frames: list[Path], params, rounds: int, batches: tuple[int, ...], workdir: Path,
        log=print, before=None, opt_in=None, chosen=None) -> tuple[list[dict], dict]:
    """Time every way over ``frames[: len // 2]``, memory over half and all ``frames`` -> (table rows,
    details). Rounds are interleaved (ours, ceilings, the port's way; again). ``params``: ours on the
    default eager path; ``chosen``: ours on the chosen backend (config/config.yaml's); ``before``: the
    settings before the batch fix; ``opt_in``: ours with channels-last. The ceilings: eager unfused (its
    batch chosen by a sweep), eager fused, channels-last fused, ONNX Runtime, OpenVINO (those installed),
    all at the sweep's best batch; ratios are taken against the best of them, round by round."""
    from rolo.detection.detector import feature_layer_index, load_yolo

    chosen = chosen or params
    half_n = len(frames) // 2
    timed = frames[:half_n]
    probe = load_yolo(weights).model
    stride, layer = int(max(probe.stride)), feature_layer_index(probe)
    x, orig_hw = load_frames(timed, params.imgsz, stride)
    ceiling = Ceiling(weights, x, params.device)
    sweep = {}  # choose the ceiling's batch: best of two passes over (up to) 16 frames per batch size
    for b in batches:
        k = max(b, min(16, half_n) // b * b)
        sub = Ceiling.__new__(Ceiling)
        sub.__dict__.update(ceiling.__dict__, x=ceiling.x[:k])
        sweep[b] = min(sub.seconds(b), sub.seconds(b)) / k * half_n
        log(f"  ceiling batch {b}: {half_n / sweep[b]:.2f} frames/s")
    best_batch = min(sweep, key=sweep.get)
    from rolo.detection.extraction import pick_device

    dev = pick_device(params.device)
    ours_batch = params.forward_batch(dev)
    ways = {  # the ceilings beside eager unfused, at the best batch
        "fused": ("eager PyTorch, Conv+BN fused (Ultralytics' fuse; backend torch_fused)", Ceiling(weights, x, params.device, fuse=True)),
        "channels_last": ("eager PyTorch, fused, channels-last memory format", Ceiling(weights, x, params.device, fuse=True, channels_last=True)),
    }
    for backend, label in (("onnxruntime", "ONNX Runtime"), ("openvino", "OpenVINO")):
        if dev.type != "cpu":
            continue
        if not installed(backend):
            log(f"  ceiling {label}: not installed, skipped")
            continue
        ways[backend] = (f"{label}, the fused model exported with the feature layer as an output (backend {backend})",
                         ExportedCeiling(weights, x, backend))
    if chosen.backend != "torch" and chosen.backend != "torch_fused" and chosen.backend not in ways:
        raise RuntimeError(f"--backend {chosen.backend}: its package is not installed")
    seed = SeedWay(weights, params.imgsz, params.device, layer, params)
    seed.seconds(timed[:2])  # warm-up: builds Ultralytics' predictor
    t = {k: [] for k in ("ours", "chosen", "before", "opt_in", "ceiling", "seed", *ways)}
    time_ours(weights, timed[:2], chosen)  # warm-up: makes (caches) the chosen backend's export
    for r in range(rounds):
        t["ours"].append(time_ours(weights, timed, params))
        t["chosen"].append(time_ours(weights, timed, chosen))
        if before is not None:
            t["before"].append(time_ours(weights, timed, before))
        if opt_in is not None:
            t["opt_in"].append(time_ours(weights, timed, opt_in))
        # eager unfused: the faster of the sweep's best batch and ours, within this round
        t["ceiling"].append(min(ceiling.seconds(b) for b in {best_batch, ours_batch}))
        t["seed"].append(seed.seconds(timed))
        for k, (_, way) in ways.items():
            t[k].append(way.seconds(best_batch))
        log(f"  round {r + 1}/{rounds}: ours {half_n / t['ours'][-1]:.2f}, ours on {chosen.backend} {half_n / t['chosen'][-1]:.2f}, "
            f"port {half_n / t['seed'][-1]:.2f}; ceilings: eager {half_n / t['ceiling'][-1]:.2f}, "
            + ", ".join(f"{k} {half_n / t[k][-1]:.2f}" for k in ways) + " frames/s")
    log("  closing the exported ceilings")
    for _, way in ways.values():
        if hasattr(way, "close"):
            way.close()
    log("  peak memory")
    ceilings = ["ceiling", *ways]
    t["best"] = [min(t[k][r] for k in ceilings) for r in range(rounds)]  # the best ceiling, round by round
    best_of = {k: sum(1 for r in range(rounds) if t[k][r] == t["best"][r]) for k in ceilings}
    best_name = max(best_of, key=best_of.get)

    # ratios: the median over rounds of the ratio within a round (side by side, so slow changes in the
    # machine's load cancel); frames/s: the best round of each
    def paired(a, b):
        return float(np.median(np.asarray(t[b]) / np.asarray(t[a]))) if t[a] and t[b] else np.nan

    def fps(k):
        return half_n / min(t[k]) if t[k] else np.nan

    mem_n = peak_memory(weights, frames[:half_n], chosen, workdir)
    mem_2n = peak_memory(weights, frames, chosen, workdir)
    h, w = orig_hw
    size = f"{w}x{h} -> {tuple(x.shape[2:])[1]}x{tuple(x.shape[2:])[0]}"

    def workers_rss(mem):  # with no decoding processes RUSAGE_CHILDREN reports some other child (a fork carries RSS)
        if chosen.decode_workers(dev) == 0:
            return "no decoding processes"
        return f"decoding workers {mem['workers_peak_rss_mb']:.0f} MB"
    of_best = f"of best ceiling ({best_name})"
    rows = [
        {"section": "extraction", "measure": f"ours on the chosen path: extract_video, backend {chosen.backend} (forward batch "
         f"{chosen.forward_batch(dev)}, {chosen.decode_workers(dev) or 'no'} decoding processes)",
         "value": fps("chosen"), "unit": "frames/s", "ratio": paired("chosen", "best"), "ratio_of": of_best, "target": ">= 0.9"},
        {"section": "extraction", "measure": f"ours, default backend {params.backend} (eager, unfused; bit-identical to before)",
         "value": fps("ours"), "unit": "frames/s", "ratio": paired("ours", "best"), "ratio_of": of_best, "target": ""},
        *([{"section": "extraction", "measure": f"ours before the batch fix: forward batch {before.forward_batch(dev)} on {dev.type}",
            "value": fps("before"), "unit": "frames/s", "ratio": paired("ours", "before"), "ratio_of": "ours / before",
            "target": ""}] if before is not None else []),
        {"section": "extraction", "measure": f"the ROLO-PyTorch port's way: stretched {params.imgsz}x{params.imgsz}, predict per "
         f"frame + 2nd backbone pass (ours on torch: {paired('ours', 'seed'):.2f}x)",
         "value": fps("seed"), "unit": "frames/s", "ratio": paired("chosen", "seed"), "ratio_of": "ours (chosen) / the port's way",
         "target": ">= 1.5"},
        *([{"section": "extraction", "measure": "ours + extraction.channels_last (opt-in, backend torch; outputs differ ~1e-5)",
            "value": fps("opt_in"), "unit": "frames/s", "ratio": paired("opt_in", "best"), "ratio_of": of_best,
            "target": ""}] if opt_in is not None else []),
        {"section": "extraction", "measure": f"ceiling: eager PyTorch, unfused (backend torch), bare forward on pre-letterboxed "
         f"tensors, best of batch {sorted({best_batch, ours_batch})}",
         "value": fps("ceiling"), "unit": "frames/s", "ratio": paired("ceiling", "best"), "ratio_of": of_best, "target": ""},
        *[{"section": "extraction", "measure": f"ceiling: {label}, batch {best_batch}", "value": fps(k), "unit": "frames/s",
           "ratio": paired(k, "best"), "ratio_of": of_best, "target": ""} for k, (label, _) in ways.items()],
        {"section": "extraction", "measure": f"peak RSS, {mem_n['frames']} frames, backend {chosen.backend} (main process; "
         f"{workers_rss(mem_n)})",
         "value": mem_n["peak_rss_mb"], "unit": "MB", "ratio": np.nan, "ratio_of": "", "target": ""},
        {"section": "extraction", "measure": f"peak RSS, {mem_2n['frames']} frames (main process; {workers_rss(mem_2n)})",
         "value": mem_2n["peak_rss_mb"], "unit": "MB", "ratio": mem_2n["peak_rss_mb"] / mem_n["peak_rss_mb"],
         "ratio_of": f"of {mem_n['frames']} frames'", "target": "~1"},
    ]
    details = {"frames_timed": half_n, "frame_size": size, "sweep_fps": {b: half_n / s for b, s in sweep.items()},
               "best_batch": best_batch, "best_ceiling": best_name, "best_ceiling_rounds": best_of,
               "fps": {k: fps(k) for k in t if k != "best"},
               "paired_ratios": {"chosen_of_best": paired("chosen", "best"), "ours_of_best": paired("ours", "best"),
                                 "chosen_of_seed": paired("chosen", "seed"), "ours_of_seed": paired("ours", "seed"),
                                 **{f"{k}_of_best": paired(k, "best") for k in ceilings}},
               "round_seconds": t, "memory": [mem_n, mem_2n], "chosen_backend": chosen.backend,
               "detector_forward_batch1_s": sweep.get(1, np.nan) / half_n if 1 in sweep else None}
    return rows, details


if __name__ == "__main__":
    from benchmarks.common import offline

    offline(Path(sys.argv[1]).parent)
    _memory_child(sys.argv[1])
