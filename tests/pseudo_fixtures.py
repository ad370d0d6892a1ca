"""A drawn talking face with face-mesh-like landmarks, as a clip record (test-only).

The face is a textured ellipse that moves, scales and turns smoothly over a textured background;
its mouth (a dark ellipse) opens and closes. 478 landmarks follow it: the face oval on the ellipse
border, eye corners, nose tip, chin and lips where the drawing has them, the rest scattered inside
the face. Enough geometry for the pseudo-fake masks and warps; no tracker needed.
"""
from __future__ import annotations

import cv2
import numpy as np

from avcorr.data.clip_cache import ClipMeta, ClipRecord
from avcorr.media.landmarks import FACE_OVAL
from avcorr.pseudo.clip import SourceClip
from avcorr.pseudo.still_image import LIPS

FIXED = {33: (-0.55, -0.35), 133: (-0.2, -0.35), 362: (0.2, -0.35), 263: (0.55, -0.35), 1: (0.0, 0.15),
         4: (0.0, 0.1), 6: (0.0, -0.3), 168: (0.0, -0.4), 197: (0.0, -0.15)}


def canonical_landmarks(opening: float, rng: np.random.Generator) -> np.ndarray:
    """(478, 2) in face units: x ±1 across the face, y −1.3 (top) … +1.3 (chin)."""
    r = np.sqrt(rng.uniform(0, 1, 478)) * 0.8
    a = rng.uniform(0, 2 * np.pi, 478)
    pts = np.stack([r * np.cos(a), 1.3 * r * np.sin(a)], axis=1)
    angles = np.deg2rad(-90 + 360 * np.arange(len(FACE_OVAL)) / len(FACE_OVAL))
    pts[FACE_OVAL] = np.stack([np.cos(angles), 1.3 * np.sin(angles)], axis=1)
    lip_angles = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    for ring, (rx, ry) in zip((LIPS[:20], LIPS[20:]), ((0.4, 0.12 + 0.15 * opening), (0.3, 0.02 + 0.13 * opening))):
        pts[ring] = np.stack([rx * np.cos(lip_angles), 0.7 + ry * np.sin(lip_angles)], axis=1)
    for index, xy in FIXED.items():
        pts[index] = xy
    return pts


def drawn_clip(num_frames: int = 40, size: int = 64, seed: int = 0) -> ClipRecord:
    rng = np.random.default_rng(seed)
    background = cv2.GaussianBlur(rng.uniform(0, 255, (size, size)).astype(np.float32), (0, 0), 2.0)
    skin = cv2.GaussianBlur(rng.uniform(90, 200, (size, size)).astype(np.float32), (0, 0), 1.0)
    frames = np.empty((num_frames, size, size), np.uint8)
    landmarks = np.empty((num_frames, 478, 3), np.float32)
    t = np.arange(num_frames)
    opening = 0.5 + 0.5 * np.sin(2 * np.pi * t / 9.0)
    for i in range(num_frames):
        scale = size * (0.27 + 0.01 * np.sin(t[i] / 7.0))
        angle = 0.08 * np.sin(t[i] / 5.0)
        centre = np.array([size / 2 + 2.0 * np.sin(t[i] / 6.0), size / 2 + 1.5 * np.cos(t[i] / 8.0)])
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) * scale
        unit = canonical_landmarks(float(opening[i]), np.random.default_rng(seed + 1))
        pts = unit @ rot.T + centre
        matrix = np.hstack([rot / (size / 2), (centre - rot @ np.array([1.0, 1.0]))[:, None]])
        face = cv2.warpAffine(skin, matrix, (size, size), borderMode=cv2.BORDER_REFLECT_101)
        inside = np.zeros((size, size), np.uint8)
        cv2.fillConvexPoly(inside, np.round(pts[FACE_OVAL]).astype(np.int32), 1)
        image = np.where(inside > 0, face, background)
        for eye in (33, 263):
            cv2.circle(image, tuple(int(v) for v in np.round(0.5 * (pts[eye] + pts[133 if eye == 33 else 362]))), 2, 30.0, -1)
        cv2.fillPoly(image, [np.round(pts[LIPS[20:]]).astype(np.int32)], 20.0)
        frames[i] = np.clip(image, 0, 255).astype(np.uint8)
        landmarks[i, :, :2] = pts
        landmarks[i, :, 2] = 0.0
    mfcc = rng.normal(size=(4 * num_frames, 13)).astype(np.float32)
    meta = ClipMeta(clip_id=f"drawn-{seed}", label=0, num_frames=num_frames)
    return ClipRecord(meta=meta, arrays={"frames": frames, "landmarks": landmarks, "mfcc": mfcc,
                                         "face_found": np.ones(num_frames, bool)})


def drawn_source(num_frames: int = 40, size: int = 64, seed: int = 0) -> SourceClip:
    return SourceClip.from_record(drawn_clip(num_frames, size, seed))
