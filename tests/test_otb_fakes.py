"""Fake OTB-2015 trees for the OTB tests: tiny real JPEGs (hard links of one 8x8 image), ground truth
with the real data's quirks (frame ranges, two-target videos, delimiters, invalid rows). Imported by
the other test_otb*/test_score* modules; the tests here check the fakes themselves."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from rolo.data.otb import load_catalog

JPEG = cv2.imencode(".jpg", np.full((8, 8, 3), 127, np.uint8))[1].tobytes()

IMAGE_SPAN = {"David": (1, 770), "Football1": (1, 81), "Freeman3": (1, 474), "Freeman4": (1, 297), "Diving": (1, 231)}
"""Image numbers of folders holding more images than their annotated range (as the real zips)."""

INVALID_ROWS = {"Board": [698], "Twinnings": [472]}
"""1-based ground-truth rows that are 0,0,0,0 in the fakes, as in the real files."""


def entries_of(folder: str) -> list:
    return [e for e in load_catalog().values() if e.folder == folder]


def image_span(folder: str) -> tuple[int, int]:
    es = entries_of(folder)
    return IMAGE_SPAN.get(folder, (min(e.first_frame for e in es), max(e.last_frame for e in es)))


def write_images(img_dir: Path, first: int, last: int, digits: int = 4) -> None:
    """``img_dir/<first>.jpg .. <last>.jpg`` (zero-padded to ``digits``), hard links of one JPEG."""
    img_dir.mkdir(parents=True, exist_ok=True)
    src = img_dir / f"{first:0{digits}d}.jpg"
    src.write_bytes(JPEG)
    for n in range(first + 1, last + 1):
        os.link(src, img_dir / f"{n:0{digits}d}.jpg")


def gt_rows(n: int, seed: int) -> np.ndarray:
    """``(n, 4)`` OTB boxes (1-based x, y, w, h), integers, deterministic per ``seed``."""
    rng = np.random.default_rng(seed)
    xy = rng.integers(5, 60, size=(n, 2))
    wh = rng.integers(10, 40, size=(n, 2))
    return np.concatenate([xy, wh], axis=1).astype(np.float64)


def format_rows(rows: np.ndarray, delimiter: str = ",") -> str:
    """OTB text; ``delimiter`` ``mixed`` alternates comma, tab and space within and across lines."""
    lines = []
    for i, r in enumerate(rows):
        vals = [f"{v:g}" for v in r]
        if delimiter == "mixed":
            seps = [(",", "\t", " ")[(i + k) % 3] for k in range(3)]
            lines.append(vals[0] + "".join(s + v for s, v in zip(seps, vals[1:])))
        else:
            lines.append(delimiter.join(vals))
    return "\n".join(lines) + "\n"


def make_folder(root: Path, folder: str, delimiter: str = ",", seed: int = 0) -> dict[str, np.ndarray]:
    """One fake sequence folder as in the real data -> ``{entry name: its full ground truth}``."""
    top = root / folder
    write_images(top / "img", *image_span(folder), digits=5 if folder == "Board" else 4)
    gts = {}
    for k, e in enumerate(entries_of(folder)):
        rows = gt_rows(e.last_frame - e.first_frame + 1, seed + 17 * k + sum(map(ord, e.name)))
        for r in INVALID_ROWS.get(e.name, []):
            rows[r - 1] = 0
        (top / e.gt_file).write_text(format_rows(rows, delimiter))
        gts[e.name] = rows
    if folder == "Human4":  # the real folder also holds an empty groundtruth_rect.1.txt
        (top / "groundtruth_rect.1.txt").write_text("")
    return gts


def make_tree(root: Path, folders: list[str], delimiter: str = ",") -> dict[str, np.ndarray]:
    gts = {}
    for f in folders:
        gts.update(make_folder(root, f, delimiter))
    return gts


def test_fake_folders_match_the_catalog(tmp_path):
    gts = make_tree(tmp_path, ["David", "Human4", "Board"])
    assert len(gts["David"]) == 471 and len(list((tmp_path / "David/img").iterdir())) == 770
    assert (tmp_path / "Board/img/00698.jpg").is_file() and (gts["Board"][697] == 0).all()
    assert set(gts) == {"David", "Human4.2", "Board"}
    assert cv2.imread(str(tmp_path / "David/img/0300.jpg")).shape == (8, 8, 3)


def test_mixed_delimiters_are_mixed():
    text = format_rows(np.array([[1, 2, 3, 4], [5, 6, 7, 8]]), "mixed")
    assert "," in text and "\t" in text and " " in text
