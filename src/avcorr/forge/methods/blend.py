"""Pasting a forged region into a frame, with traces that vary from forgery to forgery.

A detector must not win on one trivial cue (a fixed seam width, a constant colour jump, the
same mask shape every time). :func:`sample_blend_style` therefore draws, per forgery, the mask
shape and its growth, the feather width, how strongly colours are matched, whether the paste is
alpha-blended or Poisson-cloned, and a mild blur or sharpening of the pasted pixels.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np


@dataclass(frozen=True)
class BlendStyle:
    """One forgery's blending traces. Lengths are fractions of the region's size."""

    mask_shape: str  # "hull" (landmark polygon) or "ellipse"
    grow: float  # mask dilation (+) or erosion (−), fraction of region size
    feather: float  # Gaussian feather sigma, fraction of region size
    color_strength: float  # 0: no colour matching, 1: full LAB mean/std transfer
    mode: str  # "alpha", "poisson" (cv2.seamlessClone NORMAL) or "poisson-mixed"
    texture: float  # < 0 blur sigma (pixels), > 0 unsharp amount, 0 untouched

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def reach(self) -> float:
        """How far the soft mask reaches beyond its polygon, as a fraction of the polygon's size."""
        return max(self.grow, 0.0) + 3.0 * self.feather + 0.03


def mask_box(polygon: np.ndarray, style: BlendStyle, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The box the soft mask of ``polygon`` fits in (so that clipping to it never leaves a straight seam)."""
    pts = np.asarray(polygon, dtype=np.float64)[:, :2]
    size = max(float(np.ptp(pts[:, 0])), float(np.ptp(pts[:, 1])), 2.0)
    margin = style.reach() * size + 2.0
    return clip_box((*(pts.min(0) - margin), *(pts.max(0) + margin)), shape)


def sample_blend_style(rng: np.random.Generator, poisson_probability: float = 0.25) -> BlendStyle:
    draw = rng.random()
    mode = "alpha" if draw >= poisson_probability else ("poisson" if draw < 0.7 * poisson_probability else "poisson-mixed")
    texture_kind = rng.random()
    texture = 0.0 if texture_kind < 0.4 else (-float(rng.uniform(0.3, 1.2)) if texture_kind < 0.75 else float(rng.uniform(0.2, 0.8)))
    return BlendStyle(
        mask_shape="hull" if rng.random() < 0.6 else "ellipse",
        grow=float(rng.uniform(-0.04, 0.12)),
        feather=float(rng.uniform(0.02, 0.12)),
        color_strength=float(rng.uniform(0.3, 1.0)),
        mode=mode,
        texture=texture,
    )


def region_mask(shape: tuple[int, int], polygon: np.ndarray, style: BlendStyle) -> np.ndarray:
    """Soft mask (H, W) float32 in [0, 1] for a landmark polygon, shaped, grown and feathered per style."""
    h, w = shape
    pts = np.asarray(polygon, dtype=np.float64)[:, :2]
    size = max(float(np.ptp(pts[:, 0])), float(np.ptp(pts[:, 1])), 2.0)
    mask = np.zeros((h, w), dtype=np.uint8)
    if style.mask_shape == "ellipse":
        centre = pts.mean(axis=0)
        axes = (max(1, int(round(np.ptp(pts[:, 0]) / 2))), max(1, int(round(np.ptp(pts[:, 1]) / 2))))
        cv2.ellipse(mask, (int(round(centre[0])), int(round(centre[1]))), axes, 0, 0, 360, 255, -1)
    else:
        hull = cv2.convexHull(np.round(pts).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 255)
    grow_px = int(round(abs(style.grow) * size))
    if grow_px > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow_px + 1, 2 * grow_px + 1))
        mask = cv2.dilate(mask, kernel) if style.grow > 0 else cv2.erode(mask, kernel)
    soft = mask.astype(np.float32) / 255.0
    sigma = max(0.5, style.feather * size)
    return cv2.GaussianBlur(soft, (0, 0), sigmaX=sigma)


def transfer_color(patch: np.ndarray, target: np.ndarray, mask: np.ndarray, strength: float) -> np.ndarray:
    """Match ``patch``'s LAB mean/std to ``target``'s inside ``mask`` (Reinhard), blended by ``strength``."""
    if strength <= 0:
        return patch
    inside = (mask > 0.5).astype(np.uint8)
    if int(inside.sum()) < 16:
        return patch
    src = cv2.cvtColor(patch, cv2.COLOR_RGB2LAB)
    ref = cv2.cvtColor(target, cv2.COLOR_RGB2LAB)
    s_mean, s_std = (v.reshape(3) for v in cv2.meanStdDev(src, mask=inside))
    r_mean, r_std = (v.reshape(3) for v in cv2.meanStdDev(ref, mask=inside))
    gain = (r_std + 1e-3) / (s_std + 1e-3)
    # mixed = (1 - strength) * src + strength * ((src - s_mean) * gain + r_mean), as one affine map per channel
    scale = (1.0 - strength) + strength * gain
    shift = strength * (r_mean - s_mean * gain)
    mixed = src.astype(np.float32) * scale.astype(np.float32) + shift.astype(np.float32)
    return cv2.cvtColor(np.clip(mixed, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def retouch(patch: np.ndarray, texture: float) -> np.ndarray:
    """Blur (texture < 0, sigma = −texture pixels) or unsharp-mask (texture > 0) the pasted pixels."""
    if texture == 0:
        return patch
    blurred = cv2.GaussianBlur(patch, (0, 0), sigmaX=max(abs(texture), 0.3) if texture < 0 else 1.0)
    if texture < 0:
        return blurred
    sharp = cv2.addWeighted(patch.astype(np.float32), 1 + texture, blurred.astype(np.float32), -texture, 0)
    return np.clip(sharp, 0, 255).astype(np.uint8)


def paste(frame: np.ndarray, patch: np.ndarray, mask: np.ndarray, style: BlendStyle,
          box: tuple[int, int, int, int]) -> np.ndarray:
    """Blend ``patch`` into ``frame[y0:y1, x0:x1]`` where ``mask`` (both box-sized) is on.

    Pixels outside ``box`` stay exact; returns a new frame.
    """
    x0, y0, x1, y1 = box
    out = frame.copy()
    fr = frame[y0:y1, x0:x1]
    if fr.shape[0] < 4 or fr.shape[1] < 4:
        return out
    pa = retouch(transfer_color(patch, fr, mask, style.color_strength), style.texture)
    if style.mode.startswith("poisson"):
        blended = _poisson(fr, pa, mask, mixed=style.mode == "poisson-mixed")
        if blended is not None:
            pa = blended
    alpha = mask[..., None]
    out[y0:y1, x0:x1] = np.clip(alpha * pa.astype(np.float32) + (1 - alpha) * fr.astype(np.float32) + 0.5, 0, 255).astype(np.uint8)
    return out


def clip_box(box: tuple[float, float, float, float], shape: tuple[int, int]) -> tuple[int, int, int, int]:
    h, w = shape
    x0, y0, x1, y1 = box
    return int(max(0, np.floor(x0))), int(max(0, np.floor(y0))), int(min(w, np.ceil(x1))), int(min(h, np.ceil(y1)))


def _poisson(frame: np.ndarray, patch: np.ndarray, mask: np.ndarray, mixed: bool) -> np.ndarray | None:
    """Poisson-clone the patch into the frame inside the mask's core; None if the mask is unusable."""
    binary = (mask > 0.3).astype(np.uint8) * 255
    binary[:2, :] = 0
    binary[-2:, :] = 0
    binary[:, :2] = 0
    binary[:, -2:] = 0
    if int((binary > 0).sum()) < 16:
        return None
    x, y, w, h = cv2.boundingRect(binary)
    centre = (x + w // 2, y + h // 2)  # where OpenCV puts the mask's box centre: the patch stays in place
    flag = cv2.MIXED_CLONE if mixed else cv2.NORMAL_CLONE
    try:
        return cv2.seamlessClone(patch, frame, binary, centre, flag)
    except cv2.error:
        return None
