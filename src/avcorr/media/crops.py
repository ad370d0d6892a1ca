"""Face and mouth crops from a :class:`~avcorr.media.face.FaceTrack`.

The face crop is the track's smoothed square box scaled to ``size`` pixels (grayscale, as the
student reads it). The mouth crop is a square centred on the lip landmarks, its side twice the
(smoothed) mouth width — the region the deep_avsr visual frontend reads. Both come either from
full frames or, for streamed clips, from the grayscale regions the tracker kept.
"""
from __future__ import annotations

import numpy as np

from avcorr.media.face import FaceTrack
from avcorr.media.landmarks import LIPS_OUTER, MOUTH_LEFT, MOUTH_RIGHT

MOUTH_SCALE = 2.0


def _warp(frames_rgb: np.ndarray | None, track: FaceTrack, boxes: np.ndarray, size: int) -> np.ndarray:
    """Cut the square ``boxes (T, 4)`` (source pixels) out of each frame, scaled to ``size``."""
    import cv2

    t = boxes.shape[0]
    out = np.empty((t, size, size), np.uint8)
    use_regions = frames_rgb is None
    if use_regions and track.regions is None:
        raise ValueError("crops need the frames, or a track made with keep_regions=True")
    for i in range(t):
        x0, y0, x1, _ = boxes[i]
        k = size / max(x1 - x0, 1e-6)
        if use_regions:
            rx0, ry0, rx1, _ = track.region_boxes[i]
            region = track.regions[i]
            r = region.shape[0] / max(rx1 - rx0, 1e-6)
            a = k / r
            affine = np.array([[a, 0, (rx0 - x0) * k], [0, a, (ry0 - y0) * k]], np.float32)
            out[i] = cv2.warpAffine(region, affine, (size, size), flags=cv2.INTER_AREA if a < 1 else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        else:
            affine = np.array([[k, 0, -x0 * k], [0, k, -y0 * k]], np.float32)
            patch = cv2.warpAffine(frames_rgb[i], affine, (size, size), flags=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            out[i] = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY)
    return out


def crop_faces(frames_rgb: np.ndarray | None, track: FaceTrack, size: int = 112) -> np.ndarray:
    """``(T, size, size)`` uint8 grayscale face crops; ``frames_rgb=None`` uses the track's regions."""
    return _warp(frames_rgb, track, track.boxes, size)


def mouth_boxes(track: FaceTrack, scale: float = MOUTH_SCALE, smoothing_frames: float = 1.0) -> np.ndarray:
    """Square mouth boxes ``(T, 4)`` in source pixels from the lip landmarks."""
    from scipy.ndimage import gaussian_filter1d

    lips = track.landmarks[:, LIPS_OUTER, :2]
    centre = (lips.min(1) + lips.max(1)) / 2
    width = np.linalg.norm(track.landmarks[:, MOUTH_LEFT, :2] - track.landmarks[:, MOUTH_RIGHT, :2], axis=1)
    if track.num_frames > 1 and smoothing_frames > 0:
        centre = gaussian_filter1d(centre, smoothing_frames, axis=0, mode="nearest")
        width = gaussian_filter1d(width, smoothing_frames * 3, mode="nearest")
    side = np.maximum(width * scale, 4.0)
    return np.concatenate([centre - side[:, None] / 2, centre + side[:, None] / 2], axis=1).astype(np.float32)


def crop_mouths(frames_rgb: np.ndarray | None, track: FaceTrack, size: int = 112, scale: float = MOUTH_SCALE) -> np.ndarray:
    """``(T, size, size)`` uint8 grayscale mouth crops centred on the lips."""
    return _warp(frames_rgb, track, mouth_boxes(track, scale), size)


def landmarks_in_crop(track: FaceTrack, size: int = 112) -> np.ndarray:
    """The track's landmarks ``(T, 478, 3)`` in face-crop pixels (z scaled like x)."""
    x0y0 = track.boxes[:, None, :2]
    k = (size / np.maximum(track.boxes[:, 2] - track.boxes[:, 0], 1e-6))[:, None, None]
    out = np.empty_like(track.landmarks)
    out[:, :, :2] = (track.landmarks[:, :, :2] - x0y0) * k
    out[:, :, 2] = track.landmarks[:, :, 2] * k[:, :, 0]
    return out.astype(np.float32)
