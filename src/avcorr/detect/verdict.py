"""One verdict per video, as a dataclass and as versioned JSON (docs/detect_schema.md).

A :class:`VideoVerdict` is a score and the *band* an :class:`OperatingPoint` puts it in — "fake",
"uncertain" or "no evidence of manipulation" — with the thresholds and the real clips they were
calibrated on, never a bare probability as a verdict (docs/design.md, "Calibration"). Every
detector kind (:mod:`avcorr.detect.base`) returns one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from avcorr.detect.segments import Segment
from avcorr.eval.calibration import BANDS, FAKE, NO_EVIDENCE, UNCERTAIN, Calibration
from avcorr.runtime import plain_json

__all__ = ["BANDS", "FAKE", "NO_EVIDENCE", "UNCERTAIN", "OperatingPoint", "FrameScore", "VideoVerdict",
           "report_json"]

SCHEMA_VERSION = 2
#: The outcome of a video too short, or too damaged, to judge (no score, no band; ``reason`` says why).
TOO_LITTLE = "too little to judge"
USER_THRESHOLD = "user threshold"
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class OperatingPoint:
    """How a video score in [0, 1] becomes a band, and where the thresholds came from.

    ``fake_threshold``: scores at or above it are "fake". ``uncertain_threshold``: scores at or
    above it but below ``fake_threshold`` are "uncertain"; None disables that band (a user's own
    threshold, or no calibration). ``false_alarm_rate``: the fraction of real clips the fake
    threshold was calibrated to call fake (None when it was not calibrated). ``num_real_clips``:
    how many real clips the calibration used. ``source``: what it came from, in words (the JSON's
    ``calibration``).
    """

    fake_threshold: float
    uncertain_threshold: float | None
    false_alarm_rate: float | None
    source: str
    num_real_clips: int | None = None

    @classmethod
    def from_calibration(cls, calibration: Calibration) -> "OperatingPoint":
        """The bands of a :class:`avcorr.eval.calibration.Calibration` (fitted on real clips)."""
        return cls(fake_threshold=float(calibration.fake_threshold),
                   uncertain_threshold=float(calibration.uncertain_threshold),
                   false_alarm_rate=float(calibration.fake_false_alarm_rate), source=str(calibration.source),
                   num_real_clips=int(calibration.num_real_clips))

    @classmethod
    def user_threshold(cls, threshold: float) -> "OperatingPoint":
        """A threshold the user chose (``--threshold``): two bands, no known false-alarm rate."""
        return cls(fake_threshold=float(threshold), uncertain_threshold=None, false_alarm_rate=None, source=USER_THRESHOLD)

    @classmethod
    def uncalibrated(cls, reason: str, threshold: float = DEFAULT_THRESHOLD) -> "OperatingPoint":
        """No calibration at hand: two bands at ``threshold``; ``reason`` says why (shown in the JSON)."""
        return cls(fake_threshold=float(threshold), uncertain_threshold=None, false_alarm_rate=None,
                   source=f"uncalibrated ({reason})")

    @property
    def calibrated(self) -> bool:
        return self.false_alarm_rate is not None

    def band(self, score: float) -> str:
        """``fake`` (score >= fake threshold), ``uncertain`` (>= uncertain threshold) or
        ``no evidence of manipulation`` — the rule of :func:`avcorr.eval.calibration.band`."""
        if math.isnan(score):
            raise ValueError("a NaN score has no band")
        if score >= self.fake_threshold:
            return FAKE
        if self.uncertain_threshold is not None and score >= self.uncertain_threshold:
            return UNCERTAIN
        return NO_EVIDENCE

    def to_dict(self) -> dict[str, Any]:
        """The verdict's JSON fields that describe the operating point (:data:`_POINT_FIELDS`)."""
        return dict(zip(_POINT_FIELDS, (self.fake_threshold, self.uncertain_threshold, self.false_alarm_rate,
                                        self.source, self.num_real_clips)))


_POINT_FIELDS = ("threshold", "uncertain_threshold", "false_alarm_rate", "calibration", "calibration_clips")


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
    """What ``detect`` says about one video. ``score`` is in [0, 1], higher = more likely fake;
    ``verdict`` is its band (:data:`BANDS`) under ``operating_point``; ``error`` is None, or a
    one-line reason when the video could not be analysed (then ``score``/``verdict`` are None)."""

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
    operating_point: OperatingPoint | None = None
    # Face/mouth crops of the most suspicious frames (avcorr.detect.report.FrameEvidence), kept for
    # the HTML report only when asked for; never part of the JSON.
    evidence: list[Any] = field(default_factory=list, repr=False)

    @classmethod
    def failed(cls, path: str | Path, mode: str, reason: str, audio_path: str | Path | None = None) -> "VideoVerdict":
        return cls(path=str(path), score=None, verdict=None, mode=mode, fps=None, error=reason,
                   audio_path=str(audio_path) if audio_path else None)

    @classmethod
    def too_little(cls, path: str | Path, mode: str, reason: str, fps: float | None = None,
                   audio_path: str | Path | None = None, details: dict[str, Any] | None = None) -> "VideoVerdict":
        """No verdict on a fragment: ``verdict`` is :data:`TOO_LITTLE`, ``details.reason`` says why."""
        return cls(path=str(path), score=None, verdict=TOO_LITTLE, mode=mode, fps=fps,
                   audio_path=str(audio_path) if audio_path else None, details={"reason": reason, **(details or {})})

    @property
    def judged(self) -> bool:
        """Whether the video got a score and a band (not failed, not too little to judge)."""
        return self.error is None and self.score is not None

    @property
    def band(self) -> str | None:
        return self.verdict

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "VideoVerdict":
        """The verdict a :meth:`to_dict` document describes (a resumed batch's earlier videos);
        evidence frames are not in the JSON, so none come back."""
        point = None
        if values.get("threshold") is not None:
            point = OperatingPoint(fake_threshold=float(values["threshold"]), uncertain_threshold=values.get("uncertain_threshold"),
                                   false_alarm_rate=values.get("false_alarm_rate"), source=str(values.get("calibration") or ""),
                                   num_real_clips=values.get("calibration_clips"))
        frame_fields = FrameScore.__dataclass_fields__
        return cls(path=str(values["path"]), score=values.get("score"), verdict=values.get("verdict"), mode=str(values.get("mode") or ""),
                   fps=values.get("fps"), frames=[FrameScore(**{k: v for k, v in f.items() if k in frame_fields}) for f in values.get("frames") or []],
                   segments=[Segment(**s) for s in values.get("segments") or []], error=values.get("error"),
                   audio_path=values.get("audio_path"), details=dict(values.get("details") or {}), operating_point=point)

    def to_dict(self) -> dict[str, Any]:
        judged = self.operating_point is not None and self.judged
        point = self.operating_point.to_dict() if judged else dict.fromkeys(_POINT_FIELDS)  # type: ignore[union-attr]
        return {
            "path": self.path,
            "audio_path": self.audio_path,
            "score": None if self.score is None else round(float(self.score), 4),
            "verdict": self.verdict,
            "band": self.verdict,
            **point,
            "mode": self.mode,
            "fps": self.fps,
            "frames": [f.to_dict() for f in self.frames],
            "segments": [s.to_dict() for s in self.segments],
            "error": self.error,
            "details": plain_json(self.details),
        }


def report_json(verdicts: Sequence[VideoVerdict]) -> dict[str, Any]:
    """The ``detect --json`` document: ``{"schema_version": 2, "videos": [...]}``."""
    return {"schema_version": SCHEMA_VERSION, "videos": [v.to_dict() for v in verdicts]}
