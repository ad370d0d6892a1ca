"""Encode: RGB frames and mono audio to an mp4 (H.264 yuv420p + AAC), the one writer of media.

``synth`` and every ``forge`` method write their clips through :func:`write_video`, so all
generated media share one codec setup, as real-world clips of one source would.

Determinism: RGB is converted to I420 by OpenCV (BT.601, limited range) rather than by
swscale, x264 runs single-threaded and without macroblock-tree rate control (whose lookahead
gave a different stream in about one run in ten with the same input: an assembly routine that
depends on memory it does not own), FFmpeg's ``bitexact`` flags are set on the codecs and the
muxer, and no creation time is written. So the same input gives a byte-identical file with the same PyAV/FFmpeg build
(tested, also under CPU contention). Across FFmpeg builds only the decoded content is expected to
be close, not identical.
"""
from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import numpy as np

from avcorr.errors import InputError

AAC_FRAME = 1024  # samples per AAC frame (FFmpeg's native encoder)


def write_video(
    path: str | Path,
    frames_rgb: np.ndarray,
    audio: np.ndarray | None,
    fps: float = 25.0,
    sample_rate: int = 16000,
    crf: int = 23,
    preset: str = "veryfast",
    audio_bitrate: int = 64000,
) -> Path:
    """Write ``frames_rgb`` (T, H, W, 3) uint8 and ``audio`` (N,) float32 in [-1, 1] as an mp4.

    Video: H.264 (libx264, yuv420p, constant rate factor ``crf``) at ``fps``; odd heights or
    widths are padded by one replicated row/column because 4:2:0 chroma needs even sizes.
    Audio: mono AAC at ``sample_rate`` Hz, clipped to [-1, 1]; ``None`` or empty writes no audio
    track. The audio is not stretched to the video: pass N ≈ T / fps · sample_rate samples.
    """
    path = Path(path)
    frames = np.asarray(frames_rgb)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise InputError(path, f"frames must be (T, H, W, 3) uint8 with T > 0, got {frames.shape} {frames.dtype}", stage="encode")
    frames = _even_size(frames)
    path.parent.mkdir(parents=True, exist_ok=True)

    import av
    import cv2

    rate = _fps_fraction(fps)
    with av.open(str(path), mode="w", format="mp4", options={"fflags": "+bitexact"}) as container:
        video = container.add_stream("libx264", rate=rate)
        video.width = frames.shape[2]
        video.height = frames.shape[1]
        video.pix_fmt = "yuv420p"
        video.time_base = 1 / rate
        video.thread_count = 1
        video.codec_context.flags |= _bitexact_flag(av)
        video.options = {"crf": str(crf), "preset": preset, "threads": "1", "x264-params": "threads=1:lookahead-threads=1:mbtree=0"}

        audio_stream = None
        samples = None
        if audio is not None and np.asarray(audio).size > 0:
            samples = np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)
            audio_stream = container.add_stream("aac", rate=int(sample_rate))
            audio_stream.layout = "mono"
            audio_stream.bit_rate = int(audio_bitrate)
            audio_stream.codec_context.flags |= _bitexact_flag(av)
            audio_stream.thread_count = 1

        for index, image in enumerate(frames):
            # our own RGB→I420 (BT.601, limited range): the same bytes go to x264 on every run
            yuv = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2YUV_I420)
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode(None))

        if audio_stream is not None and samples is not None:
            for start in range(0, len(samples), AAC_FRAME):
                chunk = samples[start:start + AAC_FRAME]
                frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
                frame.sample_rate = int(sample_rate)
                frame.pts = start
                container.mux(audio_stream.encode(frame))
            container.mux(audio_stream.encode(None))
    return path


def write_audio(path: str | Path, audio: np.ndarray, sample_rate: int = 16000) -> Path:
    """Write mono float audio in [-1, 1] as 16-bit PCM wav (clipped)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = np.round(np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(int(sample_rate))
        handle.writeframes(pcm.tobytes())
    return path


def _even_size(frames: np.ndarray) -> np.ndarray:
    pad_h = frames.shape[1] % 2
    pad_w = frames.shape[2] % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return frames


def _fps_fraction(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)


def _bitexact_flag(av_module) -> int:
    """The codec ``BITEXACT`` flag (its home moved between PyAV releases)."""
    flags = getattr(av_module.codec.context, "Flags", None)
    if flags is not None and hasattr(flags, "bitexact"):
        return int(flags.bitexact)
    if flags is not None and hasattr(flags, "BITEXACT"):
        return int(flags.BITEXACT)
    return 0x00800000  # AV_CODEC_FLAG_BITEXACT
