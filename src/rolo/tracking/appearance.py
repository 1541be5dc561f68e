"""An online appearance model of ONE target: weighted ridge regression over RoI-pooled neck features.

The detector is one-class: its neck features say "a target-like object is here", and look-alike
distractors have nearly the same features (cosine to the start template 0.94 vs 0.93 in the
feasibility study). What separates them is small and specific to this video, so it is learned here,
per video, from the start frame, as a linear classifier (DCF-style ridge regression, labels 1 for
the target, 0 for everything else):

* start frame: positives = the given box and jittered copies (IoU >= ~0.7); negatives = the start
  frame's detections that do not overlap the target (IoU < 0.3; the look-alikes, when present) and
  background boxes around and away from it. Only the start frame's box and that frame's maps and
  detections are read.
* online: on confident frames the tracker adds its output box as a positive and that frame's
  non-overlapping detections plus a ring of background boxes as negatives. The start frame's
  samples are kept for ever (weight ``start_weight``); online samples are a FIFO of at most
  ``memory`` frames.

Solved in the dual (``alpha = (K + lam * C^-1)^-1 y``, ``w = X^T alpha``; ``K`` the linear kernel on
the stored samples), so the cost depends on the number of samples (<= a few hundred), not on the
feature dimension (384 for the demo's maps, 1,536 for YOLOv8s). Features are standardised with
the start frame's sample mean and std (fixed afterwards) and divided by ``sqrt(D)``.

Boxes are 0-based ``xyxy`` original-frame pixels; features ``(M, D)`` float32 (from
:func:`rolo.detection.neck.roi_pool`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rolo.utils.boxes import iou


@dataclass(frozen=True)
class AppearanceParams:
    lam: float = 0.1  # ridge
    start_weight: float = 2.0  # weight of the start frame's samples relative to one online frame's
    memory: int = 20  # online frames kept
    neg_iou: float = 0.3  # detections overlapping the target less than this are negatives
    jitter: int = 8  # jittered positives at the start frame
    background: int = 12  # background negatives at the start frame
    update_every: int = 2  # online update at most every this many frames (cost)


def jitter_boxes(box: np.ndarray, n: int, rng: np.random.Generator, shift: float = 0.08, scale: float = 0.08) -> np.ndarray:
    """``n`` copies of ``box (4,)`` xyxy shifted by up to ``shift`` of its size and rescaled by up to ``scale``."""
    box = np.asarray(box, np.float64)
    c, wh = (box[:2] + box[2:]) / 2, box[2:] - box[:2]
    dc = rng.uniform(-shift, shift, (n, 2)) * wh
    s = np.exp(rng.uniform(-scale, scale, (n, 2)))
    nc, nwh = c + dc, wh * s
    return np.concatenate([nc - nwh / 2, nc + nwh / 2], axis=1)


def ring_boxes(box: np.ndarray, n: int = 8, dist: float = 1.0) -> np.ndarray:
    """``n`` copies of ``box`` moved by ``dist`` box sizes in ``n`` directions around it (background)."""
    box = np.asarray(box, np.float64)
    c, wh = (box[:2] + box[2:]) / 2, box[2:] - box[:2]
    ang = np.arange(n) * 2 * np.pi / n
    nc = c + dist * wh * np.stack([np.cos(ang), np.sin(ang)], 1)
    return np.concatenate([nc - wh / 2, nc + wh / 2], axis=1)


def random_boxes(box: np.ndarray, image_wh: tuple[float, float], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` boxes of ``box``'s size at random places in the image."""
    wh = np.asarray(box[2:], np.float64) - np.asarray(box[:2], np.float64)
    c = rng.uniform([0, 0], image_wh, (n, 2))
    return np.concatenate([c - wh / 2, c + wh / 2], axis=1)


def start_samples(box: np.ndarray, detections: np.ndarray, image_wh: tuple[float, float], params: AppearanceParams,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The start frame's sample boxes ``(P + Q, 4)`` and labels ``(P + Q,)`` (1 = target) from the
    start box and the start frame's ``(K, 6)`` detections."""
    rng = np.random.default_rng(seed)
    box = np.asarray(box, np.float64).reshape(4)
    pos = np.concatenate([box[None], jitter_boxes(box, params.jitter, rng)])
    d = np.asarray(detections, np.float64).reshape(-1, 6)
    d = d[np.isfinite(d[:, 4])]
    negs = [d[iou(d[:, :4], box[None]) < params.neg_iou, :4]] if len(d) else []
    bg = np.concatenate([ring_boxes(box, 8, 1.0), ring_boxes(box, 8, 2.0)[::2],
                         random_boxes(box, image_wh, params.background, rng)])
    negs.append(bg[iou(bg, box[None]) < params.neg_iou])
    neg = np.concatenate(negs)
    return np.concatenate([pos, neg]), np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])


class AppearanceModel:
    """Weighted linear ridge classifier of this target (see the module docstring).

    ``fit_start(feats, labels)`` once, then ``score(feats) -> (M,)`` (about 1 for the target, 0 for the
    rest) and ``add(feats, labels)`` on confident frames (re-solves)."""

    def __init__(self, params: AppearanceParams = AppearanceParams()):
        self.params = params
        self.w: np.ndarray | None = None

    def _norm(self, f: np.ndarray) -> np.ndarray:
        z = (np.asarray(f, np.float64) - self.mu) / self.sd / np.sqrt(f.shape[1])
        return np.concatenate([z, np.ones((len(z), 1))], axis=1).astype(np.float32)

    def fit_start(self, feats: np.ndarray, labels: np.ndarray) -> None:
        feats = np.asarray(feats, np.float64)
        self.mu = feats.mean(0)
        self.sd = feats.std(0) + 1e-3 * (feats.std() + 1e-6)
        X = self._norm(feats)
        self.parts = [(len(X), np.asarray(labels, np.float64), self._weights(labels, self.params.start_weight))]
        self.X, self.K = X, (X @ X.T).astype(np.float64)
        self._solve()

    @staticmethod
    def _weights(labels: np.ndarray, total: float) -> np.ndarray:
        """Each class of a frame's samples weighs ``total / 2`` in all."""
        labels = np.asarray(labels)
        w = np.zeros(len(labels))
        for v in (0, 1):
            m = labels == v
            if m.any():
                w[m] = total / 2 / m.sum()
        return w

    def add(self, feats: np.ndarray, labels: np.ndarray) -> None:
        """One confident frame's samples; the oldest online frame is forgotten past ``memory``.
        The kernel matrix is updated incrementally (cost ~ new rows x stored rows x D)."""
        new = self._norm(feats)
        cross = (new @ self.X.T).astype(np.float64)
        self.K = np.block([[self.K, cross.T], [cross, (new @ new.T).astype(np.float64)]])
        self.X = np.concatenate([self.X, new])
        self.parts.append((len(new), np.asarray(labels, np.float64), self._weights(labels, 1.0)))
        if len(self.parts) - 1 > self.params.memory:  # drop the oldest online frame (after the start part)
            a, n = self.parts[0][0], self.parts[1][0]
            keep = np.r_[0:a, a + n: len(self.X)]
            self.X, self.K = self.X[keep], self.K[np.ix_(keep, keep)]
            del self.parts[1]
        self._solve()

    def _solve(self) -> None:
        y = np.concatenate([p[1] for p in self.parts])
        c = np.concatenate([p[2] for p in self.parts])
        alpha = np.linalg.solve(self.K + self.params.lam * np.diag(1.0 / c), y)
        self.w = self.X.T @ alpha.astype(np.float32)

    def score(self, feats: np.ndarray) -> np.ndarray:
        if self.w is None:
            raise RuntimeError("fit_start first")
        if len(feats) == 0:
            return np.zeros(0)
        return self._norm(feats) @ self.w
