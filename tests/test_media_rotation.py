"""Rotation: a portrait video stored sideways with a display-matrix tag comes out upright everywhere."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avcorr.media import decode
from avcorr.media import normalise as canon
from avcorr.media.probe import probe
from media_fixtures import tone

QUADRANTS = np.array([[30, 90], [150, 220]])  # top-left, top-right / bottom-left, bottom-right gray levels


def _upright(height: int = 96, width: int = 64) -> np.ndarray:
    image = np.zeros((height, width, 3), np.uint8)
    for r in range(2):
        for c in range(2):
            image[r * height // 2:(r + 1) * height // 2, c * width // 2:(c + 1) * width // 2] = QUADRANTS[r, c]
    return image


def _write_sideways(path: Path, degrees: int, frames: int = 25) -> Path:
    """An mp4 whose stored frames are the upright picture turned by -``degrees``, tagged to turn back."""
    import av

    stored = np.ascontiguousarray(np.rot90(_upright(), -degrees // 90))
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = stored.shape[1], stored.shape[0], "yuv420p"
        video.set_display_rotation(degrees)
        audio = out.add_stream("aac", rate=16000)
        audio.layout = "mono"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        samples = tone(frames / 25)
        size = audio.codec_context.frame_size
        for k, start in enumerate(range(0, len(samples), size)):
            piece = np.pad(samples[start:start + size], (0, max(0, start + size - len(samples))))
            frame = av.AudioFrame.from_ndarray(piece[None, :], format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, k * size
            for packet in audio.encode(frame):
                out.mux(packet)
        for packet in audio.encode(None):
            out.mux(packet)
    return path


def _quadrants(image: np.ndarray) -> np.ndarray:
    gray = image if image.ndim == 2 else image[..., 0]
    h, w = gray.shape
    return np.array([[gray[r * h // 2 + h // 8:(r + 1) * h // 2 - h // 8, c * w // 2 + w // 8:(c + 1) * w // 2 - w // 8].mean()
                      for c in range(2)] for r in range(2)])


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_sideways_video_is_decoded_upright(tmp_path, degrees):
    path = _write_sideways(tmp_path / f"r{degrees}.mp4", degrees)
    info = probe(path)
    assert info.rotation == degrees
    assert (info.width, info.height) == (64, 96)
    assert (info.coded_width, info.coded_height) == ((96, 64) if degrees != 180 else (64, 96))
    clip = decode.read_media(path)
    assert clip.frames.shape[1:] == (96, 64, 3)
    np.testing.assert_allclose(_quadrants(clip.frames[10]), QUADRANTS, atol=8)
    # the reduced-size and gray paths, and the face-measuring sampler, turn it too
    small = next(decode.iter_frames(path, height=48, pixel_format="gray"))
    assert small.shape == (48, 32)
    np.testing.assert_allclose(_quadrants(small), QUADRANTS, atol=10)
    sampled = canon.read_sample_frames(path, [0, 5])
    assert len(sampled) == 2 and sampled[0].shape == (96, 64, 3)
    np.testing.assert_allclose(_quadrants(sampled[1]), QUADRANTS, atol=8)
    seen = decode.frames_at(path, [0.5])  # the container features' sampler
    assert seen[0].shape == (96, 64)
    np.testing.assert_allclose(_quadrants(seen[0]), QUADRANTS, atol=10)


@pytest.mark.shared
def test_the_corpus_phone_clip_with_a_90_degree_flag_is_portrait(shared_data: Path):
    path = shared_data / "clips/wjcg+CV__videos__presentacion.mp4"
    info = probe(path)
    assert info.rotation in (90, 270) and (info.coded_width, info.coded_height) == (640, 352)
    frames = list(decode.iter_frames(path, max_frames=3))
    assert frames[0].shape == (640, 352, 3)
