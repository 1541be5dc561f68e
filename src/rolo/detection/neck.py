"""The detector's neck maps: captured in the extraction's forward pass, stored, RoI-pooled at boxes.

YOLOv8's Detect head reads three neck maps, P3/P4/P5 (strides 8/16/32). A forward *pre*-hook on the
head (:class:`NeckHook`) copies the levels we keep in the same forward pass that gives the
detections, so the detections are untouched (the hook only reads its inputs; tested against the
pipeline's ``detections.npy`` byte for byte).

Stored form (:class:`NeckSpec`): per kept level an array ``(N, C_l, H_l, W_l)`` float16 over the
**letterboxed** frame (``H_l = h_lb / stride_l``), one ``.npy`` per level
(``neck_p4.npy``, ``neck_p5.npy``) and ``neck.json`` holding the strides and the letterbox mapping.
Default: P4 + P5 at float16 (``channel_group`` 1), whose per-frame size is

* the demo (256 px letterbox of 320x240 -> 256x192, width-0.125 YOLOv8: P4 64 ch 16x12, P5 128 ch 8x6):
  ``(64*192 + 128*48) * 2`` B = 36.9 kB;
* YOLOv8s at 640 px, 4:3 video (640x480): P4 256 ch 40x30 + P5 512 ch 20x15 -> 0.92 MB;
  a square video (640x640) would be 1.23 MB: ``channel_group=2`` (mean over consecutive channel
  pairs) brings it to 0.61 MB. :func:`bytes_per_frame` computes it.

Boxes: every box in this module is 0-based ``xyxy`` in the **original** frame's pixels (the package's
convention, :mod:`rolo.utils.boxes`); :class:`Letterbox` maps them to the letterboxed frame exactly as
Ultralytics' ``scale_boxes`` maps detections back. :func:`roi_pool` accepts boxes partly or wholly
outside the image: ``torchvision.ops.roi_align`` reads zeros outside the map (bilinear samples
within one cell of the border are clamped to it), so a box beyond the border pools to zero features.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    import torch

LEVEL_NAMES = ("p3", "p4", "p5")


@dataclass(frozen=True)
class NeckSpec:
    """Which Detect-head inputs are stored and how they are reduced.

    ``levels``: indices into the head's inputs (0 = P3, 1 = P4, 2 = P5). ``channel_group``: store the
    mean of each run of that many consecutive channels (1 = all channels). ``dtype``: storage dtype.
    """

    levels: tuple[int, ...] = (1, 2)
    channel_group: int = 1
    dtype: str = "float16"


@dataclass(frozen=True)
class Letterbox:
    """Original-pixel ``xyxy`` -> letterboxed-pixel ``xyxy``: ``x' = x * gain_x + pad_x`` (as
    Ultralytics' ``scale_boxes`` inverts it)."""

    gain_x: float
    gain_y: float
    pad_x: float
    pad_y: float

    @classmethod
    def of(cls, letterboxed_hw: tuple[int, int], orig_hw: tuple[int, int]) -> "Letterbox":
        gain = min(letterboxed_hw[0] / orig_hw[0], letterboxed_hw[1] / orig_hw[1])
        new_h, new_w = (max(round(x * gain), 1) for x in orig_hw)
        return cls(
            gain_x=new_w / orig_hw[1],
            gain_y=new_h / orig_hw[0],
            pad_x=float(round((letterboxed_hw[1] - new_w) / 2 - 0.1)),
            pad_y=float(round((letterboxed_hw[0] - new_h) / 2 - 0.1)),
        )

    def forward(self, xyxy: np.ndarray) -> np.ndarray:
        xyxy = np.asarray(xyxy, np.float64)
        g = np.array([self.gain_x, self.gain_y, self.gain_x, self.gain_y])
        p = np.array([self.pad_x, self.pad_y, self.pad_x, self.pad_y])
        return xyxy * g + p


@dataclass(frozen=True)
class NeckMeta:
    """``neck.json``: stored levels, their strides and channel counts, the letterbox mapping."""

    spec: NeckSpec
    strides: tuple[int, ...]
    channels: tuple[int, ...]
    letterbox: Letterbox
    letterboxed_hw: tuple[int, int]
    image_wh: tuple[int, int]
    extra: dict = field(default_factory=dict)

    @classmethod
    def of(cls, hook, letterboxed_hw: tuple[int, int], orig_hw: tuple[int, int]) -> "NeckMeta":
        """The record of a capture's maps (:class:`NeckHook`, or an exported backend's
        :class:`~rolo.detection.backends.ExportedNeck`, after a forward pass) for frames of ``orig_hw``
        ``(h, w)`` letterboxed to ``letterboxed_hw``."""
        letterboxed_hw = tuple(int(v) for v in letterboxed_hw)
        orig_hw = tuple(int(v) for v in orig_hw)
        return cls(spec=hook.spec, strides=tuple(hook.strides), channels=tuple(int(m.shape[1]) for m in hook.maps),
                   letterbox=Letterbox.of(letterboxed_hw, orig_hw), letterboxed_hw=letterboxed_hw,
                   image_wh=(orig_hw[1], orig_hw[0]))

    def to_json(self) -> dict:
        d = asdict(self)
        return d

    @classmethod
    def from_json(cls, d: dict) -> "NeckMeta":
        s = d["spec"]
        return cls(
            spec=NeckSpec(tuple(s["levels"]), int(s["channel_group"]), s["dtype"]),
            strides=tuple(d["strides"]),
            channels=tuple(d["channels"]),
            letterbox=Letterbox(**d["letterbox"]),
            letterboxed_hw=tuple(d["letterboxed_hw"]),
            image_wh=tuple(d["image_wh"]),
            extra=d.get("extra", {}),
        )


def to_storage(x: "torch.Tensor", dtype: str) -> np.ndarray:
    """A float32 map -> a numpy array of the storage ``dtype`` (``NeckSpec.dtype``), rounded by torch.

    Bit for bit what numpy's ``astype`` gives (IEEE round to nearest even, overflow to infinity,
    subnormals kept; a NaN stays a NaN, its payload bits may differ; tested). numpy converts float16
    subnormals in software, about 200x slower, and a random-init detector's neck maps are mostly
    subnormal in float16 (14 ms a level a frame for YOLOv8s at 640 px, against 0.07 ms)."""
    import torch

    return x.to(getattr(torch, np.dtype(dtype).name)).cpu().numpy()


def widen(m: "np.ndarray | torch.Tensor") -> "torch.Tensor":
    """One stored map, numpy (memory-mapped or not) or a tensor, of any float dtype -> float32 tensor
    (exact: every float16 is a float32). Converted by torch, see :func:`to_storage`."""
    import torch

    if isinstance(m, torch.Tensor):
        return m.float()
    a = np.asarray(m)
    return torch.from_numpy(a if a.flags.writeable else a.copy()).float()  # a float32 tensor: itself


def reduce_map(x: "torch.Tensor", spec: NeckSpec) -> "torch.Tensor":
    """``(B, C, H, W)`` -> ``(B, C / channel_group, H, W)`` (mean over consecutive channel groups)."""
    g = spec.channel_group
    if g == 1:
        return x
    b, c, h, w = x.shape
    if c % g:
        raise ValueError(f"channel_group {g} does not divide {c} channels")
    return x.reshape(b, c // g, g, h, w).mean(dim=2)


class NeckHook:
    """A forward pre-hook on a YOLOv8 detection model's Detect head (its last module) that keeps the
    ``spec.levels`` inputs of every forward pass, reduced, as numpy arrays of ``spec.dtype``.

    ``hook.maps``: list over levels of ``(B, C_l, H_l, W_l)`` of the latest forward pass. The hook
    only reads the head's inputs: the head's outputs (and so the detections) are unchanged. Usable
    on ``FeatureExtractor.model`` (``NeckHook(extractor.model)``) and on any Ultralytics
    ``DetectionModel``.
    """

    def __init__(self, torch_model, spec: NeckSpec = NeckSpec()):
        self.spec = spec
        head = torch_model.model[-1]
        if not hasattr(head, "stride") or not hasattr(head, "nl"):
            raise ValueError(f"the model's last module is {type(head).__name__}, not a Detect head")
        self.strides = tuple(int(s) for s in np.asarray(head.stride.cpu() if hasattr(head.stride, "cpu") else head.stride)[list(spec.levels)])
        self.maps: list[np.ndarray] = []
        self._handle = head.register_forward_pre_hook(self._capture)

    def _capture(self, module, inputs) -> None:
        xs = inputs[0]
        self.maps = [
            to_storage(reduce_map(xs[i].detach().float(), self.spec), self.spec.dtype) for i in self.spec.levels
        ]

    def remove(self) -> None:
        self._handle.remove()


def bytes_per_frame(channels: Sequence[int], strides: Sequence[int], letterboxed_hw: tuple[int, int],
                    spec: NeckSpec = NeckSpec()) -> int:
    """Stored bytes per frame for levels of ``channels`` (before reduction) at ``strides``."""
    item = np.dtype(spec.dtype).itemsize
    h, w = letterboxed_hw
    return int(sum((c // spec.channel_group) * (h // s) * (w // s) * item for c, s in zip(channels, strides)))


def save_neck(out_dir, maps: list[np.ndarray], neck_meta: NeckMeta) -> None:
    """``out_dir/neck_<level>.npy`` per level and ``out_dir/neck.json``."""
    from rolo.utils.io import save_json, save_npy

    out_dir = Path(out_dir)
    for lvl, m in zip(neck_meta.spec.levels, maps):
        save_npy(out_dir / f"neck_{LEVEL_NAMES[lvl]}.npy", m)
    save_json(out_dir / "neck.json", neck_meta.to_json())


def load_neck(in_dir, mmap: bool = True) -> tuple[list[np.ndarray], NeckMeta]:
    """Inverse of :func:`save_neck` -> ``(maps per level (N, C_l, H_l, W_l), meta)``."""
    in_dir = Path(in_dir)
    meta = NeckMeta.from_json(json.loads((in_dir / "neck.json").read_text()))
    maps = [np.load(in_dir / f"neck_{LEVEL_NAMES[lvl]}.npy", mmap_mode="r" if mmap else None) for lvl in meta.spec.levels]
    return maps, meta


class NeckFrames:
    """A video's stored maps as a per-frame sequence: ``neck_frames[t]`` -> list over levels of
    ``(C_l, H_l, W_l)`` arrays (what ``rolo.tracking.trackers.Frame.neck`` returns). Wrap each level's array
    (e.g. in a look-ahead guard) before building it to check causality."""

    def __init__(self, maps: Sequence, meta: NeckMeta):
        self.maps = maps
        self.meta = meta

    def __len__(self) -> int:
        return len(self.maps[0])

    def __getitem__(self, t: int) -> list[np.ndarray]:
        return [m[t] for m in self.maps]


def roi_pool(
    level_maps: Sequence[np.ndarray | "torch.Tensor"],
    boxes_xyxy: np.ndarray,
    meta: NeckMeta,
    out_sizes: Sequence[int] = (2, 1),
) -> np.ndarray:
    """RoIAlign one frame's maps at boxes -> ``(M, D)`` float32, ``D = sum_l C_l * s_l**2``.

    ``level_maps``: list over the stored levels of ``(C_l, H_l, W_l)``; ``boxes_xyxy (M, 4)``: 0-based
    xyxy in original-frame pixels, may lie partly or wholly outside the image (sampling outside
    the map reads zeros); ``out_sizes``: the output grid ``s_l x s_l`` per level (same order).
    Degenerate boxes are widened to at least one letterboxed pixel.
    """
    import torch
    from torchvision.ops import roi_align

    b = meta.letterbox.forward(np.asarray(boxes_xyxy, np.float64).reshape(-1, 4))
    b[:, 2] = np.maximum(b[:, 2], b[:, 0] + 1.0)
    b[:, 3] = np.maximum(b[:, 3], b[:, 1] + 1.0)
    rois = torch.from_numpy(np.concatenate([np.zeros((len(b), 1)), b], axis=1).astype(np.float32))
    out = []
    for m, stride, s in zip(level_maps, meta.strides, out_sizes):
        t = widen(m)[None]
        p = roi_align(t, rois, output_size=(s, s), spatial_scale=1.0 / stride, sampling_ratio=2, aligned=True)
        out.append(p.reshape(len(b), -1))
    return torch.cat(out, dim=1).numpy()


def pooled_dim(meta: NeckMeta, out_sizes: Sequence[int] = (2, 1)) -> int:
    return int(sum(c * s * s for c, s in zip(meta.channels, out_sizes)))
