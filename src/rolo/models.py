"""The ROLO LSTM, its output parameterisation and the checkpoint format.

Per frame the LSTM reads the encoding of :mod:`rolo.encoding` (features + associated box,
confidence, lost flag). Over a window of ``steps`` frames it regresses the box of the window's
last frame (ROLO-coordinate).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from rolo.encoding import BOX_INPUTS, encode_inputs, window_indices  # noqa: F401  (re-exported)


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


class RoloLSTM(nn.Module):
    """``(B, T, C + 6)`` windows -> ``(B, 4)`` raw output for each window's last frame.

    Features are layer-normalised before entering the LSTM (their scale varies by detector). What
    the raw output means depends on ``cfg.output`` (see :func:`encode_target`); :meth:`predict`
    turns it into a ``cxcywh_norm`` box.

    ``absolute``  the box itself, as in the ROLO paper and both seeds.
    ``residual``  a correction to the last frame's input (associated) box, parameterised as in
                  R-CNN box regression: ``(dx / w, dy / h, log(w' / w), log(h' / h))``. The head starts
                  at zero, so an untrained model returns its input box.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.output not in OUTPUTS:
            raise ValueError(f"rolo.output must be one of {OUTPUTS}, not {cfg.output!r}")
        self.cfg = cfg
        self.norm = nn.LayerNorm(cfg.feature_dim)
        self.lstm = nn.LSTM(cfg.feature_dim + BOX_INPUTS, cfg.hidden, cfg.layers, batch_first=True)
        self.head = nn.Linear(cfg.hidden, 4)
        if cfg.output == "residual":
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.cfg.feature_dim
        x = torch.cat([self.norm(x[..., :c]), x[..., c:]], dim=-1)
        out, _ = self.lstm(x)
        return self.head(out[:, -1])

    def reference_box(self, x: torch.Tensor) -> torch.Tensor:
        """The last frame's input box ``(B, 4)`` cxcywh_norm: what ``residual`` outputs correct."""
        c = self.cfg.feature_dim
        return x[:, -1, c : c + 4]

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, C + 6)`` -> ``(B, 4)`` cxcywh_norm boxes."""
        return decode_output(self(x), self.reference_box(x), self.cfg.output)


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


def save_checkpoint(path, model: RoloLSTM, extra: dict) -> None:
    """State dict + everything needed to rebuild and run the model (plain types only)."""
    from rolo.data import atomic_path

    payload = {"state_dict": model.state_dict(), "model": asdict(model.cfg), **extra}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path, map_location: str | torch.device = "cpu") -> tuple[RoloLSTM, dict]:
    """Load with ``weights_only=True`` -> ``(model in eval mode, checkpoint dict)``."""
    ckpt = torch.load(path, map_location=map_location, weights_only=True)
    kind = ckpt["model"].get("kind", "coordinate")
    if kind != "coordinate":
        raise ValueError(f"{path}: model kind {kind!r} is not supported by this version")
    model = RoloLSTM(ModelConfig(**ckpt["model"]))
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, ckpt
