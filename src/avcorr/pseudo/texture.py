"""Pixel-level mismatches a generator leaves in what it renders: resolution, tone, sharpness.

All operate on (n, H, W) uint8 stacks with one draw per clip (a generator renders every frame
with the same network), returning new uint8 stacks of the same shape.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

INTERPOLATIONS = (cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC)


@dataclass(frozen=True)
class Retouch:
    """Tone and sharpness change: ``gain``, ``bias`` (grey levels), ``sharpness`` (< 0 blur sigma px,
    > 0 unsharp amount, 0 none)."""

    gain: float
    bias: float
    sharpness: float


def sample_retouch(rng: np.random.Generator, strength: float = 1.0) -> Retouch:
    """Two-sided on purpose: generators leave softer *or* crisper texture than the camera (a face
    restorer, a 512 px model on a small face); blur alone would teach "soft = fake"."""
    kind = rng.random()
    sharp = 0.0 if kind < 0.2 else (-float(rng.uniform(0.4, 1.4)) if kind < 0.6 else float(rng.uniform(0.3, 1.5)))
    return Retouch(gain=float(1.0 + strength * rng.uniform(-0.12, 0.12)),
                   bias=float(strength * rng.uniform(-10.0, 10.0)), sharpness=sharp * strength)


def apply_retouch(frames: np.ndarray, retouch: Retouch) -> np.ndarray:
    out = frames.astype(np.float32) * retouch.gain + retouch.bias
    if retouch.sharpness != 0:
        sigma = -retouch.sharpness if retouch.sharpness < 0 else 1.0
        blurred = np.stack([cv2.GaussianBlur(f, (0, 0), sigma) for f in out])
        out = blurred if retouch.sharpness < 0 else out + retouch.sharpness * (out - blurred)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def rescale(frames: np.ndarray, factor: float, down: int = cv2.INTER_AREA, up: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Render at ``factor`` × the size and scale back up (a 96 px lip-sync model on a larger face)."""
    h, w = frames.shape[1:3]
    small = (max(4, int(round(w * factor))), max(4, int(round(h * factor))))
    return np.stack([cv2.resize(cv2.resize(f, small, interpolation=down), (w, h), interpolation=up) for f in frames])


def sample_rescale(rng: np.random.Generator, low: float, high: float) -> tuple[float, int, int]:
    """Factor in [low, high] and the down/up interpolations."""
    return (float(rng.uniform(low, high)), int(rng.choice(INTERPOLATIONS)),
            int(rng.choice(INTERPOLATIONS[1:])))
