"""GOT-10k (Huang et al., TPAMI 2019): layout and a local copy used in place.

Layout of a root ``<root>/``: ``train/``, ``val/`` and ``test/``, each with ``list.txt`` (one
sequence name a line, e.g. ``GOT-10k_Val_000001``) and one folder per sequence holding:

``00000001.jpg ...``     the frames, numbered from 1 without gaps (``%08d.jpg``);
``groundtruth.txt``      ``x,y,w,h`` comma separated, 1-based ``x, y`` (the dataset authors'
                         convention, got-10k/toolkit issue #6); one row per frame in ``train`` and
                         ``val``, the first frame's only in ``test``;
``absence.label``        (train, val) one 0/1 a line: 1 = the target is absent;
``cover.label``          (train, val) one 0..8 a line: the visible fraction of the target in
                         eighths, 0 = fully occluded or absent;
``cut_by_image.label``   (train, val) one 0/1 a line: 1 = the target is cut by the image border;
``meta_info.ini``        (train, val) a header line, then ``key: value`` lines; ``resolution:
                         (W, H)`` is the image size the got10k toolkit clips boxes to.

Scoring (:mod:`rolo.evaluation.benchmarks`) follows got10k's ``ExperimentGOT10k``: frames whose
``cover`` is 0 are left out. Training never uses an absent or fully covered frame as a label
(:meth:`Got10kSequence.as_sequence`).

GOT-10k is distributed after registration on its website, so there is no download here: a local
copy is the only route (:func:`got10k_sequences`), read in place and never written to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rolo.data.sequences import Sequence, list_frames, read_frame_labels, read_otb_boxes
from rolo.errors import RoloInputError
from rolo.utils.boxes import otb_to_xyxy

SUBSETS = ("train", "val", "test")
LABEL_FILES = ("absence.label", "cover.label", "cut_by_image.label")
_RESOLUTION = re.compile(r"^\(\s*([0-9]+)\s*,\s*([0-9]+)\s*\)$")


@dataclass(frozen=True)
class Got10kSequence:
    """One GOT-10k video as read from disk.

    Attributes:
        name: its folder name (``GOT-10k_Val_000001``).
        subset: ``train``, ``val`` or ``test``.
        folder: the sequence folder.
        frames: image paths ``00000001.jpg ...`` in order; ``len(frames) == N``.
        boxes: ``groundtruth.txt`` as written, 1-based ``x, y, w, h``, float64: ``(N, 4)``, or
            ``(1, 4)`` in ``test`` (the first frame only).
        absence, cover, cut_by_image: ``(N,)`` labels (bool, int 0..8, bool); None in ``test``.
        meta: ``meta_info.ini``'s ``key: value`` pairs (empty in ``test``).
        resolution: ``(W, H)`` from ``meta['resolution']``; None in ``test``.
    """

    name: str
    subset: str
    folder: Path
    frames: tuple[Path, ...]
    boxes: np.ndarray
    absence: np.ndarray | None = None
    cover: np.ndarray | None = None
    cut_by_image: np.ndarray | None = None
    meta: dict[str, str] = field(default_factory=dict)
    resolution: tuple[int, int] | None = None

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def visible(self) -> np.ndarray:
        """``(N,)`` bool: ``cover > 0`` (the frames got10k's evaluation scores). Train and val only."""
        if self.cover is None:
            raise RoloInputError(f"{self.folder}: no cover.label in the {self.subset} subset")
        return self.cover > 0

    @property
    def valid(self) -> np.ndarray:
        """``(N,)`` bool: frames usable as training labels: not absent, not fully covered, a box of
        positive width and height. Train and val only."""
        return self.visible & ~self.absence & (self.boxes[:, 2] > 0) & (self.boxes[:, 3] > 0)

    def as_sequence(self) -> Sequence:
        """The package's :class:`rolo.data.sequences.Sequence` (0-based ``xyxy``) whose ``valid`` is
        :attr:`valid`: absent and fully covered frames are excluded from training labels. Train and
        val only (test has no ground truth after frame 1)."""
        if self.subset == "test":
            raise RoloInputError(f"{self.folder}: a test sequence has ground truth for its first frame only")
        if not self.valid[0]:
            raise RoloInputError(f"{self.folder / 'groundtruth.txt'}:1: the target is absent or empty in the first frame")
        return Sequence(name=self.name, frames=self.frames, gt=otb_to_xyxy(self.boxes), valid=self.valid)


def read_meta_info(path: str | Path) -> dict[str, str]:
    """``meta_info.ini`` -> ``{key: value}``: its first line (a header) skipped, then ``key: value``
    lines (as got10k's ``GOT10k._fetch_meta``; blank lines ignored)."""
    path = Path(path)
    try:
        lines = path.read_text().strip().splitlines()[1:]
    except FileNotFoundError:
        raise RoloInputError(f"{path}: file not found") from None
    meta = {}
    for lineno, line in enumerate(lines, start=2):
        if not line.strip():
            continue
        key, sep, value = line.partition(": ")
        if not sep:
            raise RoloInputError(f"{path}:{lineno}: expected 'key: value', found {line!r}")
        meta[key.strip()] = value.strip()
    return meta


def parse_resolution(value: str, source: str) -> tuple[int, int]:
    """``"(1280, 720)"`` -> ``(1280, 720)``; errors name ``source``."""
    m = _RESOLUTION.match(value.strip())
    if not m:
        raise RoloInputError(f"{source}: resolution {value!r} is not '(W, H)'")
    return int(m.group(1)), int(m.group(2))


def read_list(root: str | Path, subset: str) -> list[str]:
    """The sequence names in ``<root>/<subset>/list.txt``, in file order."""
    if subset not in SUBSETS:
        raise RoloInputError(f"unknown GOT-10k subset {subset!r}; known: {', '.join(SUBSETS)}")
    path = Path(root) / subset / "list.txt"
    if not path.is_file():
        raise RoloInputError(f"{path}: file not found (GOT-10k {subset} list)")
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not names:
        raise RoloInputError(f"{path}: no sequence names")
    if len(set(names)) != len(names):
        raise RoloInputError(f"{path}: a sequence name is listed twice")
    return names


def load_got10k_sequence(folder: str | Path, subset: str) -> Got10kSequence:
    """Read and check one sequence folder of ``subset`` (layout in the module's docstring); a
    missing or inconsistent file is a :class:`RoloInputError` naming it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RoloInputError(f"{folder}: GOT-10k sequence folder not found")
    gt_path = folder / "groundtruth.txt"
    if not gt_path.is_file():
        raise RoloInputError(f"{gt_path}: file not found")
    boxes = read_otb_boxes(gt_path)
    frames = tuple(p for p in list_frames(folder) if p.suffix.lower() == ".jpg")
    if int(frames[0].stem) != 1:
        raise RoloInputError(f"{folder}: frames start at {frames[0].name}, not 00000001.jpg")
    if subset == "test":
        if len(boxes) != 1:
            raise RoloInputError(f"{gt_path}: {len(boxes)} rows; a test sequence has its first frame's box only")
        return Got10kSequence(folder.name, subset, folder, frames, boxes)
    n = len(boxes)
    if len(frames) != n:
        raise RoloInputError(f"{gt_path}: {n} rows for {len(frames)} images in {folder}")
    for f in (*LABEL_FILES, "meta_info.ini"):
        if not (folder / f).is_file():
            raise RoloInputError(f"{folder / f}: file not found (GOT-10k {subset} sequence {folder.name})")
    absence = read_frame_labels(folder / "absence.label", n).astype(bool)
    cover = read_frame_labels(folder / "cover.label", n, allowed=tuple(range(9)))
    cut = read_frame_labels(folder / "cut_by_image.label", n).astype(bool)
    meta = read_meta_info(folder / "meta_info.ini")
    if "resolution" not in meta:
        raise RoloInputError(f"{folder / 'meta_info.ini'}: no 'resolution: (W, H)' line")
    resolution = parse_resolution(meta["resolution"], str(folder / "meta_info.ini"))
    return Got10kSequence(folder.name, subset, folder, frames, boxes, absence, cover, cut, meta, resolution)


def got10k_sequences(root: str | Path, subset: str = "val") -> list[Got10kSequence]:
    """A local GOT-10k copy used in place: every sequence of ``<root>/<subset>/list.txt``, in its
    order, each checked (:func:`load_got10k_sequence`). The first problem stops it with one
    :class:`RoloInputError` naming the folder or file."""
    root = Path(root)
    if not root.is_dir():
        raise RoloInputError(f"{root}: GOT-10k root folder not found")
    return [load_got10k_sequence(root / subset / name, subset) for name in read_list(root, subset)]
