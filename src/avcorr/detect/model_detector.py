"""Model-mode scoring: a trained student detector applied to one prepared clip.

The frame scores come from :mod:`avcorr.eval.scoring` (overlapping ramped windows for clips longer
than the run's ``max_clip_frames``), the same scorer ``evaluate`` uses, so a clip gets the same
per-frame values from both. This module adds the teachers' y_t and the verdict.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from avcorr.config import ExperimentConfig
from avcorr.data.clip_cache import ClipRecord
from avcorr.eval.scoring import DEFAULT_OVERLAP_FRAMES, ModelFrameScores, score_record, window_bounds
from avcorr.runtime import resolve_device

if TYPE_CHECKING:
    from avcorr.detect.segments import SegmentOptions

DEFAULT_THRESHOLD = 0.5


def teacher_correlation(record: ClipRecord, divergence: str = "js") -> np.ndarray | None:
    """The teachers' y_t of a record: its cached ``soft_label``, else one derived from the cached
    posteriors; None when no teacher ran."""
    from avcorr.soft_label import cached_soft_label

    return cached_soft_label(record.arrays, divergence)  # type: ignore[arg-type]


class ModelDetector:
    """A trained run folder, loaded once, that scores prepared clips frame by frame."""

    def __init__(self, checkpoint: str | Path, device: str = "cpu", max_clip_frames: int | None = None,
                 overlap_frames: int = DEFAULT_OVERLAP_FRAMES) -> None:
        from avcorr.models.checkpoint import load_detector, read_run_config

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


class ModelModeDetector:
    """``detect`` in model mode: decode → track → crop → features → student → verdict.

    ``teacher``: optional teacher object (see :mod:`avcorr.teachers.registry`); when given, its y_t
    is reported beside the student's s_t (slower). ``evidence_frames``: keep the face and mouth
    crops of this many most suspicious frames on the verdict for the HTML report (0: none).
    ``max_frames``: analyse at most this many frames per video (None: all). ``threshold``: the
    user's own fake threshold (no uncertain band); None: the bands of the checkpoint's stored
    calibration, else uncalibrated at 0.5 (and :attr:`warning` says so).
    """

    mode = "model"

    def __init__(self, checkpoint: str | Path, threshold: float | None = None, device: str = "cpu",
                 teacher: object | None = None, segment_options: "SegmentOptions | None" = None,
                 max_frames: int | None = 1500, evidence_frames: int = 0) -> None:
        from avcorr.detect.calibrate import checkpoint_operating_point
        from avcorr.detect.segments import SegmentOptions

        self.scorer = ModelDetector(checkpoint, device=device)
        self.operating_point = checkpoint_operating_point(checkpoint, threshold)
        self.warning = None if threshold is not None or self.operating_point.calibrated else (
            f"{checkpoint}: the checkpoint carries no calibration; verdicts use threshold "
            f"{self.operating_point.fake_threshold:g}, whose false-alarm rate is unknown")
        self.threshold = self.operating_point.fake_threshold
        self.teacher = teacher
        self.segment_options = segment_options or SegmentOptions.for_threshold(self.threshold)
        self.max_frames = max_frames
        self.evidence_frames = evidence_frames
        self._tracker = None

    def detect(self, path: str | Path, audio_path: str | Path | None = None):  # -> VideoVerdict
        from avcorr.prepare.pipeline import PrepareOptions, prepare_clip
        from avcorr.media.face import FaceTracker

        if self._tracker is None:
            self._tracker = FaceTracker()
        options = PrepareOptions(store_stft=self.teacher is not None, store_mouth=self.evidence_frames > 0,
                                 max_frames=self.max_frames)
        prepared = prepare_clip(path, audio_path, options, teacher=self.teacher, tracker=self._tracker)
        started = time.perf_counter()
        scores = self.scorer.score_record(prepared.record)
        timings = {**prepared.timings, "model": time.perf_counter() - started}
        verdict = self.verdict_from_scores(path, scores, prepared.record.meta.fps or 25.0, audio_path)
        extra = prepared.record.meta.extra
        verdict.details.update({
            "face_found_fraction": extra.get("face_found_fraction"), "start_s": extra.get("start_s", 0.0),
            "truncated": extra.get("truncated", False),
            "timings_s": {k: round(v, 3) for k, v in timings.items() if v > 0},
            **({"teacher": getattr(self.teacher, "name", "")} if self.teacher is not None else {}),
        })
        if self.evidence_frames:
            from avcorr.detect.report import collect_evidence

            verdict.evidence = collect_evidence(prepared.record.arrays, scores.fake_probability, verdict.fps,
                                                self.evidence_frames)
        return verdict

    def verdict_from_scores(self, path: str | Path, scores: ModelFrameScores, fps: float,
                            audio_path: str | Path | None = None):  # -> VideoVerdict
        """The verdict (score = mean frame probability; its band under :attr:`operating_point`)
        with per-frame values and suspicious segments."""
        from avcorr.detect.pipeline import FrameScore, VideoVerdict
        from avcorr.detect.segments import find_segments

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
                     "windows": len(window_bounds(len(frames), self.scorer.max_clip_frames, self.scorer.overlap_frames))},
        )
