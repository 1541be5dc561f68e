"""The LSTM's per-frame input and its windows (numpy only, so light jobs need not import torch).

Per frame the LSTM reads the detector's pooled backbone features, the associated detection's box,
its confidence and the association's ``lost`` flag. The box is given as the model kind reads it:

``coordinate``  ``[features (C), box (4), conf (1), lost (1)]``, the box as centre/size
                normalised by the image size (``cxcywh_norm``).
``heatmap``     ``[features (C), mask (GRID * GRID), conf (1), lost (1)]``, the box rendered on the
                heatmap grid (:func:`rolo.tracking.heatmap.box_to_grid`, row-major).
"""

from __future__ import annotations

import numpy as np

from rolo.utils.boxes import xyxy_to_cxcywh_norm

BOX_INPUTS = 6  # cx, cy, w, h, conf, lost
KINDS = ("coordinate", "heatmap")


def encode_inputs(
    features: np.ndarray, boxes: np.ndarray, conf: np.ndarray, lost: np.ndarray, image_wh: tuple[float, float]
) -> np.ndarray:
    """Per-frame LSTM inputs ``(T, C + 6)`` float32 from ``features (T, C)``, associated ``boxes (T, 4)``
    xyxy, ``conf (T,)`` and ``lost (T,)``."""
    box = xyxy_to_cxcywh_norm(boxes, image_wh)
    return np.concatenate(
        [features, box, np.asarray(conf, np.float64)[:, None], np.asarray(lost, np.float64)[:, None]], axis=1
    ).astype(np.float32)


def encode_heatmap_inputs(
    features: np.ndarray, boxes: np.ndarray, conf: np.ndarray, lost: np.ndarray, image_wh: tuple[float, float]
) -> np.ndarray:
    """Per-frame heatmap-model inputs ``(T, C + GRID * GRID + 2)`` float32 (arguments as
    :func:`encode_inputs`)."""
    from rolo.tracking.heatmap import box_to_grid

    mask = box_to_grid(boxes, image_wh).reshape(len(features), -1)
    return np.concatenate(
        [features, mask, np.asarray(conf, np.float64)[:, None], np.asarray(lost, np.float64)[:, None]], axis=1
    ).astype(np.float32)


def encode_for(kind: str, features, boxes, conf, lost, image_wh) -> np.ndarray:
    """The per-frame inputs of model ``kind`` (see the module docstring)."""
    if kind == "coordinate":
        return encode_inputs(features, boxes, conf, lost, image_wh)
    if kind == "heatmap":
        return encode_heatmap_inputs(features, boxes, conf, lost, image_wh)
    raise ValueError(f"unknown model kind {kind!r}; known: {KINDS}")


def window_indices(ends: np.ndarray, segment_start: int | np.ndarray, steps: int) -> np.ndarray:
    """Frame indices ``(M, steps)`` of the windows ending at ``ends (M,)``.

    A window never reaches before its segment's start: it is padded by repeating the segment's
    first frame, in training and in tracking alike.
    """
    ends = np.asarray(ends, dtype=np.int64)
    idx = ends[:, None] + np.arange(-steps + 1, 1)[None, :]
    return np.maximum(idx, np.asarray(segment_start, dtype=np.int64).reshape(-1, 1))
