"""What a media file says about itself, read without decoding it (one frame at most).

:func:`probe` is the one source of container metadata: prepare, the decoders and the container
features read it here, so every layer sees the same size, rate, duration and rotation.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from avcorr.errors import InputError
from avcorr.media.files import check_media_file, open_container


@dataclass
class MediaInfo:
    """A file's stream headers. Sizes are in displayed pixels (rotation applied); times in seconds.

    ``duration_s``: the video stream's declared length (else the file's); ``video_duration_s`` /
    ``audio_duration_s``: each stream's own declared length, None when the container does not
    say (e.g. AVI audio). ``rotation``: counter-clockwise degrees (0, 90, 180, 270) by which the
    stored frames must be turned to be shown upright (the display matrix of phone videos).
    ``coded_width`` / ``coded_height``: the stored frames' size. Bit rates in bits per second,
    None when the headers do not give one.
    """

    path: str
    width: int
    height: int
    source_fps: float | None
    duration_s: float | None
    has_audio: bool
    rotation: int = 0
    coded_width: int = 0
    coded_height: int = 0
    video_duration_s: float | None = None
    audio_duration_s: float | None = None
    container_duration_s: float | None = None
    frame_count: int | None = None
    video_codec: str = ""
    pixel_format: str = ""
    video_bitrate_bps: float | None = None
    audio_codec: str = ""
    audio_sample_rate: int | None = None
    audio_channels: int | None = None
    audio_bitrate_bps: float | None = None
    file_bytes: int = 0
    has_video: bool = True


def probe(path: str | Path, require_video: bool = True) -> MediaInfo:
    """Read the headers of ``path`` (and its first decodable video frame, for the rotation).

    Raises :class:`InputError` (stage ``decode``) for an unreadable file, and for one without a
    video stream when ``require_video``.
    """
    path = check_media_file(path)
    with open_container(path) as container:
        video = container.streams.video[0] if container.streams.video else None
        if video is None and require_video:
            raise InputError(path, "no video stream", stage="decode")
        audio = container.streams.audio[0] if container.streams.audio else None
        whole = container.duration / 1_000_000 if container.duration is not None else None
        info = MediaInfo(path=str(path), width=0, height=0, source_fps=None, duration_s=whole, has_audio=audio is not None,
                         container_duration_s=whole, file_bytes=path.stat().st_size, has_video=video is not None)
        if video is not None and video.codec_context is None:
            raise InputError(path, "the video stream's codec is unknown to FFmpeg", stage="decode")
        if audio is not None and audio.codec_context is None:
            audio = None  # an audio codec FFmpeg does not know: as if there were no audio track
            info.has_audio = False
        if audio is not None:
            ctx = audio.codec_context
            info.audio_duration_s = stream_duration(audio)
            info.audio_codec = (ctx.name or "").lower()
            info.audio_sample_rate = int(ctx.sample_rate) if ctx.sample_rate else None
            info.audio_channels = int(ctx.channels) if ctx.channels else None
            info.audio_bitrate_bps = float(audio.bit_rate or ctx.bit_rate or 0) or None
        if video is not None:
            ctx = video.codec_context
            info.coded_width, info.coded_height = int(ctx.width or 0), int(ctx.height or 0)
            info.source_fps = nominal_fps(video)
            info.video_duration_s = stream_duration(video)
            if info.video_duration_s is not None:
                info.duration_s = info.video_duration_s
            info.frame_count = int(video.frames) if video.frames else None
            info.video_codec = (ctx.name or "").lower()
            info.pixel_format = ctx.format.name if ctx.format is not None else ""
            info.video_bitrate_bps = float(video.bit_rate or ctx.bit_rate or 0) or None
            info.rotation = _first_frame_rotation(container, video)
            turned = info.rotation in (90, 270)
            info.width, info.height = (info.coded_height, info.coded_width) if turned else (info.coded_width, info.coded_height)
    return info


def nominal_fps(stream) -> float | None:
    """The stream's nominal frame rate (average, else guessed, else base), None when it has none."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and float(rate) > 0:
            return float(rate)
    return None


def stream_duration(stream) -> float | None:
    """A stream's declared length in seconds: its header, else Matroska's ``DURATION`` tag."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    tag = (stream.metadata or {}).get("DURATION", "")
    match = re.fullmatch(r"(\d+):(\d\d):(\d\d(?:\.\d+)?)", tag.strip())
    if match:
        return int(match[1]) * 3600 + int(match[2]) * 60 + float(match[3])
    return None


def stream_start(stream) -> float:
    """A stream's first timestamp in seconds (0 when unknown)."""
    if stream.start_time is not None and stream.time_base is not None:
        return float(stream.start_time * stream.time_base)
    return 0.0


def display_rotation(frame) -> int:
    """Counter-clockwise degrees (0, 90, 180 or 270) that turn ``frame`` upright (its display matrix)."""
    try:
        angle = float(frame.rotation or 0)
    except Exception:  # a malformed display matrix: shown as stored
        return 0
    return int(round(angle / 90.0)) % 4 * 90


def _first_frame_rotation(container, video) -> int:
    """The display rotation of the first frame that decodes (0 when none does: decoding will say why)."""
    import av

    try:
        for packet in container.demux(video):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                continue
            if frames:
                return display_rotation(frames[0])
    except av.error.FFmpegError:
        pass
    return 0
