"""The same degradations for reals and pseudo-fakes, so that only the forgery separates them.

One draw per sample (a video is re-encoded as a whole): a small crop jitter (the face box of a
different tracker), a rescale down and back (a smaller source), a JPEG re-encode at a random
quality (another codec), then the learner's fixed input size.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class DegradeOptions:
    """``size``: output side (pixels); ``jitter``: crop side and offset, fraction of the frame;
    ``scale``: rescale factor range, applied with ``scale_probability``; ``jpeg_quality`` range,
    applied with ``jpeg_probability``."""

    size: int = 64
    jitter: float = 0.06
    scale: tuple[float, float] = (0.45, 1.0)
    scale_probability: float = 0.7
    jpeg_quality: tuple[int, int] = (35, 95)
    jpeg_probability: float = 0.8


def degrade(frames: np.ndarray, rng: np.random.Generator, options: DegradeOptions = DegradeOptions()) -> np.ndarray:
    """(n, H, W) uint8 → (n, size, size) uint8, one random draw for the whole stack."""
    h, w = frames.shape[1:3]
    side = min(h, w) * (1.0 - float(rng.uniform(0.0, options.jitter)))
    x0 = float(rng.uniform(0.0, w - side))
    y0 = float(rng.uniform(0.0, h - side))
    factor = float(rng.uniform(*options.scale)) if rng.random() < options.scale_probability else 1.0
    quality = int(rng.integers(options.jpeg_quality[0], options.jpeg_quality[1] + 1)) \
        if rng.random() < options.jpeg_probability else None
    inner = max(8, int(round(side * factor)))
    # crop + rescale in one affine resample, then (optionally) the codec at that resolution
    s = inner / side
    matrix = np.array([[s, 0.0, -x0 * s], [0.0, s, -y0 * s]])
    out = np.empty((len(frames), options.size, options.size), np.uint8)
    for i, frame in enumerate(frames):
        small = cv2.warpAffine(frame, matrix, (inner, inner), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT_101)
        if quality is not None:
            ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, quality])
            small = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE) if ok else small
        out[i] = cv2.resize(small, (options.size, options.size), interpolation=cv2.INTER_AREA
                            if inner > options.size else cv2.INTER_LINEAR)
    return out


def plain_resize(frames: np.ndarray, size: int) -> np.ndarray:
    """What a detector feeds at test time: the whole crop at the learner's size, nothing random."""
    h = frames.shape[1]
    interpolation = cv2.INTER_AREA if h > size else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (size, size), interpolation=interpolation) for f in frames])
