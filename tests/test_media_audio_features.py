"""Audio features against independent computations of the same recipe."""
from __future__ import annotations

import numpy as np
import pytest

from avcorr.media.audio_features import fit_vectors, student_mfcc, teacher_stft


def _speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    tone = 0.3 * np.sin(2 * np.pi * (180 + 40 * np.sin(2 * np.pi * 0.5 * t)) * t)
    return ((tone + 0.05 * rng.standard_normal(t.size)) * envelope).astype(np.float32)


def test_student_mfcc_matches_python_speech_features():
    psf = pytest.importorskip("python_speech_features")
    audio = _speechlike(2.0)
    frames = 50
    ours = student_mfcc(audio, frames)
    raw = np.clip(np.round(audio.astype(np.float64) * 32768), -32768, 32767).astype(np.int16)
    ref = psf.mfcc(raw, 16000, winlen=0.040, winstep=0.010, numcep=13, nfilt=26, nfft=640)
    assert ours.shape == (200, 13) and ours.dtype == np.float32
    n = min(len(ref), 200)
    np.testing.assert_allclose(ours[:n], ref[:n], rtol=1e-4, atol=1e-3)


def _stft_by_hand(audio: np.ndarray) -> np.ndarray:
    """The deep_avsr STFT written out with numpy: periodic Hamming, 'spectrum' scaling."""
    x = audio.astype(np.float64)
    x = x / np.abs(x).max()
    x = x / np.sqrt(np.mean(x**2))
    n = np.arange(640)
    window = 0.54 - 0.46 * np.cos(2 * np.pi * n / 640)
    count = 1 + (x.size - 640) // 160
    frames = np.stack([x[i * 160 : i * 160 + 640] * window for i in range(count)])
    return np.abs(np.fft.rfft(frames, axis=1)) / window.sum()


def test_teacher_stft_matches_hand_computation():
    audio = _speechlike(1.0, seed=1)
    ours = teacher_stft(audio, 25)
    ref = _stft_by_hand(audio)
    assert ours.shape == (100, 321)
    n = min(len(ref), 100)
    assert n >= 96
    np.testing.assert_allclose(ours[:n], ref[:n], rtol=1e-4, atol=1e-5)
    # wrap-padding: the rows past the computed ones repeat from the start
    np.testing.assert_allclose(ours[n:], ours[: 100 - n], rtol=1e-6)


def test_teacher_stft_invariant_to_gain():
    audio = _speechlike(1.0, seed=2)
    np.testing.assert_allclose(teacher_stft(audio, 25), teacher_stft(audio * 0.1, 25), rtol=1e-4, atol=1e-5)


def test_four_vectors_per_frame_for_any_length():
    for seconds, frames in ((0.3, 7), (1.0, 25), (2.0, 10)):
        audio = _speechlike(seconds)
        assert student_mfcc(audio, frames).shape == (4 * frames, 13)
        assert teacher_stft(audio, frames).shape == (4 * frames, 321)


def test_fit_vectors_wraps_and_cuts():
    x = np.arange(6, dtype=np.float32)[:, None]
    assert fit_vectors(x, 3)[:, 0].tolist() == [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5]
    assert fit_vectors(x, 1)[:, 0].tolist() == [0, 1, 2, 3]


def test_silence_gives_finite_features():
    silence = np.zeros(16000, np.float32)
    assert np.isfinite(student_mfcc(silence, 25)).all()
    assert not teacher_stft(silence, 25).any()
