"""The room a synthetic voice is recorded in: reverberation, background noise and mains hum.

eSpeak's output is dry and silent between words, which no microphone records. ``synth`` passes
its speech through :func:`add_room` so that its "real" clips sound recorded; forgeries that put
TTS speech into a clip (``tts-dub``) can use the same function so that dryness alone does not
give them away.
"""
from __future__ import annotations

import numpy as np


def room_impulse_response(rng: np.random.Generator, sample_rate: int, rt60_s: float) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic impulse response as (direct sound + early reflections, diffuse tail).

    The tail is noise under an exponential envelope that falls by 60 dB in ``rt60_s`` seconds.
    """
    length = max(1, int(rt60_s * sample_rate))
    t = np.arange(length) / sample_rate
    tail = rng.standard_normal(length) * 10 ** (-3 * t / rt60_s)
    onset = int(0.004 * sample_rate)  # the diffuse field builds up after a few ms
    tail[:onset] *= np.linspace(0, 1, onset) if onset else 1
    response = np.zeros(length)
    response[0] = 1.0
    for _ in range(int(rng.integers(3, 7))):  # walls, desk, ceiling
        delay = int(rng.uniform(0.002, 0.03) * sample_rate)
        if delay < length:
            response[delay] += rng.uniform(0.1, 0.4) * rng.choice([-1.0, 1.0])
    return response, tail


def add_room(audio: np.ndarray, rng: np.random.Generator, sample_rate: int = 16000,
             reverb: bool = True, noise: bool = True) -> np.ndarray:
    """``audio`` (N,) float32 as if recorded in a small room; same length, peak kept, in [-1, 1].

    Reverberation time 0.15–0.5 s with the reverberant energy 8–22 dB below the direct sound,
    then broadband noise at −62 … −48 dBFS RMS and a 50 or 60 Hz hum below it.
    """
    from scipy.signal import fftconvolve

    audio = np.asarray(audio, np.float32)
    out = audio.astype(np.float64)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if reverb and audio.size:
        direct, tail = room_impulse_response(rng, sample_rate, float(rng.uniform(0.15, 0.5)))
        drr_db = rng.uniform(8.0, 22.0)
        tail *= np.sqrt(np.sum(direct ** 2) / (np.sum(tail ** 2) + 1e-12)) * 10 ** (-drr_db / 20)
        out = fftconvolve(out, direct + tail)[: len(audio)]
        top = float(np.abs(out).max())
        if top > 0 and peak > 0:
            out *= peak / top
    if noise and audio.size:
        level = 10 ** (rng.uniform(-62, -48) / 20)
        white = rng.standard_normal(len(audio))
        coloured = np.convolve(white, np.array([0.5, 0.3, 0.2]), mode="same")
        hum = np.sin(2 * np.pi * rng.choice([50.0, 60.0]) * np.arange(len(audio)) / sample_rate) * rng.uniform(0, 0.3)
        out = out + level * (coloured / (coloured.std() + 1e-9) + hum)
    return np.clip(out, -1.0, 1.0).astype(np.float32)
