"""The paper's video-only augmentations: horizontal flip, random crop resized back, rotation.

One draw per clip, applied identically to every frame: a per-frame draw would make the mouth
jitter from frame to frame, a motion cue that exists in neither real nor fake videos. Audio is
never augmented (its timing must stay aligned with the frames).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from avcorr.config import AugmentConfig


@dataclass(frozen=True)
class AugmentDraw:
    """What one clip gets: flip, crop box (x0, y0, side in pixels, or None) and rotation in degrees."""

    flip: bool
    crop: tuple[float, float, float] | None
    rotation_deg: float

    @property
    def is_identity(self) -> bool:
        return not self.flip and self.crop is None and self.rotation_deg == 0.0


class VideoAugment:
    """Applies :class:`AugmentConfig` to (T, H, W) uint8 grayscale clips, reproducibly from a seed."""

    def __init__(self, config: AugmentConfig) -> None:
        self.config = config

    def draw(self, size: tuple[int, int], seed: int) -> AugmentDraw:
        """Draw one clip's transform. The same number of random values is consumed whatever is drawn."""
        cfg = self.config
        rng = np.random.default_rng(seed)
        u_flip, u_crop, u_rot = rng.random(3)
        pos_x, pos_y = rng.random(2)
        angle = float(rng.uniform(-cfg.max_rotation_deg, cfg.max_rotation_deg))
        if not cfg.enabled:
            return AugmentDraw(False, None, 0.0)
        height, width = size
        crop = None
        if u_crop < cfg.crop_prob and 0.0 < cfg.crop_fraction < 1.0:
            side = cfg.crop_fraction * min(height, width)
            crop = (float(pos_x * (width - side)), float(pos_y * (height - side)), float(side))
        rotation = angle if u_rot < cfg.rotation_prob else 0.0
        return AugmentDraw(bool(u_flip < cfg.flip_prob), crop, rotation)

    def __call__(self, frames: np.ndarray, seed: int) -> np.ndarray:
        """Augment a (T, H, W) uint8 clip; returns a new array of the same shape and dtype."""
        draw = self.draw(frames.shape[1:3], seed)
        return apply_draw(frames, draw)


def apply_draw(frames: np.ndarray, draw: AugmentDraw) -> np.ndarray:
    """Warp every frame with the same affine transform (one matrix: flip, then crop, then rotation)."""
    if draw.is_identity:
        return frames
    if draw.crop is None and draw.rotation_deg == 0.0:
        return np.ascontiguousarray(frames[:, :, ::-1])
    height, width = frames.shape[1:3]
    matrix = _affine(draw, height, width)
    out = np.empty_like(frames)
    for t in range(frames.shape[0]):
        out[t] = cv2.warpAffine(frames[t], matrix, (width, height), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REFLECT_101)
    return out


def _affine(draw: AugmentDraw, height: int, width: int) -> np.ndarray:
    """The 2×3 forward matrix (input pixel → output pixel) of a draw."""
    transform = np.eye(3)
    if draw.flip:
        transform = np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) @ transform
    if draw.crop is not None:
        x0, y0, side = draw.crop
        sx, sy = width / side, height / side
        transform = np.array([[sx, 0.0, -x0 * sx], [0.0, sy, -y0 * sy], [0.0, 0.0, 1.0]]) @ transform
    if draw.rotation_deg:
        centre = ((width - 1) / 2.0, (height - 1) / 2.0)
        rotation = np.vstack([cv2.getRotationMatrix2D(centre, draw.rotation_deg, 1.0), [0.0, 0.0, 1.0]])
        transform = rotation @ transform
    return transform[:2].astype(np.float64)
