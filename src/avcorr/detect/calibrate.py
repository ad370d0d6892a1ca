"""Where detect's thresholds come from: a checkpoint's stored calibration, and the zero-shot
reference reals (``avcorr calibrate zero-shot``).

A checkpoint's ``config.json`` may carry a top-level ``calibration`` object
(:meth:`avcorr.eval.calibration.Calibration.to_dict`, fitted on training-side real clips);
:func:`checkpoint_operating_point` turns it — or the user's ``--threshold``, or its absence — into
the bands detect reports. The zero-shot fit measures each real clip's mean correlation at its
best offset, from videos (prepare + phonetic teacher, slow) or from a prepared clip cache that
holds teacher posteriors (fast), and returns a :class:`~avcorr.detect.zero_shot.ZeroShotCalibration`
that records how the clips were processed (their canonical resolution and length), so that detect
processes a video the same way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, TypeVar

from avcorr.data.clip_cache import ClipCache, load_clip
from avcorr.data.manifest import read_manifest
from avcorr.data.windows import centre_window
from avcorr.detect.verdict import OperatingPoint
from avcorr.detect.zero_shot import ZeroShotCalibration
from avcorr.errors import AvcorrError, CheckpointError, InputError
from avcorr.eval.calibration import Calibration
from avcorr.media import face
from avcorr.media.decode import find_videos
from avcorr.media.normalise import NormaliseOptions
from avcorr.prepare.pipeline import PrepareOptions, prepare_clip
from avcorr.runtime import CONFIG_NAME, read_json_object
from avcorr.teachers.phonetic.teacher import PhoneticTeacher
from avcorr.teachers.zero_shot import ZeroShotOptions, zero_shot

T = TypeVar("T")
Progress = Callable[[Iterable[T], str], Iterable[T]]
NO_CHECKPOINT_CALIBRATION = "no calibration in the checkpoint"


# ---------------------------------------------------------------------------------- model mode


def checkpoint_calibration(checkpoint: str | Path) -> Calibration | None:
    """The ``calibration`` a run folder's ``config.json`` carries (or the one beside a
    ``model.safetensors`` path), None when it has none."""
    path = Path(checkpoint)
    config = path / CONFIG_NAME if path.is_dir() else path.parent / CONFIG_NAME
    data = read_json_object(config).get("calibration")
    if data is None:
        return None
    try:
        return Calibration.from_dict(data, origin=str(config))
    except AvcorrError as error:
        raise CheckpointError(str(error)) from None


def checkpoint_operating_point(checkpoint: str | Path, threshold: float | None = None) -> OperatingPoint:
    """The bands of a checkpoint: the user's ``threshold`` if given, else its stored calibration,
    else uncalibrated at 0.5."""
    if threshold is not None:
        return OperatingPoint.user_threshold(threshold)
    calibration = checkpoint_calibration(checkpoint)
    if calibration is None:
        return OperatingPoint.uncalibrated(NO_CHECKPOINT_CALIBRATION)
    return OperatingPoint.from_calibration(calibration)


# ---------------------------------------------------------------------------------- zero-shot


@dataclass
class ReferenceClip:
    """One real clip to calibrate on: ``name`` (recorded in the calibration), its video and,
    optionally, a separate audio file."""

    name: str
    video_path: str
    audio_path: str | None = None


@dataclass
class CalibrationFailure:
    """A reference clip that could not be measured, with the one-line reason."""

    name: str
    reason: str


@dataclass
class ZeroShotFit:
    """What a zero-shot calibration run produced: the calibration, the clips that failed, and how
    many non-real clips (fakes in a manifest or cache) were left out."""

    calibration: ZeroShotCalibration
    failures: list[CalibrationFailure] = field(default_factory=list)
    skipped_fakes: int = 0


def reference_clips(paths: Sequence[str | Path]) -> tuple[list[ReferenceClip], int]:
    """The real clips named by ``paths``: videos, folders of videos (all taken as real), and
    manifest CSVs (their ``label`` 0 rows); also how many fake manifest rows were left out.
    A folder without videos is an error."""
    clips: list[ReferenceClip] = []
    skipped = 0
    for path in map(Path, paths):
        if path.suffix.lower() == ".csv":
            rows = read_manifest(path)
            clips += [ReferenceClip(r.clip_id, r.video_path, r.audio_path or None) for r in rows if r.label == 0]
            skipped += sum(r.label != 0 for r in rows)
        elif path.is_dir():
            videos = find_videos(path)
            if not videos:
                raise InputError(path, "no video files in this folder", stage="calibration")
            clips += [ReferenceClip(str(v.relative_to(path)), str(v)) for v in videos]
        else:
            clips.append(ReferenceClip(path.name, str(path)))
    return clips, skipped


def _finish(names: list[str], means: list[float], failures: list[CalibrationFailure], source: str,
            teacher: str, options: ZeroShotOptions, rates: tuple[float, float], skipped: int,
            window_frames: int | None, normalise: NormaliseOptions | None) -> ZeroShotFit:
    if len(means) < 2:
        raise InputError(source, f"only {len(means)} real clip(s) could be measured ({len(failures)} failed); "
                                 "calibration needs at least 2", stage="calibration")
    calibration = ZeroShotCalibration(mean_correlations=means, clips=names, source=source, teacher=teacher,
                                      max_offset=options.max_offset, fake_false_alarm_rate=rates[0],
                                      uncertain_false_alarm_rate=rates[1], window_frames=window_frames,
                                      normalise=normalise)
    return ZeroShotFit(calibration, failures, skipped)


def fit_zero_shot_from_videos(clips: Sequence[ReferenceClip], source: str, teacher: Any = None,
                              options: ZeroShotOptions = ZeroShotOptions(), max_frames: int | None = 1500,
                              progress: Progress | None = None, fake_false_alarm_rate: float = 0.05,
                              uncertain_false_alarm_rate: float = 0.20, window_frames: int | None = None,
                              normalise: NormaliseOptions | None = None) -> ZeroShotFit:
    """Prepare each real clip (at the canonical resolution ``normalise``, when given), run
    ``teacher`` (default: the phonetic teacher, phone loop, as zero-shot detect runs it) and keep
    the mean correlation of its centre ``window_frames`` frames (None: the whole clip), as the
    wild benchmark measures a clip; a clip that fails is listed and the rest go on."""
    if teacher is None:
        teacher = PhoneticTeacher(use_transcripts=False)
    tracker = face.FaceTracker()  # looked up when called (tests stand in a stub tracker)
    prepare = PrepareOptions(store_stft=False, store_mouth=False, max_frames=max_frames, normalise=normalise)
    names, means, failures = [], [], []
    for clip in (progress(clips, "calibrating") if progress else clips):
        try:
            prepared = prepare_clip(clip.video_path, clip.audio_path, prepare, tracker=tracker)
            output = teacher.posteriors(prepared.media, prepared.record)
            audio, visual = output.audio, output.visual
            if window_frames is not None:
                window = centre_window(min(len(audio), len(visual)), window_frames)
                audio, visual = audio[window], visual[window]
            means.append(zero_shot(audio, visual, options).mean_correlation)
            names.append(clip.name)
        except (AvcorrError, ValueError) as error:
            failures.append(CalibrationFailure(clip.name, str(error).splitlines()[0]))
    return _finish(names, means, failures, source, str(getattr(teacher, "name", "teacher")), options,
                   (fake_false_alarm_rate, uncertain_false_alarm_rate), 0, window_frames, normalise)


def cache_processing(cache_dir: str | Path, extras: dict[str, dict[str, Any]]) -> tuple[int | None, NormaliseOptions | None]:
    """The window length and canonical resolution the cached clips were made with, from each
    clip's ``meta.extra`` (``extras``: clip name → extra): ``crop.frames`` when every clip was cut
    to one length (a clip shorter than the cut keeps its ``source_frames``: one window at detect
    too; None when no clip was cut) and ``normalise`` (face_px, jpeg_quality, blur_sigma). An
    :class:`InputError` when the clips disagree: detect can process videos one way only."""
    crops = {name: extra.get("crop") for name, extra in extras.items()}
    cut = sorted(name for name, crop in crops.items() if crop)
    window: int | None = None
    if cut and len(cut) < len(crops):
        whole = next(name for name, crop in sorted(crops.items()) if not crop)
        raise InputError(cache_dir, f"{len(cut)} clips are cut to a fixed length and {len(crops) - len(cut)} are not "
                                    f"(e.g. {whole}): calibrate on one kind", stage="calibration")
    if cut:
        window = max(int(crops[name]["frames"]) for name in cut)
        for name in cut:
            frames, source = int(crops[name]["frames"]), int(crops[name].get("source_frames", -1))
            if frames != window and frames != source:
                raise InputError(cache_dir, f"clips are cut to different lengths ({window} and {frames} frames, e.g. "
                                            f"{name}): calibrate on one length", stage="calibration")
    keys = ("face_px", "jpeg_quality", "blur_sigma")
    norms = {name: None if not extra.get("normalise") else tuple(extra["normalise"].get(k) for k in keys)
             for name, extra in extras.items()}
    kinds = sorted(set(norms.values()), key=str)
    if len(kinds) > 1:
        examples = [next(name for name in sorted(norms) if norms[name] == kind) for kind in kinds[:2]]
        described = [("not normalised" if kind is None else "face_px {} jpeg_quality {} blur_sigma {}".format(*kind))
                     for kind in kinds[:2]]
        raise InputError(cache_dir, f"clips were prepared at different resolutions ({examples[0]}: {described[0]}; "
                                    f"{examples[1]}: {described[1]}): calibrate on one", stage="calibration")
    kind = kinds[0] if kinds else None
    normalise = None if kind is None else NormaliseOptions(face_px=int(kind[0]), jpeg_quality=int(kind[1]),
                                                           blur_sigma=float(kind[2] or 0.0))
    return window, normalise


def fit_zero_shot_from_cache(cache_dir: str | Path, source: str | None = None,
                             options: ZeroShotOptions = ZeroShotOptions(), progress: Progress | None = None,
                             fake_false_alarm_rate: float = 0.05, uncertain_false_alarm_rate: float = 0.20) -> ZeroShotFit:
    """The same from a prepared clip cache's real clips (``label`` 0; fakes are left out) and their
    cached teacher posteriors, each clip whole. The calibration records the clips' length and
    canonical resolution (:func:`cache_processing`; clips that disagree are refused). A clip
    without posteriors, or whose audio posteriors were force-aligned to a transcript (zero-shot
    detection always uses the phone loop), is listed as a failure."""
    cache = ClipCache(cache_dir)
    if not (cache.root / "manifest.csv").exists() and not cache.clip_files():
        raise InputError(cache_dir, "not a clip cache (no manifest.csv, no clips/*.npz)", stage="calibration")
    rows = cache.read_manifest()
    real = [r for r in rows if str(r.get("label", "")).strip() in ("0", "0.0")]
    names, means, failures, teachers = [], [], [], set()
    extras: dict[str, dict[str, Any]] = {}
    for row in (progress(real, "calibrating") if progress else real):
        name = row["clip_id"]
        try:
            record = load_clip(cache.root / row["file"], arrays=["audio_posteriors", "visual_posteriors"])
            if "audio_posteriors" not in record.arrays or "visual_posteriors" not in record.arrays:
                raise ValueError("no teacher posteriors in the cache (prepare with --teacher phonetic)")
            mode = (record.meta.extra.get("teacher_info") or {}).get("audio_mode")
            if mode not in (None, "phone_loop"):
                raise ValueError(f"audio posteriors are {mode}, not phone_loop (prepare with "
                                 "--teacher-option use_transcripts=false)")
            means.append(zero_shot(record.arrays["audio_posteriors"], record.arrays["visual_posteriors"], options).mean_correlation)
            names.append(name)
            teachers.add(record.meta.teacher)
            extras[name] = dict(record.meta.extra)
        except (AvcorrError, ValueError) as error:
            failures.append(CalibrationFailure(name, str(error).splitlines()[0]))
    window_frames, normalise = cache_processing(cache_dir, extras)
    return _finish(names, means, failures, source or f"real clips of the clip cache {Path(cache_dir).name}",
                   "+".join(sorted(teachers)) or "unknown", options,
                   (fake_false_alarm_rate, uncertain_false_alarm_rate), len(rows) - len(real), window_frames, normalise)
