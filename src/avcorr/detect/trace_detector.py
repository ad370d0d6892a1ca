"""The pseudo-trace kind: a trace network trained on real clips and pseudo-fakes made from them
(``avcorr fit-pseudo``), applied to a video window by window.

Videos are prepared as its training clips were (the canonical face resolution and codec in the
model's ``info.normalise``), cut into windows of ``info.crop_frames`` frames (as the benchmark
cut its clips; :meth:`avcorr.data.windows.Windowing.for_calibrated_clips`), and each window is scored as one
training-length clip: the mean fake probability of the network's sub-windows. The video score is
the mean window score; the band comes from the calibration stored with the model (real clips the
network never trained on).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from avcorr.data.cache_views import crop_record
from avcorr.data.windows import Windowing
from avcorr.detect.base import DEFAULT_MAX_FRAMES, Detector
from avcorr.detect.calibrate import NO_CHECKPOINT_CALIBRATION
from avcorr.detect.registry import register_detector
from avcorr.detect.segments import SegmentOptions, find_segments
from avcorr.detect.verdict import FrameScore, OperatingPoint, VideoVerdict
from avcorr.errors import AvcorrError, CheckpointError
from avcorr.eval.calibration import Calibration
from avcorr.media.normalise import NormaliseOptions
from avcorr.models.trace_net import FORMAT
from avcorr.prepare.pipeline import FAST_MESH_EVERY, PreparedClip, PrepareOptions
from avcorr.train.pseudo import PseudoModel, score_clip

#: Window length when a model does not record its training clips' length (the benchmark's crops).
DEFAULT_CROP_FRAMES = 75


@register_detector
class TraceDetector(Detector):
    """A pseudo-trace model folder (``model.safetensors`` + ``config.json`` of format ``avcorr-trace-net``).

    ``threshold``: the user's own fake threshold (no uncertain band); None: the model's stored
    calibration (``info.calibration``), else uncalibrated at 0.5 (and :attr:`warning` says so).
    """

    kind = "pseudo-trace"
    config_kinds = (FORMAT,)
    fast_mesh_every = FAST_MESH_EVERY  # reads the crops, whose smoothed boxes barely move (benchmarks/results/detect_speed.md)

    def __init__(self, model_dir: str | Path, threshold: float | None = None,
                 max_frames: int | None = DEFAULT_MAX_FRAMES, evidence_frames: int = 0,
                 segment_options: SegmentOptions | None = None) -> None:
        super().__init__(max_frames=max_frames, evidence_frames=evidence_frames)
        self.model_dir = str(model_dir)
        self.model = PseudoModel.load(model_dir)
        info = self.model.info
        self.crop_frames = int(info.get("crop_frames") or DEFAULT_CROP_FRAMES)
        try:
            self.normalise = NormaliseOptions.from_dict(info.get("normalise"))
        except (AvcorrError, TypeError, ValueError) as error:
            raise CheckpointError(f"{model_dir}: bad normalise options in config.json ({error})") from None
        self.operating_point = self._operating_point(threshold, info.get("calibration"))
        self.warning = None if threshold is not None or self.operating_point.calibrated else (
            f"{model_dir}: the model carries no calibration; verdicts use threshold "
            f"{self.operating_point.fake_threshold:g}, whose false-alarm rate is unknown")
        self.segment_options = segment_options or SegmentOptions.for_threshold(self.operating_point.fake_threshold)

    def _operating_point(self, threshold: float | None, stored: Any) -> OperatingPoint:
        if threshold is not None:
            return OperatingPoint.user_threshold(threshold)
        if not stored:
            return OperatingPoint.uncalibrated(NO_CHECKPOINT_CALIBRATION)
        try:
            return OperatingPoint.from_calibration(Calibration.from_dict(stored, origin=f"{self.model_dir}/config.json"))
        except AvcorrError as error:
            raise CheckpointError(str(error)) from None

    @classmethod
    def from_path(cls, path: str | Path, **options: Any) -> "TraceDetector":
        return cls(path, **options)

    def prepare_options(self) -> PrepareOptions:
        return PrepareOptions(max_frames=self.max_frames, store_stft=False, store_mouth=self.evidence_frames > 0,
                              normalise=self.normalise)

    def score(self, path: str | Path, prepared: PreparedClip, audio_path: str | Path | None,
              handle: Any = None) -> VideoVerdict:
        record = prepared.record
        fps = float(record.meta.fps or 25.0)
        windowing = Windowing.for_calibrated_clips(self.crop_frames)
        bounds = windowing.bounds(record.num_frames)
        starts = [s for s, _ in bounds]
        length = min(self.crop_frames, record.num_frames)
        scores = np.array([score_clip(self.model, crop_record(record, length, start=s)) for s in starts])
        per_frame = windowing.aggregate(record.num_frames, bounds, scores)
        score = float(np.mean(scores))
        frames = [FrameScore(t=round(t / fps, 4), correlation=None, fake_probability=float(per_frame[t]))
                  for t in range(record.num_frames)]
        return VideoVerdict(
            path=str(path), score=score, verdict=self.operating_point.band(score), mode=self.mode, fps=fps,
            frames=frames, segments=find_segments(per_frame, fps, self.segment_options),
            audio_path=str(audio_path) if audio_path else None, operating_point=self.operating_point,
            details={"model": self.model_dir, "threshold": self.operating_point.fake_threshold,
                     "num_frames": record.num_frames, "window_frames": length, "windows": len(starts),
                     "window_scores": [{"start_s": round(s / fps, 3), "end_s": round((s + length) / fps, 3),
                                        "score": round(float(v), 4)} for s, v in zip(starts, scores)],
                     "normalise": None if self.normalise is None else self.normalise.to_dict()})
