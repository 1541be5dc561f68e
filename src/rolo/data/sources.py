"""Extra dataset sources of a run (config ``datasets``) for cross-dataset experiments.

A run has one *main* dataset (``dataset``: OTB-2015, the synthetic demo, or one's own OTB-layout
folders); ``datasets`` adds LaSOT and/or GOT-10k copies beside it, read in place and never written
to. A ``cross_dataset`` experiment (:mod:`rolo.data.splits`) names its training and test videos by
source: ``{dataset: lasot, videos: [airplane-1]}``.

Video ids. The workflow keys everything per video (``results/features/<video>/``...), so a video
of an extra source gets a namespaced, wildcard-safe id ``<dataset>__<name>`` (``lasot__airplane-1``,
``got10k__GOT-10k_Train_000001``): it cannot collide with a main-dataset name or another source's.
Main-dataset videos keep their plain names (:func:`video_id`, :func:`parse_video_id`).

View. The workflow reads an extra source's video through an OTB-layout *view* it writes under its
own ``resources/`` (:func:`link_source_sequence`): ``img/`` of symbolic links to the source's frames
(original names), ``groundtruth_rect.txt`` with the source's boxes, where every frame that is not a
usable label (:attr:`rolo.data.lasot.LasotSequence.valid`,
:attr:`rolo.data.got10k.Got10kSequence.valid`: absent, fully occluded, out of view, an empty box)
is written ``0,0,0,0``, OTB's mark of an unannotated frame, which
:func:`rolo.data.sequences.load_sequence` reads as not ``valid``; and ``source.json`` (where it came
from, how many frames carry no label). So such frames are never training labels, exactly as the
package's ``as_sequence()`` says, while they stay in the video as inputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rolo.errors import RoloInputError
from rolo.utils.io import atomic_path, link_frames, save_json

SOURCES = ("lasot", "got10k")
"""Extra datasets a run may declare (config ``datasets.<source>``)."""
MAIN_NAMES = ("main", "otb", "synthetic")
"""Names of the run's main dataset in an experiment's source (``otb``/``synthetic`` must match it)."""
SEP = "__"
SOURCE_SPLITS = {"lasot": ("train", "test", "all"), "got10k": ("train", "val")}
"""What a source's ``split`` may name: LaSOT's official split (the package catalog), or GOT-10k's
subsets with labels on every frame (``<root>/<subset>/list.txt``)."""
SOURCE_JSON = "source.json"


def video_id(dataset: str, name: str) -> str:
    """The workflow's id of video ``name`` of ``dataset``: ``name`` for the main dataset,
    ``<dataset>__<name>`` for an extra source."""
    if dataset in MAIN_NAMES:
        return name
    if dataset not in SOURCES:
        raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join((*MAIN_NAMES, *SOURCES))}")
    return f"{dataset}{SEP}{name}"


def parse_video_id(video: str) -> tuple[str | None, str]:
    """``"lasot__airplane-1"`` -> ``("lasot", "airplane-1")``; a main-dataset name -> ``(None, name)``."""
    head, sep, tail = video.partition(SEP)
    if sep and head in SOURCES and tail:
        return head, tail
    return None, video


def is_source_video(video: str) -> bool:
    return parse_video_id(video)[0] is not None


def source_names(dataset: str, root: str | Path | None, split: str) -> list[str]:
    """The video names of ``split`` of ``dataset`` (:data:`SOURCE_SPLITS`)."""
    if split not in SOURCE_SPLITS.get(dataset, ()):
        raise RoloInputError(f"{dataset}: split {split!r}; allowed: {', '.join(SOURCE_SPLITS.get(dataset, ()))}")
    if dataset == "lasot":
        from rolo.data.lasot import split_names

        return list(split_names(split))
    from rolo.data.got10k import read_list

    return read_list(root, split)


def _got10k_folder(root: Path, name: str) -> tuple[Path, str]:
    for subset in SOURCE_SPLITS["got10k"]:
        if (root / subset / name).is_dir():
            return root / subset / name, subset
    raise RoloInputError(f"{root / 'train' / name}: GOT-10k sequence folder not found (nor in {root / 'val'})")


def source_folder(dataset: str, root: str | Path, name: str) -> Path:
    """The sequence folder of ``name`` in a local copy ``root`` of ``dataset``."""
    root = Path(root)
    if not root.is_dir():
        raise RoloInputError(f"{root}: {dataset} root folder not found")
    if dataset == "lasot":
        from rolo.data.lasot import find_sequence_folder

        return find_sequence_folder(root, name)
    if dataset == "got10k":
        return _got10k_folder(root, name)[0]
    raise RoloInputError(f"unknown dataset {dataset!r}; known: {', '.join(SOURCES)}")


def frames_folder(dataset: str, root: str | Path, name: str) -> Path:
    """The folder holding the frames of ``name`` (LaSOT: ``<seq>/img``; GOT-10k: the sequence folder)."""
    folder = source_folder(dataset, root, name)
    return folder / "img" if dataset == "lasot" else folder


def load_source(dataset: str, root: str | Path, name: str):
    """Read and check one video: a :class:`rolo.data.lasot.LasotSequence` or
    :class:`rolo.data.got10k.Got10kSequence` (both with ``frames``, ``boxes``, ``valid``, ``visible``)."""
    if dataset == "lasot":
        from rolo.data.lasot import load_lasot_sequence

        return load_lasot_sequence(source_folder(dataset, root, name), name)
    if dataset == "got10k":
        from rolo.data.got10k import load_got10k_sequence

        folder, subset = _got10k_folder(Path(root), name)
        return load_got10k_sequence(folder, subset)
    raise RoloInputError(f"unknown dataset {dataset!r}; known: {', '.join(SOURCES)}")


def _row(box, valid: bool) -> str:
    return ",".join(f"{v:g}" for v in box) if valid else "0,0,0,0"


def link_source_sequence(dataset: str, root: str | Path, name: str, out_dir: str | Path) -> dict:
    """Write the OTB-layout view of one source video into ``out_dir`` (see the module's docstring);
    the source is only read. Its first frame must be a usable label (a training video's first
    training frame must be). Returns the metadata written to ``source.json``."""
    seq = load_source(dataset, root, name)
    seq.as_sequence()  # checks the first frame (one line naming the ground-truth file)
    valid = np.asarray(seq.valid, bool)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    link_frames(seq.frames, out_dir / "img")
    with atomic_path(out_dir / "groundtruth_rect.txt") as t:
        t.write_text("".join(_row(b, v) + "\n" for b, v in zip(seq.boxes, valid)))
    meta = {
        "dataset": dataset,
        "name": name,
        "video": video_id(dataset, name),
        "source": str(Path(seq.folder).resolve()),
        "frames": len(seq.frames),
        "absent": int((~np.asarray(seq.visible, bool)).sum()),
        "unlabelled": int((~valid).sum()),
    }
    save_json(out_dir / SOURCE_JSON, meta)
    return meta
