"""Decoding: containers, re-timing by timestamps, audio alignment, streaming, bad files."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from avcorr.errors import InputError
from avcorr.media import decode
from media_fixtures import CONTAINERS, index_frames, tone, write_media


@pytest.mark.parametrize("suffix", sorted(CONTAINERS))
def test_every_container_decodes_to_25fps_and_16k_mono(tmp_path, suffix):
    frames = index_frames(25)
    path = write_media(tmp_path / f"clip{suffix}", frames, tone(1.0, 16000), fps=25.0)
    clip = decode.read_media(path)
    assert clip.frames.dtype == np.uint8 and clip.frames.shape[1:] == (48, 64, 3)
    assert abs(clip.num_frames - 25) <= 1
    assert clip.sample_rate == 16000 and clip.audio.dtype == np.float32
    assert clip.audio.size == round(clip.num_frames * 16000 / 25)
    assert np.abs(clip.audio).max() > 0.1  # the tone survived decoding and resampling
    levels = clip.frames[:, 24, 32, 0].astype(int)
    assert np.all(np.diff(levels) >= -2)  # frames come out in order


def test_30fps_source_is_retimed_by_timestamps(tmp_path):
    frames = index_frames(30)  # 1 s at 30 fps
    path = write_media(tmp_path / "c30.mkv", frames, tone(1.0), fps=30.0)
    clip = decode.read_media(path)
    assert clip.source_fps == pytest.approx(30.0)
    assert clip.num_frames == 25
    shown = np.round((clip.frames[:, 24, 32, 0].astype(float) - 16) / 8).astype(int)
    expected = np.round(np.arange(25) / 25 * 30).astype(int)  # nearest source frame to k/25 s
    assert np.abs(shown - expected).max() <= 1


def test_variable_frame_rate_keeps_frames_on_the_clock(tmp_path):
    # 10 frames with irregular gaps: frame i shown from times[i] on.
    times = [0.0, 0.04, 0.08, 0.30, 0.34, 0.38, 0.60, 0.64, 0.68, 0.96]
    path = write_media(tmp_path / "vfr.mkv", index_frames(10), tone(1.2), fps=25.0, timestamps_s=times)
    clip = decode.read_media(path)
    shown = np.round((clip.frames[:, 24, 32, 0].astype(float) - 16) / 8).astype(int)
    for k, index in enumerate(shown):
        on_screen = max(i for i, s in enumerate(times) if s <= k / 25 + 0.02 + 1e-6)
        assert index == on_screen, (k, index, on_screen)
    assert clip.num_frames == pytest.approx(25, abs=1)  # lasts 0.96 s + one frame period


def test_audio_override_replaces_the_track(tmp_path):
    video = write_media(tmp_path / "silent.mp4", index_frames(25), None)
    wav = write_media(tmp_path / "speech.mkv", None, tone(1.0, freq=440.0))
    clip = decode.read_media(video, audio_path=wav)
    assert clip.audio_path == str(wav)
    assert clip.audio.size == round(clip.num_frames * 16000 / 25)
    spectrum = np.abs(np.fft.rfft(clip.audio[:8000]))
    assert abs(np.argmax(spectrum) * 16000 / 8000 - 440) < 5


def test_clip_is_cut_to_the_shorter_modality(tmp_path):
    path = write_media(tmp_path / "short_audio.mkv", index_frames(50), tone(1.0))  # 2 s video, 1 s audio
    clip = decode.read_media(path)
    assert clip.num_frames == pytest.approx(25, abs=1)
    assert clip.video_duration_s == pytest.approx(2.0, abs=0.05)
    assert abs(clip.duration_s - clip.audio.size / 16000) < 1 / 25


def test_max_frames_stops_decoding_early(tmp_path):
    path = write_media(tmp_path / "long.mkv", index_frames(100), tone(4.0))
    clip = decode.read_media(path, max_frames=10)
    assert clip.num_frames == 10 and clip.truncated
    assert clip.audio.size == 6400


def test_iter_media_streams_in_bounded_chunks(tmp_path):
    path = write_media(tmp_path / "s.mkv", index_frames(60, (96, 128)), tone(2.4))
    chunks = list(decode.iter_media(path, chunk_frames=16))
    assert [c.start for c in chunks] == [0, 16, 32, 48]
    assert all(c.frames.shape[0] <= 16 for c in chunks)
    assert sum(c.audio.size for c in chunks) == 640 * sum(c.frames.shape[0] for c in chunks)
    whole = decode.read_media(path)
    np.testing.assert_array_equal(np.concatenate([c.frames for c in chunks]), whole.frames)


def test_long_file_streams_in_bounded_memory(tmp_path):
    # 30 minutes at 1 fps, tiny frames: iterating must not hold the file's 45 000 output frames.
    minutes = 30
    frames = index_frames(minutes * 60, (32, 32))
    path = write_media(tmp_path / "long.mkv", frames, None, fps=1.0)
    tracemalloc.start()
    count = 0
    for frame in decode.iter_frames(path, fps=25.0):
        count += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == minutes * 60 * 25
    assert peak < 5_000_000  # all frames would be 45 000 x 3 kB = 138 MB


@pytest.mark.parametrize("content,reason", [(b"", "empty"), (b"this is not a video at all" * 100, "not a readable media file")])
def test_unreadable_files_raise_decode_errors(tmp_path, content, reason):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        decode.read_media(path)
    assert err.value.stage == "decode" and reason in err.value.reason


def test_missing_streams_and_too_few_frames(tmp_path):
    audio_only = write_media(tmp_path / "a.mkv", None, tone(1.0))
    with pytest.raises(InputError, match="no video stream"):
        decode.read_media(audio_only)
    video_only = write_media(tmp_path / "v.mkv", index_frames(10), None)
    with pytest.raises(InputError, match="no audio track"):
        decode.read_media(video_only)
    one_frame = write_media(tmp_path / "one.mkv", index_frames(1), tone(1.0))
    with pytest.raises(InputError, match="frame") as err:
        decode.read_media(one_frame)
    assert err.value.stage == "decode"
    with pytest.raises(InputError, match="not found"):
        decode.read_media(tmp_path / "nope.mp4")
