"""The dynamics kind: a clip judged by how unlike real footage its dynamics are, with no fake ever
seen — a :class:`~avcorr.cues.real_reference.RealReference` fitted on real clips only.

The reference records how its real clips were processed (``extra``: the canonical face resolution
and codec, the window length, whether the phonetic teacher ran for the consistency cue); a video is
prepared the same way, cut into windows of that length, and each window's features are measured as
:func:`avcorr.cues.corpus.clip_features` measures a corpus clip (container metadata left out). A
window's score is 1 − its combined p-value among the reals (in [0, 1]: how unlike real footage),
the video score their mean; the bands come from the reals' own scores, each computed against a
reference without its source group.
The verdict names the cues that made the most suspicious window unusual, and which way.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from avcorr.cues.corpus import ANIMATION, CONSISTENCY, DYNAMICS
from avcorr.cues.dynamics import clip_dynamics, face_region_windows
from avcorr.cues.features import clip_cue_features
from avcorr.cues.real_reference import FORMAT, RealReference
from avcorr.data.cache_views import crop_record
from avcorr.data.windows import Windowing
from avcorr.data.clip_cache import ClipRecord
from avcorr.detect.base import DEFAULT_MAX_FRAMES, Detector
from avcorr.detect.registry import register_detector
from avcorr.detect.segments import SegmentOptions, find_segments
from avcorr.detect.verdict import FrameScore, OperatingPoint, VideoVerdict
from avcorr.errors import AvcorrError, CheckpointError, InputError
from avcorr.eval.calibration import calibrate
from avcorr.media.normalise import NormaliseOptions
from avcorr.prepare.pipeline import PreparedClip, PrepareOptions
from avcorr.runtime import CONFIG_NAME, json_format
from avcorr.teachers.phonetic.teacher import PhoneticTeacher
from avcorr.teachers.zero_shot import zero_shot

DEFAULT_CROP_FRAMES = 75


def window_table(window: ClipRecord, video_path: str | Path, names: list[str],
                 region: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, float]:
    """The reference's columns for one window, measured as the corpus measures a clip (``region``:
    the window's face region frames when already decoded, :func:`~avcorr.cues.dynamics.face_region_windows`)."""
    table: dict[str, float] = {}
    if any(n.startswith(f"{ANIMATION}.") for n in names):
        table.update(clip_cue_features(window, video_path=video_path, groups=[ANIMATION]))
    if any(n.startswith(f"{DYNAMICS}.") for n in names):
        table.update({f"{DYNAMICS}.{k}": v for k, v in clip_dynamics(window, video_path=video_path, region=region).items()})
    arrays = window.arrays
    if f"{CONSISTENCY}.mean_correlation" in names and "audio_posteriors" in arrays and "visual_posteriors" in arrays:
        try:
            table[f"{CONSISTENCY}.mean_correlation"] = zero_shot(arrays["audio_posteriors"],
                                                                 arrays["visual_posteriors"]).mean_correlation
        except ValueError:
            pass  # not measured: the reference skips a missing column
    return table


def unlike_reals(log10_score: Any) -> np.ndarray:
    """A reference score (−log10 of the combined p-value) as 1 − p, in [0, 1]."""
    return 1.0 - np.power(10.0, -np.asarray(log10_score, dtype=np.float64))


@register_detector
class DynamicsDetector(Detector):
    """A reals-only reference (``config.json`` of format ``avcorr-real-reference`` in a model folder,
    or the JSON file itself). ``threshold``: the user's own fake threshold instead of the bands."""

    kind = "dynamics"
    config_kinds = (FORMAT,)

    def __init__(self, reference: str | Path, threshold: float | None = None,
                 max_frames: int | None = DEFAULT_MAX_FRAMES, evidence_frames: int = 0,
                 segment_options: SegmentOptions | None = None) -> None:
        super().__init__(max_frames=max_frames, evidence_frames=evidence_frames)
        path = Path(reference)
        self.model_path = str(path)
        try:
            self.reference = RealReference.load(path / CONFIG_NAME if path.is_dir() else path)
        except AvcorrError as error:
            raise CheckpointError(str(error)) from None
        extra = self.reference.extra
        self.crop_frames = int(extra.get("crop_frames") or DEFAULT_CROP_FRAMES)
        try:
            self.normalise = NormaliseOptions.from_dict(extra.get("normalise"))
        except (AvcorrError, TypeError, ValueError) as error:
            raise CheckpointError(f"{path}: bad normalise options ({error})") from None
        self.uses_teacher = f"{CONSISTENCY}.mean_correlation" in self.reference.names
        self._teacher: PhoneticTeacher | None = None
        if threshold is not None:
            self.operating_point = OperatingPoint.user_threshold(threshold)
        else:
            scores = [float(unlike_reals(s)) for s in self.reference.real_scores if np.isfinite(s)]
            if len(scores) < 2:
                raise CheckpointError(f"{path}: the reference carries no out-of-fold real scores to calibrate on")
            self.operating_point = OperatingPoint.from_calibration(calibrate(
                scores, f"{len(scores)} real clips, each scored against a reference without its source group "
                        f"({self.reference.folds})"))
        self.warning = None
        self.segment_options = segment_options or SegmentOptions.for_threshold(self.operating_point.fake_threshold)

    @classmethod
    def recognises(cls, path: Path) -> bool:
        return json_format(path) == FORMAT

    @classmethod
    def from_path(cls, path: str | Path, **options: Any) -> "DynamicsDetector":
        return cls(path, **options)

    def prepare_options(self) -> PrepareOptions:
        return PrepareOptions(max_frames=self.max_frames, store_stft=False, normalise=self.normalise)

    def prepare_teacher(self) -> Any:
        if self.uses_teacher and self._teacher is None:
            self._teacher = PhoneticTeacher(use_transcripts=False)  # never a transcript from a file name
        return self._teacher

    def score(self, path: str | Path, prepared: PreparedClip, audio_path: str | Path | None,
              handle: Any = None) -> VideoVerdict:
        record = prepared.record
        if self.uses_teacher and "audio_posteriors" not in record.arrays:
            raise InputError(path, "the phonetic teacher gave no posteriors for this clip", stage="teacher")
        fps = float(record.meta.fps or 25.0)
        windowing = Windowing.for_calibrated_clips(self.crop_frames)
        bounds = windowing.bounds(record.num_frames)
        starts = [s for s, _ in bounds]
        length = min(self.crop_frames, record.num_frames)
        windows = [crop_record(record, length, start=s) for s in starts]
        regions = None  # the colour face regions of every window from one decode of the video
        if any(n.startswith(f"{DYNAMICS}.") for n in self.reference.names) and "face_boxes" in record.arrays:
            regions = face_region_windows(path, [(w.arrays["face_boxes"], float(w.meta.extra.get("start_s") or 0.0))
                                                 for w in windows], fps)
        rows = [window_table(w, path, self.reference.names, None if regions is None else next(regions)) for w in windows]
        scores = unlike_reals(self.reference.score(rows))
        cue_p = self.reference.cue_p_values(rows)
        per_frame = windowing.aggregate(record.num_frames, bounds, scores)
        frames = [FrameScore(t=round(t / fps, 4), correlation=None, fake_probability=float(per_frame[t]))
                  for t in range(record.num_frames)]
        top = int(np.argmax(scores))
        drivers = sorted(((cue, float(p[top])) for cue, p in cue_p.items() if np.isfinite(p[top])), key=lambda x: x[1])
        score = float(np.mean(scores))
        return VideoVerdict(
            path=str(path), score=score, verdict=self.operating_point.band(score), mode=self.mode, fps=fps,
            frames=frames, segments=find_segments(per_frame, fps, self.segment_options),
            audio_path=str(audio_path) if audio_path else None, operating_point=self.operating_point,
            details={"model": self.model_path, "threshold": self.operating_point.fake_threshold,
                     "score_is": "1 - the combined p-value of the window's cues among real clips, mean over windows",
                     "num_frames": record.num_frames, "window_frames": length, "windows": len(starts),
                     "window_scores": [{"start_s": round(s / fps, 3), "end_s": round((s + length) / fps, 3),
                                        "score": round(float(v), 4)} for s, v in zip(starts, scores)],
                     "cue_p_values_of_top_window": [{"cue": c, "p": round(p, 4)} for c, p in drivers],
                     "normalise": None if self.normalise is None else self.normalise.to_dict()})
