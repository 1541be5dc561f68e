"""Boxes on the heatmap grid and back (numpy only): ROLO-heatmap's input mask, target and decoder.

The image is divided into ``GRID x GRID`` cells (32 x 32 = 1024, as in the paper); a cell spans
``W / GRID`` by ``H / GRID`` pixels, so cells are not square for non-square images. Row ``i`` is
the image's ``i``-th band from the top, column ``j`` its ``j``-th band from the left. Grid
coordinates ``(u, v)`` run from 0 to ``GRID`` over the image: ``u = x / W * GRID``.

Rendering (:func:`box_to_grid`): a cell's value is the fraction of its area the box covers, after
clipping the box to the image (a box crossing the border never wraps around; one outside the image
renders as zeros). A box smaller than a cell gives a cell with a value below 1.

Decoding (:func:`grid_to_box`), the rule that turns a predicted map of probabilities into a box from
the map's extent (not a fixed-size box around the peak):

1. The target region is the set of cells with ``p >= threshold * peak`` (``threshold`` 0.5)
   8-connected to the peak cell (OpenCV's connected components).
2. The region's profile on each axis: ``cx[j] = max over the region's rows of p[i, j]`` for every
   column (the columns next to the region count too), ``cy[i]`` likewise, divided by the other
   axis' coverage so that a profile is the fraction of each column (row) the box covers: a region
   three or more cells long on an axis covers an inner cell fully; when both axes are that long
   the map is read relative to its peak (both coverages = peak, 1 for a rendered box); when only one
   is, the other's coverage is the peak; when neither is, both are ``sqrt(peak)``.
3. If the region spans columns ``j0..j1`` with ``j1 > j0``: ``left = j0 + (1 - cx[j0]) - cx[j0 - 1]``
   and ``right = j1 + cx[j1] + cx[j1 + 1]`` (a missing neighbour counts 0); if ``j0 == j1``: width
   ``cx[j0 - 1] + cx[j0] + cx[j0 + 1]`` centred at ``j0 + 0.5 + (cx[j0 + 1] - cx[j0 - 1]) / 2``.
   Rows alike.

On maps rendered by :func:`box_to_grid` (random boxes, ``tests/test_unit_heatmap.py``) the rule
returns the clipped box exactly when it is at least two cells wide and tall; for boxes one to two
cells in size every edge is within 0.5 cell (99 % within 0.25); for boxes smaller than a cell,
edges within 0.75 cell and the centre within 0.5 cell.
"""

from __future__ import annotations

import numpy as np

GRID = 32
THRESHOLD = 0.5


def _coverage(lo: np.ndarray, hi: np.ndarray, grid: int) -> np.ndarray:
    """``(N,)`` intervals in grid units -> ``(N, grid)`` covered fraction of each unit cell."""
    edges = np.arange(grid, dtype=np.float64)
    return np.clip(np.minimum(hi[:, None], edges + 1) - np.maximum(lo[:, None], edges), 0.0, 1.0)


def box_to_grid(boxes: np.ndarray, image_wh: tuple[float, float], grid: int = GRID) -> np.ndarray:
    """``(N, 4)`` 0-based xyxy pixel boxes -> ``(N, grid, grid)`` float32 covered fraction per cell.

    The box is clipped to the image; NaN boxes render as zeros."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    w, h = float(image_wh[0]), float(image_wh[1])
    b = np.where(np.isfinite(b), b, 0.0)
    u0, u1 = np.clip(b[:, 0], 0, w) / w * grid, np.clip(b[:, 2], 0, w) / w * grid
    v0, v1 = np.clip(b[:, 1], 0, h) / h * grid, np.clip(b[:, 3], 0, h) / h * grid
    cov_x = _coverage(u0, u1, grid)
    cov_y = _coverage(v0, v1, grid)
    return (cov_y[:, :, None] * cov_x[:, None, :]).astype(np.float32)


def _region(p: np.ndarray, threshold: float) -> np.ndarray:
    """Boolean mask of the cells ``>= threshold * peak`` 8-connected to the peak cell."""
    import cv2

    peak = np.unravel_index(int(np.argmax(p)), p.shape)
    above = p >= threshold * p[peak]
    _, labels = cv2.connectedComponents(above.astype(np.uint8), connectivity=8)
    return labels == labels[peak]


def _extent(profile: np.ndarray, lo: int, hi: int) -> tuple[float, float]:
    """Edges in grid units of the region spanning cells ``lo..hi`` of an axis profile (step 3)."""
    n = len(profile)

    def at(k: int) -> float:
        return float(profile[k]) if 0 <= k < n else 0.0

    if hi > lo:
        return lo + (1.0 - at(lo)) - at(lo - 1), hi + at(hi) + at(hi + 1)
    size = at(lo - 1) + at(lo) + at(lo + 1)
    centre = lo + 0.5 + (at(lo + 1) - at(lo - 1)) / 2
    return centre - size / 2, centre + size / 2


def grid_to_box(prob: np.ndarray, image_wh: tuple[float, float], threshold: float = THRESHOLD) -> np.ndarray:
    """A ``(grid, grid)`` map of probabilities -> the ``(4,)`` xyxy pixel box of the rule above."""
    p = np.clip(np.asarray(prob, np.float64), 0.0, 1.0)
    grid_h, grid_w = p.shape
    region = _region(p, threshold)
    rows = np.flatnonzero(region.any(axis=1))
    cols = np.flatnonzero(region.any(axis=0))
    i0, i1, j0, j1 = rows[0], rows[-1], cols[0], cols[-1]
    peak = float(p.max())
    if peak <= 0:
        raise ValueError("grid_to_box: the map is all zeros")
    full_y, full_x = i1 - i0 >= 2, j1 - j0 >= 2  # a region 3 cells long covers an inner cell fully
    if full_x and full_y:
        mx = my = peak  # 1 for a rendered box; a weak map's extent is read relative to its peak
    elif full_y:
        mx, my = peak, 1.0
    elif full_x:
        mx, my = 1.0, peak
    else:
        mx = my = float(np.sqrt(peak))
    cx = np.clip(p[i0 : i1 + 1].max(axis=0) / my, 0.0, 1.0)
    cy = np.clip(p[:, j0 : j1 + 1].max(axis=1) / mx, 0.0, 1.0)
    u0, u1 = _extent(cx, j0, j1)
    v0, v1 = _extent(cy, i0, i1)
    w, h = float(image_wh[0]), float(image_wh[1])
    return np.array([u0 / grid_w * w, v0 / grid_h * h, u1 / grid_w * w, v1 / grid_h * h])


def grids_to_boxes(probs: np.ndarray, image_wh: tuple[float, float], threshold: float = THRESHOLD) -> np.ndarray:
    """``(N, grid, grid)`` -> ``(N, 4)`` xyxy, :func:`grid_to_box` per map."""
    return np.stack([grid_to_box(p, image_wh, threshold) for p in probs]) if len(probs) else np.zeros((0, 4))
