"""The ROLO LSTMs, their outputs and the checkpoint format.

Per frame the LSTM reads the encoding of :mod:`rolo.tracking.encoding` (features + associated box,
confidence, lost flag). Over a window of ``steps`` frames it predicts the target of the window's
last frame. Two model kinds (``ModelConfig.kind``):

``coordinate``  :class:`RoloLSTM`, ROLO-coordinate: regresses the box.
``heatmap``     :class:`RoloHeatmap`, ROLO-heatmap: the associated box enters as a mask on the
                32 x 32 grid of :mod:`rolo.tracking.heatmap`; the output is a map of per-cell logits
                trained with per-cell binary cross-entropy against the ground-truth box rendered on
                the same grid; :func:`rolo.tracking.heatmap.grid_to_box` turns the map into a box.

Both share ``predict(x) -> (B, 4) cxcywh_norm`` and ``loss(x, targets)``, so training and tracking
do not depend on the kind.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from rolo.tracking.encoding import BOX_INPUTS, KINDS, encode_for, encode_inputs, window_indices  # noqa: F401  (re-exported)
from rolo.tracking.heatmap import GRID


@dataclass(frozen=True)
class ModelConfig:
    feature_dim: int
    hidden: int = 256
    layers: int = 1
    steps: int = 6
    kind: str = "coordinate"
    output: str = "residual"


OUTPUTS = ("absolute", "residual")
_EPS = 1e-6


class _Recurrent(nn.Module):
    """Layer-normalised features + the per-frame box inputs -> LSTM -> the last step's hidden state."""

    box_inputs = BOX_INPUTS
    out_dim = 4

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.output not in OUTPUTS:
            raise ValueError(f"rolo.output must be one of {OUTPUTS}, not {cfg.output!r}")
        self.cfg = cfg
        self.norm = nn.LayerNorm(cfg.feature_dim)
        self.lstm = nn.LSTM(cfg.feature_dim + self.box_inputs, cfg.hidden, cfg.layers, batch_first=True)
        self.head = nn.Linear(cfg.hidden, self.out_dim)
        if cfg.output == "residual":
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    @property
    def kind(self) -> str:
        return self.cfg.kind

    def encode(self, features, boxes, conf, lost, image_wh) -> "np.ndarray":
        """Per-frame inputs of this model kind (numpy; see :mod:`rolo.tracking.encoding`)."""
        return encode_for(self.cfg.kind, features, boxes, conf, lost, image_wh)

    def last_hidden(self, x: torch.Tensor) -> torch.Tensor:
        c = self.cfg.feature_dim
        x = torch.cat([self.norm(x[..., :c]), x[..., c:]], dim=-1)
        out, _ = self.lstm(x)
        return out[:, -1]


class RoloLSTM(_Recurrent):
    """ROLO-coordinate: ``(B, T, C + 6)`` windows -> ``(B, 4)`` raw output for each window's last frame.

    Features are layer-normalised before entering the LSTM (their scale varies by detector). What
    the raw output means depends on ``cfg.output`` (see :func:`encode_target`); :meth:`predict`
    turns it into a ``cxcywh_norm`` box.

    ``absolute``  the box itself, as in the ROLO paper and both seeds.
    ``residual``  a correction to the last frame's input (associated) box, parameterised as in
                  R-CNN box regression: ``(dx / w, dy / h, log(w' / w), log(h' / h))``. The head starts
                  at zero, so an untrained model returns its input box.
    """

    def __init__(self, cfg: ModelConfig):
        if cfg.kind != "coordinate":
            raise ValueError(f"RoloLSTM is the coordinate model, not {cfg.kind!r}")
        super().__init__(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.last_hidden(x))

    def reference_box(self, x: torch.Tensor) -> torch.Tensor:
        """The last frame's input box ``(B, 4)`` cxcywh_norm: what ``residual`` outputs correct."""
        c = self.cfg.feature_dim
        return x[:, -1, c : c + 4]

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, C + 6)`` -> ``(B, 4)`` cxcywh_norm boxes."""
        return decode_output(self(x), self.reference_box(x), self.cfg.output)

    @staticmethod
    def training_targets(boxes: "np.ndarray") -> "np.ndarray":
        """Target boxes ``(M, 4)`` cxcywh_norm -> what :meth:`loss` compares with (the boxes)."""
        return boxes

    def loss(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean squared error of the raw output against the encoded target boxes."""
        return nn.functional.mse_loss(self(x), encode_target(targets, self.reference_box(x), self.cfg.output))


class RoloHeatmap(_Recurrent):
    """ROLO-heatmap: ``(B, T, C + GRID**2 + 2)`` windows -> ``(B, GRID**2)`` logits of the window's
    last frame (row-major cells, :mod:`rolo.tracking.heatmap`).

    ``absolute``  the logits are the head's output (the paper's formulation).
    ``residual``  the head's output is added to ``logit(clip(mask, 0.02, 0.98))`` of the last frame's
                  input mask; with its zero-initialised head an untrained model returns its input
                  box's mask, as the coordinate model's residual returns its input box.
    """

    box_inputs = GRID * GRID + 2
    out_dim = GRID * GRID
    PRIOR_CLIP = 0.02

    def __init__(self, cfg: ModelConfig):
        if cfg.kind != "heatmap":
            raise ValueError(f"RoloHeatmap is the heatmap model, not {cfg.kind!r}")
        super().__init__(cfg)

    def input_mask(self, x: torch.Tensor) -> torch.Tensor:
        """The last frame's input mask ``(B, GRID**2)``."""
        c = self.cfg.feature_dim
        return x[:, -1, c : c + GRID * GRID]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.last_hidden(x))
        if self.cfg.output == "residual":
            out = out + torch.logit(self.input_mask(x).clamp(self.PRIOR_CLIP, 1 - self.PRIOR_CLIP))
        return out

    def predict_maps(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, GRID, GRID)`` per-cell probabilities."""
        return torch.sigmoid(self(x)).reshape(-1, GRID, GRID)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, D)`` -> ``(B, 4)`` cxcywh_norm boxes by :func:`rolo.tracking.heatmap.grid_to_box`."""
        return maps_to_cxcywh(self.predict_maps(x))

    @staticmethod
    def training_targets(boxes: "np.ndarray") -> "np.ndarray":
        """Target boxes ``(M, 4)`` cxcywh_norm -> ``(M, GRID**2)`` rendered on the grid."""
        from rolo.utils.boxes import cxcywh_norm_to_xyxy
        from rolo.tracking.heatmap import box_to_grid

        return box_to_grid(cxcywh_norm_to_xyxy(boxes, (1.0, 1.0)), (1.0, 1.0)).reshape(len(boxes), -1)

    def loss(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Per-cell binary cross-entropy (mean over cells and windows) against the rendered boxes."""
        return nn.functional.binary_cross_entropy_with_logits(self(x), targets)


def maps_to_cxcywh(maps: torch.Tensor) -> torch.Tensor:
    """``(B, GRID, GRID)`` probabilities -> ``(B, 4)`` cxcywh_norm boxes (:func:`rolo.tracking.heatmap.grid_to_box`)."""
    from rolo.utils.boxes import xyxy_to_cxcywh_norm
    from rolo.tracking.heatmap import grids_to_boxes

    xyxy = grids_to_boxes(maps.detach().float().cpu().numpy(), (1.0, 1.0))
    return torch.from_numpy(xyxy_to_cxcywh_norm(xyxy, (1.0, 1.0)).astype("float32")).to(maps.device)


MODELS = {"coordinate": RoloLSTM, "heatmap": RoloHeatmap}


def build_model(cfg: ModelConfig) -> _Recurrent:
    """A fresh model of ``cfg.kind``."""
    if cfg.kind not in MODELS:
        raise ValueError(f"rolo model kind must be one of {tuple(MODELS)}, not {cfg.kind!r}")
    return MODELS[cfg.kind](cfg)


def encode_target(box: torch.Tensor, ref: torch.Tensor, output: str) -> torch.Tensor:
    """Target ``cxcywh_norm`` boxes ``(B, 4)`` -> what the model should output, given ``ref``."""
    if output == "absolute":
        return box
    wh = ref[:, 2:].clamp_min(_EPS)
    return torch.cat([(box[:, :2] - ref[:, :2]) / wh, torch.log(box[:, 2:].clamp_min(_EPS) / wh)], dim=1)


def decode_output(raw: torch.Tensor, ref: torch.Tensor, output: str) -> torch.Tensor:
    """Inverse of :func:`encode_target`."""
    if output == "absolute":
        return raw
    wh = ref[:, 2:].clamp_min(_EPS)
    return torch.cat([ref[:, :2] + raw[:, :2] * wh, wh * torch.exp(raw[:, 2:].clamp(-4, 4))], dim=1)


def save_checkpoint(path, model: _Recurrent, extra: dict) -> None:
    """State dict + everything needed to rebuild and run the model (plain types and tensors only)."""
    from rolo.utils.io import atomic_path

    payload = {"state_dict": model.state_dict(), "model": asdict(model.cfg), **extra}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path, map_location: str | torch.device = "cpu") -> tuple[_Recurrent, dict]:
    """Load with ``weights_only=True`` -> ``(model in eval mode, checkpoint dict)``.

    A file that is not a rolo checkpoint or holds an unknown model kind raises
    :class:`rolo.errors.RoloInputError` naming the file."""
    import pickle

    from rolo.errors import RoloInputError

    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise RoloInputError(f"{path}: no such file") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError):
        raise RoloInputError(
            f"{path}: not a rolo checkpoint (it does not load with torch.load(weights_only=True): "
            "pickled objects, e.g. Ultralytics weights, or a damaged file)"
        ) from None
    if not isinstance(ckpt, dict) or "model" not in ckpt or "state_dict" not in ckpt:
        raise RoloInputError(f"{path}: not a rolo checkpoint (no 'model' settings and 'state_dict')")
    kind = ckpt["model"].get("kind", "coordinate")
    from rolo.tracking.closed_loop_job import KINDS as CLOSED_LOOP_KINDS, load

    if kind in CLOSED_LOOP_KINDS:  # the closed-loop ROLO (rolo.tracking.closed_loop_job)
        return load(ckpt), ckpt
    if kind not in MODELS:
        known = ", ".join([*MODELS, *CLOSED_LOOP_KINDS])
        raise RoloInputError(f"{path}: model kind {kind!r} is not supported by this version (known: {known})")
    model = build_model(ModelConfig(**ckpt["model"]))
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, ckpt
