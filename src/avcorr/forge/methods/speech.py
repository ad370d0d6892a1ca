"""Replacement speech for forgeries: fitting it to a clip's length and reading visemes off it.

Lip-moving methods need, for each video frame, which viseme the new audio says and how the lips
look for it. TTS donors give exact phone timings; real donors get theirs from the phonetic
teacher's pocketsphinx recogniser (forced alignment where the transcript is known, else the
phone loop), see ``avcorr.forge.forge``.
"""
from __future__ import annotations

from typing import Iterable, Protocol

import numpy as np
from scipy.ndimage import gaussian_filter1d

from avcorr.teachers.visemes import VISEME_INDEX, VISEMES, phone_to_viseme

#: Viseme → (lip opening = inner gap / mouth width, lip spread relative to rest). Rounded
#: visemes (oh, ou, CH, RR) are narrow; spread ones (E, ih, SS) are wide; PP is closed.
VISEME_SHAPES: dict[str, tuple[float, float]] = {
    "sil": (0.02, 1.00), "PP": (0.00, 0.98), "FF": (0.06, 1.00), "TH": (0.12, 1.00),
    "DD": (0.16, 1.00), "kk": (0.20, 1.00), "CH": (0.14, 0.88), "SS": (0.08, 1.05),
    "nn": (0.12, 1.00), "RR": (0.12, 0.90), "aa": (0.45, 1.02), "E": (0.30, 1.07),
    "ih": (0.18, 1.09), "oh": (0.35, 0.86), "ou": (0.16, 0.82),
}
_SHAPE_TABLE = np.array([VISEME_SHAPES[v] for v in VISEMES], dtype=np.float64)


class TimedPhoneLike(Protocol):
    start_s: float
    end_s: float


def visemes_from_phones(phones: Iterable[TimedPhoneLike], num_frames: int, fps: float, offset_s: float = 0.0) -> np.ndarray:
    """Viseme index per frame (at the frame's centre time) from timed phones; gaps are silence.

    Phones are TTS ``TimedPhone`` (with ``viseme``) or recogniser ``PhoneSegment`` (ARPAbet
    ``phone``); ``offset_s`` shifts phone times onto the clip's time line.
    """
    result = np.full(num_frames, VISEME_INDEX["sil"], dtype=np.int64)
    centres = (np.arange(num_frames) + 0.5) / fps
    for phone in phones:
        start, end = phone.start_s + offset_s, phone.end_s + offset_s
        viseme = getattr(phone, "viseme", "") or phone_to_viseme(getattr(phone, "phone", "SIL"))
        result[(centres >= start) & (centres < end)] = VISEME_INDEX.get(viseme, VISEME_INDEX["sil"])
    return result


def mouth_trajectory(visemes: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Lip opening and spread per frame with coarticulation (Gaussian smoothing) and per-forgery style.

    Returns (opening (T,), spread (T,), drawn parameters). A speaker's articulation strength and the
    smoothing width are drawn per forgery, so no two forgeries move their lips identically.
    """
    shapes = _SHAPE_TABLE[np.asarray(visemes, dtype=np.int64)]
    gain = float(rng.uniform(0.7, 1.15))
    sigma = float(rng.uniform(0.6, 1.4))
    opening = gaussian_filter1d(shapes[:, 0] * gain, sigma, mode="nearest") if len(shapes) else shapes[:, 0]
    spread = gaussian_filter1d(1.0 + (shapes[:, 1] - 1.0) * gain, sigma, mode="nearest") if len(shapes) else shapes[:, 1]
    closures = np.asarray(visemes) == VISEME_INDEX["PP"]
    opening[closures] = np.minimum(opening[closures], 0.02)  # bilabials must close even when smoothed
    return np.clip(opening, 0.0, 0.6), spread, {"articulation_gain": gain, "coarticulation_sigma_frames": sigma}


def fit_audio(audio: np.ndarray, num_samples: int, rng: np.random.Generator, sample_rate: int = 16000,
              crossfade_s: float = 0.03) -> tuple[np.ndarray, int]:
    """Cut (random offset) or loop (with raised-cosine cross-fades) ``audio`` to exactly ``num_samples``.

    Returns the fitted audio and the donor offset in samples (where the cut began).
    """
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    if num_samples <= 0:
        return np.zeros(0, dtype=np.float32), 0
    if len(audio) == 0:
        return np.zeros(num_samples, dtype=np.float32), 0
    if len(audio) >= num_samples:
        offset = int(rng.integers(0, len(audio) - num_samples + 1))
        return audio[offset:offset + num_samples].copy(), offset
    fade = max(1, min(int(crossfade_s * sample_rate), len(audio) // 4))
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, fade, dtype=np.float32))
    out = audio.copy()
    while len(out) < num_samples:
        head = out[:-fade] if fade else out
        overlap = out[-fade:] * (1 - ramp) + audio[:fade] * ramp
        out = np.concatenate([head, overlap, audio[fade:]])
    return out[:num_samples].astype(np.float32), 0


def splice_window(base: np.ndarray, replacement: np.ndarray, start: int, end: int, fade: int) -> np.ndarray:
    """``base`` with samples [start, end) taken from ``replacement``; short cross-fades inside the window.

    Outside the window the result equals ``base`` exactly; the fades avoid clicks, which would be a
    trivial cue for a detector.
    """
    out = np.asarray(base, dtype=np.float32).copy()
    start, end = max(0, start), min(len(out), end)
    if end <= start:
        return out
    out[start:end] = replacement[start:end]
    fade = max(0, min(fade, (end - start) // 2))
    if fade:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, fade, dtype=np.float32))
        if start > 0:
            out[start:start + fade] = base[start:start + fade] * (1 - ramp) + replacement[start:start + fade] * ramp
        if end < len(out):
            out[end - fade:end] = replacement[end - fade:end] * (1 - ramp[::-1]) + base[end - fade:end] * ramp[::-1]
    return out
