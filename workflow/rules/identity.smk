# Frame identity: each sequence's frames as a value (rolo.utils.provenance.folder_identity: names,
# sizes, mtime_ns), carried as `params: frames=...` by every rule that reads frames, so that a frame
# overwritten, added or deleted in place reruns those jobs (a directory() input is compared by the
# folder's mtime only). Computed only for folders this workflow does not write: the user's folders
# under dataset.root, dataset.otb.otb_root's, or an extra dataset's (datasets.<name>.root; a video
# <dataset>__<name> is read through its view of links, so the identity is of the copy's frames).
# Generated folders (the demo's synthesize, OTB downloads) are outputs of this workflow, tracked as
# such; their value is None, so that a first run (folders absent) and a second (present) agree and
# a rerun plans nothing.
import functools
import os

from rolo.utils.provenance import folder_identity


def frames_folder(video):
    """The image folder whose identity reruns ``video``'s frame readers; None for generated ones
    (and for all with ROLO_FRAME_IDENTITY=off, the benchmark's switch: benchmarks/identity.py).
    """
    if os.environ.get("ROLO_FRAME_IDENTITY") == "off":
        return None
    dataset, name = data_sources.parse_video_id(video)
    # an extra dataset's frames (datasets.<dataset>.root), not ours
    if dataset is not None:
        try:
            return str(data_sources.frames_folder(dataset, source_root(dataset), name))
        except RoloInputError:
            return None  # reported by the rule that links the video
    if SYNTHETIC:
        return None
    if OTB:
        if not OTB_LOCAL:
            return None
        from rolo.data.otb import sequence_dir

        try:
            return str(sequence_dir(otb_source(video), find_entry(video)) / "img")
        except RoloInputError:
            return None  # reported by the rule that prepares the sequence
    return f"{DATA}/{video}/img"


@functools.lru_cache(maxsize=None)
def frames_identity(video):
    folder = frames_folder(video)
    return None if folder is None else folder_identity(folder)


def frames_of(videos):
    """``{video: identity}`` of ``videos`` (a params value)."""
    return {v: frames_identity(v) for v in videos}


def tracker_frames(exp, tracker):
    """The identities of the frames ``tracker`` reads on ``exp``'s test videos ({} if it reads none)."""
    return frames_of(
        [v for v, f in tracker_video_files(exp, tracker).items() if "images" in f]
    )
