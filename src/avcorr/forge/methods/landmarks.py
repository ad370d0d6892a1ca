"""MediaPipe face-mesh landmark groups (478-point topology) and the mouth geometry forge needs.

Indices are those of MediaPipe's ``FACEMESH_*`` connection sets. Geometry is measured in source
pixels and normalised by the inter-ocular distance so that it does not depend on face size.
"""
from __future__ import annotations

import numpy as np

LIPS_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146]
LIPS_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95]
UPPER_LIP = [185, 40, 39, 37, 0, 267, 269, 270, 409, 191, 80, 81, 82, 13, 312, 311, 310, 415]
LOWER_LIP = [375, 321, 405, 314, 17, 84, 181, 91, 146, 324, 318, 402, 317, 14, 87, 178, 88, 95]
MOUTH_CORNERS = (61, 291)
INNER_TOP, INNER_BOTTOM = 13, 14
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]
CHIN = 152
RIGHT_EYE_UPPER = [246, 161, 160, 159, 158, 157, 173]
RIGHT_EYE_LOWER = [7, 163, 144, 145, 153, 154, 155]
LEFT_EYE_UPPER = [466, 388, 387, 386, 385, 384, 398]
LEFT_EYE_LOWER = [249, 390, 373, 374, 380, 381, 382]
EYE_CORNERS = (33, 133, 362, 263)
EYEBROWS = [46, 52, 53, 55, 63, 65, 66, 70, 105, 107, 276, 282, 283, 285, 293, 295, 296, 300, 334, 336]
NOSE = [1, 2, 4, 5, 6, 19, 45, 48, 64, 94, 97, 98, 115, 168, 195, 197, 220, 275, 278, 294, 326, 327, 344, 440]
#: Points that move with the head but not with the jaw or lips: used to align one frame onto another.
RIGID = [33, 133, 362, 263, 6, 168, 197, 195, 5, 4, 1, 98, 327, 234, 454, 127, 356]
#: Mesh subset for piecewise-affine warps: dense enough around mouth and eyes, small enough to be fast.
WARP_POINTS = sorted(set(LIPS_OUTER + LIPS_INNER + FACE_OVAL + RIGHT_EYE_UPPER + RIGHT_EYE_LOWER
                         + LEFT_EYE_UPPER + LEFT_EYE_LOWER + list(EYE_CORNERS) + EYEBROWS + NOSE
                         + [18, 200, 199, 175, 57, 287, 43, 273, 106, 335, 182, 406, 83, 313, 201, 421,
                            194, 418, 32, 262, 140, 369, 171, 396, 208, 428, 210, 430, 212, 432,
                            50, 280, 36, 266, 205, 425, 187, 411, 123, 352, 116, 345]))


def interocular(landmarks: np.ndarray) -> np.ndarray:
    """Distance between the outer eye corners, pixels; (...,) for landmarks (..., 478, 2+)."""
    return np.linalg.norm(landmarks[..., 33, :2] - landmarks[..., 263, :2], axis=-1)


def mouth_width(landmarks: np.ndarray) -> np.ndarray:
    return np.linalg.norm(landmarks[..., 61, :2] - landmarks[..., 291, :2], axis=-1)


def mouth_opening(landmarks: np.ndarray) -> np.ndarray:
    """Inner-lip gap / mouth width (0 closed, ~0.5 wide open): robust to face size and pose."""
    gap = np.linalg.norm(landmarks[..., INNER_TOP, :2] - landmarks[..., INNER_BOTTOM, :2], axis=-1)
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
