"""Superseded by :mod:`avcorr.data.windows` (``Windowing.for_calibrated_clips``): these two names
only delegate to it, for the trace and dynamics detector kinds still being written against them;
remove this module once they use :class:`avcorr.data.windows.Windowing` directly."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from avcorr.data.windows import Windowing


def window_starts(num_frames: int, length: int) -> list[int]:
    """First frames of :meth:`Windowing.for_calibrated_clips` windows of ``length`` frames."""
    return [start for start, _ in Windowing.for_calibrated_clips(length).bounds(num_frames)] or [0]


def frame_scores(num_frames: int, starts: Sequence[int], length: int, scores: Sequence[float]) -> np.ndarray:
    """(T,) per-frame score: the mean score of the windows covering each frame."""
    return Windowing.for_calibrated_clips(length).aggregate(num_frames, [(s, s + length) for s in starts], scores)
