"""The ROLO LSTM and its input encoding, plus the checkpoint format.

Per frame the LSTM reads ``[features (C), box (4), conf (1), lost (1)]``: the detector's pooled
backbone features, the associated detection's box as centre/size normalised by the image size
(``cxcywh_norm``), its confidence and the association's ``lost`` flag. Over a window of ``steps``
frames it regresses the ``cxcywh_norm`` box of the window's last frame (ROLO-coordinate).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from rolo.boxes import xyxy_to_cxcywh_norm

BOX_INPUTS = 6  # cx, cy, w, h, conf, lost


@dataclass(frozen=True)
class ModelConfig:
    feature_dim: int
    hidden: int = 256
    layers: int = 1
    steps: int = 6
    kind: str = "coordinate"


class RoloLSTM(nn.Module):
    """``(B, T, C + 6)`` windows -> ``(B, 4)`` ``cxcywh_norm`` box of each window's last frame.

    Features are layer-normalised before entering the LSTM (their scale varies by detector).
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.norm = nn.LayerNorm(cfg.feature_dim)
        self.lstm = nn.LSTM(cfg.feature_dim + BOX_INPUTS, cfg.hidden, cfg.layers, batch_first=True)
        self.head = nn.Linear(cfg.hidden, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.cfg.feature_dim
        x = torch.cat([self.norm(x[..., :c]), x[..., c:]], dim=-1)
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def encode_inputs(
    features: np.ndarray, boxes: np.ndarray, conf: np.ndarray, lost: np.ndarray, image_wh: tuple[float, float]
) -> np.ndarray:
    """Per-frame LSTM inputs ``(T, C + 6)`` float32 from ``features (T, C)``, associated ``boxes (T, 4)``
    xyxy, ``conf (T,)`` and ``lost (T,)``."""
    box = xyxy_to_cxcywh_norm(boxes, image_wh)
    return np.concatenate(
        [features, box, np.asarray(conf, np.float64)[:, None], np.asarray(lost, np.float64)[:, None]], axis=1
    ).astype(np.float32)


def window_indices(ends: np.ndarray, segment_start: int | np.ndarray, steps: int) -> np.ndarray:
    """Frame indices ``(M, steps)`` of the windows ending at ``ends (M,)``.

    A window never reaches before its segment's start: it is padded by repeating the segment's
    first frame, in training and in tracking alike.
    """
    ends = np.asarray(ends, dtype=np.int64)
    idx = ends[:, None] + np.arange(-steps + 1, 1)[None, :]
    return np.maximum(idx, np.asarray(segment_start, dtype=np.int64).reshape(-1, 1))


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
