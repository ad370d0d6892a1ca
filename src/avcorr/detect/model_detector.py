"""Model-mode scoring: a trained student detector applied to one prepared clip.

The frame scores come from :mod:`avcorr.eval.scoring` (overlapping ramped windows for clips longer
than the run's ``max_clip_frames``), the same scorer ``evaluate`` uses, so a clip gets the same
per-frame values from both. This module adds the teachers' y_t and the verdict.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from avcorr.config import ExperimentConfig
from avcorr.data.clip_cache import ClipRecord
from avcorr.detect.base import DEFAULT_MAX_FRAMES, Detector
from avcorr.detect.calibrate import checkpoint_operating_point
from avcorr.detect.verdict import FrameScore, VideoVerdict
from avcorr.detect.registry import register_detector
from avcorr.detect.segments import SegmentOptions, find_segments
from avcorr.eval.scoring import DEFAULT_OVERLAP_FRAMES, ModelFrameScores, model_windowing, score_record
from avcorr.models.checkpoint import load_detector, read_run_config
from avcorr.prepare.pipeline import PreparedClip, PrepareOptions, load_teacher
from avcorr.runtime import resolve_device
from avcorr.soft_label import cached_soft_label


def teacher_correlation(record: ClipRecord, divergence: str = "js") -> np.ndarray | None:
    """The teachers' y_t of a record: its cached ``soft_label``, else one derived from the cached
    posteriors; None when no teacher ran."""
    return cached_soft_label(record.arrays, divergence)  # type: ignore[arg-type]


class ModelDetector:
    """A trained run folder, loaded once, that scores prepared clips frame by frame."""

    def __init__(self, checkpoint: str | Path, device: str = "cpu", max_clip_frames: int | None = None,
                 overlap_frames: int = DEFAULT_OVERLAP_FRAMES) -> None:
        self.checkpoint = str(checkpoint)
        self.config: ExperimentConfig = read_run_config(checkpoint)
        self.device = resolve_device(device)
        self.model = load_detector(checkpoint, device=self.device)
        self.frame_size = int(self.config.model.visual.frame_size)
        self.max_clip_frames = max_clip_frames or self.config.data.max_clip_frames
        self.overlap_frames = overlap_frames

    def score_record(self, record: ClipRecord) -> ModelFrameScores:
        """Per-frame scores of a prepared clip (its cached crops are resized to the model's size)."""
        scores = score_record(self.model, record, self.frame_size, self.max_clip_frames, self.overlap_frames,
                              stage="detect")
        scores.teacher_correlation = teacher_correlation(record, self.config.loss.divergence)
        return scores


@register_detector
class StudentDetector(Detector):
    """A trained student run (``avcorr train``): decode → track → crop → features → student → verdict.

    ``teacher``: a teacher name (``none``, ``phonetic``, ``deep_avsr``) or object
    (:mod:`avcorr.teachers.registry`); when given, its y_t is reported beside the student's s_t
    (slower). ``threshold``: the user's own fake threshold (no uncertain band); None: the bands of
    the checkpoint's stored calibration, else uncalibrated at 0.5 (and :attr:`warning` says so).
    ``max_frames`` and ``evidence_frames``: as every :class:`~avcorr.detect.base.Detector`.
    """

    kind = "model"
    config_kinds = ("student",)

    def __init__(self, checkpoint: str | Path, threshold: float | None = None, device: str = "cpu",
                 teacher: object | str | None = None, segment_options: SegmentOptions | None = None,
                 max_frames: int | None = DEFAULT_MAX_FRAMES, evidence_frames: int = 0) -> None:
        super().__init__(max_frames=max_frames, evidence_frames=evidence_frames)
        self.scorer = ModelDetector(checkpoint, device=device)
        self.operating_point = checkpoint_operating_point(checkpoint, threshold)
        self.warning = None if threshold is not None or self.operating_point.calibrated else (
            f"{checkpoint}: the checkpoint carries no calibration; verdicts use threshold "
            f"{self.operating_point.fake_threshold:g}, whose false-alarm rate is unknown")
        self.threshold = self.operating_point.fake_threshold
        self.teacher = load_teacher(teacher) if isinstance(teacher, str) else teacher
        self.segment_options = segment_options or SegmentOptions.for_threshold(self.threshold)

    @classmethod
    def from_path(cls, path: str | Path, **options: Any) -> "StudentDetector":
        return cls(path, **options)

    def prepare_options(self) -> PrepareOptions:
        return PrepareOptions(store_stft=self.teacher is not None, store_mouth=self.evidence_frames > 0,
                              max_frames=self.max_frames)

    def prepare_teacher(self) -> Any:
        return self.teacher

    def score(self, path: str | Path, prepared: PreparedClip, audio_path: str | Path | None,
              handle: Any = None) -> VideoVerdict:
        started = time.perf_counter()
        scores = self.scorer.score_record(prepared.record)
        verdict = self.verdict_from_scores(path, scores, prepared.record.meta.fps or 25.0, audio_path)
        verdict.details["timings_s"] = {"model": round(time.perf_counter() - started, 3)}
        if self.teacher is not None:
            verdict.details["teacher"] = getattr(self.teacher, "name", "")
        return verdict

    def verdict_from_scores(self, path: str | Path, scores: ModelFrameScores, fps: float,
                            audio_path: str | Path | None = None) -> VideoVerdict:
        """The verdict (score = mean frame probability; its band under :attr:`operating_point`)
        with per-frame values and suspicious segments."""

        teacher = scores.teacher_correlation
        frames = [FrameScore(t=round(t / fps, 4), correlation=float(scores.correlation[t]),
                             fake_probability=float(scores.fake_probability[t]),
                             soft_label=None if teacher is None or not np.isfinite(teacher[t]) else float(teacher[t]))
                  for t in range(len(scores.fake_probability))]
        score = scores.score
        return VideoVerdict(
            path=str(path), score=score, verdict=self.operating_point.band(score), mode=self.mode,
            fps=fps, frames=frames, segments=find_segments(scores.fake_probability, fps, self.segment_options),
            audio_path=str(audio_path) if audio_path else None, operating_point=self.operating_point,
            details={"checkpoint": self.scorer.checkpoint, "threshold": self.threshold, "num_frames": len(frames),
                     "mean_correlation": round(float(np.mean(scores.correlation)), 4),
                     "windows": len(model_windowing(self.scorer.max_clip_frames, self.scorer.overlap_frames).bounds(len(frames)))},
        )
