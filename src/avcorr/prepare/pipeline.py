"""Turn talking-face videos into clip-cache records: the per-clip pipeline and the batch runner.

Per clip (:func:`prepare_clip`), in stages whose names land in ``failures.csv``:
``decode`` (audio first, then video frames streamed one at a time) → ``audio`` (silence check)
→ ``normalise`` (optional canonical resolution: :mod:`avcorr.media.normalise`) → ``track``
(MediaPipe face tracking, main face) → ``crop`` (face, mouth, landmarks) → ``features`` (MFCC,
STFT) → ``teacher`` (optional posteriors and soft labels).

Memory stays bounded whatever the file: frames are never all held (unless ``keep_frames``);
the tracker keeps a small grayscale region around each face per frame, and decoding stops at
``max_frames`` (1000 frames = 40 s by default, the paper's cap; the clip's record says it was cut
and how long the source was). ``max_frames=None`` lifts the cap: memory then grows by about
100 kB per frame (regions, crops, landmarks), not by the frame size.

The batch (:func:`prepare_manifest`) runs clips in a process pool, each worker with its own
MediaPipe graphs and teacher; it skips clips already in the cache (so a killed run restarts where
it stopped), keeps ``failures.csv`` current after every failure, and rebuilds ``manifest.csv``.
Workers end with their parent, even a SIGKILLed one (:func:`die_with_parent`); a stop of the
batch (Ctrl-C, or SIGTERM turned into one by the CLI) ends the workers at once, keeps every clip
already written and rebuilds the manifest; a clip that ran the machine out of memory, processes
or disk fails alone with a reason that says so (:func:`resource_reason`).
"""
from __future__ import annotations

import contextlib
import csv
import errno
import math
import os
import queue
import signal
import threading
import time
import zlib
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Generator, Iterator, Sequence

import numpy as np

from avcorr.data.clip_cache import FAILURE_COLUMNS, FAILURES_NAME, ClipCache, ClipMeta, ClipRecord, write_csv
from avcorr.data.manifest import ManifestRow
from avcorr.errors import AvcorrError, ConfigError, InputError
from avcorr.media import audio_features, crops, decode
from avcorr.media import normalise as canon
from avcorr.media.decode import MediaClip
from avcorr.media.face import FaceTrack, FaceTracker, TrackerOptions
from avcorr.media.normalise import NormaliseOptions
from avcorr.media.probe import probe
from avcorr.runtime import StageTimer

#: ``PrepareOptions.fast``'s face-mesh rate: every 2nd frame (landmark error vs full rate: benchmarks/results/detect_speed.md).
FAST_MESH_EVERY = 2
STAGES = ("decode", "audio", "normalise", "track", "crop", "features", "teacher", "write")
#: OS errors that mean "this machine ran out of something", not "this file is bad".
RESOURCE_ERRNOS = frozenset({errno.EAGAIN, errno.ENOMEM, errno.ENOSPC, errno.EMFILE, errno.ENFILE})


def resource_reason(exc: BaseException) -> str:
    """One line for a clip that failed because the machine ran out of memory, processes, files or
    disk: says so, so it is not mistaken for a bad file (rerun with more room, or fewer workers)."""
    code = getattr(exc, "errno", None)
    what = {errno.ENOSPC: "out of disk space", errno.EMFILE: "out of file handles", errno.ENFILE: "out of file handles"}.get(
        code, "out of memory or system resources")
    name = errno.errorcode.get(code, "") if code is not None else ""
    return f"{what} ({name or exc.__class__.__name__}: {getattr(exc, 'strerror', None) or exc}); rerun with fewer workers, or on less of each video (prepare --max-frames, detect --max-seconds)"


@dataclass
class PrepareOptions:
    """How clips are prepared. Sizes in pixels; ``silence_dbfs`` is an RMS level in dB full scale.

    ``max_frames``: decode at most this many frames (None: the whole file). ``min_face_fraction``:
    a clip whose main face is seen in fewer of its frames fails at ``track``. ``keep_frames``:
    return the decoded RGB frames in ``PreparedClip.media`` (forge needs them; prepare does not).
    ``normalise``: bring the clip to a canonical face resolution and codec before tracking
    (:class:`~avcorr.media.normalise.NormaliseOptions`; None, the default: frames as decoded).
    ``mesh_every``: run the face mesh on every n-th frame and interpolate the landmarks between
    (:attr:`~avcorr.media.face.TrackerOptions.mesh_every`, set on the tracker for this clip, a
    reused one too; 1, the default: every frame, as training caches are made). ``scaled_decode``:
    with ``normalise``, decode frames straight at the canonical size (FFmpeg's scaler) instead of
    at full size then rescaled by OpenCV: a fraction of the cost for large videos, pixels within
    about one grey level. ``prefetch``: decode (and normalise) in a second thread, a few frames
    ahead of the tracker (a second core's worth; same frames). :meth:`fast` sets all three as
    ``detect`` uses them.
    """

    fps: float = 25.0
    face_size: int = 112
    mouth_size: int = 112
    max_frames: int | None = 1000
    min_face_fraction: float = 0.5
    silence_dbfs: float = -60.0
    store_stft: bool = True
    store_mouth: bool = True
    keep_frames: bool = False
    divergence: str = "js"
    tracker: TrackerOptions = field(default_factory=TrackerOptions)
    normalise: NormaliseOptions | None = None
    mesh_every: int = 1
    scaled_decode: bool = False
    prefetch: bool = False

    def __post_init__(self) -> None:
        if int(self.mesh_every) < 1:
            raise ConfigError(f"mesh_every must be at least 1 (every frame), got {self.mesh_every}")

    def fast(self, mesh_every: int = FAST_MESH_EVERY) -> "PrepareOptions":
        """These options with the speed settings of ``detect``: the face mesh on every
        ``mesh_every``-th frame, frames decoded at the canonical size."""
        return replace(self, mesh_every=int(mesh_every), scaled_decode=True, prefetch=True)


@dataclass
class PreparedClip:
    """The result of :func:`prepare_clip`: decoded media, the cache record, the face track.

    ``media.frames`` is empty (0 frames) unless ``PrepareOptions.keep_frames``: the frames the
    tracker saw (rescaled and JPEG-coded with ``normalise``); ``media.audio`` is the clip's audio
    (16 kHz), cut to the prepared frames. ``track`` is in source pixels, like ``face_boxes``,
    also with ``normalise``. ``timings`` are seconds per stage.
    """

    media: MediaClip
    record: ClipRecord
    track: FaceTrack
    timings: dict[str, float] = field(default_factory=dict)


class _Stages:
    """Times each stage (a :class:`~avcorr.runtime.StageTimer`) and turns unexpected exceptions into
    ``InputError`` for that stage."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.timer = StageTimer()
        self.timer.seconds.update(dict.fromkeys(STAGES, 0.0))

    @property
    def timings(self) -> dict[str, float]:
        """Wall seconds per stage (every stage listed, 0 when it did not run)."""
        return self.timer.seconds

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        with self.timer(stage):
            try:
                yield
            except InputError:
                raise
            except MemoryError:
                raise InputError(self.path, "out of memory (try less of each video: prepare --max-frames, detect --max-seconds)", stage=stage) from None
            except OSError as exc:
                if exc.errno not in RESOURCE_ERRNOS:
                    raise InputError(self.path, f"unexpected {exc.__class__.__name__}: {exc}", stage=stage) from exc
                raise InputError(self.path, resource_reason(exc), stage=stage) from None
            except Exception as exc:  # a bug or an odd file: record it, never lose the clip silently
                raise InputError(self.path, f"unexpected {exc.__class__.__name__}: {exc}", stage=stage) from exc


def _as_meta(meta: ClipMeta | ManifestRow | None, video_path: str | Path, audio_path: str | Path | None) -> ClipMeta:
    if isinstance(meta, ClipMeta):
        return replace(meta, extra=dict(meta.extra))
    if isinstance(meta, ManifestRow):
        return ClipMeta(
            clip_id=meta.clip_id, label=meta.label, method=meta.method, audio_label=meta.audio_label,
            video_label=meta.video_label, sync_label=meta.sync_label, source_id=meta.source_id,
            audio_source_id=meta.audio_source_id, split=meta.split, dataset=meta.dataset,
            video_path=meta.video_path, audio_path=meta.audio_path, fake_window=meta.fake_window,
        )
    return ClipMeta(clip_id=Path(video_path).stem, label=0, video_path=str(video_path), audio_path=str(audio_path or ""))


def frame_labels(label: int, num_frames: int, fps: float, fake_window: Sequence[float] | None, start_s: float = 0.0) -> np.ndarray:
    """``(T,)`` uint8 per-frame labels: the clip label, or 1 only inside ``fake_window`` (seconds).

    A frame belongs to the window when its centre time (``start_s + (t + 0.5) / fps``) lies in it.
    """
    if not label or fake_window is None:
        return np.full(num_frames, int(label), np.uint8)
    centres = start_s + (np.arange(num_frames) + 0.5) / fps
    a, b = fake_window
    return ((centres >= a) & (centres < b)).astype(np.uint8)


def _rms_dbfs(audio: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if audio.size else 0.0
    return 20 * math.log10(rms) if rms > 0 else -math.inf


def prepare_clip(
    video_path: str | Path,
    audio_path: str | Path | None = None,
    options: PrepareOptions | None = None,
    teacher: Any = None,
    meta: ClipMeta | ManifestRow | None = None,
    tracker: FaceTracker | None = None,
) -> PreparedClip:
    """Decode, track, crop and featurize one clip in memory (nothing is written).

    ``teacher``: an object with ``name``, ``vocabulary`` and ``posteriors(media, record)``
    returning audio and visual ``(T, V)`` posteriors (``.audio``/``.visual`` or a pair).
    ``tracker``: reuse a :class:`FaceTracker` across clips (a batch worker does); its options
    then win over ``options.tracker``. Raises :class:`InputError` with the failing ``stage``.
    """
    options = options or PrepareOptions()
    stage = _Stages(video_path)
    clip_meta = _as_meta(meta, video_path, audio_path)
    fps = options.fps

    with stage("decode"):
        info = probe(video_path)
        if not audio_path and not info.has_audio:
            raise InputError(video_path, "no audio track (give an audio_path in the manifest)", stage="decode")
        source = decode.open_media(video_path, audio_path, fps, options.max_frames, info=info)
        audio, limit = source.audio, source.num_frames
    with stage("audio"):
        level = _rms_dbfs(audio[: int(limit * decode.SAMPLE_RATE / fps)])
        if level < options.silence_dbfs:
            shown = "digital silence" if level == -math.inf else f"RMS {level:.0f} dBFS"
            raise InputError(audio_path or video_path, f"audio is silent ({shown}, threshold {options.silence_dbfs:.0f} dBFS)", stage="audio")

    if tracker is None:
        tracker = FaceTracker(replace(options.tracker, keep_regions=True))
    else:
        tracker.options.keep_regions = True
    tracker.options.mesh_every = 1  # the face measurement's sample frames are far apart: mesh each
    tracker.reset()
    norm = options.normalise
    scale, measured = 1.0, None
    if norm is not None:
        with stage("normalise"):
            measured = _measure_face(video_path, fps, limit, norm, tracker)
            scale = canon.scale_for(measured, norm.face_px)
    tracker.options.mesh_every = int(options.mesh_every)
    decode_height = None  # scaled_decode: FFmpeg's scaler brings frames to the canonical size as they decode
    if options.scaled_decode and scale < 1.0 and info.height > 0 and info.width > 0:
        decode_height = canon.scaled_size(info.width, info.height, scale)[1]
        scale = decode_height / info.height  # the scale the frames really get (whole rows)
    kept: list[np.ndarray] = []
    frame_scale = 1.0 if decode_height is not None else scale

    def decoded() -> Iterator[tuple[np.ndarray, tuple[int, int]]]:
        """(frame as the tracker sees it, source (height, width)) per frame: decoded and normalised."""
        frames_iter = source.frames(height=decode_height)
        try:
            while True:
                with stage("decode"):
                    frame = next(frames_iter, None)
                if frame is None:
                    return
                size = (info.height, info.width) if decode_height is not None else frame.shape[:2]
                if norm is not None:
                    with stage("normalise"):
                        frame = canon.normalise_frame(frame, frame_scale, norm)
                yield frame, size
        finally:
            frames_iter.close()

    count = 0
    height = width = 0
    frames = prefetched(decoded()) if options.prefetch else decoded()
    try:
        for frame, (height, width) in frames:
            with stage("track"):
                tracker.add(frame)
            if options.keep_frames:
                kept.append(frame)
            count += 1
    finally:
        frames.close()
    if count < decode.MIN_FRAMES:
        raise InputError(video_path, f"video has {count} decodable frame(s); at least {decode.MIN_FRAMES} are needed", stage="decode")
    with stage("track"):
        track = tracker.finish(str(video_path))
        start = track.span[0]
        if start:
            track = _cut_track(track, start)
        if track.found_fraction < options.min_face_fraction:
            raise InputError(video_path, f"face found in only {100 * track.found_fraction:.0f}% of {track.num_frames} frames (need {100 * options.min_face_fraction:.0f}%)", stage="track")
    num_frames = track.num_frames
    start_s = start / fps
    clip_audio = decode.fit_audio(audio[int(round(start * decode.SAMPLE_RATE / fps)):], num_frames, fps)
    frames = np.stack(kept[start:]) if kept else np.zeros((0, *canon.scaled_size(width, height, scale)[::-1], 3), np.uint8)
    del kept

    arrays: dict[str, np.ndarray] = {}
    with stage("crop"):
        arrays["frames"] = crops.crop_faces(None, track, options.face_size)
        if options.store_mouth:
            arrays["mouth"] = crops.crop_mouths(None, track, options.mouth_size)
        arrays["landmarks"] = crops.landmarks_in_crop(track, options.face_size)
        if scale != 1.0:  # back to source pixels: readers pair face_boxes with the source video
            track = _unscale_track(track, scale, (height, width))
        arrays["face_boxes"] = track.boxes.astype(np.float32)
        arrays["face_found"] = track.found.copy()
    with stage("features"):
        arrays["mfcc"] = audio_features.student_mfcc(clip_audio, num_frames, fps)
        if options.store_stft:
            arrays["stft"] = audio_features.teacher_stft(clip_audio, num_frames, fps).astype(np.float16)
        arrays["frame_labels"] = frame_labels(clip_meta.label, num_frames, fps, clip_meta.fake_window, start_s)

    source_video_s = info.duration_s if info.duration_s is not None else (start + num_frames) / fps
    # cut by max_frames: the frame budget was used up and the source still had more of both streams
    truncated = (options.max_frames is not None and start + num_frames >= options.max_frames
                 and min(source_video_s, audio.size / decode.SAMPLE_RATE) > (start + num_frames + 0.5) / fps)
    clip_meta.fps = fps
    clip_meta.source_fps = info.source_fps
    clip_meta.num_frames = num_frames
    clip_meta.duration_s = num_frames / fps
    clip_meta.video_path = clip_meta.video_path or str(video_path)
    clip_meta.audio_path = clip_meta.audio_path or str(audio_path or "")
    clip_meta.extra.update({
        "start_s": start_s,
        "truncated": bool(truncated),
        "source_size": [int(width), int(height)],
        "source_video_s": float(source_video_s),
        "source_audio_s": float(audio.size / decode.SAMPLE_RATE) if not truncated else None,
        "face_found_fraction": round(track.found_fraction, 4),
        "num_faces": int(track.num_faces),
        "face_detector": track.detector,
        "face_size": options.face_size,
        "mouth_size": options.mouth_size if options.store_mouth else None,
        "audio_rms_dbfs": round(level, 2),
        "video_packets_skipped": source.report.video_packets_skipped,
        "audio_packets_skipped": source.report.audio_packets_skipped,
        "coverage": round(source.report.coverage, 4),
    })
    if norm is not None:
        clip_meta.extra["normalise"] = {
            "face_px": int(norm.face_px), "jpeg_quality": int(norm.jpeg_quality), "blur_sigma": float(norm.blur_sigma),
            "scale": round(scale, 6), "measured_face_px": None if measured is None else round(measured, 2),
            "size": list(canon.scaled_size(width, height, scale)),
        }
    record = ClipRecord(meta=clip_meta, arrays=arrays)
    media = MediaClip(
        frames=frames, audio=clip_audio, sample_rate=decode.SAMPLE_RATE, fps=fps, source_fps=info.source_fps,
        path=str(video_path), duration_s=num_frames / fps, audio_path=str(audio_path or ""),
        video_duration_s=float(source_video_s), audio_duration_s=audio.size / decode.SAMPLE_RATE, truncated=bool(truncated),
        video_packets_skipped=source.report.video_packets_skipped, audio_packets_skipped=source.report.audio_packets_skipped,
        coverage=source.report.coverage,
    )
    track.regions = track.region_boxes = None  # large and only needed for the crops above
    if teacher is not None and getattr(teacher, "name", "none") != "none":
        with stage("teacher"):
            _apply_teacher(teacher, media, record, options.divergence)
    record.validate()
    return PreparedClip(media=media, record=record, track=track, timings=stage.timings)


_DONE = object()


def prefetched(items: Iterator[Any], depth: int = 4) -> Generator[Any, None, None]:
    """``items`` produced in a background thread at most ``depth`` ahead of the consumer (decoding
    overlaps tracking on a second core). The producer's exception is raised here, in order; closing
    this generator (or leaving it early) stops the producer and waits for it, which closes ``items``."""
    made: queue.Queue = queue.Queue(depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                made.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((_DONE, None))
        except BaseException as exc:  # handed to the consumer, raised there
            put((_DONE, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="avcorr-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, error = made.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        worker.join()


def _measure_face(video_path: str | Path, fps: float, limit: int, norm: NormaliseOptions, tracker: FaceTracker) -> float | None:
    """The main face's height (source pixels) on ``norm.samples`` frames of the clip's first
    ``norm.window_frames``: decodes only up to the last sample, tracks only the samples."""
    picked = canon.read_sample_frames(video_path, canon.sample_indices(limit, norm), fps)
    return canon.measure_face_height(picked, tracker)


def _unscale_track(track: FaceTrack, scale: float, frame_size: tuple[int, int]) -> FaceTrack:
    """A track made on frames rescaled by ``scale``, in source pixels (regions dropped)."""
    landmarks = track.landmarks / np.float32(scale)
    return replace(track, boxes=(track.boxes / np.float32(scale)).astype(np.float32), landmarks=landmarks.astype(np.float32),
                   frame_size=frame_size, regions=None, region_boxes=None)


def _cut_track(track: FaceTrack, start: int) -> FaceTrack:
    """Drop the frames before the main face first appeared (it has no pixels there)."""
    cut = lambda a: None if a is None else a[start:]  # noqa: E731
    return replace(track, boxes=track.boxes[start:], found=track.found[start:], landmarks=track.landmarks[start:],
                   regions=cut(track.regions), region_boxes=cut(track.region_boxes), span=(0, track.span[1] - start))


def _apply_teacher(teacher: Any, media: MediaClip, record: ClipRecord, divergence: str) -> None:
    import torch

    from avcorr.soft_label import soft_correlation_label  # lazy: torch, loaded only when a teacher runs

    out = teacher.posteriors(media, record)
    audio_post, visual_post = (out.audio, out.visual) if hasattr(out, "audio") else out
    audio_post = np.asarray(audio_post, np.float32)
    visual_post = np.asarray(visual_post, np.float32)
    label = soft_correlation_label(torch.from_numpy(audio_post), torch.from_numpy(visual_post), divergence=divergence)  # type: ignore[arg-type]
    record.arrays["audio_posteriors"] = audio_post
    record.arrays["visual_posteriors"] = visual_post
    record.arrays["soft_label"] = label.numpy().astype(np.float32)
    record.meta.teacher = str(teacher.name)
    record.meta.vocabulary = list(getattr(out, "vocabulary", None) or teacher.vocabulary)
    info = getattr(out, "info", None)
    if info:
        record.meta.extra["teacher_info"] = dict(info)


# ------------------------------------------------------------------------------ batch


@dataclass
class ClipOutcome:
    """What happened to one manifest row in a batch."""

    clip_id: str
    path: str
    status: str  # "done", "skipped" or "failed"
    stage: str = ""
    reason: str = ""
    frames: int = 0
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class PrepareSummary:
    """Counts of a ``prepare`` run plus per-clip outcomes (in completion order)."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    outcomes: list[ClipOutcome] = field(default_factory=list)


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"i/n"`` (1-based, 1 ≤ i ≤ n) → (i, n); None → (1, 1)."""
    if not text:
        return 1, 1
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard {text!r}: expected i/n, e.g. 1/4") from None
    if not 1 <= i <= n:
        raise ConfigError(f"--shard {text!r}: need 1 <= i <= n")
    return i, n


def in_shard(clip_id: str, shard: tuple[int, int]) -> bool:
    """Stable assignment of clips to shards (by CRC-32 of the clip id, independent of row order)."""
    i, n = shard
    return n == 1 or zlib.crc32(clip_id.encode()) % n == i - 1


_WORKER: dict[str, Any] = {}
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent_pid: int, poll_s: float = 1.0) -> None:
    """End this (worker) process when ``parent_pid`` dies, SIGKILL of the parent included.

    Linux: the kernel sends SIGKILL on the parent's death (``prctl(PR_SET_PDEATHSIG)``); everywhere
    (and should the parent have died before the call): a daemon thread checks ``os.getppid()``
    every ``poll_s`` seconds. A worker so killed loses only its clip in progress, whose temporary
    file is ignored by readers and removed by a later run. Also ignores SIGINT: a Ctrl-C reaches the
    whole process group, and the parent decides how the batch stops.
    """
    if os.getpid() == parent_pid:
        return  # workers=1 runs in the parent itself
    with contextlib.suppress(OSError, AttributeError):
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name="avcorr-parent-watch", daemon=True).start()


def _init_worker(options: PrepareOptions, teacher_name: str, teacher_options: dict[str, Any], parent_pid: int | None = None) -> None:
    if parent_pid is not None:
        die_with_parent(parent_pid)
    os.environ.setdefault("GLOG_minloglevel", "2")
    if teacher_name not in ("", "none"):  # torch is slow to import; only teachers need it
        import torch

        torch.set_num_threads(1)
    _WORKER["tracker"] = FaceTracker(replace(options.tracker, keep_regions=True))
    _WORKER["teacher"] = load_teacher(teacher_name, **teacher_options)
    _WORKER["options"] = options


def load_teacher(name: str, **teacher_options: Any) -> Any:
    """The teacher called ``name`` from :mod:`avcorr.teachers.registry` (None for ``none``)."""
    if not name or name == "none":
        return None
    try:
        from avcorr.teachers.registry import get_teacher  # lazy: torch, loaded only when a teacher is asked for
    except ImportError:
        raise ConfigError(f"teacher {name!r} is not available in this version (only 'none')") from None
    return get_teacher(name, **teacher_options)


def _run_one(row: ManifestRow, root: str) -> ClipOutcome:
    """Prepare one row and write it to the cache (runs inside a worker)."""
    cache = ClipCache(root)
    options: PrepareOptions = _WORKER["options"]
    try:
        prepared = prepare_clip(row.video_path, row.audio_path or None, options, _WORKER["teacher"], row, _WORKER["tracker"])
        start = time.perf_counter()
        try:
            cache.write(prepared.record)
        except Exception as exc:
            raise InputError(cache.path_for(row.clip_id), f"cannot write the clip file ({exc.__class__.__name__}: {exc})", stage="write") from None
        prepared.timings["write"] = time.perf_counter() - start
        return ClipOutcome(row.clip_id, row.video_path, "done", frames=prepared.record.num_frames, timings=prepared.timings)
    except InputError as exc:
        return ClipOutcome(row.clip_id, row.video_path, "failed", stage=exc.stage, reason=exc.reason)
    except AvcorrError as exc:
        return ClipOutcome(row.clip_id, row.video_path, "failed", stage="teacher", reason=str(exc))
    except MemoryError as exc:  # outside the stages (a teacher's own allocation, the result itself)
        return ClipOutcome(row.clip_id, row.video_path, "failed", stage="worker", reason=resource_reason(exc))


class FailureLog:
    """``failures.csv`` kept current: rows of this run replace older rows of the same clips."""

    def __init__(self, root: Path, retried: set[str]) -> None:
        self.path = root / FAILURES_NAME
        self.retried = retried
        self.new: dict[str, dict[str, str]] = {}

    def add(self, outcome: ClipOutcome) -> None:
        self.new[outcome.clip_id] = {"clip_id": outcome.clip_id, "path": outcome.path, "stage": outcome.stage, "reason": outcome.reason}
        self.flush()

    def flush(self) -> None:
        old = []
        if self.path.exists():
            with self.path.open(newline="") as handle:
                old = [r for r in csv.DictReader(handle) if r.get("clip_id") not in self.retried and r.get("clip_id") not in self.new]
        write_csv(self.path, FAILURE_COLUMNS, old + list(self.new.values()))


def prepare_manifest(
    rows: Sequence[ManifestRow],
    out: str | Path,
    options: PrepareOptions | None = None,
    workers: int | None = None,
    shard: tuple[int, int] = (1, 1),
    teacher: str = "none",
    teacher_options: dict[str, Any] | None = None,
    force: bool = False,
    progress: Callable[[Iterator[ClipOutcome], int], Iterator[ClipOutcome]] | None = None,
) -> PrepareSummary:
    """Prepare every row of this shard into the cache at ``out``; never stops at a bad clip.

    Clips already in the cache are skipped (unless ``force``). ``workers`` defaults to the CPU
    count; 1 runs in this process. ``progress`` wraps the stream of outcomes (a progress bar).
    """
    options = options or PrepareOptions()
    teacher_options = teacher_options or {}
    root = Path(out)
    cache = ClipCache(root)
    (root / "clips").mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(root / "clips")
    if teacher not in ("", "none"):
        load_teacher(teacher, **teacher_options)  # fail fast on an unknown teacher or missing weights
    mine = [r for r in rows if in_shard(r.clip_id, shard)]
    summary = PrepareSummary()
    todo = []
    for row in mine:
        if not force and cache.has(row.clip_id):
            summary.skipped += 1
            summary.outcomes.append(ClipOutcome(row.clip_id, row.video_path, "skipped"))
        else:
            todo.append(row)
    failures = FailureLog(root, {r.clip_id for r in mine})
    failures.flush()  # clips now in the cache (or about to be retried) leave failures.csv
    running = _execute(todo, str(root), options, workers or os.cpu_count() or 1, teacher, teacher_options)
    outcomes = running if progress is None else progress(running, len(todo))
    try:
        for outcome in outcomes:
            summary.outcomes.append(outcome)
            if outcome.status == "done":
                summary.done += 1
            else:
                summary.failed += 1
                failures.add(outcome)
    finally:  # also after Ctrl-C or SIGTERM: workers stop now, and the manifest lists every clip file there is
        for stream in (outcomes, running):
            with contextlib.suppress(Exception):
                stream.close()  # type: ignore[attr-defined]
        cache.rebuild_manifest()
    return summary


def _remove_stale_temporaries(folder: Path, older_than_s: float = 600.0) -> None:
    """Delete temporary files of writes killed mid-way (young ones may belong to a running shard)."""
    now = time.time()
    for path in folder.glob(".tmp-*"):
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime > older_than_s:
                path.unlink()


def _execute(todo: list[ManifestRow], root: str, options: PrepareOptions, workers: int, teacher: str, teacher_options: dict[str, Any]) -> Iterator[ClipOutcome]:
    if not todo:
        return
    if workers <= 1 or len(todo) == 1:
        _init_worker(options, teacher, teacher_options)
        try:
            for row in todo:
                yield _run_one(row, root)
        finally:
            _WORKER["tracker"].close()
            _WORKER.clear()
        return
    yield from _execute_pool(todo, root, options, min(workers, len(todo)), teacher, teacher_options)


def _execute_pool(todo: list[ManifestRow], root: str, options: PrepareOptions, workers: int, teacher: str, teacher_options: dict[str, Any]) -> Iterator[ClipOutcome]:
    """Run in a process pool; clips whose worker died are retried once, alone, then recorded."""
    import multiprocessing
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")
    pending = sorted(todo, key=_size, reverse=True)  # longest first: no long clip left alone at the end
    crashed: list[ManifestRow] = []
    while pending:
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                   initargs=(options, teacher, teacher_options, os.getpid()))
        stopped = True
        try:
            futures = {pool.submit(_run_one, row, root): row for row in pending}
            pending = []
            remaining = set(futures)
            while remaining:
                finished, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                for future in finished:
                    row = futures[future]
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        crashed.append(row)
                        continue
                    except Exception as exc:  # pickling or an error outside prepare_clip
                        outcome = ClipOutcome(row.clip_id, row.video_path, "failed", stage="worker", reason=f"{exc.__class__.__name__}: {exc}")
                    yield outcome
            stopped = False
        finally:
            if stopped:  # Ctrl-C, SIGTERM, or the consumer stopped: clips in progress are dropped, not waited for
                _terminate_workers(pool)
            pool.shutdown(wait=True, cancel_futures=True)
        for row in crashed:  # retry each alone so one bad file cannot take others down with it
            yield _run_isolated(row, root, options, teacher, teacher_options)
        crashed = []


def _terminate_workers(pool: ProcessPoolExecutor) -> None:
    """SIGTERM every worker of ``pool`` (their clips in progress are redone by the next run: their
    temporary files are never read). The executor keeps its processes in a private mapping."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            process.terminate()


def _size(row: ManifestRow) -> int:
    try:
        return os.path.getsize(row.video_path)
    except OSError:
        return 0


def _run_isolated(row: ManifestRow, root: str, options: PrepareOptions, teacher: str, teacher_options: dict[str, Any]) -> ClipOutcome:
    import multiprocessing
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, initializer=_init_worker, initargs=(options, teacher, teacher_options, os.getpid())) as pool:
        try:
            return pool.submit(_run_one, row, root).result()
        except BaseException as exc:
            if not isinstance(exc, BrokenProcessPool):
                _terminate_workers(pool)
                raise
            return ClipOutcome(row.clip_id, row.video_path, "failed", stage="worker", reason="the worker process crashed on this file (decoder or MediaPipe)")
