"""How detect cuts an analysed clip into fixed-length windows, one way for every detector.

A detector calibrated on clips of ``length`` frames (the wild benchmark's 3 s centre crops) judges
a longer video window by window, so that each window looks like a calibration clip: consecutive
windows of ``length`` frames, the last one moved back to overlap its neighbour so that it is full
length; a clip of at most ``length`` frames is one window. The cue detector and the zero-shot
detector both cut with :func:`window_starts`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def window_starts(num_frames: int, length: int) -> list[int]:
    """First frames of consecutive windows of ``length`` frames covering ``num_frames``: the last
    window starts at ``num_frames - length`` (overlapping its neighbour) so every window is full
    length; a clip of at most ``length`` frames is one window from 0 (of ``num_frames`` frames)."""
    if length < 1:
        raise ValueError(f"window length must be positive, got {length}")
    if num_frames <= length:
        return [0]
    starts = list(range(0, num_frames - length + 1, length))
    if starts[-1] + length < num_frames:
        starts.append(num_frames - length)
    return starts


def frame_scores(num_frames: int, starts: Sequence[int], length: int, scores: Sequence[float]) -> np.ndarray:
    """(T,) per-frame score: the mean score of the windows covering each frame."""
    total, count = np.zeros(num_frames), np.zeros(num_frames)
    for start, score in zip(starts, scores):
        total[start:start + length] += score
        count[start:start + length] += 1
    return total / np.maximum(count, 1)
