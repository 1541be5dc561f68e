"""Process set-up for a pipeline job: everything it prints goes to its log; threads are pinned."""

from __future__ import annotations

import os
import sys


def setup_job(log: str | os.PathLike, threads: int | None = None) -> None:
    """Send this process's stdout and stderr (file descriptors 1 and 2, so child processes and C
    libraries too) to ``log``, and pin torch, OpenCV and BLAS to ``threads``."""
    fd = os.open(os.fspath(log), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    if threads:
        # read by torch and BLAS when they are first imported (light jobs never import torch)
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = str(threads)
        import cv2

        cv2.setNumThreads(int(threads))
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(int(threads))
    from rolo.detector import ultralytics_offline

    ultralytics_offline()
