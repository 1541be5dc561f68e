"""Synthetic OTB-layout sequences: a textured target over a textured background with OTB's challenges.

Everything is drawn deterministically from ``(seed, sequence name)``, so a sequence is the same on
every machine and does not change when other sequences are added to the list. The target family
is fixed (a rounded blob carrying a two-colour checker pattern with a dark rim); colours, aspect
ratio, size and motion vary per sequence. Challenges are named with OTB's attribute tags:

``SV``  scale variation: the target's size follows a slow oscillation over a 2.5x range.
``FM``  fast motion: bursts of 12-20 px/frame.
``MB``  motion blur: the target layer is blurred along its velocity (kernel length = speed).
``OCC`` occlusion: textured occluders cross the target, one partial (half its width), one wider
        than the target (full occlusion for several frames).
``IV``  illumination variation: a smooth global gain between 0.45 and 1.35 plus one abrupt step.
``BC``  background clutter: two distractors of the target's family with other colours.

The ground truth is the full target box (also while occluded), clipped to the image, written 1-based
as OTB does. The parameters are fixed in :class:`SynthParams`; they were committed before any
tracker was run on the data and must not be tuned to favour a tracker.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from rolo.utils.boxes import clip_xyxy
from rolo.utils.io import atomic_path, save_json
from rolo.data.sequences import write_otb_boxes

CHALLENGES = ("SV", "FM", "MB", "OCC", "IV", "BC")


@dataclass(frozen=True)
class SynthParams:
    width: int = 320
    height: int = 240
    frames: int = 120
    target_size: tuple[float, float] = (28.0, 48.0)  # base height range, px
    aspect: tuple[float, float] = (0.6, 1.6)  # w / h
    speed: float = 2.5  # px/frame, typical cruise speed
    fast_speed: tuple[float, float] = (12.0, 20.0)
    scale_range: tuple[float, float] = (0.65, 1.6)
    jpeg_quality: int = 90


def _rng(seed: int, name: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Multi-scale smooth noise coloured by a random palette, plus random shapes -> uint8 (h, w, 3)."""
    acc = np.zeros((h, w), np.float32)
    for cell, weight in ((64, 1.0), (16, 0.6), (4, 0.3)):
        small = rng.random((h // cell + 2, w // cell + 2)).astype(np.float32)
        acc += weight * cv2.resize(small, (w + 2 * cell, h + 2 * cell), interpolation=cv2.INTER_CUBIC)[
            cell : cell + h, cell : cell + w
        ]
    acc = (acc - acc.min()) / max(float(np.ptp(acc)), 1e-6)
    palette = rng.integers(30, 226, size=(3, 3)).astype(np.float32)  # three colours blended by acc
    t = acc[..., None]
    img = np.where(t < 0.5, palette[0] * (1 - 2 * t) + palette[1] * 2 * t, palette[1] * (2 - 2 * t) + palette[2] * (2 * t - 1))
    img = img.astype(np.uint8)
    for _ in range(int(rng.integers(6, 14))):
        colour = tuple(int(c) for c in rng.integers(20, 236, 3))
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        if rng.random() < 0.5:
            axes = (int(rng.integers(5, 40)), int(rng.integers(5, 40)))
            cv2.ellipse(img, c, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1, cv2.LINE_AA)
        else:
            cv2.rectangle(img, c, (c[0] + int(rng.integers(5, 60)), c[1] + int(rng.integers(5, 60))), colour, -1)
    return img


def _family_colours(rng: np.random.Generator) -> np.ndarray:
    """Two checker colours at least 120 apart (so the checker is always visible) and a dark rim."""
    while True:
        colours = rng.integers(0, 256, size=(3, 3)).astype(np.float32)
        if np.linalg.norm(colours[0] - colours[1]) >= 120:
            colours[2] *= 0.25
            return colours


def _target_sprite(rng: np.random.Generator, colours: np.ndarray, size: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """The target family: a rounded blob with a rotated checker of two colours and a dark rim.

    Returns ``(rgb (size, size, 3) float32, alpha (size, size) float32)``.
    """
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    angle = rng.uniform(0, np.pi)
    u = xx * np.cos(angle) + yy * np.sin(angle)
    v = -xx * np.sin(angle) + yy * np.cos(angle)
    cells = rng.integers(3, 6)
    checker = ((np.floor(u * cells * 2) + np.floor(v * cells * 2)) % 2).astype(np.float32)
    rgb = colours[0] * checker[..., None] + colours[1] * (1 - checker[..., None])
    r = np.sqrt((xx / 0.5) ** 4 + (yy / 0.5) ** 4) ** 0.25  # superellipse: rounded square
    rim = (r > 0.82) & (r <= 1.0)
    rgb[rim] = colours[2]
    alpha = np.clip((1.0 - r) * size / 2, 0, 1).astype(np.float32)
    return rgb.astype(np.float32), alpha


def _motion_blur(layer: np.ndarray, velocity: np.ndarray) -> np.ndarray:
    speed = float(np.hypot(*velocity))
    k = int(round(speed))
    if k < 3:
        return layer
    kernel = np.zeros((k, k), np.float32)
    c = (k - 1) / 2
    d = velocity / max(speed, 1e-6)
    cv2.line(kernel, (int(round(c - d[0] * c)), int(round(c - d[1] * c))), (int(round(c + d[0] * c)), int(round(c + d[1] * c))), 1.0, 1)
    kernel /= kernel.sum()
    return cv2.filter2D(layer, -1, kernel)


def _trajectory(rng: np.random.Generator, p: SynthParams, n: int, fast: bool, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """Centre positions ``(n, 2)`` and velocities ``(n, 2)``: smooth random walk bouncing off borders."""
    pos = np.array([rng.uniform(margin, p.width - margin), rng.uniform(margin, p.height - margin)])
    heading = rng.uniform(0, 2 * np.pi)
    vel = p.speed * np.array([np.cos(heading), np.sin(heading)])
    bursts = set()
    if fast:
        candidates = np.arange(min(10, n // 4), max(n - 10, n // 4 + 1))
        for start in rng.choice(candidates, size=min(3, len(candidates)), replace=False):
            bursts.update(range(int(start), int(start) + int(rng.integers(4, 8))))
    centres, vels = [], []
    for t in range(n):
        vel = 0.9 * vel + rng.normal(0, 0.6, 2)
        speed = np.hypot(*vel)
        if speed > 0:
            vel = vel / speed * np.clip(speed, 0.5 * p.speed, 1.6 * p.speed)
        step = vel
        if t in bursts:
            step = vel / np.hypot(*vel) * rng.uniform(*p.fast_speed)
        pos = pos + step
        for k, hi in ((0, p.width), (1, p.height)):
            if pos[k] < margin or pos[k] > hi - margin:
                pos[k] = np.clip(pos[k], margin, hi - margin)
                vel[k] = -vel[k]
        centres.append(pos.copy())
        vels.append(step.copy())
    return np.array(centres), np.array(vels)


def _paste(frame: np.ndarray, rgb: np.ndarray, alpha: np.ndarray, box: np.ndarray) -> None:
    """Alpha-blend a sprite resized to ``box`` (xyxy, float) into ``frame`` (float32, in place)."""
    x1, y1, x2, y2 = box
    w, h = max(int(round(x2 - x1)), 1), max(int(round(y2 - y1)), 1)
    ix, iy = int(round(x1)), int(round(y1))
    spr = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
    a = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_AREA)[..., None]
    H, W = frame.shape[:2]
    fx1, fy1, fx2, fy2 = max(ix, 0), max(iy, 0), min(ix + w, W), min(iy + h, H)
    if fx2 <= fx1 or fy2 <= fy1:
        return
    sx1, sy1 = fx1 - ix, fy1 - iy
    region = frame[fy1:fy2, fx1:fx2]
    aa = a[sy1 : sy1 + fy2 - fy1, sx1 : sx1 + fx2 - fx1]
    region[:] = region * (1 - aa) + spr[sy1 : sy1 + fy2 - fy1, sx1 : sx1 + fx2 - fx1] * aa


def render_sequence(
    name: str, challenges: list[str] | tuple[str, ...], seed: int, p: SynthParams = SynthParams(),
    events: dict | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Render one sequence -> (frames as BGR uint8 ``(H, W, 3)``, ground truth ``(N, 4)`` 0-based xyxy).

    ``events``, if given, receives ``"occlusions"``: ``[(first frame, end frame, width factor)]``
    (0-based, end exclusive) of the occluders crossing the target (read only: the rendering does not
    depend on it)."""
    unknown = set(challenges) - set(CHALLENGES)
    if unknown:
        raise ValueError(f"sequence {name}: unknown challenge(s) {sorted(unknown)}; known: {CHALLENGES}")
    rng = _rng(seed, name)
    n, W, H = p.frames, p.width, p.height
    pan = rng.normal(0, 0.4, 2)
    bg = _texture(rng, H + int(abs(pan[1]) * n) + 2, W + int(abs(pan[0]) * n) + 2).astype(np.float32)

    sprite = _target_sprite(rng, _family_colours(rng))
    base_h = rng.uniform(*p.target_size)
    aspect = rng.uniform(*p.aspect)
    if "SV" in challenges:
        phase, period = rng.uniform(0, 2 * np.pi), rng.uniform(0.6, 1.2) * n
        lo, hi = p.scale_range
        scale = lo + (hi - lo) * (0.5 + 0.5 * np.sin(phase + 2 * np.pi * np.arange(n) / period))
    else:
        scale = np.ones(n)
    margin = base_h * scale.max() * max(aspect, 1) / 2 + 2
    if 2 * margin >= min(W, H):
        raise ValueError(
            f"sequence {name}: a target up to {2 * margin:.0f} px does not fit in a {W}x{H} image "
            f"(target_size {p.target_size}, scale_range {p.scale_range}); use larger frames or a smaller target_size"
        )
    centres, vels = _trajectory(rng, p, n, "FM" in challenges, margin)

    distractors = []
    if "BC" in challenges:
        for _ in range(2):
            dc, _ = _trajectory(rng, p, n, False, margin)
            distractors.append((_target_sprite(rng, _family_colours(rng)), dc, base_h * rng.uniform(0.8, 1.2), rng.uniform(*p.aspect)))

    occluders = []  # (first frame, duration, width factor, texture)
    if "OCC" in challenges:
        for start, wf in ((int(n * 0.3), 0.5), (int(n * 0.65), 1.8)):
            occluders.append((start, int(rng.integers(14, 22)), wf, _texture(rng, H, W).astype(np.float32)))
    if events is not None:
        events["occlusions"] = [(start, start + dur, wf) for start, dur, wf, _ in occluders]

    gain = np.ones(n)
    if "IV" in challenges:
        gain = 0.9 + 0.45 * np.sin(rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(n) / rng.uniform(0.5, 1.0) / n)
        step_at = int(rng.integers(n // 4, 3 * n // 4))
        gain[step_at:] *= rng.choice([0.6, 1.3])
        gain = np.clip(gain, 0.45, 1.35)

    frames, gts = [], []
    for t in range(n):
        ox, oy = int(round(max(pan[0], 0) * n - pan[0] * t)), int(round(max(pan[1], 0) * n - pan[1] * t))
        frame = bg[oy : oy + H, ox : ox + W].copy()
        for spr, dc, dh, da in distractors:
            c = dc[t]
            _paste(frame, *spr, np.array([c[0] - dh * da / 2, c[1] - dh / 2, c[0] + dh * da / 2, c[1] + dh / 2]))
        h = base_h * scale[t]
        w = h * aspect
        c = centres[t]
        box = np.array([c[0] - w / 2, c[1] - h / 2, c[0] + w / 2, c[1] + h / 2])
        if "MB" in challenges and np.hypot(*vels[t]) >= 3:
            # premultiplied colour and alpha blurred together along the velocity
            colour = np.zeros_like(frame)
            _paste(colour, sprite[0], np.ones_like(sprite[1]), box)
            alpha = np.zeros(frame.shape[:2], np.float32)
            _paste_alpha(alpha, sprite[1], box)
            premult = _motion_blur(colour * alpha[..., None], vels[t])
            alpha = _motion_blur(alpha, vels[t])
            frame = frame * (1 - alpha[..., None]) + premult
        else:
            _paste(frame, *sprite, box)
        for start, dur, wf, tex in occluders:
            if start <= t < start + dur:
                # the occluder sweeps across the target, left to right, relative to the target
                progress = (t - start + 0.5) / dur
                ow = w * wf
                ocx = box[0] - ow + progress * (w + ow)
                oy1, oy2 = int(max(c[1] - h, 0)), int(min(c[1] + h, H))
                ox1, ox2 = int(max(ocx, 0)), int(min(ocx + ow, W))
                if ox2 > ox1 and oy2 > oy1:
                    frame[oy1:oy2, ox1:ox2] = tex[oy1:oy2, ox1:ox2]
        frame = np.clip(frame * gain[t], 0, 255).astype(np.uint8)
        frames.append(frame)
        gts.append(box)
    gt = clip_xyxy(np.array(gts), (W, H))
    return frames, gt


def _paste_alpha(canvas: np.ndarray, alpha: np.ndarray, box: np.ndarray) -> None:
    """Write a sprite's alpha resized to ``box`` into a float32 ``(H, W)`` canvas (max-combined)."""
    layer = canvas[..., None].repeat(3, 2)
    _paste(layer, np.ones(alpha.shape + (3,), np.float32), alpha, box)
    canvas[:] = np.maximum(canvas, layer[..., 0])


def write_sequence(
    out_dir: str | Path, name: str, challenges: list[str] | tuple[str, ...], seed: int, p: SynthParams = SynthParams()
) -> None:
    """Write ``out_dir/img/0001.jpg...``, ``out_dir/groundtruth_rect.txt`` (OTB, 1-based) and
    ``out_dir/attributes.json``. The ground truth is written last, atomically."""
    out_dir = Path(out_dir)
    frames, gt = render_sequence(name, challenges, seed, p)
    img_dir = out_dir / "img"
    img_dir.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames, start=1):
        with atomic_path(img_dir / f"{i:04d}.jpg") as tmp:
            if not cv2.imwrite(str(tmp), frame, [cv2.IMWRITE_JPEG_QUALITY, p.jpeg_quality]):
                raise OSError(f"{tmp}: cannot write JPEG")
    save_json(out_dir / "attributes.json", {"name": name, "attributes": list(challenges), "seed": seed, "params": asdict(p)})
    write_otb_boxes(out_dir / "groundtruth_rect.txt", gt)


def occlusions(name: str, challenges: list[str] | tuple[str, ...], seed: int, p: SynthParams = SynthParams()) -> list[tuple[int, int, float]]:
    """The occluder windows of a sequence, ``[(first, end, width factor)]`` 0-based, end exclusive
    (empty without ``OCC``). Renders the sequence to replay its random draws exactly."""
    if "OCC" not in challenges:
        return []
    events: dict = {}
    render_sequence(name, challenges, seed, p, events=events)
    return events["occlusions"]
