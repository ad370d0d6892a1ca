"""Blending masks made the Self-Blended Images way (Shiohara & Yamasaki, CVPR 2022).

A landmark convex hull (the whole face, or the lower face below the nose), elastically deformed,
grown or shrunk, blurred, scaled by a blend ratio from {0.25, 0.5, 0.75, 1, 1, 1}. The deformation
and the style are drawn once per clip (a generator's blending region does not jump from frame to
frame); the hull follows each frame's landmarks. Every mask is confined to the hull grown by
:data:`MARGIN` of the face size, so a forgery never reaches beyond the face.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from avcorr.media.landmarks import CHIN, EYE_OUTER, NOSE_TIP

#: how far (fraction of the face size) a mask may reach beyond its landmark hull
MARGIN = 0.12
BLEND_RATIOS = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)


@dataclass(frozen=True)
class MaskStyle:
    """One forgery's mask: elastic displacement (fraction of face size, and its smoothness),
    grow (+) / shrink (−) and blur sigma (fractions of face size), blend ratio."""

    elastic: float
    elastic_smooth: float
    grow: float
    blur: float
    ratio: float
    seed: int


def sample_mask_style(rng: np.random.Generator) -> MaskStyle:
    return MaskStyle(elastic=float(rng.uniform(0.0, 0.05)), elastic_smooth=float(rng.uniform(0.06, 0.15)),
                     grow=float(rng.uniform(-0.04, 0.05)), blur=float(rng.uniform(0.01, MARGIN / 3.5)),
                     ratio=float(rng.choice(BLEND_RATIOS)), seed=int(rng.integers(2**31)))


def face_size(points: np.ndarray) -> float:
    """Size of a landmark set (pixels): the larger side of its bounding box."""
    return max(float(np.ptp(points[:, 0])), float(np.ptp(points[:, 1])), 4.0)


def below_eyes(landmarks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) float32 0/1: pixels below the line a quarter of the way from the eyes to the nose tip
    (a lower-face forgery never reaches the eyes)."""
    pts = landmarks[:, :2]
    eyes = 0.5 * (pts[EYE_OUTER[0]] + pts[EYE_OUTER[1]])
    axis = pts[CHIN] - eyes
    axis = axis / max(float(np.linalg.norm(axis)), 1e-3)
    limit = 0.25 * float((pts[NOSE_TIP] - eyes) @ axis)
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    return (((xs - eyes[0]) * axis[0] + (ys - eyes[1]) * axis[1]) >= limit).astype(np.float32)


def lower_face_points(landmarks: np.ndarray, level: float = 0.0) -> np.ndarray:
    """Landmarks (N, 2) of one frame lying below the nose tip along the eyes→chin axis.

    ``level`` moves the cut: 0 at the nose tip, −0.2 a fifth of the nose-to-chin distance higher.
    """
    pts = landmarks[:, :2]
    eyes = 0.5 * (pts[EYE_OUTER[0]] + pts[EYE_OUTER[1]])
    axis = pts[CHIN] - eyes
    length = max(float(np.linalg.norm(axis)), 1e-3)
    depth = (pts - eyes) @ (axis / length)
    nose = float(depth[NOSE_TIP])
    cut = nose + level * (length - nose)
    chosen = pts[depth >= cut]
    return chosen if len(chosen) >= 3 else pts


def hull_mask(points: np.ndarray, shape: tuple[int, int], grow_px: float = 0.0) -> np.ndarray:
    """Filled convex hull of ``points`` (N, 2), grown (or shrunk) by ``grow_px`` pixels: (H, W) float32 0/1."""
    mask = np.zeros(shape, np.uint8)
    hull = cv2.convexHull(np.round(points[:, :2] * 16).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1, lineType=cv2.LINE_8, shift=4)
    radius = int(round(abs(grow_px)))
    if radius > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        mask = cv2.dilate(mask, kernel) if grow_px > 0 else cv2.erode(mask, kernel)
    return mask.astype(np.float32)


def elastic_field(shape: tuple[int, int], size: float, style: MaskStyle) -> tuple[np.ndarray, np.ndarray]:
    """A smooth random displacement (map_x, map_y for cv2.remap), amplitude ``style.elastic × size`` px."""
    h, w = shape
    rng = np.random.default_rng(style.seed)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    if style.elastic <= 0:
        return xs, ys
    sigma = max(1.0, style.elastic_smooth * size)
    out = []
    for _ in range(2):
        noise = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
        noise /= max(float(np.abs(noise).max()), 1e-6)
        out.append(noise * style.elastic * size)
    return xs + out[0], ys + out[1]


def soft_mask(points: np.ndarray, shape: tuple[int, int], style: MaskStyle,
              field: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The blending mask (H, W) float32 in [0, style.ratio] of one frame's hull ``points``."""
    size = face_size(points)
    mask = hull_mask(points, shape, style.grow * size)
    if field is not None:
        mask = cv2.remap(mask, field[0], field[1], cv2.INTER_LINEAR, borderValue=0)
    mask = cv2.GaussianBlur(mask, (0, 0), max(0.5, style.blur * size))
    peak = float(mask.max())
    if peak <= 0:
        return np.zeros(shape, np.float32)
    mask = np.clip(mask / peak, 0.0, 1.0) * hull_mask(points, shape, MARGIN * size)
    mask[mask < 1e-3] = 0.0
    return (mask * style.ratio).astype(np.float32)


def span_masks(landmarks: np.ndarray, shape: tuple[int, int], style: MaskStyle, region: str,
               level: float = 0.0) -> np.ndarray:
    """Masks (n, H, W) for each frame's landmarks (n, 478, 2): ``region`` "face" or "lower"."""
    sizes = [face_size(f) for f in landmarks]
    field = elastic_field(shape, float(np.median(sizes)), style)
    out = np.empty((len(landmarks), *shape), np.float32)
    for i, marks in enumerate(landmarks):
        if region == "face":
            out[i] = soft_mask(marks[:, :2], shape, style, field)
        else:
            out[i] = soft_mask(lower_face_points(marks, level), shape, style, field) * below_eyes(marks, shape)
    return out
