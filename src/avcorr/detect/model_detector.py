"""Model-mode scoring: a trained student detector applied to one prepared clip.

The detector sees at most ``max_clip_frames`` frames at a time (its attention was trained on clips
that long). A longer clip runs in overlapping windows; in the overlap each frame's outputs are a
weighted mean of the windows covering it, with weights that ramp down towards each window's inner
edges, where the network has the least context. The video score is the mean frame probability of
"fake", so neither a clip's duration nor its frame count moves the score by itself (DESIGN §8).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from avcorr.config import ExperimentConfig
from avcorr.data.clip_cache import ClipRecord
from avcorr.errors import InputError

if TYPE_CHECKING:
    from avcorr.detect.segments import SegmentOptions

DEFAULT_THRESHOLD = 0.5
DEFAULT_OVERLAP_FRAMES = 25


@dataclass
class ModelFrameScores:
    """Per-frame outputs of the student on one clip of T frames (all (T,) float32)."""

    fake_probability: np.ndarray
    correlation: np.ndarray  # student s_t = (cos(A'_t, V'_t) + 1) / 2
    teacher_correlation: np.ndarray | None = None  # teacher y_t, when the teachers' posteriors exist

    @property
    def score(self) -> float:
        """The video's probability of being fake: the mean frame probability."""
        return float(np.mean(self.fake_probability)) if self.fake_probability.size else math.nan


def window_bounds(num_frames: int, max_frames: int | None, overlap: int = DEFAULT_OVERLAP_FRAMES) -> list[tuple[int, int]]:
    """Half-open windows of at most ``max_frames`` frames covering ``num_frames``, consecutive ones
    sharing at least ``overlap`` frames; the last window ends at the clip's end."""
    if num_frames <= 0:
        return []
    if not max_frames or num_frames <= max_frames:
        return [(0, num_frames)]
    overlap = min(max(0, overlap), max_frames // 2)
    step = max_frames - overlap
    count = math.ceil((num_frames - max_frames) / step) + 1
    # Spread the starts evenly so that every overlap is about the same (and at least ``overlap``).
    starts = np.linspace(0, num_frames - max_frames, count).round().astype(int)
    return [(int(s), int(s) + max_frames) for s in starts]


def window_weights(length: int, ramp: int, at_start: bool, at_end: bool) -> np.ndarray:
    """(length,) blending weights: 1 inside, ramping linearly to small values over ``ramp`` frames
    at inner edges (edges at the clip's own start or end keep full weight)."""
    weights = np.ones(length, dtype=np.float64)
    if ramp > 0:
        rising = (np.arange(1, ramp + 1) / (ramp + 1))[: length]
        if not at_start:
            weights[: len(rising)] = np.minimum(weights[: len(rising)], rising)
        if not at_end:
            weights[length - len(rising):] = np.minimum(weights[length - len(rising):], rising[::-1])
    return weights


@torch.no_grad()
def score_frames(model: torch.nn.Module, frames: np.ndarray, mfcc: np.ndarray, max_clip_frames: int | None = None,
                 overlap_frames: int = DEFAULT_OVERLAP_FRAMES) -> tuple[np.ndarray, np.ndarray]:
    """(fake probability, student correlation), each (T,) float32, of ``frames`` (T, S, S) uint8 at
    the model's frame size and ``mfcc`` (4T, 13)."""
    num_frames = frames.shape[0]
    if mfcc.shape[0] != 4 * num_frames:
        raise ValueError(f"mfcc has {mfcc.shape[0]} rows for {num_frames} frames (expected 4×)")
    device = next(model.parameters()).device
    bounds = window_bounds(num_frames, max_clip_frames, overlap_frames)
    ramp = min(overlap_frames, (max_clip_frames or num_frames) // 2)
    total = np.zeros((2, num_frames), dtype=np.float64)
    weight_sum = np.zeros(num_frames, dtype=np.float64)
    for start, stop in bounds:
        video = torch.from_numpy(np.ascontiguousarray(frames[start:stop]))[None].to(device)
        audio = torch.from_numpy(np.ascontiguousarray(mfcc[4 * start:4 * stop], dtype=np.float32))[None].to(device)
        output = model(audio, video)
        weights = window_weights(stop - start, ramp, at_start=start == 0, at_end=stop == num_frames)
        total[0, start:stop] += weights * output.fake_probability[0].double().cpu().numpy()
        total[1, start:stop] += weights * output.correlation[0].double().cpu().numpy()
        weight_sum[start:stop] += weights
    values = total / np.maximum(weight_sum, 1e-12)
    return values[0].astype(np.float32), values[1].astype(np.float32)


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
        self.device = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                                   ("cpu" if device == "auto" else device))
        self.model = load_detector(checkpoint, device=self.device)
        self.frame_size = int(self.config.model.visual.frame_size)
        self.max_clip_frames = max_clip_frames or self.config.data.max_clip_frames
        self.overlap_frames = overlap_frames

    def score_record(self, record: ClipRecord) -> ModelFrameScores:
        """Per-frame scores of a prepared clip (its cached crops are resized to the model's size)."""
        from avcorr.data.dataset import resize_frames

        arrays = record.arrays
        for needed in ("frames", "mfcc"):
            if needed not in arrays:
                raise InputError(record.meta.video_path or record.meta.clip_id, f"prepared clip has no {needed}",
                                 stage="detect")
        if record.num_frames == 0:
            raise InputError(record.meta.video_path or record.meta.clip_id, "clip has no frames", stage="detect")
        frames = resize_frames(np.asarray(arrays["frames"], dtype=np.uint8), self.frame_size)
        probability, correlation = score_frames(self.model, frames, np.asarray(arrays["mfcc"], dtype=np.float32),
                                                self.max_clip_frames, self.overlap_frames)
        return ModelFrameScores(probability, correlation, teacher_correlation(record, self.config.loss.divergence))


class ModelModeDetector:
    """``detect`` in model mode: decode → track → crop → features → student → verdict.

    ``teacher``: optional teacher object (see :mod:`avcorr.teachers.registry`); when given, its y_t
    is reported beside the student's s_t (slower). ``evidence_frames``: keep the face and mouth
    crops of this many most suspicious frames on the verdict for the HTML report (0: none).
    ``max_frames``: analyse at most this many frames per video (None: all).
    """

    mode = "model"

    def __init__(self, checkpoint: str | Path, threshold: float = DEFAULT_THRESHOLD, device: str = "cpu",
                 teacher: object | None = None, segment_options: "SegmentOptions | None" = None,
                 max_frames: int | None = 1500, evidence_frames: int = 0) -> None:
        from avcorr.detect.segments import SegmentOptions

        self.scorer = ModelDetector(checkpoint, device=device)
        self.threshold = threshold
        self.teacher = teacher
        self.segment_options = segment_options or SegmentOptions.for_threshold(threshold)
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
        """The verdict (score = mean frame probability; ``fake`` at or above the threshold) with
        per-frame values and suspicious segments."""
        from avcorr.detect.pipeline import FrameScore, VideoVerdict
        from avcorr.detect.segments import find_segments

        teacher = scores.teacher_correlation
        frames = [FrameScore(t=round(t / fps, 4), correlation=float(scores.correlation[t]),
                             fake_probability=float(scores.fake_probability[t]),
                             soft_label=None if teacher is None or not np.isfinite(teacher[t]) else float(teacher[t]))
                  for t in range(len(scores.fake_probability))]
        score = scores.score
        return VideoVerdict(
            path=str(path), score=score, verdict="fake" if score >= self.threshold else "real", mode=self.mode,
            fps=fps, frames=frames, segments=find_segments(scores.fake_probability, fps, self.segment_options),
            audio_path=str(audio_path) if audio_path else None,
            details={"checkpoint": self.scorer.checkpoint, "threshold": self.threshold, "num_frames": len(frames),
                     "mean_correlation": round(float(np.mean(scores.correlation)), 4),
                     "windows": len(window_bounds(len(frames), self.scorer.max_clip_frames, self.scorer.overlap_frames))},
        )
