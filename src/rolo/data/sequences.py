"""OTB-layout sequences: reading ground truth and frames, writing OTB-format tracks.

A sequence folder holds ``img/0001.jpg, 0002.jpg, ...`` and ``groundtruth_rect.txt`` with one
``x,y,w,h`` per frame (comma, tab or space separated, possibly mixed), ``x, y`` 1-based. Inside the
package boxes are 0-based ``xyxy`` (see :mod:`rolo.utils.boxes`); conversion happens here, on reading and
on writing, and nowhere else.

Malformed input raises :class:`RoloInputError` naming the file and the line. Nothing is silently
truncated: a ground-truth file whose row count differs from the number of frames is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rolo.errors import RoloInputError
from rolo.utils.boxes import otb_to_xyxy, xyxy_to_otb
from rolo.utils.io import atomic_path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
_SPLIT = re.compile(r"[,\s]+")


@dataclass(frozen=True)
class Sequence:
    """One OTB-layout video.

    Attributes:
        name: sequence name (folder name unless given).
        frames: image paths, in frame order; ``len(frames) == N``.
        gt: ``(N, 4)`` float64 ground truth, 0-based ``xyxy``.
        valid: ``(N,)`` bool, False where the ground-truth row has non-positive width or height
            (OTB marks unannotated frames with ``0,0,0,0``): such frames are never training
            targets; the scoring protocol decides how they count (:mod:`rolo.evaluation.scoring`).
    """

    name: str
    frames: tuple[Path, ...]
    gt: np.ndarray
    valid: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)


def read_otb_boxes(path: str | Path, allow_invalid: bool = False) -> np.ndarray:
    """Read an OTB box file -> ``(N, 4)`` float64 raw OTB values (1-based ``x, y, w, h``).

    Blank lines at the end of the file are ignored; any other line must hold exactly four finite
    numbers separated by commas and/or white space. ``allow_invalid`` also accepts NaN and negative
    sizes, which other trackers' result files may hold (a scoring protocol then decides, see
    :mod:`rolo.evaluation.scoring`); ground truth is always read strictly.
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as e:
        raise RoloInputError(f"{path}: cannot read ({e.strerror or e})") from e
    while lines and not lines[-1].strip():
        lines.pop()
    rows = []
    for lineno, line in enumerate(lines, start=1):
        fields = [f for f in _SPLIT.split(line.strip()) if f]
        if len(fields) != 4:
            raise RoloInputError(
                f"{path}:{lineno}: expected 4 numbers x,y,w,h, found {len(fields)}: {line!r}"
            )
        try:
            values = [float(f) for f in fields]
        except ValueError:
            raise RoloInputError(f"{path}:{lineno}: not a number in {line!r}") from None
        if allow_invalid:
            if np.isinf(values).any():
                raise RoloInputError(f"{path}:{lineno}: infinite value in {line!r}")
        elif not all(np.isfinite(values)):
            raise RoloInputError(f"{path}:{lineno}: non-finite value in {line!r}")
        elif values[2] < 0 or values[3] < 0:
            raise RoloInputError(f"{path}:{lineno}: negative width or height in {line!r}")
        rows.append(values)
    if not rows:
        raise RoloInputError(f"{path}: no boxes")
    return np.asarray(rows, dtype=np.float64)


def read_frame_labels(path: str | Path, frames: int, allowed: tuple[int, ...] = (0, 1)) -> np.ndarray:
    """Read one integer label per frame -> ``(frames,)`` int64.

    Values may be separated by commas and/or white space, on one line (LaSOT's
    ``full_occlusion.txt``) or one a line (GOT-10k's ``*.label``); each must be one of ``allowed``
    (a float such as ``1.0`` is read as its integer value), and there must be exactly ``frames``
    of them. Errors name the file.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise RoloInputError(f"{path}: file not found") from None
    except OSError as e:
        raise RoloInputError(f"{path}: cannot read ({e.strerror or e})") from e
    fields = [f for f in _SPLIT.split(text.strip()) if f]
    try:
        values = np.asarray([float(f) for f in fields], dtype=np.float64)
    except ValueError as e:
        raise RoloInputError(f"{path}: not a number ({e})") from None
    if len(values) != frames:
        raise RoloInputError(f"{path}: {len(values)} labels for {frames} frames")
    bad = ~np.isin(values, np.asarray(allowed, dtype=np.float64))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise RoloInputError(f"{path}: label {fields[i]!r} of frame {i + 1} is not one of {list(allowed)}")
    return values.astype(np.int64)


def read_otb_xyxy(path: str | Path, allow_invalid: bool = False) -> np.ndarray:
    """Read an OTB box file -> ``(N, 4)`` 0-based ``xyxy`` (``allow_invalid`` as :func:`read_otb_boxes`)."""
    return otb_to_xyxy(read_otb_boxes(path, allow_invalid))


def list_frames(img_dir: str | Path) -> tuple[Path, ...]:
    """Image files of a sequence, sorted by their frame number.

    File stems must be integers (``0001.jpg``) forming a run without gaps.
    """
    img_dir = Path(img_dir)
    if not img_dir.is_dir():
        raise RoloInputError(f"{img_dir}: image folder not found")
    files = [p for p in img_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise RoloInputError(f"{img_dir}: no images ({', '.join(IMAGE_SUFFIXES)})")
    numbered = []
    for p in files:
        if not p.stem.isdigit():
            raise RoloInputError(f"{p}: image name is not a frame number")
        numbered.append((int(p.stem), p))
    numbered.sort()
    numbers = [n for n, _ in numbered]
    expected = list(range(numbers[0], numbers[0] + len(numbers)))
    if numbers != expected:
        missing = sorted(set(expected) - set(numbers))[:5]
        raise RoloInputError(f"{img_dir}: frame numbers are not consecutive (missing e.g. {missing})")
    return tuple(p for _, p in numbered)


def _jpeg_complete(data: bytes) -> bool:
    """Walk a JPEG's segments (skipping each scan's entropy-coded data, where ``FF`` is stuffed as
    ``FF 00``) to its EOI marker ``FF D9``; bytes after it (padding, a camera's trailer) are allowed."""
    n, i = len(data), 2
    while i + 4 <= n:
        if data[i] != 0xFF:
            return False
        m = data[i + 1]
        if m == 0xFF:  # fill byte before a marker
            i += 1
            continue
        if m == 0xD9:
            return True
        if m == 0x01 or 0xD0 <= m <= 0xD7:  # markers without a length
            i += 2
            continue
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
        if m == 0xDA:  # start of scan: entropy-coded data up to the next real marker
            while True:
                j = data.find(b"\xff", i)
                if j < 0 or j + 1 >= n:
                    return False
                nxt = data[j + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
                    i = j + 2
                elif nxt == 0xFF:
                    i = j + 1
                else:
                    i = j
                    break
    return data[i : i + 2] == b"\xff\xd9"


def _png_complete(data: bytes) -> bool:
    """Walk a PNG's chunks to its ``IEND`` chunk (bytes after it allowed)."""
    n, i = len(data), 8
    while i + 8 <= n:
        length = int.from_bytes(data[i : i + 4], "big")
        if data[i + 4 : i + 8] == b"IEND":
            return i + 12 <= n
        i += 12 + length
    return False


def image_complete(data: bytes) -> bool:
    """Whether an encoded image's bytes reach its end: JPEG's EOI marker, PNG's ``IEND`` chunk, BMP's
    declared file size (found by walking the file's structure; bytes after the end, such as padding,
    are allowed). Other formats: True (left to the decoder)."""
    if data[:2] == b"\xff\xd8":
        return _jpeg_complete(data)
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return _png_complete(data)
    if data[:2] == b"BM" and len(data) >= 6:
        return int.from_bytes(data[2:6], "little") <= len(data)
    return True


def check_image(path: str | Path) -> None:
    """Raise :class:`RoloInputError` naming ``path`` unless its bytes reach the end marker (for files
    another library decodes, e.g. Ultralytics' training data, which would repair a truncated JPEG)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise RoloInputError(f"{path}: cannot read image ({e.strerror or e})") from e
    if not image_complete(data):
        raise RoloInputError(f"{path}: truncated or corrupt image ({len(data)} bytes); replace or remove the file")


def read_image(path: str | Path) -> np.ndarray:
    """An image file -> BGR uint8 ``(H, W, 3)``: its bytes read once, checked for completeness
    (:func:`image_complete`; OpenCV decodes a truncated JPEG as grey with only a warning) and decoded
    once. A truncated, corrupt or unreadable file raises :class:`RoloInputError` naming it."""
    import cv2

    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise RoloInputError(f"{path}: cannot read image ({e.strerror or e})") from e
    im = cv2.imdecode(data, cv2.IMREAD_COLOR) if image_complete(data.tobytes()) else None
    if im is None:
        raise RoloInputError(f"{path}: truncated or corrupt image ({data.size} bytes); replace or remove the file")
    return im


def load_sequence(
    folder: str | Path,
    name: str | None = None,
    img_dir: str = "img",
    gt_file: str = "groundtruth_rect.txt",
) -> Sequence:
    """Load an OTB-layout sequence folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RoloInputError(f"{folder}: sequence folder not found")
    frames = list_frames(folder / img_dir)
    gt_path = folder / gt_file
    gt = read_otb_xyxy(gt_path)
    if len(gt) != len(frames):
        raise RoloInputError(
            f"{gt_path}: {len(gt)} boxes for {len(frames)} frames in {folder / img_dir}"
        )
    wh = gt[:, 2:] - gt[:, :2]
    valid = (wh > 0).all(axis=1)
    if not valid[0]:
        raise RoloInputError(f"{gt_path}:1: the first frame's box is empty; it cannot start a track")
    return Sequence(name=name or folder.name, frames=frames, gt=gt, valid=valid)


def write_otb_boxes(path: str | Path, xyxy: np.ndarray, decimals: int = 2) -> None:
    """Write 0-based ``xyxy`` boxes ``(N, 4)`` as an OTB file (1-based ``x,y,w,h``, comma separated)."""
    otb = xyxy_to_otb(np.asarray(xyxy, dtype=np.float64).reshape(-1, 4))
    if not np.isfinite(otb).all():
        raise ValueError(f"{path}: refusing to write non-finite boxes")
    with atomic_path(path) as tmp:
        np.savetxt(tmp, otb, fmt=f"%.{decimals}f", delimiter=",")
