"""The one registry of trackers: everything the workflow, the scorer and the figures know about a
tracker comes from its entry here.

Adding a tracker is one :class:`TrackerSpec` in :data:`TRACKERS` (plus its class, if it is new).
The config schema's list of trackers, the rules' inputs and resources, the figures' labels and
colours, and the boxes drawn on panels and videos all derive from this table. The module is pure
data: scoring-only and figure-only jobs import it without importing any model code.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

INPUTS = ("features", "neck", "model", "images")
"""What a tracker may read besides its start box: extraction outputs (``features.npy``,
``detections.npy``, ``meta.json``), the stored neck maps (``neck_<level>.npy``, ``neck.json``;
config ``extraction.neck``), a trained ROLO checkpoint, the frames themselves."""


@dataclass(frozen=True)
class TrackerSpec:
    """One tracker.

    ``factory`` is ``"module:callable"``; the callable is called as
    ``factory(spec, assoc=AssociationParams, image_wh=(w, h) | None, model=ROLO model | None)`` and
    returns an object with ``start(box, frame)`` and ``update(frame) -> xyxy``
    (:class:`rolo.tracking.trackers.Tracker`). ``colour`` is its matplotlib colour in curves and
    bars; ``box_rgb`` the colour of its box on panels and videos (None: not drawn there).
    """

    name: str
    label: str
    colour: str
    inputs: frozenset[str]
    factory: str
    association: bool = False
    model_kind: str | None = None
    box_rgb: tuple[int, int, int] | None = None

    def __post_init__(self) -> None:
        unknown = set(self.inputs) - set(INPUTS)
        if unknown:
            raise ValueError(f"tracker {self.name}: unknown inputs {sorted(unknown)}; known: {INPUTS}")
        if ("model" in self.inputs) != (self.model_kind is not None):
            raise ValueError(f"tracker {self.name}: a tracker reads a model exactly when it has a model_kind")

    @property
    def uses_detector(self) -> bool:
        return "features" in self.inputs

    def build(self, assoc=None, image_wh=None, model=None):
        """A new tracker instance (see the class docstring)."""
        module, _, name = self.factory.partition(":")
        return getattr(importlib.import_module(module), name)(self, assoc=assoc, image_wh=image_wh, model=model)


def _spec(name, label, colour, inputs, factory, **kw) -> TrackerSpec:
    return TrackerSpec(name, label, colour, frozenset(inputs), factory, **kw)


_T = "rolo.tracking.trackers"
_B = "rolo.tracking.baselines"
TRACKERS: dict[str, TrackerSpec] = {
    s.name: s
    for s in (
        _spec("rolo", "ROLO", "tab:green", {"features", "neck", "model"}, "rolo.tracking.closed_loop_job:tracker",
              model_kind="closed_loop", box_rgb=(0, 200, 0)),
        _spec("rolo_paper", "ROLO (paper inputs)", "tab:red", {"features", "model"}, f"{_T}:rolo", association=True,
              model_kind="coordinate", box_rgb=(255, 0, 255)),
        _spec("rolo_heatmap", "ROLO-heatmap", "tab:pink", {"features", "neck", "model"},
              "rolo.tracking.closed_loop_job:tracker", model_kind="closed_loop_heatmap", box_rgb=(255, 255, 0)),
        _spec("rolo_heatmap_paper", "ROLO-heatmap (paper inputs)", "tab:olive", {"features", "model"}, f"{_T}:rolo",
              association=True, model_kind="heatmap", box_rgb=(0, 255, 255)),
        _spec("yolo", "YOLO-only", "tab:blue", {"features"}, f"{_T}:yolo_only", association=True, box_rgb=(0, 0, 255)),
        _spec("yolo_top", "YOLO-top", "tab:cyan", {"features"}, f"{_T}:yolo_top"),
        _spec("csrt", "CSRT", "tab:orange", {"images"}, f"{_B}:opencv"),
        _spec("kcf", "KCF", "tab:purple", {"images"}, f"{_B}:opencv"),
        _spec("mil", "MIL", "tab:brown", {"images"}, f"{_B}:opencv"),
        _spec("start_box", "start box", "tab:gray", set(), f"{_B}:start_box"),
    )
}
"""Every tracker, in the order figures list them."""

GT_RGB = (255, 0, 0)
"""The ground truth's box on panels and videos (red, as in the original ROLO's figures)."""


def spec(name: str) -> TrackerSpec:
    try:
        return TRACKERS[name]
    except KeyError:
        raise ValueError(f"unknown tracker {name!r}; known: {', '.join(TRACKERS)}") from None


def drawn(trackers) -> list[str]:
    """The trackers among ``trackers`` whose boxes panels and videos draw, in registry order."""
    return [n for n in TRACKERS if n in trackers and TRACKERS[n].box_rgb is not None]


def label(name: str) -> str:
    """A tracker's display label (the name itself for a tracker not in the registry)."""
    return TRACKERS[name].label if name in TRACKERS else name
