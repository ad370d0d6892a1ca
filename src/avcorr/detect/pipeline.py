"""``detect``: one verdict per video, as a dataclass and as versioned JSON (docs/detect_schema.md).

A :class:`Detector` turns one video (and optionally a separate audio file) into a
:class:`VideoVerdict`. :class:`ZeroShotDetector` needs no trained model: it runs the phonetic
teacher and scores content consistency (:mod:`avcorr.teachers.zero_shot`). Other modes (a
trained student) implement the same protocol. :func:`detect_videos` runs a batch, going on past
a bad file and recording why it failed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol, Sequence

import numpy as np

from avcorr.errors import AvcorrError
from avcorr.detect.segments import Segment, SegmentOptions, find_segments

SCHEMA_VERSION = 1


@dataclass
class FrameScore:
    """One video frame: ``t`` seconds from the clip start, ``correlation`` in [0, 1] (None where
    the frame has no counterpart in the other modality), plus what each side saw."""

    t: float
    correlation: float | None
    fake_probability: float | None = None
    soft_label: float | None = None
    audio_class: str | None = None
    visual_class: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items() if v is not None or k == "correlation"}


@dataclass
class VideoVerdict:
    """What ``detect`` says about one video. ``score`` is the probability it is fake (0–1);
    ``error`` is None, or a one-line reason when the video could not be analysed (then
    ``score``/``verdict`` are None)."""

    path: str
    score: float | None
    verdict: str | None
    mode: str
    fps: float | None
    frames: list[FrameScore] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    error: str | None = None
    audio_path: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # Face/mouth crops of the most suspicious frames (avcorr.detect.report.FrameEvidence), kept for
    # the HTML report only when asked for; never part of the JSON.
    evidence: list[Any] = field(default_factory=list, repr=False)

    @classmethod
    def failed(cls, path: str | Path, mode: str, reason: str, audio_path: str | Path | None = None) -> "VideoVerdict":
        return cls(path=str(path), score=None, verdict=None, mode=mode, fps=None, error=reason,
                   audio_path=str(audio_path) if audio_path else None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "audio_path": self.audio_path,
            "score": None if self.score is None else round(float(self.score), 4),
            "verdict": self.verdict,
            "mode": self.mode,
            "fps": self.fps,
            "frames": [f.to_dict() for f in self.frames],
            "segments": [s.to_dict() for s in self.segments],
            "error": self.error,
            "details": _plain(self.details),
        }


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def report_json(verdicts: Sequence[VideoVerdict]) -> dict[str, Any]:
    """The ``detect --json`` document: ``{"schema_version": 1, "videos": [...]}``."""
    return {"schema_version": SCHEMA_VERSION, "videos": [v.to_dict() for v in verdicts]}


class Detector(Protocol):
    """Anything that can judge one video."""

    mode: str

    def detect(self, path: str | Path, audio_path: str | Path | None = None) -> VideoVerdict:
        ...


class ZeroShotDetector:
    """Training-free detection from the phonetic teacher (or any :class:`~avcorr.teachers.base.Teacher`).

    ``max_frames`` caps the frames analysed per video (None: all). ``evidence_frames``: keep the
    face and mouth crops of this many most suspicious frames on the verdict (for the HTML report).
    """

    mode = "zero-shot"

    def __init__(self, teacher: Any = None, options: Any = None, segment_options: SegmentOptions | None = None,
                 max_frames: int | None = 1500, evidence_frames: int = 0) -> None:
        from avcorr.teachers.zero_shot import ZeroShotOptions

        if teacher is None:
            from avcorr.teachers.phonetic.teacher import PhoneticTeacher

            # Zero-shot never trusts a file name for a transcript: the audio may not be what it says.
            teacher = PhoneticTeacher(use_transcripts=False)
        self.teacher = teacher
        self.options = options or ZeroShotOptions()
        self.segment_options = segment_options or SegmentOptions(high=0.55, low=0.5, smooth_frames=13,
                                                                 min_duration_s=0.5, merge_gap_s=0.3)
        self.max_frames = max_frames
        self.evidence_frames = evidence_frames
        self._tracker = None

    def detect(self, path: str | Path, audio_path: str | Path | None = None) -> VideoVerdict:
        from avcorr.prepare.pipeline import PrepareOptions, prepare_clip
        from avcorr.media.face import FaceTracker

        if self._tracker is None:
            self._tracker = FaceTracker()
        options = PrepareOptions(store_stft=False, store_mouth=self.evidence_frames > 0, max_frames=self.max_frames)
        prepared = prepare_clip(path, audio_path, options, tracker=self._tracker)
        output = self.teacher.posteriors(prepared.media, prepared.record)
        verdict = self.verdict_from_posteriors(path, output.audio, output.visual, prepared.media.fps,
                                               list(output.vocabulary), audio_path)
        verdict.details.update({"teacher": self.teacher.name, **output.info,
                                "face_found_fraction": prepared.record.meta.extra.get("face_found_fraction"),
                                "start_s": prepared.record.meta.extra.get("start_s", 0.0)})
        if self.evidence_frames:
            from avcorr.detect.report import collect_evidence

            fake = np.array([np.nan if f.fake_probability is None else f.fake_probability for f in verdict.frames])
            verdict.evidence = collect_evidence(prepared.record.arrays, fake, prepared.media.fps, self.evidence_frames)
        return verdict

    def verdict_from_posteriors(self, path: str | Path, audio: np.ndarray, visual: np.ndarray, fps: float,
                                vocabulary: list[str], audio_path: str | Path | None = None) -> VideoVerdict:
        """The verdict for teacher posteriors already at hand (e.g. from a prepared cache)."""
        from avcorr.teachers.zero_shot import zero_shot

        result = zero_shot(audio, visual, self.options)
        frame_fake = 1.0 - result.correlation
        frames = []
        for t in range(len(result.correlation)):
            c = result.correlation[t]
            frames.append(FrameScore(
                t=round(t / fps, 4),
                correlation=None if not np.isfinite(c) else float(c),
                fake_probability=None if not np.isfinite(c) else float(frame_fake[t]),
                soft_label=None if not np.isfinite(result.soft_label[t]) else float(result.soft_label[t]),
                audio_class=vocabulary[result.audio_class[t]] if result.audio_class[t] >= 0 else None,
                visual_class=vocabulary[result.visual_class[t]],
            ))
        segments = find_segments(np.where(np.isfinite(frame_fake), frame_fake, np.nan), fps, self.segment_options)
        return VideoVerdict(
            path=str(path), score=result.score, verdict="fake" if result.score >= self.options.threshold else "real",
            mode=self.mode, fps=fps, frames=frames, segments=segments,
            audio_path=str(audio_path) if audio_path else None,
            details={"mean_correlation": round(result.mean_correlation, 4), "offset_frames": result.offset,
                     "offset_s": round(result.offset / fps, 3), "num_frames": len(frames), "threshold": self.options.threshold},
        )


def detect_videos(paths: Iterable[str | Path], detector: Detector, audio_paths: Sequence[str | Path | None] | None = None,
                  on_done: Callable[[VideoVerdict], None] | None = None) -> list[VideoVerdict]:
    """Judge each video; a file that fails becomes a verdict with ``error`` set, and the batch goes on."""
    paths = list(paths)
    audio_paths = list(audio_paths) if audio_paths is not None else [None] * len(paths)
    verdicts = []
    for path, audio_path in zip(paths, audio_paths):
        try:
            verdict = detector.detect(path, audio_path)
        except AvcorrError as exc:
            verdict = VideoVerdict.failed(path, detector.mode, str(exc).splitlines()[0], audio_path)
        verdicts.append(verdict)
        if on_done:
            on_done(verdict)
    return verdicts
