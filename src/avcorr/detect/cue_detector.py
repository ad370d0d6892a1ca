"""Cue mode: a feature-based detector (``avcorr fit-detector``) applied to one video, window by window.

The model saw every training clip as one window of ``crop_frames`` frames (the centre of a clip
prepared to ``prepare_frames``), so detect judges a video the same way: it is prepared once (with
the phonetic teacher when the model uses the zero-shot consistency), cut into consecutive
windows of ``crop_frames`` frames (:meth:`avcorr.data.windows.Windowing.for_calibrated_clips`, as
zero-shot cuts them: the last one moved back to overlap its neighbour so it is full length; a clip shorter
than one window is one window) — and each window's features are
measured exactly as :func:`avcorr.cues.corpus.clip_features` measures a training clip's (minus
the container metadata, never part of a detector). The video score is the mean window score; a
frame's fake probability is the mean score of the windows covering it; the band comes from the
model's stored calibration. The verdict names the features that moved the most suspicious
window's score most, so a reviewer sees which cues drove it.

Background motion decodes the video a second time at 160 px gray, in a thread beside prepare
(PyAV and MediaPipe release the GIL), once for the whole analysed range; each window's values
are then aggregated from the per-frame series (:func:`avcorr.cues.animation.motion_series`),
identical to decoding that window alone.
"""
from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from avcorr.cues import animation
from avcorr.cues.classifier import KIND, FeatureClassifier
from avcorr.cues.corpus import BACKGROUND, CONSISTENCY, CONTAINER
from avcorr.cues.features import CUE_GROUPS, clip_cue_features
from avcorr.data.cache_views import crop_record
from avcorr.data.clip_cache import ClipRecord
from avcorr.data.corpus_options import DEFAULT_CORPUS
from avcorr.data.windows import Windowing
from avcorr.detect.base import DEFAULT_MAX_FRAMES, Detector
from avcorr.detect.calibrate import NO_CHECKPOINT_CALIBRATION
from avcorr.detect.verdict import FrameScore, OperatingPoint, VideoVerdict
from avcorr.detect.registry import register_detector
from avcorr.detect.segments import SegmentOptions, find_segments
from avcorr.errors import AvcorrError, CheckpointError, ConfigError
from avcorr.eval.calibration import Calibration
from avcorr.media.normalise import NormaliseOptions
from avcorr.prepare.pipeline import PreparedClip, PrepareOptions
from avcorr.teachers.phonetic.teacher import PhoneticTeacher
from avcorr.teachers.zero_shot import zero_shot

MODE = "cues"
#: Frames of background motion per window, as :func:`clip_cue_features` (``bg_max_frames``) measures it.
BG_MAX_FRAMES = 100
#: Gray-frame height of the background-motion decode (:func:`avcorr.cues.animation.background_motion`).
BG_HEIGHT = 160


def window_features(record: ClipRecord, start: int, length: int, groups: Sequence[str],
                    video_path: str | Path | None = None,
                    motion: animation.MotionSeries | None = None) -> dict[str, float]:
    """The ``group.name`` features of the window of ``record`` from frame ``start``, as
    :func:`avcorr.cues.corpus.clip_features` computes them for that window cut out
    (:func:`avcorr.data.cache_views.crop_record`), container features left out. Background
    motion comes from ``motion`` (the record's per-frame series) when given, else from decoding
    ``video_path``; without either it stays NaN."""
    window = crop_record(record, length, start=start)
    cue_groups = [g for g in CUE_GROUPS if g in groups]
    table: dict[str, float] = {}
    if cue_groups:
        direct = [g for g in cue_groups if g != BACKGROUND or motion is None]
        table.update(clip_cue_features(window, video_path=video_path, groups=direct, bg_max_frames=BG_MAX_FRAMES))
        if BACKGROUND in cue_groups and motion is not None:
            values = animation.window_background_motion(motion, start, window.num_frames, BG_MAX_FRAMES)
            table.update({f"{BACKGROUND}.{k}": v for k, v in values.items()})
    arrays = window.arrays
    if CONSISTENCY in groups and "audio_posteriors" in arrays and "visual_posteriors" in arrays:
        try:
            table[f"{CONSISTENCY}.mean_correlation"] = zero_shot(arrays["audio_posteriors"],
                                                                 arrays["visual_posteriors"]).mean_correlation
        except ValueError:
            pass  # left out, as in clip_features: the classifier imputes it
    return table


def _decode_gray(path: str | Path, count: int, fps: float) -> tuple[np.ndarray, int]:
    """The first ``count`` gray frames of the file, timed as prepare times its frames."""
    return animation.small_gray_frames(path, 0.0, count, fps, BG_HEIGHT)


@register_detector
class CueDetector(Detector):
    """A cue model folder (``config.json`` kind ``feature_logistic``, from ``avcorr fit-detector``).

    ``threshold``: the user's own fake threshold (no uncertain band); None: the model's stored
    calibration, else uncalibrated at 0.5 (and :attr:`warning` says so). ``top_features``: how many
    feature contributions of the most suspicious window the verdict lists. ``max_frames`` and
    ``evidence_frames``: as every :class:`~avcorr.detect.base.Detector`.
    """

    kind = MODE
    config_kinds = (KIND,)

    def __init__(self, model_dir: str | Path, threshold: float | None = None,
                 max_frames: int | None = DEFAULT_MAX_FRAMES, evidence_frames: int = 0,
                 segment_options: SegmentOptions | None = None, top_features: int = 5) -> None:
        super().__init__(max_frames=max_frames, evidence_frames=evidence_frames)
        self.model_dir = str(model_dir)
        self.classifier = FeatureClassifier.load(model_dir)
        info = self.classifier.info
        self.groups = list(info.get("groups") or sorted({n.split(".", 1)[0] for n in self.classifier.feature_names}))
        if CONTAINER in self.groups or any(n.startswith(f"{CONTAINER}.") for n in self.classifier.feature_names):
            raise CheckpointError(f"{model_dir}: the model uses container (file metadata) features, which a detector "
                                  "never uses; refit it with `avcorr fit-detector` without the container group")
        self.crop_frames = int(info.get("crop_frames") or DEFAULT_CORPUS.crop_frames)
        self.windowing = Windowing.for_calibrated_clips(self.crop_frames)
        try:  # the canonical resolution the training clips were prepared at
            self.normalise = NormaliseOptions.from_dict(info.get("normalise"))
        except (AvcorrError, TypeError, ValueError) as error:
            raise CheckpointError(f"{model_dir}: bad normalise options in config.json ({error})") from None
        self.teacher_name = info.get("teacher") or (
            "phonetic" if any(n.startswith(f"{CONSISTENCY}.") for n in self.classifier.feature_names) else None)
        self.operating_point = self._operating_point(threshold)
        self.warning = None if threshold is not None or self.operating_point.calibrated else (
            f"{model_dir}: the model carries no calibration; verdicts use threshold "
            f"{self.operating_point.fake_threshold:g}, whose false-alarm rate is unknown")
        self.threshold = self.operating_point.fake_threshold
        self.segment_options = segment_options or SegmentOptions.for_threshold(self.threshold)
        self.top_features = top_features
        self._teacher: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._fps = float(PrepareOptions().fps)

    @classmethod
    def from_path(cls, path: str | Path, **options: Any) -> "CueDetector":
        if options.pop("teacher", None) not in (None, "none"):
            raise ConfigError("--teacher goes with a student checkpoint; a cue model runs the teacher it was fitted with")
        return cls(path, **options)

    def _operating_point(self, threshold: float | None) -> OperatingPoint:
        if threshold is not None:
            return OperatingPoint.user_threshold(threshold)
        if self.classifier.calibration is None:
            return OperatingPoint.uncalibrated(NO_CHECKPOINT_CALIBRATION)
        try:
            calibration = Calibration.from_dict(self.classifier.calibration, origin=f"{self.model_dir}/config.json")
        except AvcorrError as error:
            raise CheckpointError(str(error)) from None
        return OperatingPoint.from_calibration(calibration)

    @property
    def uses_background(self) -> bool:
        return BACKGROUND in self.groups

    def prepare_options(self) -> PrepareOptions:
        # as avcorr.cues.corpus.prepare_corpus prepares a training clip (mouth crops for the traces)
        return PrepareOptions(max_frames=self.max_frames, store_stft=False, normalise=self.normalise)

    def prepare_teacher(self) -> Any:
        if self.teacher_name == "phonetic" and self._teacher is None:
            # as zero-shot mode: never trust a file name for a transcript
            self._teacher = PhoneticTeacher(use_transcripts=False)
        return self._teacher

    def begin(self, path: str | Path) -> Future | None:
        """Background motion's gray decode, in a thread beside prepare (PyAV and MediaPipe release the GIL)."""
        if not self.uses_background or self.max_frames is None:
            return None
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="bg-decode")
        return self._pool.submit(_decode_gray, path, self.max_frames, self._fps)

    def cancel(self, handle: Any) -> None:
        if handle is not None:
            handle.cancel()

    def _motion(self, path: str | Path, record: ClipRecord, gray: Future | None) -> animation.MotionSeries:
        fps = float(record.meta.fps or 25.0)
        start = int(round(float(record.meta.extra.get("start_s") or 0.0) * fps))
        if gray is not None:
            frames, source_height = gray.result()
            frames = frames[start:start + record.num_frames]
        else:
            frames, source_height = animation.small_gray_frames(path, start / fps, record.num_frames, fps, BG_HEIGHT)
        return animation.motion_series(frames, source_height, np.asarray(record.arrays["face_boxes"]), fps)

    def score(self, path: str | Path, prepared: PreparedClip, audio_path: str | Path | None,
              handle: Any = None) -> VideoVerdict:
        record = prepared.record
        timings: dict[str, float] = {}
        started = time.perf_counter()
        motion = self._motion(path, record, handle) if self.uses_background else None
        timings["background_motion"] = time.perf_counter() - started
        started = time.perf_counter()
        bounds = self.windowing.bounds(record.num_frames)
        rows = [window_features(record, s, e - s, self.groups, video_path=path, motion=motion) for s, e in bounds]
        timings["cues"] = time.perf_counter() - started
        scores = self.classifier.score(rows)
        verdict = self.verdict_from_windows(path, record, bounds, rows, scores, audio_path)
        verdict.details["timings_s"] = {k: round(v, 3) for k, v in timings.items() if v > 0}
        if self.teacher_name:
            verdict.details.update({"teacher": self.teacher_name, **(record.meta.extra.get("teacher_info") or {})})
        return verdict

    def verdict_from_windows(self, path: str | Path, record: ClipRecord, bounds: Sequence[tuple[int, int]],
                             rows: Sequence[dict[str, float]], scores: np.ndarray,
                             audio_path: str | Path | None = None) -> VideoVerdict:
        """The verdict from per-window features and scores (windows ``bounds``, half-open frames):
        score = mean window score, its band, per-frame values, segments and the top feature
        contributions of the most suspicious window."""
        fps = float(record.meta.fps or 25.0)
        num_frames = record.num_frames
        per_frame = self.windowing.aggregate(num_frames, bounds, scores)
        correlation, mean_correlation = self._consistency(record)
        frames = [FrameScore(t=round(t / fps, 4),
                             correlation=None if correlation is None or not np.isfinite(correlation[t])
                             else float(correlation[t]),
                             fake_probability=float(per_frame[t])) for t in range(num_frames)]
        score = float(np.mean(scores))
        top = int(np.argmax(scores))
        contributions = [{"feature": name, "value": _plain(rows[top].get(name, float("nan"))), "logit": round(logit, 4)}
                         for name, logit in self.classifier.contributions(rows[top], self.top_features)]
        details: dict[str, Any] = {
            "model": self.model_dir, "threshold": self.threshold, "num_frames": num_frames,
            "feature_groups": list(self.groups), "window_frames": bounds[0][1] - bounds[0][0], "windows": len(bounds),
            "window_scores": [{"start_s": round(s / fps, 3), "end_s": round(e / fps, 3),
                               "score": round(float(v), 4)} for (s, e), v in zip(bounds, scores)],
            "top_window": top, "contributions": contributions,
        }
        if mean_correlation is not None:
            details["mean_correlation"] = round(mean_correlation, 4)
        return VideoVerdict(
            path=str(path), score=score, verdict=self.operating_point.band(score), mode=self.mode, fps=fps,
            frames=frames, segments=find_segments(per_frame, fps, self.segment_options),
            audio_path=str(audio_path) if audio_path else None, operating_point=self.operating_point, details=details)

    @staticmethod
    def _consistency(record: ClipRecord) -> tuple[np.ndarray | None, float | None]:
        """The phonetic teacher's per-frame lip/speech consistency over the clip (at its best
        offset) and its mean, where the teacher ran; shown beside the scores, not scored."""
        arrays = record.arrays
        if "audio_posteriors" not in arrays or "visual_posteriors" not in arrays:
            return None, None
        try:
            result = zero_shot(arrays["audio_posteriors"], arrays["visual_posteriors"])
        except ValueError:
            return None, None
        return np.asarray(result.correlation, dtype=np.float64), float(result.mean_correlation)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def _plain(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 4)
