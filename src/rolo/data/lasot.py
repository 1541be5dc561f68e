"""LaSOT (Fan et al., CVPR 2019): catalog, layout, a local copy used in place, per-class downloads.

Catalog. 70 object classes x 20 videos, ``<class>-<n>`` with ``n`` = 1..20 (``airplane-1``,
``rubicCube-14``: names are case-sensitive). The official split of protocol II is 1,120 training
and 280 test videos, four of each class; the 280 test names are the package data
``lasot_testing_set.csv`` (LaSOT's ``testing_set.txt``, as listed in pytracking's
``pytracking/evaluation/lasotdataset.py``), the training set is every other name.

Layout of one sequence folder ``<root>/<class>/<class>-<n>/`` (a flat ``<root>/<class>-<n>/``, as
some test-set copies have it, is accepted too):

``img/00000001.jpg ...``  the frames, numbered from 1 without gaps (``%08d.jpg``);
``groundtruth.txt``        one ``x,y,w,h`` per frame, comma separated, 1-based ``x, y`` (LaSOT's
                           MATLAB toolkit, as OTB);
``full_occlusion.txt``     one 0/1 per frame, comma separated on one line: 1 = the target is
                           fully occluded;
``out_of_view.txt``        the same, 1 = the target is out of the image;
``nlp.txt``                one sentence describing the target (optional here).

A frame whose target is fully occluded or out of view is *absent*: :attr:`LasotSequence.visible` is
False. Scoring (:mod:`rolo.evaluation.benchmarks`) follows pytracking's LaSOT analysis; training
never uses an absent frame as a label (:meth:`LasotSequence.as_sequence`).

Downloads: one zip per class, ``<base_url>/<class>.zip`` holding ``<class>/<class>-<n>/...`` (or
the 20 sequence folders at its root), fetched, checked and moved into place by
:func:`rolo.data.download.fetch_folder` (retries, CRC check, refusing path-escaping members,
atomic finish). A local copy is the primary route: :func:`lasot_sequences` reads it in place and
never writes to it.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rolo.data.download import DownloadError, fetch_folder
from rolo.data.sequences import Sequence, list_frames, read_frame_labels, read_otb_boxes
from rolo.errors import RoloInputError
from rolo.utils.boxes import otb_to_xyxy

TESTING_SET_PATH = Path(__file__).resolve().with_name("lasot_testing_set.csv")
VIDEOS_PER_CLASS = 20
SPLITS = ("train", "test", "all")
LASOT_BASE_URL = "https://huggingface.co/datasets/l-lt/LaSOT/resolve/main"
"""Default source of the per-class zips (the Hugging Face dataset ``l-lt/LaSOT``, whose zips are
repacked: any mirror serving ``<class>.zip`` with the same layout works)."""
_NAME = re.compile(r"^([A-Za-z]+)-([0-9]+)$")


@functools.cache
def testing_set() -> tuple[str, ...]:
    """The 280 test sequence names of the official split, sorted by class, then number."""
    with open(TESTING_SET_PATH, newline="") as f:
        names = tuple(row["name"] for row in csv.DictReader(f))
    if len(names) != 280 or len(set(names)) != 280:
        raise RoloInputError(f"{TESTING_SET_PATH}: expected 280 distinct names, found {len(set(names))}")
    return names


@functools.cache
def classes() -> tuple[str, ...]:
    """The 70 class names, sorted."""
    return tuple(sorted({n.rsplit("-", 1)[0] for n in testing_set()}))


def all_names() -> tuple[str, ...]:
    """All 1,400 sequence names: per class (sorted), ``<class>-1`` .. ``<class>-20``."""
    return tuple(f"{c}-{n}" for c in classes() for n in range(1, VIDEOS_PER_CLASS + 1))


def training_set() -> tuple[str, ...]:
    """The 1,120 training sequence names (every name not in :func:`testing_set`), in :func:`all_names` order."""
    test = set(testing_set())
    return tuple(n for n in all_names() if n not in test)


def split_names(split: str) -> tuple[str, ...]:
    """The names of ``split``: ``train`` (1,120), ``test`` (280) or ``all`` (1,400)."""
    if split == "train":
        return training_set()
    if split == "test":
        return testing_set()
    if split == "all":
        return all_names()
    raise RoloInputError(f"unknown LaSOT split {split!r}; known: {', '.join(SPLITS)}")


def parse_name(name: str) -> tuple[str, int]:
    """``"airplane-13"`` -> ``("airplane", 13)``; anything not a LaSOT name is an error."""
    m = _NAME.match(name)
    if not m or m.group(1) not in classes() or not 1 <= int(m.group(2)) <= VIDEOS_PER_CLASS:
        raise RoloInputError(f"{name!r} is not a LaSOT sequence name (<class>-<1..20>, {len(classes())} classes)")
    return m.group(1), int(m.group(2))


@dataclass(frozen=True)
class LasotSequence:
    """One LaSOT video as read from disk.

    Attributes:
        name: ``<class>-<n>``.
        cls: its class.
        folder: the sequence folder.
        frames: image paths ``img/00000001.jpg ...`` in order; ``len(frames) == N``.
        boxes: ``(N, 4)`` float64, ``groundtruth.txt`` as written: 1-based ``x, y, w, h``.
        full_occlusion: ``(N,)`` bool, ``full_occlusion.txt``.
        out_of_view: ``(N,)`` bool, ``out_of_view.txt``.
        nlp: the ``nlp.txt`` sentence, ``""`` if the file is absent.
    """

    name: str
    cls: str
    folder: Path
    frames: tuple[Path, ...]
    boxes: np.ndarray
    full_occlusion: np.ndarray
    out_of_view: np.ndarray
    nlp: str = ""

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def visible(self) -> np.ndarray:
        """``(N,)`` bool: the target is neither fully occluded nor out of view (pytracking's
        ``target_visible``)."""
        return ~(self.full_occlusion | self.out_of_view)

    @property
    def gt(self) -> np.ndarray:
        """``(N, 4)`` 0-based ``xyxy`` of :attr:`boxes` (:func:`rolo.utils.boxes.otb_to_xyxy`)."""
        return otb_to_xyxy(self.boxes)

    @property
    def valid(self) -> np.ndarray:
        """``(N,)`` bool: frames usable as training labels: the target is visible and its box has
        positive width and height. Absent frames never are."""
        return self.visible & (self.boxes[:, 2] > 0) & (self.boxes[:, 3] > 0)

    def as_sequence(self) -> Sequence:
        """The package's :class:`rolo.data.sequences.Sequence` (0-based ``xyxy``), whose ``valid``
        is :attr:`valid`: absent frames are excluded from training labels."""
        if not self.valid[0]:
            raise RoloInputError(f"{self.folder / 'groundtruth.txt'}:1: the target is absent or empty in the first frame")
        return Sequence(name=self.name, frames=self.frames, gt=self.gt, valid=self.valid)


def find_sequence_folder(root: str | Path, name: str) -> Path:
    """``<root>/<class>/<name>`` or, in a flat copy, ``<root>/<name>``."""
    root = Path(root)
    cls, _ = parse_name(name)
    if not root.is_dir():
        raise RoloInputError(f"{root}: LaSOT root folder not found")
    for folder in (root / cls / name, root / name):
        if folder.is_dir():
            return folder
    raise RoloInputError(f"{root / cls / name}: LaSOT sequence folder not found (nor {root / name})")


def load_lasot_sequence(folder: str | Path, name: str | None = None) -> LasotSequence:
    """Read and check one sequence folder (layout in the module's docstring).

    The ground truth, both flag files and the images must all cover the same N frames, numbered
    from 1; any missing or inconsistent file is a :class:`RoloInputError` naming it."""
    folder = Path(folder)
    name = name or folder.name
    cls, _ = parse_name(name)
    for f in ("groundtruth.txt", "full_occlusion.txt", "out_of_view.txt"):
        if not (folder / f).is_file():
            raise RoloInputError(f"{folder / f}: file not found (LaSOT sequence {name})")
    boxes = read_otb_boxes(folder / "groundtruth.txt")
    n = len(boxes)
    full = read_frame_labels(folder / "full_occlusion.txt", n).astype(bool)
    oov = read_frame_labels(folder / "out_of_view.txt", n).astype(bool)
    frames = list_frames(folder / "img")
    if int(frames[0].stem) != 1 or len(frames) != n:
        raise RoloInputError(
            f"{folder / 'img'}: images {frames[0].name}..{frames[-1].name} ({len(frames)}), but "
            f"{folder / 'groundtruth.txt'} has {n} rows (frames 1..{n})"
        )
    nlp_path = folder / "nlp.txt"
    nlp = nlp_path.read_text().strip() if nlp_path.is_file() else ""
    return LasotSequence(name, cls, folder, frames, boxes, full, oov, nlp)


def lasot_sequences(root: str | Path, split: str = "test", names: Iterable[str] | None = None) -> list[LasotSequence]:
    """A local LaSOT copy used in place: the sequences of ``split`` (or the given ``names``),
    each found (:func:`find_sequence_folder`) and checked (:func:`load_lasot_sequence`). The
    first problem stops it with one :class:`RoloInputError` naming the folder or file."""
    chosen = list(names) if names is not None else list(split_names(split))
    return [load_lasot_sequence(find_sequence_folder(root, n), n) for n in chosen]


def _class_folder(extracted: Path, cls: str, url: str) -> Path:
    """The folder of an extracted class zip holding ``<cls>-1 .. <cls>-20``, each checked by
    :func:`load_lasot_sequence`; problems are :class:`DownloadError` naming the URL."""
    candidates = [extracted / cls, extracted]
    folder = next((c for c in candidates if (c / f"{cls}-1").is_dir()), None)
    if folder is None:
        raise DownloadError(f"{url}: no {cls}/{cls}-1/ folder in the archive")
    for n in range(1, VIDEOS_PER_CLASS + 1):
        seq = folder / f"{cls}-{n}"
        if not seq.is_dir():
            raise DownloadError(f"{url}: {cls}/{cls}-{n}/ missing from the archive")
        try:
            load_lasot_sequence(seq, f"{cls}-{n}")
        except RoloInputError as e:
            rel = str(e).replace(str(extracted) + "/", "")
            raise DownloadError(f"{url}: {rel}") from None
    return folder


def fetch_lasot_class(
    cls: str,
    root: str | Path,
    base_url: str = LASOT_BASE_URL,
    retries: int = 4,
    backoff: float = 2.0,
    timeout: float = 60.0,
) -> Path:
    """Download ``<base_url>/<cls>.zip`` and put the class folder at ``root/<cls>`` -> that path.

    Nothing appears at ``root/<cls>`` unless the archive is intact, safe (no absolute, ``..`` or
    link members; :func:`rolo.data.download.safe_extract`) and holds all 20 sequences of the
    class, each complete (:func:`load_lasot_sequence`). Raises
    :class:`rolo.data.download.DownloadError` naming the URL otherwise."""
    if cls not in classes():
        raise RoloInputError(f"{cls!r} is not a LaSOT class")
    url = f"{base_url.rstrip('/')}/{cls}.zip"
    return fetch_folder(cls, url, root, lambda x: _class_folder(x, cls, url), retries=retries, backoff=backoff, timeout=timeout)


def fetch_lasot(
    root: str | Path,
    split: str = "test",
    base_url: str = LASOT_BASE_URL,
    retries: int = 4,
    backoff: float = 2.0,
    timeout: float = 60.0,
) -> list[LasotSequence]:
    """Download the classes ``split`` needs that ``root`` lacks (each :func:`fetch_lasot_class`;
    a class folder already present is left alone), then read the split in place
    (:func:`lasot_sequences`)."""
    root = Path(root)
    needed = dict.fromkeys(parse_name(n)[0] for n in split_names(split))
    for cls in needed:
        if not (root / cls).is_dir():
            fetch_lasot_class(cls, root, base_url, retries=retries, backoff=backoff, timeout=timeout)
    return lasot_sequences(root, split)
