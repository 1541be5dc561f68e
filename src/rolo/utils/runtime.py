"""Process set-up for a pipeline job (everything it prints goes to its log; threads are pinned), and
reading the named inputs the rules declare."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Iterable

# Ultralytics computes NUM_THREADS = min(8, cpus - 1) at import and its select_device() sets torch to
# that many threads on CPU (training), whatever the job declared: these modules get the job's number.
_ULTRALYTICS_THREADS_MODULES = ("ultralytics.utils", "ultralytics.utils.torch_utils")


class _UltralyticsThreads(importlib.abc.MetaPathFinder):
    """Import hook: right after an Ultralytics module in ``_ULTRALYTICS_THREADS_MODULES`` has run,
    set its ``NUM_THREADS`` to ``threads`` (the import itself stays lazy: light jobs never pay for it)."""

    def __init__(self, threads: int):
        self.threads = threads

    def find_spec(self, name, path=None, target=None):
        if name not in _ULTRALYTICS_THREADS_MODULES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        exec_module, threads = spec.loader.exec_module, self.threads

        def exec_and_pin(module):
            exec_module(module)
            if hasattr(module, "NUM_THREADS"):
                module.NUM_THREADS = threads

        spec.loader.exec_module = exec_and_pin
        return spec


def pin_threads(threads: int) -> None:
    """Limit this process to ``threads`` threads: torch (intra-op), OpenCV, BLAS, Ultralytics.

    torch and BLAS read ``OMP_NUM_THREADS`` & co. when first imported (heavy jobs import torch after
    this, light jobs never); an already imported torch is set directly. Ultralytics' own thread
    count is set when it is imported (see ``_UltralyticsThreads``) or now if it already was.
    """
    threads = int(threads)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    import cv2

    cv2.setNumThreads(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _UltralyticsThreads)]
    sys.meta_path.insert(0, _UltralyticsThreads(threads))
    for name in _ULTRALYTICS_THREADS_MODULES:
        if hasattr(sys.modules.get(name), "NUM_THREADS"):
            sys.modules[name].NUM_THREADS = threads


def setup_job(log: str | os.PathLike, threads: int | None = None) -> None:
    """Send this process's stdout and stderr (file descriptors 1 and 2, so child processes and C
    libraries too) to ``log``, and pin torch, OpenCV, BLAS and Ultralytics to ``threads``."""
    fd = os.open(os.fspath(log), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    if threads:
        pin_threads(threads)
    from rolo.detection.detector import ultralytics_offline

    ultralytics_offline()


def grouped(named: Iterable[tuple[str, object]]) -> dict[str, dict[str, str]]:
    """A job's named inputs ``"<kind>:<name>"`` (as ``workflow/rules/common.smk`` declares them) ->
    ``{name: {kind: path}}`` in declaration order; inputs without a ``:`` are left out."""
    out: dict[str, dict[str, str]] = {}
    for key, path in named:
        kind, sep, name = key.partition(":")
        if sep:
            out.setdefault(name, {})[kind] = str(path)
    return out


def sequence_dirs(named: Iterable[tuple[str, object]]) -> dict[str, str]:
    """``{video: sequence folder}`` from named inputs ``gt:<video>`` (the folder holds the ground truth)."""
    from pathlib import Path

    return {v: str(Path(f["gt"]).parent) for v, f in grouped(named).items() if "gt" in f}


def of_kind(named: Iterable[tuple[str, object]], kind: str) -> dict[str, str]:
    """``{name: path}`` of the named inputs ``"<kind>:<name>"`` of one kind, in declaration order."""
    return {n: f[kind] for n, f in grouped(named).items() if kind in f}
