"""The mouth geometry forge needs, from MediaPipe face-mesh landmarks (indices: :mod:`avcorr.media.landmarks`).

Geometry is measured in source
pixels and normalised by the inter-ocular distance so that it does not depend on face size.
"""
from __future__ import annotations

import numpy as np

from avcorr.media.landmarks import LIP_LOWER_INNER, LIP_UPPER_INNER, LIPS_OUTER, MOUTH_CORNERS

def interocular(landmarks: np.ndarray) -> np.ndarray:
    """Distance between the outer eye corners, pixels; (...,) for landmarks (..., 478, 2+)."""
    return np.linalg.norm(landmarks[..., 33, :2] - landmarks[..., 263, :2], axis=-1)


def mouth_width(landmarks: np.ndarray) -> np.ndarray:
    return np.linalg.norm(landmarks[..., 61, :2] - landmarks[..., 291, :2], axis=-1)


def mouth_opening(landmarks: np.ndarray) -> np.ndarray:
    """Inner-lip gap / mouth width (0 closed, ~0.5 wide open): robust to face size and pose."""
    gap = np.linalg.norm(landmarks[..., LIP_UPPER_INNER, :2] - landmarks[..., LIP_LOWER_INNER, :2], axis=-1)
    return gap / np.maximum(mouth_width(landmarks), 1e-3)


def mouth_spread(landmarks: np.ndarray) -> np.ndarray:
    """Mouth width / inter-ocular distance (rounded lips are narrow, spread lips wide)."""
    return mouth_width(landmarks) / np.maximum(interocular(landmarks), 1e-3)


def mouth_box(landmarks: np.ndarray, scale: float = 1.6) -> tuple[int, int, int, int]:
    """Square box (x0, y0, x1, y1) around the outer lips of one frame, ``scale`` × mouth width."""
    pts = landmarks[LIPS_OUTER, :2]
    cx, cy = pts.mean(axis=0)
    half = 0.5 * scale * max(float(np.ptp(pts[:, 0])), float(np.ptp(pts[:, 1])), 4.0)
    return int(round(cx - half)), int(round(cy - half)), int(round(cx + half)), int(round(cy + half))


def mouth_frame(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Mouth coordinate system of one frame: centre, unit axis along the lips, unit axis down, half width."""
    left, right = landmarks[MOUTH_CORNERS[0], :2], landmarks[MOUTH_CORNERS[1], :2]
    centre = 0.5 * (left + right)
    axis = right - left
    half = max(float(np.linalg.norm(axis)) / 2.0, 1.0)
    u = axis / (2.0 * half)
    v = np.array([-u[1], u[0]])
    if v[1] < 0:  # "down" points down the image
        v = -v
    return centre, u, v, half


def head_pose_proxy(landmarks: np.ndarray) -> np.ndarray:
    """(..., 2) nose tip relative to the eye midpoint, in inter-ocular units: ~yaw (x) and ~pitch (y)."""
    eyes = 0.5 * (landmarks[..., 33, :2] + landmarks[..., 263, :2])
    return (landmarks[..., 1, :2] - eyes) / np.maximum(interocular(landmarks), 1e-3)[..., None]
