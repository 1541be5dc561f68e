"""OTB-2015 (OTB-100): the sequence catalog and every layout quirk of the data.

The catalog (``otb_catalog.csv``, package data) lists the 100 sequences of the benchmark, one row
each, built from the benchmark's own sequence configs (``MakeSequenceConfigVer10.m``/``Ver11.m``
of jwlim/tracker_benchmark: names, attribute tags, ground-truth files and ranges) and the
widely used per-sequence frame ranges (pytracking's OTB list: ``startFrame``, ``endFrame``,
``initOmit``). Columns:

``name``          the benchmark's name (``Jogging.1``, ``Human4.2``, ...)
``folder``        the sequence folder and zip name (``Jogging``, ``Human4``)
``gt_file``       ground truth inside the folder (``groundtruth_rect.2.txt`` for Human4)
``first_frame``, ``last_frame``  image numbers (in ``img/``) of the annotated range; the ground
                  truth has exactly one row per image of that range (David 300..770, BlurCar1
                  247..988 with images numbered from 0247, Football1 1..74 of 81 images, ...)
``init_omit``     frames skipped at the start under the ``official`` protocol (Tiger1: 5, so it is
                  tracked and scored from frame 6; ``got10k`` uses all 354 frames)
``attributes``    OTB's challenge tags (IV SV OCC DEF MB FM IPR OPR OV BC LR), space separated
``otb30``         1 for the 30 videos of ROLO's OTB-30 subset
``face_gt``       1 for the face-ground-truth generalization videos (Boy, Jumping, Surfer)
``aliases``       other spellings accepted for the name (``SUV``; got10k's ``Human4``;
                  pytracking's ``Jogging_1``; pysot's ``Jogging-1``)

Two-target videos (Jogging, Skating2) are two sequences sharing one image folder, each with its
own ground-truth file; Human4's only scored target is ``groundtruth_rect.2.txt``.

A *protocol* (``official`` or ``got10k``, see :mod:`rolo.evaluation.scoring`) fixes the frame range used:
``official`` applies ``init_omit``, ``got10k`` does not. Nothing here writes into an OTB folder;
:func:`link_sequence` prepares a sequence as a plain OTB-layout folder elsewhere (links to the
images of the range and its ground-truth rows), which the pipeline reads like any other.
"""

from __future__ import annotations

import csv
import difflib
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rolo.errors import RoloInputError
from rolo.evaluation.protocols import check_protocol
from rolo.utils.io import atomic_path, link_frames, save_json
from rolo.data.sequences import list_frames, read_otb_boxes

CATALOG_PATH = Path(__file__).resolve().with_name("otb_catalog.csv")
ATTRIBUTES = ("IV", "SV", "OCC", "DEF", "MB", "FM", "IPR", "OPR", "OV", "BC", "LR")
GROUPS = {"otb100": lambda e: True, "otb30": lambda e: e.otb30, "face": lambda e: e.face_gt}
"""Named sets of sequences (case-insensitive) accepted wherever a list of names is."""
SEQUENCE_JSON = "sequence.json"


@dataclass(frozen=True)
class OtbEntry:
    """One catalog row. Frame numbers are the image numbers of ``img/`` (1-based, inclusive)."""

    name: str
    folder: str
    gt_file: str
    first_frame: int
    last_frame: int
    init_omit: int
    attributes: tuple[str, ...]
    otb30: bool
    face_gt: bool
    aliases: tuple[str, ...]

    def frame_range(self, protocol: str) -> tuple[int, int]:
        """``(first, last)`` image numbers tracked and scored under ``protocol`` (inclusive)."""
        check_protocol(protocol)
        skip = self.init_omit if protocol == "official" else 0
        return self.first_frame + skip, self.last_frame

    def skipped(self, protocol: str) -> int:
        """Ground-truth rows skipped at the start under ``protocol``."""
        return self.frame_range(protocol)[0] - self.first_frame


@functools.cache
def load_catalog(path: str | Path = CATALOG_PATH) -> dict[str, OtbEntry]:
    """``{name: entry}`` of the catalog, in file order. Malformed rows fail naming the line."""
    path = Path(path)
    entries: dict[str, OtbEntry] = {}
    with open(path, newline="") as f:
        for lineno, row in enumerate(csv.DictReader(f), start=2):
            try:
                e = OtbEntry(
                    name=row["name"],
                    folder=row["folder"],
                    gt_file=row["gt_file"],
                    first_frame=int(row["first_frame"]),
                    last_frame=int(row["last_frame"]),
                    init_omit=int(row["init_omit"]),
                    attributes=tuple(row["attributes"].split()),
                    otb30=row["otb30"] == "1",
                    face_gt=row["face_gt"] == "1",
                    aliases=tuple(row["aliases"].split()),
                )
            except (KeyError, TypeError, ValueError) as err:
                raise RoloInputError(f"{path}:{lineno}: malformed catalog row ({err})") from None
            unknown = set(e.attributes) - set(ATTRIBUTES)
            if unknown or e.first_frame < 1 or e.last_frame < e.first_frame + e.init_omit or e.name in entries:
                raise RoloInputError(f"{path}:{lineno}: invalid catalog row {row}")
            entries[e.name] = e
    return entries


def find_entry(name: str, catalog: dict[str, OtbEntry] | None = None) -> OtbEntry:
    """The entry called ``name`` or having it as an alias (exact spelling)."""
    catalog = load_catalog() if catalog is None else catalog
    if name in catalog:
        return catalog[name]
    for e in catalog.values():
        if name in e.aliases:
            return e
    spellings = list(catalog) + [a for e in catalog.values() for a in e.aliases]
    close = difflib.get_close_matches(name, spellings, n=3) or [s for s in spellings if s.lower() == name.lower()]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise RoloInputError(f"{name!r} is not an OTB-2015 sequence ({CATALOG_PATH.name}){hint}")


def lookup(name: str) -> OtbEntry | None:
    """The catalog entry of ``name`` (or alias), or None."""
    try:
        return find_entry(name)
    except RoloInputError:
        return None


def expand_names(names: list[str]) -> list[str]:
    """Names with group names (``otb100``, ``otb30``, ``face``) expanded to catalog names."""
    out: list[str] = []
    for n in names:
        group = GROUPS.get(n.lower())
        out.extend([e.name for e in load_catalog().values() if group(e)] if group else [n])
    return list(dict.fromkeys(out))


def find_folder(root: str | Path, entry: OtbEntry) -> Path:
    """The top folder of ``entry`` under an OTB root: ``root/<Folder>``, else the one folder whose
    name differs only in case (``root/suv``)."""
    root = Path(root)
    if not root.is_dir():
        raise RoloInputError(f"{root}: OTB root folder not found")
    exact = root / entry.folder
    if exact.is_dir():
        return exact
    other = [p for p in root.iterdir() if p.is_dir() and p.name.lower() == entry.folder.lower()]
    if len(other) == 1:
        return other[0]
    raise RoloInputError(f"{exact}: sequence folder of {entry.name} not found under {root}")


def sequence_dir(top: str | Path, entry: OtbEntry) -> Path:
    """The folder holding ``img/`` inside a sequence's top folder: the top folder itself or, as some
    unpacked copies have it, a folder of the same name inside (``Basketball/Basketball/img``)."""
    top = Path(top)
    for d in (top, top / entry.folder, top / top.name):
        if (d / "img").is_dir():
            return d
    raise RoloInputError(f"{top}: no img/ folder for {entry.name} (expected {top / 'img'})")


def sequence_folder(root: str | Path, entry: OtbEntry) -> Path:
    """The folder holding ``img/`` and the ground truth of ``entry`` under an OTB root."""
    return sequence_dir(find_folder(root, entry), entry)


def otb_ground_truth(folder: str | Path, entry: OtbEntry, protocol: str) -> np.ndarray:
    """Raw OTB ground truth ``(N, 4)`` (1-based ``x, y, w, h``) of the frames scored under
    ``protocol``; N = ``last - first + 1`` of :meth:`OtbEntry.frame_range`.

    The file must hold one row per image of the catalog's annotated range (any delimiters).
    """
    path = Path(folder) / entry.gt_file
    rows = read_otb_boxes(path)
    expected = entry.last_frame - entry.first_frame + 1
    if len(rows) != expected:
        raise RoloInputError(
            f"{path}: {len(rows)} boxes, but the catalog's range of {entry.name} is frames "
            f"{entry.first_frame}..{entry.last_frame} ({expected} boxes)"
        )
    return rows[entry.skipped(protocol):]


def otb_frames(folder: str | Path, entry: OtbEntry, protocol: str) -> tuple[Path, ...]:
    """Image paths of the frames scored under ``protocol``, in order (one per ground-truth row)."""
    img = Path(folder) / "img"
    frames = list_frames(img)
    first, last = entry.frame_range(protocol)
    start = int(frames[0].stem)
    end = start + len(frames) - 1
    if first < start or last > end:
        raise RoloInputError(
            f"{img}: {entry.name} needs images {first}..{last}, the folder holds {start}..{end}"
        )
    return tuple(frames[first - start : last - start + 1])


def _format_row(row: np.ndarray) -> str:
    return ",".join(np.format_float_positional(v, trim="-") for v in row)


def link_sequence(source: str | Path, entry: OtbEntry, protocol: str, out_dir: str | Path) -> dict:
    """Prepare ``entry`` (top folder ``source``) as a plain OTB-layout folder ``out_dir`` for ``protocol``.

    Writes ``out_dir/img/`` (symbolic links to the source images of the scored range, original
    numbers), ``out_dir/groundtruth_rect.txt`` (their rows, comma separated, values unchanged)
    and ``out_dir/sequence.json`` (catalog entry, protocol, source, range). The source is only
    read. Returns the metadata.
    """
    folder = sequence_dir(source, entry)
    gt = otb_ground_truth(folder, entry, protocol)
    frames = otb_frames(folder, entry, protocol)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    link_frames(frames, out_dir / "img")
    with atomic_path(out_dir / "groundtruth_rect.txt") as t:
        t.write_text("".join(_format_row(r) + "\n" for r in gt))
    first, last = entry.frame_range(protocol)
    meta = {
        "name": entry.name,
        "folder": entry.folder,
        "gt_file": entry.gt_file,
        "protocol": protocol,
        "first_frame": first,
        "last_frame": last,
        "frames": len(frames),
        "attributes": list(entry.attributes),
        "source": str(folder.resolve()),
    }
    save_json(out_dir / SEQUENCE_JSON, meta)
    return meta


def sequence_protocol(seq_dir: str | Path) -> str | None:
    """The protocol a folder prepared by :func:`link_sequence` was prepared for; None for a plain
    sequence folder."""
    path = Path(seq_dir) / SEQUENCE_JSON
    if not path.is_file():
        return None
    with open(path) as f:
        return check_protocol(json.load(f)["protocol"])


def video_attributes(name: str) -> list[str]:
    """OTB's challenge tags of a sequence (name or alias); ``[]`` for a name not in the catalog."""
    entry = lookup(name)
    return list(entry.attributes) if entry else []
