"""Box conventions and conversions: the one place where OTB's 1-based boxes meet pixels.

Every box array in this package has shape ``(..., 4)`` and a float dtype. Names say the layout:

``xyxy``
    0-based continuous pixel coordinates ``(x1, y1, x2, y2)``, the convention of Ultralytics and
    of everything inside this package. Pixel column ``i`` covers ``[i, i + 1)``, so a box that
    covers pixel columns 0..9 has ``x1 = 0, x2 = 10``.
``xywh``
    ``(x1, y1, w, h)`` with the same 0-based origin.
``otb``
    OTB ground-truth and result files: ``(x, y, w, h)`` whose ``x, y`` are 1-based (MATLAB), so
    the top-left pixel of the image is ``(1, 1)``: ``otb = xywh + (1, 1, 0, 0)``.
``cxcywh_norm``
    Centre and size divided by the image width and height: the LSTM's box encoding.

Boxes are never rounded: IoU and centre error work on the continuous values (as OTB's toolkit
does). A box with non-positive width or height has IoU 0 with everything.
"""

from __future__ import annotations

import numpy as np

OTB_ORIGIN = 1.0
"""Offset added to 0-based coordinates to obtain OTB's 1-based ``x, y``."""


def otb_to_xyxy(otb: np.ndarray) -> np.ndarray:
    """OTB ``(x, y, w, h)`` with 1-based ``x, y`` -> 0-based ``xyxy``."""
    otb = np.asarray(otb, dtype=np.float64)
    x1 = otb[..., 0] - OTB_ORIGIN
    y1 = otb[..., 1] - OTB_ORIGIN
    return np.stack([x1, y1, x1 + otb[..., 2], y1 + otb[..., 3]], axis=-1)


def xyxy_to_otb(xyxy: np.ndarray) -> np.ndarray:
    """0-based ``xyxy`` -> OTB ``(x, y, w, h)`` with 1-based ``x, y``."""
    xyxy = np.asarray(xyxy, dtype=np.float64)
    w = xyxy[..., 2] - xyxy[..., 0]
    h = xyxy[..., 3] - xyxy[..., 1]
    return np.stack([xyxy[..., 0] + OTB_ORIGIN, xyxy[..., 1] + OTB_ORIGIN, w, h], axis=-1)


def xyxy_to_xywh(xyxy: np.ndarray) -> np.ndarray:
    xyxy = np.asarray(xyxy, dtype=np.float64)
    return np.concatenate([xyxy[..., :2], xyxy[..., 2:] - xyxy[..., :2]], axis=-1)


def xywh_to_xyxy(xywh: np.ndarray) -> np.ndarray:
    xywh = np.asarray(xywh, dtype=np.float64)
    return np.concatenate([xywh[..., :2], xywh[..., :2] + xywh[..., 2:]], axis=-1)


def xyxy_to_cxcywh_norm(xyxy: np.ndarray, image_wh: tuple[float, float]) -> np.ndarray:
    """``xyxy`` pixels -> centre/size divided by image ``(width, height)``."""
    xyxy = np.asarray(xyxy, dtype=np.float64)
    scale = np.tile(np.asarray(image_wh, dtype=np.float64), 2)  # (W, H, W, H)
    c = (xyxy[..., :2] + xyxy[..., 2:]) / 2
    wh = xyxy[..., 2:] - xyxy[..., :2]
    return np.concatenate([c, wh], axis=-1) / scale


def cxcywh_norm_to_xyxy(box: np.ndarray, image_wh: tuple[float, float]) -> np.ndarray:
    """Inverse of :func:`xyxy_to_cxcywh_norm`. Negative sizes are clamped to 0."""
    box = np.asarray(box, dtype=np.float64) * np.tile(np.asarray(image_wh, dtype=np.float64), 2)
    half = np.maximum(box[..., 2:], 0.0) / 2
    return np.concatenate([box[..., :2] - half, box[..., :2] + half], axis=-1)


def clip_xyxy(xyxy: np.ndarray, image_wh: tuple[float, float]) -> np.ndarray:
    """Clip ``xyxy`` boxes to the image ``[0, W] x [0, H]``."""
    xyxy = np.array(xyxy, dtype=np.float64, copy=True)
    w, h = image_wh
    xyxy[..., [0, 2]] = xyxy[..., [0, 2]].clip(0, w)
    xyxy[..., [1, 3]] = xyxy[..., [1, 3]].clip(0, h)
    return xyxy


def area(xyxy: np.ndarray) -> np.ndarray:
    xyxy = np.asarray(xyxy, dtype=np.float64)
    return np.clip(xyxy[..., 2] - xyxy[..., 0], 0, None) * np.clip(xyxy[..., 3] - xyxy[..., 1], 0, None)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise IoU of broadcastable ``xyxy`` arrays ``(..., 4)`` -> ``(...)``.

    Degenerate boxes (zero or negative size) and NaN boxes give 0.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    iw = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    ih = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = area(a) + area(b) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(union > 0, inter / union, 0.0)
    return np.nan_to_num(out, nan=0.0)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of ``a (N, 4)`` and ``b (M, 4)`` ``xyxy`` boxes -> ``(N, M)``."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    return iou(a[:, None, :], b[None, :, :])


def centre_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance in pixels between the centres of ``xyxy`` boxes ``(..., 4)``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ca = (a[..., :2] + a[..., 2:]) / 2
    cb = (b[..., :2] + b[..., 2:]) / 2
    return np.linalg.norm(ca - cb, axis=-1)
