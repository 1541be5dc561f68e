"""Shared helpers: offline Ultralytics, timing, the synthetic input, the machine."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path


def offline(workdir: Path) -> None:
    """Keep Ultralytics offline, its settings in ``workdir`` (as tests/conftest.py does); before importing it."""
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ.setdefault("YOLO_AUTOINSTALL", "False")  # Ultralytics' exporter would pip-install what it misses
    os.environ.setdefault("YOLO_VERBOSE", "False")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(Path(workdir) / "ultralytics"))


def best_of(fn: Callable[[], float], rounds: int) -> float:
    """The best (shortest) of ``rounds`` timings ``fn()`` returns: on a shared machine other jobs only
    ever add time, so the minimum is the least disturbed estimate."""
    return min(fn() for _ in range(rounds))


def seconds_per_call(fn: Callable[[], object], min_seconds: float, min_calls: int = 3) -> float:
    """Median wall seconds of one ``fn()`` call over at least ``min_calls`` calls and ``min_seconds``."""
    times = []
    t_end = time.perf_counter() + min_seconds
    while len(times) < min_calls or time.perf_counter() < t_end:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def write_video(out_dir: Path, frames: int, width: int, height: int, seed: int = 7, name: str = "Bench",
                challenges: tuple[str, ...] = ("SV", "FM", "BC")) -> tuple[list[Path], "object"]:
    """A synthetic OTB-layout video (:mod:`rolo.data.synthetic`) -> (frame paths, ground truth xyxy)."""
    from rolo.data.sequences import load_sequence
    from rolo.data.synthetic import SynthParams, write_sequence

    seq_dir = Path(out_dir) / f"{name}-{width}x{height}-{frames}"
    if not (seq_dir / "groundtruth_rect.txt").is_file():
        write_sequence(seq_dir, name, list(challenges), seed, SynthParams(width=width, height=height, frames=frames))
    seq = load_sequence(seq_dir)
    return list(seq.frames), seq.gt


def save_model(spec: str, scale: list[float] | None, out: Path) -> str:
    """Build the detector once (random init from a yaml, or weights) and save it, so every variant
    timed and compared runs the very same weights."""
    import torch

    from rolo.detection.detector import load_yolo, resolve_model

    out = Path(out)
    if not out.is_file():
        torch.manual_seed(0)
        load_yolo(resolve_model(spec, scale, out.parent)).save(str(out))
    return str(out)


def machine() -> dict:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "os": platform.platform(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
    }
    try:
        info["load_avg_1min"] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    return info


def stolen_seconds() -> float | None:
    """CPU time the hypervisor has given to other guests so far (``steal`` of /proc/stat, summed over
    the CPUs, in seconds); None where the kernel does not report it. On a shared VM, bursts of it slow a
    run (measured on the 2-core VM: 24.6 s stolen during a 41 s run of a program that took 24 s before, 1.7x)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def peak_rss_mb() -> float:
    """This process's peak resident memory (MB): ``VmHWM`` of /proc/self/status. Not ``ru_maxrss``: Linux
    carries a process's maximum RSS across ``execve``, so a subprocess started from a large parent
    reports the parent's size (measured: 811 MB for an 8.8 MB child of an 800 MB parent)."""
    import resource

    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
