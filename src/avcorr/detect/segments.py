"""Suspicious segments: the stretches of a clip whose per-frame fake scores stay high.

A verification team wants "where", not only "whether". Frame scores are noisy, so a segment is
found the way an edge detector finds edges: smooth the scores over a few frames, then use two
thresholds (hysteresis). A segment is a run of frames at or above ``low`` that contains at least
one frame at or above ``high``, with its end frames trimmed where the raw score is below ``low``
(smoothing would otherwise widen every segment); runs closer than ``merge_gap_s`` are joined, and what is still
shorter than ``min_duration_s`` is dropped. A segment's score is the mean *unsmoothed* frame
score inside it, so it reads as "the mean fake probability over these frames".

Frame indices are half-open: a segment covers frames ``start_frame .. end_frame - 1`` and the time
span ``[start_frame / fps, end_frame / fps)`` seconds.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np


@dataclass(frozen=True)
class Segment:
    """One suspicious stretch of a clip (frames half-open, seconds at the clip's fps)."""

    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    score: float

    @property
    def num_frames(self) -> int:
        return self.end_frame - self.start_frame

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["start_s"] = round(self.start_s, 3)
        values["end_s"] = round(self.end_s, 3)
        values["score"] = round(self.score, 4)
        return values


@dataclass(frozen=True)
class SegmentOptions:
    """How frame scores become segments. Scores are probabilities in [0, 1].

    ``high``: a segment must reach this (after smoothing); ``low``: it extends while the smoothed
    score stays at or above this; ``smooth_frames``: moving-average window in frames (1 = none);
    ``min_duration_s`` / ``merge_gap_s``: in seconds.
    """

    high: float = 0.5
    low: float = 0.35
    smooth_frames: int = 5
    min_duration_s: float = 0.2
    merge_gap_s: float = 0.2

    def __post_init__(self) -> None:
        if not 0.0 <= self.low <= self.high:
            raise ValueError(f"segment thresholds need 0 <= low <= high (got low={self.low}, high={self.high})")
        if self.smooth_frames < 1:
            raise ValueError("smooth_frames must be at least 1")
        if self.min_duration_s < 0 or self.merge_gap_s < 0:
            raise ValueError("min_duration_s and merge_gap_s must not be negative")

    @classmethod
    def for_threshold(cls, threshold: float, margin: float = 0.15, **kwargs: Any) -> "SegmentOptions":
        """Options whose ``high`` is the verdict threshold and ``low`` sits ``margin`` below it."""
        return cls(high=threshold, low=max(0.0, threshold - margin), **kwargs)


def smooth_scores(scores: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over ``window`` frames; the ends are padded with their edge values,
    so a short clip is not pulled towards zero."""
    scores = np.asarray(scores, dtype=np.float64)
    if window <= 1 or scores.size == 0:
        return scores.copy()
    left = (window - 1) // 2
    right = window - 1 - left
    padded = np.pad(scores, (left, right), mode="edge")
    kernel = np.full(window, 1.0 / window)
    return np.convolve(padded, kernel, mode="valid")


def runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``(start, end)`` frame ranges where ``mask`` is true, in order."""
    mask = np.asarray(mask, dtype=bool)
    if mask.size == 0:
        return []
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return [(int(s), int(e)) for s, e in zip(starts, ends)]


def find_segments(scores: np.ndarray, fps: float = 25.0, options: SegmentOptions = SegmentOptions()) -> list[Segment]:
    """Suspicious segments of one clip from its (T,) per-frame scores, sorted by start time."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1:
        raise ValueError(f"frame scores must be one-dimensional, got shape {scores.shape}")
    if scores.size == 0:
        return []
    if fps <= 0:
        raise ValueError("fps must be positive")
    valid = np.isfinite(scores)
    smoothed = smooth_scores(np.where(valid, scores, 0.0), options.smooth_frames)
    runs = [(s, e) for s, e in runs_of(smoothed >= options.low) if np.any(smoothed[s:e] >= options.high)]
    runs = [r for r in (_trim(scores, s, e, options.low) for s, e in runs) if r[1] > r[0]]

    merge_gap = int(round(options.merge_gap_s * fps))
    merged: list[tuple[int, int]] = []
    for start, end in runs:
        if merged and start - merged[-1][1] <= merge_gap:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))

    min_frames = max(1, int(round(options.min_duration_s * fps)))
    segments = []
    for start, end in merged:
        if end - start < min_frames:
            continue
        inside = scores[start:end][valid[start:end]]
        score = float(inside.mean()) if inside.size else float("nan")
        segments.append(Segment(start, end, start / fps, end / fps, score))
    return segments


def _trim(scores: np.ndarray, start: int, end: int, low: float) -> tuple[int, int]:
    """Drop the frames at a run's ends whose raw score is below ``low``: smoothing smears a step
    over ``smooth_frames // 2`` frames on each side, which would otherwise widen every segment."""
    while start < end and not scores[start] >= low:
        start += 1
    while end > start and not scores[end - 1] >= low:
        end -= 1
    return start, end


def segment_mask(segments: Sequence[Segment], num_frames: int) -> np.ndarray:
    """(T,) bool: true on the frames some segment covers."""
    mask = np.zeros(num_frames, dtype=bool)
    for segment in segments:
        mask[max(0, segment.start_frame):min(num_frames, segment.end_frame)] = True
    return mask


def interval_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Intersection over union of two half-open intervals (frames or seconds); 0 when both are empty."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return float(inter / union) if union > 0 else 0.0
