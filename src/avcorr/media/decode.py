"""Decode any talking-face video (and an optional separate audio file) with PyAV.

Every path into avcorr goes through here: frames come out as RGB uint8 re-timed to a constant
``fps`` (25 by default) by their presentation timestamps, so variable-frame-rate sources and
29.97/30/24 fps sources line up with the audio; audio comes out as 16 kHz mono float32 in
[-1, 1], aligned so that sample 0 plays with frame 0.

A clip is the span where both modalities exist: the longer of the two is cut to the shorter
(``MediaClip.video_duration_s`` / ``audio_duration_s`` keep the originals), so that
``len(audio) == round(T * sample_rate / fps)`` always holds.

Long files are never held whole: :func:`iter_media` streams chunks, and ``max_frames`` stops
decoding early (the rest of the file is not even read).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from avcorr.errors import InputError

SAMPLE_RATE = 16000
MIN_FRAMES = 2
#: File name suffixes (lower case) taken for videos wherever a folder is searched for them.
VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".flv", ".wmv",
                                     ".ts", ".3gp")


def find_videos(folder: str | Path) -> list[Path]:
    """The video files under ``folder`` (recursively, sorted; hidden names such as ``._x.mp4`` skipped)."""
    return sorted(p for p in Path(folder).rglob("*")
                  if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS and not p.name.startswith("."))


@dataclass
class MediaClip:
    """A decoded clip: ``frames (T, H, W, 3)`` uint8 RGB at ``fps``; ``audio (N,)`` float32 mono.

    ``N == round(T * sample_rate / fps)``; ``duration_s == T / fps``. ``source_fps`` is the
    container's nominal rate (None when it has none). ``truncated`` is True when ``max_frames``
    cut the clip before the end of its media.
    """

    frames: np.ndarray
    audio: np.ndarray
    sample_rate: int
    fps: float
    source_fps: float | None
    path: str
    duration_s: float
    audio_path: str = ""
    video_duration_s: float = 0.0
    audio_duration_s: float = 0.0
    truncated: bool = False

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])


@dataclass
class VideoInfo:
    """What the container says about its video stream, before decoding it."""

    width: int
    height: int
    source_fps: float | None
    duration_s: float | None
    has_audio: bool


@dataclass
class MediaChunk:
    """A run of consecutive frames from :func:`iter_media`: frames ``start .. start + n - 1``."""

    start: int
    frames: np.ndarray
    audio: np.ndarray


def _open(path: str | Path):
    import av

    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found", stage="decode")
    if path.is_dir():
        raise InputError(path, "is a folder, not a media file", stage="decode")
    if path.stat().st_size == 0:
        raise InputError(path, "file is empty (0 bytes)", stage="decode")
    try:
        return av.open(str(path), metadata_errors="ignore")
    except Exception as exc:  # PyAV raises a zoo of FFmpeg errors; all mean "unreadable"
        raise InputError(path, f"not a readable media file ({_describe(exc)})", stage="decode") from None


def _describe(exc: Exception) -> str:
    """FFmpeg's own words for an error, without errno numbers or file paths."""
    text = getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__
    return text.split(": '")[0].strip()


def probe_video(path: str | Path) -> VideoInfo:
    """Read the stream headers of ``path`` (cheap: no frame is decoded)."""
    with _open(path) as container:
        if not container.streams.video:
            raise InputError(path, "no video stream", stage="decode")
        stream = container.streams.video[0]
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        return VideoInfo(
            width=int(stream.codec_context.width or 0),
            height=int(stream.codec_context.height or 0),
            source_fps=_nominal_fps(stream),
            duration_s=duration,
            has_audio=bool(container.streams.audio),
        )


def _nominal_fps(stream) -> float | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and float(rate) > 0:
            return float(rate)
    return None


# ----------------------------------------------------------------------------------- audio


def read_audio(
    path: str | Path, sample_rate: int = SAMPLE_RATE, max_duration_s: float | None = None, align_to_video: bool = True
) -> np.ndarray:
    """Decode the first audio stream of ``path`` to mono float32 at ``sample_rate``.

    With ``align_to_video`` (and a video stream in the same file) the result starts at the first
    video frame's timestamp: earlier samples are dropped, a late audio start is zero-padded.
    """
    import av

    with _open(path) as container:
        if not container.streams.audio:
            raise InputError(path, "no audio track", stage="decode")
        stream = container.streams.audio[0]
        offset_s = 0.0
        if align_to_video and container.streams.video:
            offset_s = _stream_start(stream) - _stream_start(container.streams.video[0])
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        limit = None if max_duration_s is None else int(math.ceil((max_duration_s - min(offset_s, 0.0)) * sample_rate)) + 1
        pieces: list[np.ndarray] = []
        total = 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    pieces.append(out.to_ndarray().reshape(-1))
                    total += pieces[-1].size
                if limit is not None and total >= limit:
                    break
            else:
                for out in resampler.resample(None):
                    pieces.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as exc:
            if total == 0:
                raise InputError(path, f"audio track cannot be decoded ({_describe(exc)})", stage="decode") from None
            # A truncated tail: keep what decoded (video decoding reports truncation, if any).
    audio = np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, np.float32)
    shift = int(round(offset_s * sample_rate))
    if shift > 0:
        audio = np.concatenate([np.zeros(shift, np.float32), audio])
    elif shift < 0:
        audio = audio[-shift:]
    if limit is not None:
        audio = audio[: int(math.ceil(max_duration_s * sample_rate))]
    return np.clip(audio, -1.0, 1.0)


def _stream_start(stream) -> float:
    if stream.start_time is not None and stream.time_base is not None:
        return float(stream.start_time * stream.time_base)
    return 0.0


# ----------------------------------------------------------------------------------- video


def iter_frames(path: str | Path, fps: float = 25.0, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Yield RGB frames of ``path`` re-timed to a constant ``fps`` (one frame in memory at a time).

    Output frame k shows the latest source frame whose timestamp is at most ``k / fps + tol``
    seconds after the first frame, ``tol`` being half a frame period (of the output or of the
    source, the smaller): the nearest frame for a regular source, the frame on screen for a
    variable-rate one, so duplicated or dropped frames keep their place on the clock. The last
    source frame lasts one nominal frame period.
    """
    import av

    with _open(path) as container:
        if not container.streams.video:
            raise InputError(path, "no video stream", stage="decode")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        nominal = _nominal_fps(stream) or fps
        step = 1.0 / fps
        tolerance = 0.5 * min(step, 1.0 / nominal)
        emitted = 0
        previous: tuple[float, np.ndarray] | None = None
        t0: float | None = None
        index = 0
        try:
            for frame in container.decode(stream):
                time = frame.time if frame.time is not None else index / nominal
                index += 1
                if t0 is None:
                    t0 = time
                time -= t0
                if previous is not None and time <= previous[0]:
                    continue  # duplicate or out-of-order timestamp: the earlier frame stands
                image = frame.to_ndarray(format="rgb24")
                if previous is None:
                    previous = (time, image)
                    continue
                # Emit every output tick before this frame's timestamp: the frame on screen then,
                # or this one when it is due within the tolerance (nearest for regular sources).
                while emitted * step < time:
                    tick = emitted * step
                    yield image if time - tick <= tolerance + 1e-6 else previous[1]
                    emitted += 1
                    if max_frames is not None and emitted >= max_frames:
                        return
                previous = (time, image)
        except av.error.FFmpegError as exc:
            if previous is None:
                raise InputError(path, f"video cannot be decoded ({_describe(exc)})", stage="decode") from None
            # A corrupt or truncated tail: keep the frames decoded so far.
        if previous is None:
            return
        end = previous[0] + 1.0 / nominal
        while emitted * step < end - 1e-6:
            yield previous[1]
            emitted += 1
            if max_frames is not None and emitted >= max_frames:
                return


def _frames_limit(audio_samples: int, sample_rate: int, fps: float, max_frames: int | None) -> int:
    audio_frames = int(math.floor(audio_samples * fps / sample_rate + 1e-6))
    return audio_frames if max_frames is None else min(audio_frames, max_frames)


def _load_audio_for(path: str | Path, audio_path: str | Path | None, max_frames: int | None, fps: float) -> np.ndarray:
    limit_s = None if max_frames is None else (max_frames + 1) / fps
    if audio_path:
        return read_audio(audio_path, SAMPLE_RATE, limit_s, align_to_video=False)
    return read_audio(path, SAMPLE_RATE, limit_s, align_to_video=True)


def iter_media(
    path: str | Path,
    audio_path: str | Path | None = None,
    fps: float = 25.0,
    chunk_frames: int = 64,
    max_frames: int | None = None,
) -> Iterator[MediaChunk]:
    """Stream a clip in chunks of at most ``chunk_frames`` frames, each with its audio span.

    Memory is bounded by one chunk of frames plus the 16 kHz audio of the kept span. The clip
    ends where the shorter modality ends (or at ``max_frames``).
    """
    audio = _load_audio_for(path, audio_path, max_frames, fps)
    limit = _frames_limit(audio.size, SAMPLE_RATE, fps, max_frames)
    buffer: list[np.ndarray] = []
    start = 0
    for index, frame in enumerate(iter_frames(path, fps, limit)):
        buffer.append(frame)
        if len(buffer) == chunk_frames:
            yield MediaChunk(start, np.stack(buffer), _audio_span(audio, start, len(buffer), fps))
            start += len(buffer)
            buffer = []
    if buffer:
        yield MediaChunk(start, np.stack(buffer), _audio_span(audio, start, len(buffer), fps))


def _audio_span(audio: np.ndarray, start: int, count: int, fps: float) -> np.ndarray:
    a = int(round(start * SAMPLE_RATE / fps))
    b = int(round((start + count) * SAMPLE_RATE / fps))
    span = audio[a:b]
    return span if span.size == b - a else np.pad(span, (0, b - a - span.size))


def fit_audio(audio: np.ndarray, num_frames: int, fps: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Cut or zero-pad ``audio`` to exactly ``round(num_frames * sample_rate / fps)`` samples."""
    n = int(round(num_frames * sample_rate / fps))
    return audio[:n] if audio.size >= n else np.pad(audio, (0, n - audio.size))


def read_media(
    path: str | Path,
    audio_path: str | Path | None = None,
    fps: float = 25.0,
    max_frames: int | None = None,
) -> MediaClip:
    """Decode a whole clip into memory (use :func:`iter_media` for long files).

    ``audio_path`` (e.g. CMDFD's separate wav files) replaces the video's own track.
    Raises ``InputError(stage="decode")`` for unreadable files, a missing stream, or fewer than
    two frames where both modalities exist.
    """
    info = probe_video(path)
    audio = _load_audio_for(path, audio_path, max_frames, fps)
    limit = _frames_limit(audio.size, SAMPLE_RATE, fps, max_frames)
    frames_list = list(iter_frames(path, fps, limit))
    t = len(frames_list)
    if t < MIN_FRAMES:
        raise InputError(path, _too_short_reason(t, audio.size, fps), stage="decode")
    frames = np.stack(frames_list)
    del frames_list
    video_duration = info.duration_s if info.duration_s is not None else t / fps
    return MediaClip(
        frames=frames,
        audio=fit_audio(audio, t, fps),
        sample_rate=SAMPLE_RATE,
        fps=fps,
        source_fps=info.source_fps,
        path=str(path),
        duration_s=t / fps,
        audio_path=str(audio_path or ""),
        video_duration_s=float(video_duration),
        audio_duration_s=audio.size / SAMPLE_RATE,
        truncated=max_frames is not None and t >= max_frames,
    )


def _too_short_reason(frames: int, audio_samples: int, fps: float) -> str:
    if audio_samples < SAMPLE_RATE * MIN_FRAMES / fps:
        return f"audio lasts {audio_samples / SAMPLE_RATE:.3f} s: too short to prepare"
    return f"video has {frames} frame(s) at {fps:g} fps; at least {MIN_FRAMES} are needed"
