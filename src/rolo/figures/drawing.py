"""Boxes and text drawn on frames, and H.264 video writing (OpenCV and imageio-ffmpeg, no matplotlib):
shared by the workflow's panels and videos and by ``rolo track``.

Colours come from the tracker registry (:mod:`rolo.tracking.registry`): ground truth red, YOLO-only
blue, ROLO green, as in the original ROLO's figures.
"""

from __future__ import annotations

import numpy as np

from rolo.tracking.registry import GT_RGB, TRACKERS
from rolo.utils.io import atomic_path


def box_rgb(kind: str) -> tuple[int, int, int]:
    """The RGB colour of ``kind``'s box: ``gt`` or a registry tracker with a box colour."""
    if kind == "gt":
        return GT_RGB
    rgb = TRACKERS[kind].box_rgb if kind in TRACKERS else None
    if rgb is None:
        raise ValueError(f"tracker {kind!r} has no box colour in the registry")
    return rgb


def box_label(kind: str) -> str:
    return "ground truth" if kind == "gt" else TRACKERS[kind].label


def draw_order(kinds) -> list[str]:
    """Trackers in reverse registry order (so ROLO's box lies on top of the others where they share
    an edge), the ground truth last (thinner, on top) so that it stays visible."""
    order = [*reversed(TRACKERS), "gt"]
    return sorted(kinds, key=order.index)


def draw_boxes(image_rgb: np.ndarray, boxes: dict[str, np.ndarray], thickness: int = 2) -> np.ndarray:
    """Draw ``{kind: xyxy box}`` (``gt`` or trackers with a registry box colour) on a copy of an RGB
    image, in :func:`draw_order`; the ground truth with a 1-px line.

    The rectangle's edges run along the box's pixel bounds: columns ``floor(x1)`` and ``ceil(x2) - 1``.
    """
    import cv2

    out = np.ascontiguousarray(image_rgb).copy()
    for kind in draw_order(boxes):
        box = boxes[kind]
        if box is None or not np.isfinite(box).all():
            continue
        x1, y1 = int(np.floor(box[0])), int(np.floor(box[1]))
        x2, y2 = int(np.ceil(box[2])) - 1, int(np.ceil(box[3])) - 1
        cv2.rectangle(out, (x1, y1), (x2, y2), box_rgb(kind), 1 if kind == "gt" else thickness)
    return out


def label_lines(image_rgb: np.ndarray, lines: list[tuple[str, tuple[int, int, int]]], scale: float = 0.4) -> np.ndarray:
    """Write ``[(text, RGB colour)]`` in place at the image's top-left corner, one line under the other,
    each on a black box (OpenCV's Hershey font at ``scale``); returns the image."""
    import cv2

    lh = int(round(37 * scale))
    for i, (text, colour) in enumerate(lines):
        (tw, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        cv2.rectangle(image_rgb, (0, lh * i), (tw + 6, lh * (i + 1)), (0, 0, 0), -1)
        cv2.putText(image_rgb, text, (3, lh * i + round(lh * 0.73)), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)
    return image_rgb


def write_video(path, frames_rgb, fps: float = 20.0) -> int:
    """Encode RGB frames (an iterable of equal-size ``(H, W, 3)`` uint8) as H.264/yuv420p MP4, playable
    in browsers (imageio-ffmpeg's bundled encoder). Returns the number of frames."""
    import imageio_ffmpeg

    n = 0
    with atomic_path(path) as tmp:
        writer = None
        for frame in frames_rgb:
            if writer is None:
                h, w = frame.shape[:2]
                writer = imageio_ffmpeg.write_frames(
                    str(tmp), (w, h), fps=fps, codec="libx264", pix_fmt_out="yuv420p", macro_block_size=2,
                    quality=None, output_params=["-crf", "20", "-movflags", "+faststart"], ffmpeg_log_level="error",
                )
                writer.send(None)
            writer.send(np.ascontiguousarray(frame, dtype=np.uint8).tobytes())
            n += 1
        if writer is None:
            raise ValueError(f"{path}: no frames to encode")
        writer.close()
    return n
