"""Decode any talking-face video (and an optional separate audio file) with PyAV: the one reader.

Every path into avcorr goes through here: frames come out as RGB uint8 (or gray) re-timed to a
constant ``fps`` (25 by default) by their presentation timestamps, so variable-frame-rate
sources and 29.97/30/24 fps sources line up with the audio, and turned upright by the file's
rotation (the display matrix of phone videos); audio comes out as 16 kHz mono float32 in
[-1, 1], aligned so that sample 0 plays with frame 0.

Decoding recovers: streams are demuxed and decoded packet by packet, a packet that fails to
decode is skipped (and counted in a :class:`DecodeReport`) and decoding goes on, the frame on
screen holding over the gap. What was lost is measured as ``coverage``, the decoded share of the
declared duration, so a later layer can refuse to judge a fragment
(:func:`avcorr.media.coverage.too_little_to_judge`). Resource errors (out of memory, ``EAGAIN``)
are never taken for the end of a stream: they raise :class:`InputError`.

A clip is the span where both modalities exist: the longer of the two is cut to the shorter
(``MediaClip.video_duration_s`` / ``audio_duration_s`` keep the originals), so that
``len(audio) == round(T * sample_rate / fps)`` always holds.

Long files are never held whole: :func:`iter_media` streams chunks, and ``max_frames`` stops
decoding early (the rest of the file is not even read).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from avcorr.errors import InputError
from avcorr.media.files import is_resource_error, open_container, resource_error
from avcorr.media.probe import MediaInfo, display_rotation, nominal_fps, probe, stream_duration, stream_start

SAMPLE_RATE = 16000
MIN_FRAMES = 2
#: File name suffixes (lower case) taken for videos wherever a folder is searched for them.
VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".flv", ".wmv",
                                     ".ts", ".3gp")
#: A gap after a skipped audio packet longer than this (seconds) is filled with silence, keeping sync.
_AUDIO_GAP_S = 0.005


def find_videos(folder: str | Path) -> list[Path]:
    """The video files under ``folder`` (recursively, sorted; hidden names such as ``._x.mp4`` skipped)."""
    return sorted(p for p in Path(folder).rglob("*")
                  if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS and not p.name.startswith("."))


@dataclass
class DecodeReport:
    """What decoding lost, filled as it goes (final once the frame iterator is exhausted).

    ``*_packets_skipped``: packets that failed to decode and were skipped (a container that
    cannot be read past some point counts one more). ``*_decoded_s``: seconds of media that
    decoded (a frame that follows skipped packets covers at most one nominal frame period).
    ``*_expected_s``: the stream's declared length, cut to what was asked for (``max_frames``);
    None when the container does not say. ``duration_s``: the clip that came out, seconds.
    """

    video_packets_skipped: int = 0
    audio_packets_skipped: int = 0
    video_decoded_s: float = 0.0
    audio_decoded_s: float = 0.0
    video_expected_s: float | None = None
    audio_expected_s: float | None = None
    container_expected_s: float | None = None
    duration_s: float = 0.0

    @property
    def coverage(self) -> float:
        """Decoded share of the declared duration in [0, 1]: the worst stream; 1 when nothing is declared.

        Streams without a declared length of their own are compared as a whole with the file's.
        """
        pairs = [(self.video_decoded_s, self.video_expected_s), (self.audio_decoded_s, self.audio_expected_s)]
        shares = [min(1.0, d / e) for d, e in pairs if e is not None and e > 0]
        if not shares and self.container_expected_s:
            shares = [min(1.0, max(self.video_decoded_s, self.audio_decoded_s) / self.container_expected_s)]
        return max(0.0, min(shares)) if shares else 1.0

    def skipped(self, kind: str) -> int:
        return self.video_packets_skipped if kind == "video" else self.audio_packets_skipped

    def skip(self, kind: str) -> None:
        if kind == "video":
            self.video_packets_skipped += 1
        else:
            self.audio_packets_skipped += 1


@dataclass
class MediaClip:
    """A decoded clip: ``frames (T, H, W, 3)`` uint8 RGB at ``fps``; ``audio (N,)`` float32 mono.

    ``N == round(T * sample_rate / fps)``; ``duration_s == T / fps``. ``source_fps`` is the
    container's nominal rate (None when it has none). ``truncated`` is True when ``max_frames``
    cut the clip before the end of its media. ``video_packets_skipped`` /
    ``audio_packets_skipped`` count packets that failed to decode; ``coverage`` is the decoded
    share of the declared duration (:class:`DecodeReport`).
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
    video_packets_skipped: int = 0
    audio_packets_skipped: int = 0
    coverage: float = 1.0

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])


@dataclass
class MediaChunk:
    """A run of consecutive frames from :func:`iter_media`: frames ``start .. start + n - 1``."""

    start: int
    frames: np.ndarray
    audio: np.ndarray


# ----------------------------------------------------------------------------------- packets


def _decoded(container, stream, path: str | Path, report: DecodeReport, kind: str) -> Iterator:
    """Frames of ``stream`` decoded packet by packet: a packet that fails is skipped and counted.

    A demuxer error ends the stream (what follows cannot be found); resource errors raise.
    """
    import av

    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError as exc:
            if is_resource_error(exc):
                raise resource_error(path, exc) from None
            report.skip(kind)
            return
        try:
            frames = packet.decode()
        except av.error.FFmpegError as exc:
            if is_resource_error(exc):
                raise resource_error(path, exc) from None
            report.skip(kind)
            continue
        yield from frames


# ----------------------------------------------------------------------------------- audio


def read_audio(
    path: str | Path, sample_rate: int = SAMPLE_RATE, max_duration_s: float | None = None, align_to_video: bool = True,
    report: DecodeReport | None = None,
) -> np.ndarray:
    """Decode the first audio stream of ``path`` to mono float32 at ``sample_rate``.

    With ``align_to_video`` (and a video stream in the same file) the result starts at the first
    video frame's timestamp: earlier samples are dropped, a late audio start is zero-padded.
    A skipped packet's span is filled with silence where the next packet's timestamp says so.
    Raises :class:`InputError` when no packet decodes, or when samples are NaN or infinite.
    """
    report = report if report is not None else DecodeReport()
    try:
        audio, offset_s = _decode_audio(path, sample_rate, max_duration_s, align_to_video, report)
    except (MemoryError, OSError) as exc:
        if is_resource_error(exc):
            raise resource_error(path, exc) from None
        raise
    bad = int(np.count_nonzero(~np.isfinite(audio)))
    if bad:
        raise InputError(path, f"audio holds {bad} non-finite sample(s) (NaN or infinity) of {audio.size}", stage="decode")
    shift = int(round(offset_s * sample_rate))
    if shift > 0:
        audio = np.concatenate([np.zeros(shift, np.float32), audio])
    elif shift < 0:
        audio = audio[-shift:]
    if max_duration_s is not None:
        audio = audio[: int(math.ceil(max_duration_s * sample_rate))]
    return np.clip(audio, -1.0, 1.0)


def _decode_audio(path: str | Path, sample_rate: int, max_duration_s: float | None, align_to_video: bool,
                  report: DecodeReport) -> tuple[np.ndarray, float]:
    """(samples from the audio stream's start, offset of that start after the video's, seconds)."""
    import av

    with open_container(path) as container:
        if not container.streams.audio:
            raise InputError(path, "no audio track", stage="decode")
        stream = container.streams.audio[0]
        start = stream_start(stream)
        offset_s = start - stream_start(container.streams.video[0]) if align_to_video and container.streams.video else 0.0
        declared = stream_duration(stream)
        if declared is not None:
            report.audio_expected_s = declared if max_duration_s is None else min(declared, max_duration_s)
        if container.duration is not None:
            report.container_expected_s = container.duration / 1_000_000
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        limit = None if max_duration_s is None else int(math.ceil((max_duration_s - min(offset_s, 0.0)) * sample_rate)) + 1
        pieces: list[np.ndarray] = []
        total = decoded = 0
        skipped = report.audio_packets_skipped
        for frame in _decoded(container, stream, path, report, "audio"):
            if report.audio_packets_skipped != skipped and frame.time is not None:
                gap = int(round((frame.time - start) * sample_rate)) - total
                if gap > _AUDIO_GAP_S * sample_rate:  # the lost packets' span, as silence
                    pieces.append(np.zeros(gap, np.float32))
                    total += gap
            try:
                outs = resampler.resample(frame)
            except (ValueError, av.error.FFmpegError):
                # the stream changed format, layout or rate mid-way: a fresh resampler takes the new
                # setup; a frame it still refuses is lost like a bad packet
                resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
                try:
                    outs = resampler.resample(frame)
                except (ValueError, av.error.FFmpegError):
                    report.audio_packets_skipped += 1
                    continue
            skipped = report.audio_packets_skipped
            for out in outs:
                pieces.append(out.to_ndarray().reshape(-1))
                total += pieces[-1].size
                decoded += pieces[-1].size
            if limit is not None and total >= limit:
                break
        else:
            try:
                flushed = resampler.resample(None)
            except (ValueError, av.error.FFmpegError):
                flushed = []  # the resampler's last buffered samples (a few ms) are lost
            for out in flushed:
                pieces.append(out.to_ndarray().reshape(-1))
                decoded += pieces[-1].size
    if not decoded:
        lost = report.audio_packets_skipped
        raise InputError(path, f"audio track cannot be decoded ({lost} packet(s) failed)" if lost
                         else "audio track holds no samples", stage="decode")
    report.audio_decoded_s = decoded / sample_rate
    return np.concatenate(pieces).astype(np.float32), offset_s


# ----------------------------------------------------------------------------------- video


def iter_frames(
    path: str | Path,
    fps: float = 25.0,
    max_frames: int | None = None,
    *,
    start_s: float = 0.0,
    height: int | None = None,
    pixel_format: str = "rgb24",
    fast: bool = False,
    report: DecodeReport | None = None,
) -> Iterator[np.ndarray]:
    """Yield frames of ``path`` re-timed to a constant ``fps``, upright, one in memory at a time.

    Output frame k shows the latest source frame whose timestamp is at most ``k / fps + tol``
    seconds after ``start_s`` (times counted from the first frame), ``tol`` being half a frame
    period (of the output or of the source, the smaller): the nearest frame for a regular
    source, the frame on screen for a variable-rate one, so duplicated or dropped frames keep
    their place on the clock. The last source frame lasts one nominal frame period.

    ``height``: decode straight to this many rows (width by the displayed aspect ratio, even),
    by FFmpeg's scaler: a detector that needs less than the native size pays less. ``pixel_format``
    ``"rgb24"`` gives (H, W, 3), ``"gray"`` (H, W). ``fast`` skips H.264 deblocking and bit-exact
    decoding (about a third faster; for measures that do not need the exact pixels). A
    ``start_s`` over 2 s seeks. ``report`` receives the skipped packets and the decoded seconds.
    """
    report = report if report is not None else DecodeReport()
    frames = _iter_frames(path, fps, max_frames, start_s, height, pixel_format, fast, report)
    try:
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                return
            except (MemoryError, OSError) as exc:
                if is_resource_error(exc):
                    raise resource_error(path, exc) from None
                raise
            yield frame
    finally:
        frames.close()  # the file is closed as soon as the caller stops


def _iter_frames(path, fps, max_frames, start_s, height, pixel_format, fast, report: DecodeReport) -> Iterator[np.ndarray]:
    with open_container(path) as container:
        if not container.streams.video:
            raise InputError(path, "no video stream", stage="decode")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if fast:
            stream.codec_context.options = {"skip_loop_filter": "all", "flags2": "+fast"}
        nominal = nominal_fps(stream) or fps
        declared = stream_duration(stream)
        if declared is not None and start_s == 0:
            report.video_expected_s = declared if max_frames is None else min(declared, max_frames / fps)
        if container.duration is not None and report.container_expected_s is None:
            report.container_expected_s = container.duration / 1_000_000
        source = _decoded(container, stream, path, report, "video")
        t0: float | None = None
        if start_s > 2.0 and stream.time_base is not None:  # far in: the first frame's time, then a key frame before start_s
            t0 = next((f.time for f in source if f.time is not None), None)
            if t0 is not None:
                container.seek(int((t0 + start_s - 1.0) / stream.time_base), stream=stream, backward=True)
                source = _decoded(container, stream, path, report, "video")
        emitted = yield from _retime(source, fps, nominal, max_frames, start_s, t0, stream, height, pixel_format, report)
        if emitted == 0 and report.video_packets_skipped:
            raise InputError(path, f"video cannot be decoded ({report.video_packets_skipped} packet(s) failed)", stage="decode")
        report.duration_s = emitted / fps


def _retime(source, fps: float, nominal: float, max_frames: int | None, start_s: float, t0: float | None, stream,
            height: int | None, pixel_format: str, report: DecodeReport) -> Iterator[np.ndarray]:
    """Emit one image per output tick from the decoded ``source`` frames (see :func:`iter_frames`); returns the count."""
    step = 1.0 / fps
    tolerance = 0.5 * min(step, 1.0 / nominal) + 1e-6
    limit = math.inf if max_frames is None else max_frames
    tick = 0
    index = 0
    previous: list | None = None  # [time, frame, image once converted]
    skipped = report.video_packets_skipped
    covered = 0.0

    shape: list[tuple[int, ...]] = []  # the first image's shape: every later one is brought to it

    def image(item: list) -> np.ndarray:
        if item[2] is None:
            item[2] = _to_array(item[1], height, pixel_format)
            if not shape:
                shape.append(item[2].shape)
            elif item[2].shape != shape[0]:  # the stream changed resolution mid-way (legal in several codecs)
                item[2] = _resized(item[2], shape[0])
        return item[2]

    for frame in source:
        time = frame.time if frame.time is not None else index / nominal
        index += 1
        if t0 is None:
            t0 = time
            if report.video_packets_skipped:  # packets lost before the first frame: the clock starts at the stream's
                t0 = min(t0, stream_start(stream))
        current = [time - t0 - start_s, frame, None]
        if previous is not None and current[0] <= previous[0]:
            continue  # duplicate or out-of-order timestamp: the earlier frame stands
        if previous is not None:
            gap = current[0] - previous[0]
            covered += gap if report.video_packets_skipped == skipped else min(gap, 1.0 / nominal)
        skipped = report.video_packets_skipped
        # every tick before this frame's time (less the tolerance) shows the frame on screen then
        while tick < limit and tick * step + tolerance < current[0]:
            yield image(previous if previous is not None else current)
            tick += 1
        previous = current
        if tick >= limit:
            break
    else:
        if previous is not None:  # the last frame lasts one nominal frame period
            covered += 1.0 / nominal
            while tick < limit and tick * step < previous[0] + 1.0 / nominal - 1e-6:
                yield image(previous)
                tick += 1
    report.video_decoded_s = covered
    return tick


def _resized(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``array`` scaled to the (H, W) of ``shape`` (same channels), so a clip's frames share one size."""
    import cv2

    return cv2.resize(array, (int(shape[1]), int(shape[0])), interpolation=cv2.INTER_AREA)


def _to_array(frame, height: int | None, pixel_format: str) -> np.ndarray:
    """One decoded frame as an upright array (scaled to ``height`` rows when given)."""
    quarter_turns = display_rotation(frame) // 90
    if height is None:
        array = frame.to_ndarray(format=pixel_format)
    else:
        shown_w, shown_h = (frame.height, frame.width) if quarter_turns % 2 else (frame.width, frame.height)
        width = max(2, int(round(shown_w * height / max(shown_h, 1) / 2)) * 2)
        size = (height, width) if quarter_turns % 2 else (width, height)
        array = frame.reformat(width=size[0], height=size[1], format=pixel_format).to_ndarray()
    return np.ascontiguousarray(np.rot90(array, quarter_turns)) if quarter_turns else array


# ----------------------------------------------------------------------------------- clips


def frames_limit(audio_samples: int, sample_rate: int, fps: float, max_frames: int | None) -> int:
    """How many output frames a clip holds: those the audio covers, at most ``max_frames``."""
    audio_frames = int(math.floor(audio_samples * fps / sample_rate + 1e-6))
    return audio_frames if max_frames is None else min(audio_frames, max_frames)


def load_audio(path: str | Path, audio_path: str | Path | None = None, max_frames: int | None = None, fps: float = 25.0,
               report: DecodeReport | None = None) -> np.ndarray:
    """A clip's 16 kHz audio: ``audio_path``'s track when given (from its start), else ``path``'s own
    aligned to its video; enough for ``max_frames`` frames when given."""
    limit_s = None if max_frames is None else (max_frames + 1) / fps
    if audio_path:
        return read_audio(audio_path, SAMPLE_RATE, limit_s, align_to_video=False, report=report)
    return read_audio(path, SAMPLE_RATE, limit_s, align_to_video=True, report=report)


def too_short_reason(frames: int, audio_samples: int, fps: float) -> str:
    """Why a clip of ``frames`` frames and ``audio_samples`` 16 kHz samples is too short to prepare."""
    if audio_samples < SAMPLE_RATE * MIN_FRAMES / fps:
        return f"audio lasts {audio_samples / SAMPLE_RATE:.3f} s: too short to prepare"
    return f"video has {frames} frame(s) at {fps:g} fps; at least {MIN_FRAMES} are needed"


@dataclass
class MediaSource:
    """A clip opened for decoding: its headers, its whole audio and how many frames it will give.

    ``frames()`` streams the video (upright, at ``fps``, at most ``num_frames``); ``report``
    collects what both streams lost.
    """

    path: str
    info: MediaInfo
    audio: np.ndarray
    num_frames: int
    fps: float
    report: DecodeReport = field(default_factory=DecodeReport)

    def frames(self, height: int | None = None) -> Iterator[np.ndarray]:
        return iter_frames(self.path, self.fps, self.num_frames, height=height, report=self.report)


def open_media(path: str | Path, audio_path: str | Path | None = None, fps: float = 25.0, max_frames: int | None = None,
               info: MediaInfo | None = None, report: DecodeReport | None = None) -> MediaSource:
    """Probe ``path``, decode its audio (or ``audio_path``'s) and fix the clip's frame count.

    Raises :class:`InputError` (stage ``decode``) for an unreadable file, a missing stream or a
    clip shorter than two frames. ``report`` (new when None) receives what decoding loses.
    """
    info = info or probe(path)
    report = report if report is not None else DecodeReport()
    audio = load_audio(path, audio_path, max_frames, fps, report)
    limit = frames_limit(audio.size, SAMPLE_RATE, fps, max_frames)
    if limit < MIN_FRAMES:
        raise InputError(path, too_short_reason(limit, audio.size, fps), stage="decode")
    return MediaSource(path=str(path), info=info, audio=audio, num_frames=limit, fps=fps, report=report)


def iter_media(
    path: str | Path,
    audio_path: str | Path | None = None,
    fps: float = 25.0,
    chunk_frames: int = 64,
    max_frames: int | None = None,
    report: DecodeReport | None = None,
) -> Iterator[MediaChunk]:
    """Stream a clip in chunks of at most ``chunk_frames`` frames, each with its audio span.

    Memory is bounded by one chunk of frames plus the 16 kHz audio of the kept span. The clip
    ends where the shorter modality ends (or at ``max_frames``). ``report`` (when given) holds
    the skipped packets and the coverage once the iterator is exhausted.
    """
    source = open_media(path, audio_path, fps, max_frames, report=report)
    buffer: list[np.ndarray] = []
    start = 0
    for frame in source.frames():
        buffer.append(frame)
        if len(buffer) == chunk_frames:
            yield MediaChunk(start, np.stack(buffer), _audio_span(source.audio, start, len(buffer), fps))
            start += len(buffer)
            buffer = []
    if buffer:
        yield MediaChunk(start, np.stack(buffer), _audio_span(source.audio, start, len(buffer), fps))


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
    source = open_media(path, audio_path, fps, max_frames)
    try:
        frames_list = list(source.frames())
        t = len(frames_list)
        if t < MIN_FRAMES:
            raise InputError(path, too_short_reason(t, source.audio.size, fps), stage="decode")
        frames = np.stack(frames_list)
    except MemoryError as exc:  # the whole clip does not fit: say so (iter_media streams it)
        raise resource_error(path, exc, "holding the decoded frames") from None
    del frames_list
    info, report = source.info, source.report
    video_duration = info.duration_s if info.duration_s is not None else t / fps
    return MediaClip(
        frames=frames,
        audio=fit_audio(source.audio, t, fps),
        sample_rate=SAMPLE_RATE,
        fps=fps,
        source_fps=info.source_fps,
        path=str(path),
        duration_s=t / fps,
        audio_path=str(audio_path or ""),
        video_duration_s=float(video_duration),
        audio_duration_s=source.audio.size / SAMPLE_RATE,
        truncated=max_frames is not None and t >= max_frames,
        video_packets_skipped=report.video_packets_skipped,
        audio_packets_skipped=report.audio_packets_skipped,
        coverage=report.coverage,
    )


# ----------------------------------------------------------------------------------- sampling

#: Decode straight on when the next sampled time is this close (seconds); seek when farther.
_SEEK_GAP_S = 2.0


def frames_at(path: str | Path, times_s: list[float], pixel_format: str = "gray") -> list[np.ndarray]:
    """The source frame on screen at each of ``times_s`` (seconds after the stream's start, increasing),
    upright, at native size: the first frame whose time reaches the target less half a frame.

    Long gaps between targets are crossed by seeking, so the cost is bounded by the number of
    targets, not the file's length. The list ends early at the end of the stream.
    """
    import av

    report = DecodeReport()
    picked: list[np.ndarray] = []
    with open_container(path) as container:
        if not container.streams.video:
            raise InputError(path, "no video stream", stage="decode")
        video = container.streams.video[0]
        video.thread_type = "AUTO"
        start = stream_start(video)
        half_frame = 0.5 / (float(video.average_rate) if video.average_rate else 25.0)
        frames = None
        position = -math.inf  # time of the last decoded frame (relative to the stream start)
        t0: float | None = None
        for target in times_s:
            if frames is None or target - position > _SEEK_GAP_S:
                if frames is not None or target > _SEEK_GAP_S:
                    try:
                        container.seek(int((start + target) / video.time_base), stream=video, backward=True, any_frame=False)
                    except av.error.FFmpegError:
                        break  # cannot seek there: the targets beyond have no frame
                frames = _decoded(container, video, path, report, "video")
            chosen = None
            for frame in frames:
                time = frame.time if frame.time is not None else position + 1.0 / 25
                if t0 is None:
                    t0 = start if video.start_time is not None else time
                position = time - t0
                if position >= target - half_frame:  # the frame on screen nearest the target
                    chosen = frame
                    break
            if chosen is None:
                break  # end of stream
            picked.append(_to_array(chosen, None, pixel_format))
    return picked
