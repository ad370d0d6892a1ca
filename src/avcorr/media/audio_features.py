"""Audio features, four vectors per video frame (100 Hz at 25 fps), as the public code computes them.

- :func:`student_mfcc` — the student's input: 13 MFCC in the classic python_speech_features
  recipe (pre-emphasis 0.97, rectangular 40 ms window scaled by 25/fps, 10 ms step scaled by
  25/fps, 640-point FFT, 26 mel filters, log frame energy in place of c0, lifter 22), computed
  on the raw int16 sample values.
- :func:`teacher_stft` — the deep_avsr ASR teacher's input: the waveform divided by its peak,
  then by its RMS; STFT with a 640-sample Hamming window and a 160-sample hop (scaled by
  25/fps), no boundary padding; magnitudes, 321 bins, time-major.

Both are cut, or wrap-padded (repeating from their start), to exactly ``4 * num_frames``
vectors so that frame t of the video owns vectors ``4t .. 4t + 3``.
"""
from __future__ import annotations

import functools
from typing import Iterator

import numpy as np

SAMPLE_RATE = 16000
VECTORS_PER_FRAME = 4
NUM_CEPSTRA = 13
NUM_MEL_FILTERS = 26
STUDENT_NFFT = 640
PRE_EMPHASIS = 0.97
LIFTER = 22
STFT_WINDOW = 640
STFT_BINS = STFT_WINDOW // 2 + 1
_EPS = np.finfo(np.float64).eps
#: MFCC frames (10 ms each) transformed at once: ~40 s of audio, a few tens of MB.
_MFCC_BLOCK = 4096


def fit_vectors(features: np.ndarray, num_frames: int) -> np.ndarray:
    """Cut or wrap-pad ``features (N, D)`` along time to exactly ``4 * num_frames`` rows."""
    target = VECTORS_PER_FRAME * num_frames
    if features.shape[0] == 0:
        return np.zeros((target, features.shape[1]), features.dtype)
    if features.shape[0] < target:
        features = np.pad(features, ((0, target - features.shape[0]), (0, 0)), mode="wrap")
    return features[:target]


def _frame_blocks(signal: np.ndarray, length: int, step: int, block: int) -> Iterator[np.ndarray]:
    """Overlapping frames ``(n, length)`` (the tail zero-padded to a whole frame), in consecutive
    blocks of at most ``block`` frames (bounded memory on long audio)."""
    n = 1 if signal.size <= length else 1 + int(np.ceil((signal.size - length) / step))
    padded = np.zeros((n - 1) * step + length, np.float64)
    padded[: signal.size] = signal
    for first in range(0, n, block):
        index = np.arange(length)[None, :] + step * np.arange(first, min(n, first + block))[:, None]
        yield padded[index]


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray | float:
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def _mel_to_hz(mel: np.ndarray | float) -> np.ndarray | float:
    return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)


@functools.lru_cache(maxsize=8)
def mel_filterbank(num_filters: int, nfft: int, sample_rate: int) -> np.ndarray:
    """Triangular mel filters ``(num_filters, nfft // 2 + 1)`` on integer FFT bins, 0 Hz to Nyquist."""
    mels = np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2), num_filters + 2)
    bins = np.floor((nfft + 1) * _mel_to_hz(mels) / sample_rate).astype(int)
    bank = np.zeros((num_filters, nfft // 2 + 1))
    for j in range(num_filters):
        lo, mid, hi = bins[j], bins[j + 1], bins[j + 2]
        for i in range(lo, mid):
            bank[j, i] = (i - lo) / (mid - lo)
        for i in range(mid, hi):
            bank[j, i] = (hi - i) / (hi - mid)
    return bank


def _dct_ortho(x: np.ndarray, count: int) -> np.ndarray:
    """First ``count`` coefficients of the orthonormal DCT-II along the last axis."""
    n = x.shape[-1]
    k = np.arange(count)[:, None]
    basis = np.cos(np.pi * k * (2 * np.arange(n)[None, :] + 1) / (2 * n)) * np.sqrt(2.0 / n)
    basis[0] /= np.sqrt(2.0)
    return x @ basis.T


def _to_int16_values(audio16k: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] as the int16 values a wav reader would give (as float64)."""
    return np.clip(np.round(np.asarray(audio16k, np.float64) * 32768.0), -32768, 32767)


def student_mfcc(audio16k: np.ndarray, num_frames: int, fps: float = 25.0) -> np.ndarray:
    """``(4 * num_frames, 13)`` float32 MFCC of 16 kHz mono ``audio16k`` (float in [-1, 1])."""
    signal = _to_int16_values(audio16k)
    length = int(np.floor(0.040 * 25.0 / fps * SAMPLE_RATE + 0.5))
    step = int(np.floor(0.010 * 25.0 / fps * SAMPLE_RATE + 0.5))
    nfft = max(STUDENT_NFFT, length)
    emphasized = np.append(signal[:1], signal[1:] - PRE_EMPHASIS * signal[:-1]) if signal.size else signal
    filters = mel_filterbank(NUM_MEL_FILTERS, nfft, SAMPLE_RATE).T
    pieces = []
    for frames in _frame_blocks(emphasized, length, step, _MFCC_BLOCK):  # a whole video's FFT at once needs GBs
        power = np.abs(np.fft.rfft(frames, nfft)) ** 2 / nfft
        energy = power.sum(axis=1)
        energy[energy == 0] = _EPS
        mel = power @ filters
        mel[mel == 0] = _EPS
        cepstra = _dct_ortho(np.log(mel), NUM_CEPSTRA)
        cepstra *= 1.0 + (LIFTER / 2.0) * np.sin(np.pi * np.arange(NUM_CEPSTRA) / LIFTER)
        cepstra[:, 0] = np.log(energy)
        pieces.append(cepstra.astype(np.float32))
    return fit_vectors(np.concatenate(pieces), num_frames)


def teacher_stft(audio16k: np.ndarray, num_frames: int, fps: float = 25.0) -> np.ndarray:
    """``(4 * num_frames, 321)`` float32 STFT magnitudes for the ASR teacher (deep_avsr recipe)."""
    from scipy.signal import stft

    audio = np.asarray(audio16k, np.float64)
    hop = int(round(160 * 25.0 / fps))
    if audio.size < STFT_WINDOW:
        audio = np.pad(audio, (0, STFT_WINDOW - audio.size))
    peak = np.abs(audio).max()
    if peak == 0:  # digital silence: nothing to normalize (prepare rejects silent clips anyway)
        return np.zeros((VECTORS_PER_FRAME * num_frames, STFT_BINS), np.float32)
    audio = audio / peak
    audio = audio / np.sqrt(np.mean(audio**2))
    _, _, values = stft(audio, SAMPLE_RATE, window="hamming", nperseg=STFT_WINDOW, noverlap=STFT_WINDOW - hop, boundary=None, padded=False)
    return fit_vectors(np.abs(values).T.astype(np.float32), num_frames)
