"""Atomic writes: a killed or failed writer never leaves a file that could later look complete."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np


def current_umask() -> int:
    """The process's umask, read without changing it (``/proc/self/status``, Linux 4.7+); elsewhere
    set and restored at once (a race only with other threads creating files in that instant)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    A failed or killed writer leaves no file at ``path`` that could later look complete. The file
    gets the permissions of an ordinary write (``0o666`` less the umask), not ``mkstemp``'s 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~current_umask())
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def save_npy(path: str | Path, array: np.ndarray) -> None:
    """``np.save`` through :func:`atomic_path`."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array)


def save_json(path: str | Path, obj: object) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def link_frames(frames, img_dir: str | Path) -> None:
    """Make ``img_dir`` a folder of symbolic links to ``frames`` (same file names), replacing what was
    there only once every link exists: the links are made in a sibling temporary folder that is then
    renamed, so a kill leaves either the old folder or the new one, never half of it."""
    import shutil
    import tempfile

    img_dir = Path(img_dir)
    tmp = Path(tempfile.mkdtemp(prefix=".img.partial-", dir=img_dir.parent))
    try:
        for f in frames:
            (tmp / Path(f).name).symlink_to(Path(f).resolve())
        if img_dir.is_symlink() or img_dir.is_file():
            img_dir.unlink()
        elif img_dir.exists():
            shutil.rmtree(img_dir)
        tmp.rename(img_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
