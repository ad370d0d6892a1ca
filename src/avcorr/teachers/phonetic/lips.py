"""Geometric lip features from MediaPipe face-mesh landmarks, the visual side's input.

Landmarks (T, 478, 3) in any pixel frame (source or face crop) are first normalised to the eye
line: translated to the eyes' midpoint, rotated so the line between the outer eye corners is
horizontal, and scaled so that line is 1 long. Distances, areas and depths are then free of
head position, roll and image scale. Each clip's features are z-scored over the clip (speaker,
lip shape and camera differ; what carries content is how the mouth moves around its own mean),
and every frame sees ±``context`` neighbours and the local difference, since a viseme is a
movement as much as a pose.
"""
from __future__ import annotations

import numpy as np

from avcorr.media.landmarks import (
    CHEEKS, CHIN, EYE_OUTER, INNER_CORNERS, INNER_PAIRS, LIPS_INNER, LIPS_OUTER, MOUTH_CORNERS, NOSE_TIP, OUTER_PAIRS, SUBNASALE,
)


FEATURE_NAMES: list[str] = [
    "inner_open_left", "inner_open_mid", "inner_open_right",
    "outer_open_left", "outer_open_mid", "outer_open_right",
    "inner_width", "outer_width", "inner_area", "outer_area",
    "inner_roundness", "outer_roundness",
    "upper_lip_thickness", "lower_lip_thickness",
    "nose_to_upper_lip", "lower_lip_to_chin", "jaw_open",
    "corner_raise", "lip_protrusion", "lower_lip_depth",
]


def normalize_to_eye_line(landmarks: np.ndarray) -> np.ndarray:
    """(T, 478, 3) → same, with eyes' midpoint at 0, eye line along +x, inter-ocular distance 1."""
    lm = np.asarray(landmarks, dtype=np.float64)
    left, right = lm[:, EYE_OUTER[0]], lm[:, EYE_OUTER[1]]
    centre = (left + right) / 2
    axis = right[:, :2] - left[:, :2]
    scale = np.linalg.norm(axis, axis=1)
    scale = np.where(scale > 1e-6, scale, 1.0)
    cos, sin = axis[:, 0] / scale, axis[:, 1] / scale
    shifted = lm - centre[:, None, :]
    x = cos[:, None] * shifted[..., 0] + sin[:, None] * shifted[..., 1]
    y = -sin[:, None] * shifted[..., 0] + cos[:, None] * shifted[..., 1]
    return np.stack([x, y, shifted[..., 2]], axis=-1) / scale[:, None, None]


def _polygon_area(points: np.ndarray) -> np.ndarray:
    x, y = points[..., 0], points[..., 1]
    return 0.5 * np.abs(np.sum(x * np.roll(y, -1, axis=-1) - np.roll(x, -1, axis=-1) * y, axis=-1))


#: Frames whose landmarks are normalised at once (a whole video's float64 copies took ~0.6 GB per 10 min).
_GEOMETRY_BLOCK = 2048


def lip_geometry(landmarks: np.ndarray) -> np.ndarray:
    """(T, 478, 3) landmarks → (T, F) lip shape features (names in :data:`FEATURE_NAMES`); each
    frame's are its own, computed in blocks of :data:`_GEOMETRY_BLOCK` frames."""
    if len(landmarks) > _GEOMETRY_BLOCK:
        return np.concatenate([lip_geometry(landmarks[a:a + _GEOMETRY_BLOCK])
                               for a in range(0, len(landmarks), _GEOMETRY_BLOCK)])
    n = normalize_to_eye_line(landmarks)

    def dist(a: int, b: int) -> np.ndarray:
        return np.linalg.norm(n[:, a, :2] - n[:, b, :2], axis=1)

    inner_open = [dist(a, b) for a, b in INNER_PAIRS]
    outer_open = [dist(a, b) for a, b in OUTER_PAIRS]
    inner_width = dist(*INNER_CORNERS)
    outer_width = dist(*MOUTH_CORNERS)
    inner_area = _polygon_area(n[:, LIPS_INNER, :2])
    outer_area = _polygon_area(n[:, LIPS_OUTER, :2])
    lip_centre_y = (n[:, 13, 1] + n[:, 14, 1]) / 2
    corner_y = (n[:, MOUTH_CORNERS[0], 1] + n[:, MOUTH_CORNERS[1], 1]) / 2
    cheek_z = (n[:, CHEEKS[0], 2] + n[:, CHEEKS[1], 2]) / 2
    lip_z = n[:, [0, 17, 13, 14], 2].mean(axis=1)
    features = [
        *inner_open, *outer_open,
        inner_width, outer_width, inner_area, outer_area,
        inner_open[1] / (inner_width + 1e-3), outer_open[1] / (outer_width + 1e-3),
        dist(0, 13), dist(14, 17),
        dist(SUBNASALE, 0), dist(17, CHIN), dist(NOSE_TIP, CHIN),
        lip_centre_y - corner_y,
        cheek_z - lip_z,
        n[:, 17, 2] - n[:, 0, 2],
    ]
    return np.stack(features, axis=1).astype(np.float32)


def zscore_per_clip(x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Standardise each feature over the clip's frames (axis 0)."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0, keepdims=True)
    std = x.std(axis=0, keepdims=True)
    return ((x - mean) / np.maximum(std, eps)).astype(np.float32)


def with_context(x: np.ndarray, context: int = 2) -> np.ndarray:
    """(T, F) → (T, (2·context + 2)·F): frames t−c … t+c (edge-padded) and the difference x[t+1] − x[t−1]."""
    t = len(x)
    padded = np.pad(x, [(context, context), (0, 0)], mode="edge")
    stacked = [padded[k : k + t] for k in range(2 * context + 1)]
    diff = padded[context + 1 : context + 1 + t] - padded[context - 1 : context - 1 + t] if context else np.zeros_like(x)
    return np.concatenate(stacked + [diff], axis=1).astype(np.float32)


def lip_features(landmarks: np.ndarray, context: int = 2) -> np.ndarray:
    """The visual model's input per frame: z-scored geometry with context and differences."""
    return with_context(zscore_per_clip(lip_geometry(landmarks)), context)
