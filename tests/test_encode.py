"""encode.write_video / write_audio: round trips through PyAV and the wave module."""
from __future__ import annotations

import wave

import av
import numpy as np
import pytest

from avcorr.errors import InputError
from avcorr.media.encode import write_audio, write_video


def _frames(t: int, h: int, w: int) -> np.ndarray:
    """Smooth moving gradients (codec-friendly) so decoded pixels can be compared to the input."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.empty((t, h, w, 3), np.uint8)
    for i in range(t):
        out[i, ..., 0] = (xx * 255 / w + 3 * i) % 256
        out[i, ..., 1] = yy * 255 / h
        out[i, ..., 2] = 128
    return out


def test_round_trip_counts_sizes_and_audio(tmp_path):
    frames = _frames(40, 48, 64)
    sr = 16000
    n = int(40 / 25 * sr)
    rng = np.random.default_rng(0)
    audio = np.zeros(n, np.float32)
    audio[5000:5400] = 0.4 * rng.standard_normal(400)  # a burst to locate after decoding
    path = write_video(tmp_path / "clip.mp4", frames, audio, fps=25.0, sample_rate=sr)

    with av.open(str(path)) as container:
        vs = container.streams.video[0]
        assert vs.codec_context.name == "h264"
        assert vs.codec_context.pix_fmt == "yuv420p"
        assert float(vs.average_rate) == 25.0
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(decoded) == 40
    assert decoded[0].shape == (48, 64, 3)
    # lossy, but close to the smooth input
    assert np.abs(decoded[10].astype(int) - frames[10].astype(int)).mean() < 6

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "aac"
        assert stream.rate == sr
        assert stream.duration * stream.time_base == pytest.approx(n / sr)
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    # AAC pads the last frame: decoded length is N rounded up to 1024 samples, aligned at 0
    assert n <= len(pcm) < n + 1024
    lag = int(np.argmax(np.abs(np.correlate(pcm[:12000], audio[:12000], "full")))) - (12000 - 1)
    assert lag == 0
    assert np.abs(pcm[:4000]).max() < 0.02 and np.abs(pcm[5000:5400]).max() > 0.2


def test_same_input_gives_identical_bytes(tmp_path):
    frames = _frames(20, 32, 32)
    audio = np.sin(np.linspace(0, 200, 12800)).astype(np.float32) * 0.3
    a = write_video(tmp_path / "a.mp4", frames, audio).read_bytes()
    b = write_video(tmp_path / "b.mp4", frames, audio).read_bytes()
    assert a == b


def test_odd_sizes_are_padded_and_audio_is_optional(tmp_path):
    path = write_video(tmp_path / "odd.mp4", _frames(5, 31, 45), None)
    with av.open(str(path)) as container:
        assert len(container.streams.audio) == 0
        vs = container.streams.video[0]
        assert (vs.width, vs.height) == (46, 32)


def test_bad_frames_raise_input_error(tmp_path):
    with pytest.raises(InputError):
        write_video(tmp_path / "bad.mp4", np.zeros((3, 8, 8), np.uint8), None)


def test_write_audio_round_trip(tmp_path):
    audio = np.array([0.0, 0.5, -0.5, 1.5, -2.0], np.float32)
    path = write_audio(tmp_path / "a.wav", audio, 8000)
    with wave.open(str(path)) as handle:
        assert handle.getframerate() == 8000 and handle.getnchannels() == 1
        pcm = np.frombuffer(handle.readframes(10), "<i2")
    np.testing.assert_array_equal(pcm, [0, 16384, -16384, 32767, -32767])
