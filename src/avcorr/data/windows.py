"""How a clip is cut into windows and how the windows' outputs become per-frame values: the one
sliding and aggregation of the project (pyannote's ``Inference`` is the model), used by every
detector kind, by evaluation and by the benchmarks. Frames are video frames (25 fps).

A :class:`Windowing` is the spec a model brings:

- a detector calibrated on clips of ``length`` frames (the wild benchmark's 3-s centre crops)
  judges a longer video in *consecutive* windows of exactly that length, the last one moved back
  flush with the clip's end, so that every window looks like a calibration clip; each frame gets
  the *mean* of the scores of the windows covering it (:meth:`Windowing.for_calibrated_clips`);
- the student network sees at most ``length`` frames (its attention was trained on clips that
  long): a longer clip runs in the fewest windows that share at least ``overlap`` frames, starts
  *spread* evenly, and each frame's outputs are a *ramped* weighted mean, the weights falling
  linearly over ``overlap`` frames towards each window's inner edges, where the network has the
  least context (:meth:`Windowing.for_model`).

A clip of at most ``length`` frames is one window of all its frames; a clip of no frames has none.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

MEAN = "mean"
RAMPED = "ramped"
AGGREGATIONS = (MEAN, RAMPED)

Bounds = list[tuple[int, int]]


@dataclass(frozen=True)
class Windowing:
    """``length``: frames per window (None: the whole clip is one window). ``overlap``: frames
    consecutive windows share (at least that many with ``spread``; at most half a window).
    ``spread``: False — windows step by ``length - overlap`` from frame 0 and the last is moved back
    flush with the clip's end; True — the fewest windows sharing at least ``overlap`` frames, their
    starts spread evenly from 0 to the end. ``aggregation``: ``"mean"`` (each frame: the mean of the
    covering windows' values) or ``"ramped"`` (weights ramp down over ``overlap`` frames at inner edges)."""

    length: int | None = None
    overlap: int = 0
    spread: bool = False
    aggregation: str = MEAN

    def __post_init__(self) -> None:
        if self.length is not None and self.length < 1:
            raise ValueError(f"window length must be positive, got {self.length}")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"window aggregation {self.aggregation!r}: expected one of {', '.join(AGGREGATIONS)}")

    @classmethod
    def for_calibrated_clips(cls, length: int | None) -> "Windowing":
        """Consecutive full-length windows of a detector calibrated on clips of ``length`` frames, frames averaged."""
        return cls(length=length)

    @classmethod
    def for_model(cls, max_frames: int | None, overlap: int) -> "Windowing":
        """Evenly spread windows of at most ``max_frames`` frames sharing at least ``overlap``, ramped blending."""
        return cls(length=max_frames or None, overlap=overlap, spread=True, aggregation=RAMPED)

    def bounds(self, num_frames: int) -> Bounds:
        """Half-open ``(start, stop)`` frame windows covering ``num_frames``, in order."""
        if num_frames <= 0:
            return []
        length = self.length
        if length is None or num_frames <= length:
            return [(0, num_frames)]
        overlap = min(max(0, self.overlap), length // 2)
        step = length - overlap
        if self.spread:
            count = math.ceil((num_frames - length) / step) + 1
            starts = [int(s) for s in np.linspace(0, num_frames - length, count).round().astype(int)]
        else:
            starts = list(range(0, num_frames - length + 1, step))
            if starts[-1] + length < num_frames:
                starts.append(num_frames - length)
        return [(s, s + length) for s in starts]

    def weights(self, start: int, stop: int, num_frames: int) -> np.ndarray:
        """(stop - start,) blending weights of one window: ones, or for ``"ramped"`` rising linearly
        over ``overlap`` frames (at most half the window length) at edges inside the clip."""
        size = stop - start
        weights = np.ones(size, dtype=np.float64)
        ramp = min(self.overlap, (self.length or num_frames) // 2) if self.aggregation == RAMPED else 0
        if ramp > 0:
            rising = (np.arange(1, ramp + 1) / (ramp + 1))[:size]
            if start != 0:
                weights[: len(rising)] = np.minimum(weights[: len(rising)], rising)
            if stop != num_frames:
                weights[size - len(rising):] = np.minimum(weights[size - len(rising):], rising[::-1])
        return weights

    def aggregate(self, num_frames: int, bounds: Sequence[tuple[int, int]],
                  values: Sequence[float | np.ndarray]) -> np.ndarray:
        """Per-frame values from each window's output: a scalar (its score) or an array whose last
        axis has the window's frames ((n,) or (C, n)). Returns (T,) or (C, T) float64; frames no
        window covers are 0."""
        outputs = [np.asarray(v, dtype=np.float64) for v in values]
        lead = outputs[0].shape[:-1] if outputs and outputs[0].ndim > 0 else ()
        total = np.zeros((*lead, num_frames), dtype=np.float64)
        weight_sum = np.zeros(num_frames, dtype=np.float64)
        for (start, stop), value in zip(bounds, outputs):
            weights = self.weights(start, stop, num_frames)
            total[..., start:stop] += weights * value
            weight_sum[start:stop] += weights
        return total / np.maximum(weight_sum, 1e-12)


def centre_window(num_frames: int, length: int) -> slice:
    """The ``length`` frames in the middle of a clip of ``num_frames`` (all of a shorter clip): the
    one window a calibration or training clip is cut to."""
    if num_frames <= length:
        return slice(0, num_frames)
    start = (num_frames - length) // 2
    return slice(start, start + length)
