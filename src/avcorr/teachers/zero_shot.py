"""Zero-shot detection: is what the lips show consistent with what is heard? No trained detector.

Per frame, the teachers give an audio distribution p_t and a visual distribution q_t over one
vocabulary. How much more likely the pair is under "same event" than under "unrelated" is
r_t = Σ_v p_t(v) q_t(v) / q̄(v), with q̄ the clip's mean visual distribution; the frame's
*correlation* c_t = r_t / (1 + r_t) is then the probability that audio and lips belong together
(even prior odds), 0.5 when the lips say nothing about the sound. Over unrelated audio r_t
averages 1, so c_t (concave in r_t) averages at most 0.5. Dividing by q̄ matters: it
discounts visemes the visual model predicts everywhere (silence, open vowels), so a clip is
not called consistent merely because both sides are mostly silent or mostly open-mouthed — the
score rests on content (which viseme), not on how much the mouth moves (docs/design.md §8).

A clip's consistency is the mean c_t at the best of small audio/video offsets (±5 frames: real
recordings are often a frame or two out of sync). This module is the math only. ``detect`` turns
the mean into a score calibrated on real clips (:mod:`avcorr.detect.zero_shot`); the
:attr:`ZeroShotResult.score` here is the *uncalibrated prior*, a logistic of how far the mean
falls below ``decision_match``, for places that have no reference reals (cross-validation of
the lip model, benches, ``detect`` without a calibration file).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from avcorr.soft_label import soft_correlation_label


@dataclass(frozen=True)
class ZeroShotOptions:
    """``max_offset``: offsets searched, in frames (audio frame t+o against video frame t).

    ``decision_match``: mean correlation at which the uncalibrated prior score is 0.5;
    ``temperature``: how fast it moves with it. Both are fixed priors (unrelated audio averages at
    most 0.5, a little more after the offset search picks its best), not fitted to any data set.
    """

    max_offset: int = 5
    decision_match: float = 0.52
    temperature: float = 0.015


@dataclass
class ZeroShotResult:
    """One clip's zero-shot outcome. Per-frame arrays are (T,) over the video frames; frames the
    chosen offset leaves without audio are NaN. ``score`` is the uncalibrated prior
    (:func:`fake_probability`); ``mean_correlation`` is what calibration works on."""

    score: float
    mean_correlation: float
    offset: int
    correlation: np.ndarray
    soft_label: np.ndarray
    audio_class: np.ndarray
    visual_class: np.ndarray


def match_probability(audio: np.ndarray, visual: np.ndarray, visual_prior: np.ndarray | None = None) -> np.ndarray:
    """(T,) c_t = r_t / (1 + r_t), r_t = Σ_v p_t(v) q_t(v) / q̄(v) for (T, V) ``audio`` p and ``visual`` q."""
    audio = np.asarray(audio, dtype=np.float64)
    visual = np.asarray(visual, dtype=np.float64)
    prior = visual.mean(axis=0) if visual_prior is None else np.asarray(visual_prior, dtype=np.float64)
    ratio = (audio * visual / np.maximum(prior, 1e-12)).sum(axis=1)
    return ratio / (1.0 + ratio)


def offset_pair(audio: np.ndarray, visual: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray, slice]:
    """The overlapping parts of audio frames t+offset and video frames t, and the video frames kept."""
    t = min(len(audio), len(visual))
    if abs(offset) >= t:
        raise ValueError(f"offset {offset} leaves no overlap in {t} frames")
    if offset >= 0:
        return audio[offset:t], visual[: t - offset], slice(0, t - offset)
    return audio[: t + offset], visual[-offset:t], slice(-offset, t)


def fake_probability(mean_correlation: float, options: ZeroShotOptions = ZeroShotOptions()) -> float:
    """The uncalibrated prior score in [0, 1]: logistic((decision_match − mean correlation) / temperature)."""
    z = (options.decision_match - mean_correlation) / options.temperature
    return float(1.0 / (1.0 + math.exp(-max(min(z, 60.0), -60.0))))


def zero_shot(audio: np.ndarray, visual: np.ndarray, options: ZeroShotOptions = ZeroShotOptions()) -> ZeroShotResult:
    """Score one clip from its teachers' (T, V) audio and visual posteriors."""
    t = min(len(audio), len(visual))
    if t < 2:
        raise ValueError("zero-shot scoring needs at least two frames")
    audio, visual = np.asarray(audio[:t]), np.asarray(visual[:t])
    max_offset = min(options.max_offset, max(0, t // 4))
    best = None
    for offset in range(-max_offset, max_offset + 1):
        a, v, _ = offset_pair(audio, visual, offset)
        mean = float(match_probability(a, v).mean())
        # ties go to the smallest shift
        if best is None or mean > best[0] + 1e-12 or (abs(mean - best[0]) <= 1e-12 and abs(offset) < abs(best[1])):
            best = (mean, offset)
    mean, offset = best
    a, v, kept = offset_pair(audio, visual, offset)
    correlation = np.full(t, np.nan)
    correlation[kept] = match_probability(a, v)
    import torch

    soft = np.full(t, np.nan)
    soft[kept] = soft_correlation_label(torch.from_numpy(a).double(), torch.from_numpy(v).double()).numpy()
    audio_class = np.full(t, -1, dtype=np.int64)
    audio_class[kept] = a.argmax(axis=1)
    return ZeroShotResult(
        score=fake_probability(mean, options), mean_correlation=mean, offset=offset,
        correlation=correlation, soft_label=soft, audio_class=audio_class, visual_class=visual.argmax(axis=1),
    )
