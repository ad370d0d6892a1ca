"""Leave-clips-out evaluation of the phonetic teacher as a zero-shot detector.

Real clips are scored as they are; "audio-swapped" fakes pair each clip's video with another
clip's audio (cut to the shorter of the two). The lip model that scores a clip's video is
always fitted on *other* clips (k folds), so nothing is tested on what it was trained on.
Used by the acceptance test and by ``benchmarks/teacher_speed.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from avcorr.teachers.base import TeacherOutput
from avcorr.teachers.phonetic.audio import PhoneRecognizer, audio_viseme_posteriors, mix_uniform, viseme_occupancy
from avcorr.teachers.phonetic.fit import LabelledClip, fit_from_clips, known_transcript
from avcorr.teachers.visemes import VISEMES
from avcorr.teachers.zero_shot import ZeroShotOptions, zero_shot


@dataclass
class AnalysedClip:
    """A real clip's landmarks, its own audio's phone-loop posteriors and its training labels."""

    path: str
    landmarks: np.ndarray
    audio_posteriors: np.ndarray  # (T, V) phone loop, as zero-shot detection sees it
    labels: np.ndarray  # (T,) viseme index: forced alignment where a transcript is known
    label_mode: str
    loop_labels: np.ndarray  # (T,) viseme index from the phone loop

    @property
    def num_frames(self) -> int:
        return len(self.landmarks)


def analyse_landmarks(path: str | Path, audio: np.ndarray, landmarks: np.ndarray, fps: float, recognizer: PhoneRecognizer,
                      sigma_frames: float = 1.0, uniform: float = 0.02) -> AnalysedClip:
    """Phone-loop posteriors of the clip's audio, and labels (forced alignment where a transcript is known).

    Works on a prepared clip; :func:`avcorr.prepare.lip_fitting.analyse_clip` decodes and tracks a video first."""
    t = len(landmarks)
    loop = recognizer.phone_loop(audio)
    transcript = known_transcript(path)
    aligned = recognizer.align(audio, transcript) if transcript else None
    labels = viseme_occupancy(aligned or loop, t, fps).argmax(axis=1)
    return AnalysedClip(str(path), landmarks, audio_viseme_posteriors(loop, t, fps, sigma_frames, uniform),
                        labels, "aligned" if aligned else "phone_loop", viseme_occupancy(loop, t, fps).argmax(axis=1))


def swap_pairs(n: int, rounds: int = 3, seed: int = 0) -> list[tuple[int, int]]:
    """``rounds`` random derangements: (video clip, audio clip) pairs, never a clip with itself."""
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(rounds):
        perm = rng.permutation(n)
        while n > 1 and np.any(perm == np.arange(n)):
            perm = rng.permutation(n)
        pairs += [(i, int(perm[i])) for i in range(n)]
    return pairs


@dataclass
class SwapEvaluation:
    real_scores: np.ndarray  # probability of fake, one per real clip
    swapped_scores: np.ndarray  # one per (video, audio) pair
    real_soft_label: np.ndarray  # mean JS soft label y_t per real clip (offset 0)
    swapped_soft_label: np.ndarray
    pairs: list[tuple[int, int]]
    visual_accuracy: float  # held-out frame accuracy of the lip model against the training labels
    roc_auc: float
    visual_posteriors: list[np.ndarray]  # (T_i, V) held-out lip model output per clip


def score_pairs(clips: Sequence[AnalysedClip], visual: Sequence[np.ndarray], pairs: Sequence[tuple[int, int]],
                options: ZeroShotOptions = ZeroShotOptions()) -> tuple[np.ndarray, np.ndarray]:
    """Zero-shot fake probability and mean soft label y_t for each (video, audio) pair."""
    scores, labels = [], []
    for video, audio in pairs:
        t = min(clips[video].num_frames, clips[audio].num_frames)
        p, q = clips[audio].audio_posteriors[:t], visual[video][:t]
        scores.append(zero_shot(p, q, options).score)
        labels.append(float(TeacherOutput(p, q, list(VISEMES)).soft_label().mean()))
    return np.array(scores), np.array(labels)


def evaluate_swaps(clips: Sequence[AnalysedClip], folds: int = 5, rounds: int = 3, seed: int = 0,
                   options: ZeroShotOptions = ZeroShotOptions(), regularization: float = 0.01, context: int = 2,
                   uniform: float = 0.02, on_fold: Callable[[int], None] | None = None) -> SwapEvaluation:
    """Zero-shot scores of real clips and audio-swapped pairs with leave-clips-out lip models."""
    from sklearn.metrics import roc_auc_score

    n = len(clips)
    fold_of = np.arange(n) % folds
    visual: list[np.ndarray | None] = [None] * n
    correct = total = 0
    for k in range(folds):
        train = [LabelledClip(c.path, c.landmarks, c.labels, c.label_mode) for c, f in zip(clips, fold_of) if f != k]
        model = fit_from_clips(train, context, regularization)
        for i in np.flatnonzero(fold_of == k):
            q = model.predict_proba(clips[i].landmarks)
            correct += int((q.argmax(axis=1) == clips[i].labels).sum())
            total += len(q)
            visual[i] = mix_uniform(q, uniform)
        if on_fold:
            on_fold(k)

    real_scores, real_labels = score_pairs(clips, visual, [(i, i) for i in range(n)], options)
    pairs = swap_pairs(n, rounds, seed)
    swapped_scores, swapped_labels = score_pairs(clips, visual, pairs, options)
    y = np.r_[np.zeros(n), np.ones(len(pairs))]
    auc = float(roc_auc_score(y, np.r_[real_scores, swapped_scores]))
    return SwapEvaluation(real_scores, swapped_scores, real_labels, swapped_labels, pairs, correct / max(total, 1), auc,
                          list(visual))
