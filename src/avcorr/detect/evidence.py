"""Evidence for a verdict: the most suspicious frames of an analysed video, as crops and scenes.

Gathered by the detectors (:mod:`avcorr.detect.base`) while the prepared clip is still in memory,
so the HTML report (:mod:`avcorr.detect.report`) and the web page only render what they are given.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from avcorr.errors import AvcorrError
from avcorr.media.decode import iter_frames


@dataclass
class FrameEvidence:
    """One suspicious frame shown in the report. Images are uint8 arrays, gray (H, W) or RGB (H, W, 3)."""

    frame: int
    time_s: float
    score: float
    face: np.ndarray
    mouth: np.ndarray | None = None
    scene: np.ndarray | None = None  # the whole frame (downscaled) with the face box drawn
    face_box: np.ndarray | None = None  # (4,) x0, y0, x1, y1 of the face crop in source pixels



def pick_suspicious_frames(scores: np.ndarray, count: int = 4, min_gap_frames: int = 12) -> list[int]:
    """Indices of up to ``count`` highest-scoring frames, at least ``min_gap_frames`` apart (so the
    thumbnails show different moments, not one peak four times), in time order."""
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-np.where(np.isfinite(scores), scores, -np.inf), kind="stable")
    chosen: list[int] = []
    for index in order:
        if len(chosen) >= count:
            break
        if not np.isfinite(scores[index]):
            break
        if all(abs(int(index) - c) >= min_gap_frames for c in chosen):
            chosen.append(int(index))
    return sorted(chosen)


def collect_evidence(arrays: dict[str, np.ndarray], scores: np.ndarray, fps: float, count: int = 4,
                     scenes: dict[int, np.ndarray] | None = None) -> list[FrameEvidence]:
    """Evidence for the most suspicious frames of a prepared clip: its face crop (``frames``), mouth
    crop (``mouth``) and, where given, the whole frame (``scenes``: frame index → RGB image)."""
    faces = arrays.get("frames")
    if faces is None or len(scores) == 0:
        return []
    mouths = arrays.get("mouth")
    boxes = arrays.get("face_boxes")
    picked = pick_suspicious_frames(scores, count, min_gap_frames=max(1, int(round(0.5 * fps))))
    return [FrameEvidence(frame=t, time_s=t / fps, score=float(scores[t]), face=np.asarray(faces[t]),
                          mouth=None if mouths is None else np.asarray(mouths[t]),
                          scene=None if scenes is None else scenes.get(t),
                          face_box=None if boxes is None else np.asarray(boxes[t], dtype=np.float32))
            for t in picked]


def add_scenes(evidence: Sequence[FrameEvidence], video_path: str | Path, fps: float = 25.0,
               start_s: float = 0.0, width: int = 240) -> None:
    """Fill ``scene`` (the whole frame, ``width`` pixels wide, face box drawn) of each evidence item
    by decoding the video once more up to the last frame needed. ``start_s``: where the analysed
    clip starts in the file (a verdict's ``details.start_s``). A file that cannot be decoded again
    leaves the scenes empty: the report still shows the crops."""
    if not evidence:
        return
    offset = int(round(start_s * fps))
    wanted = {offset + item.frame: item for item in evidence}
    try:
        for index, frame in enumerate(iter_frames(video_path, fps, max(wanted) + 1)):
            if index in wanted:
                wanted[index].scene = scene_thumbnail(frame, wanted[index].face_box, width)
    except (AvcorrError, OSError, ValueError):
        return


def scene_thumbnail(frame_rgb: np.ndarray, box: Sequence[float] | None, width: int = 320) -> np.ndarray:
    """The whole frame scaled to ``width`` pixels, with the face box drawn (source-pixel box)."""
    import cv2

    height, source_width = frame_rgb.shape[:2]
    scale = width / source_width
    small = cv2.resize(frame_rgb, (width, max(1, int(round(height * scale)))), interpolation=cv2.INTER_AREA)
    if box is not None and np.all(np.isfinite(box)):
        x0, y0, x1, y1 = (int(round(v * scale)) for v in box)
        cv2.rectangle(small, (x0, y0), (x1, y1), (230, 57, 70), 2)
    return small
