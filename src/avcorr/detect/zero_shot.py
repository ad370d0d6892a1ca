"""Zero-shot detection: no trained model, the phonetic teacher's lip/speech content consistency.

The default detector of ``avcorr detect``: on the wild benchmark's held-out generator families it
beat every learned detector (benchmarks/results/wild.md). A window's consistency is its mean
correlation at the best A/V offset (:mod:`avcorr.teachers.zero_shot`). It becomes a score by
comparison with real clips, not by a fixed formula: a :class:`ZeroShotCalibration` holds the mean
correlations of N reference real clips, and a window's score is the fraction of them that are
*more* consistent than it (1 − the empirical CDF of the reals at its mean correlation; 1.0 = less
consistent than every reference real). The band thresholds come from the same reals' own
leave-one-out scores (:meth:`ZeroShotCalibration.reference_scores`,
:func:`avcorr.eval.calibration.calibrate`), so "fake" means that a real clip like the reference
ones is called fake at most 5% of the time.

The calibration also records how its reference clips were processed — the canonical resolution
they were prepared at (``normalise``) and their length (``window_frames``) — and the detector
processes a video the same way: prepared with that normalisation, cut into windows of that length
(:meth:`avcorr.data.windows.Windowing.for_calibrated_clips`, as the cue detector cuts them), each window scored
against the reference reals; the video score is the mean window score.

The calibration ships as ``avcorr/resources/zero_shot_calibration.json`` (``avcorr calibrate
zero-shot`` writes one). Without it the score is the teacher's uncalibrated prior (a fixed
logistic of the mean correlation), the bands use 0.5, and :attr:`ZeroShotDetector.warning` says so.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np

import avcorr
from avcorr.data.windows import Windowing
from avcorr.detect.base import DEFAULT_MAX_FRAMES, Detector
from avcorr.detect.verdict import FrameScore, OperatingPoint, VideoVerdict
from avcorr.detect.registry import register_detector
from avcorr.detect.segments import SegmentOptions, find_segments
from avcorr.errors import AvcorrError, InputError
from avcorr.eval.calibration import Calibration, calibrate
from avcorr.media.normalise import NormaliseOptions
from avcorr.prepare.pipeline import FAST_MESH_EVERY, PreparedClip, PrepareOptions
from avcorr.runtime import json_format, write_json
from avcorr.teachers.phonetic.teacher import PhoneticTeacher
from avcorr.teachers.zero_shot import ZeroShotOptions, zero_shot

PACKAGED_CALIBRATION = Path(__file__).resolve().parents[1] / "resources" / "zero_shot_calibration.json"
FORMAT = "avcorr-zero-shot-calibration"
FORMAT_VERSION = 2  # 2: window_frames and normalise (version 1 files load as whole clips, not normalised)
PACKAGED: Literal["packaged"] = "packaged"
UNCALIBRATED_REASON = "no zero-shot calibration file"


@dataclass
class ZeroShotCalibration:
    """Reference real clips for zero-shot scores.

    ``mean_correlations``: each reference real's mean correlation at its best offset (kept sorted
    ascending, ``clips`` — their names — in the same order). ``source``: what data they are, in
    words. ``teacher``: the teacher that made their posteriors; ``max_offset``: the offset search
    (frames) their means were taken with — a detector should search the same. The false-alarm
    rates are those the fake and uncertain thresholds are fitted for. ``window_frames``: the
    reference clips' length in frames (a detector scores windows of that length; None: each
    reference is a whole clip, and so is what detect scores); ``normalise``: the canonical
    resolution they were prepared at (None: frames as decoded).
    """

    mean_correlations: list[float]
    clips: list[str]
    source: str
    teacher: str = "phonetic"
    max_offset: int = ZeroShotOptions.max_offset
    fake_false_alarm_rate: float = 0.05
    uncertain_false_alarm_rate: float = 0.20
    window_frames: int | None = None
    normalise: NormaliseOptions | None = None
    _sorted: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values = np.asarray(self.mean_correlations, dtype=np.float64)
        if len(self.clips) != values.size:
            raise ValueError(f"{values.size} mean correlations for {len(self.clips)} clip names")
        if values.size < 2:
            raise ValueError("zero-shot calibration needs at least two real clips")
        if not np.isfinite(values).all():
            raise ValueError("zero-shot calibration has non-finite mean correlations")
        if self.window_frames is not None and int(self.window_frames) < 2:
            raise ValueError(f"zero-shot calibration window of {self.window_frames} frames: need at least 2")
        order = np.argsort(values, kind="stable")
        self._sorted = values[order]
        self.mean_correlations = [float(v) for v in self._sorted]
        self.clips = [str(self.clips[i]) for i in order]

    @property
    def num_real_clips(self) -> int:
        return len(self.mean_correlations)

    def score(self, mean_correlation: float) -> float:
        """The share of reference reals whose mean correlation is greater than ``mean_correlation``:
        in [0, 1], non-increasing in it (an upper-tail empirical p-value turned round)."""
        if math.isnan(mean_correlation):
            raise ValueError("a NaN mean correlation has no score")
        above = self._sorted.size - int(np.searchsorted(self._sorted, mean_correlation, side="right"))
        return above / self._sorted.size

    def reference_scores(self) -> np.ndarray:
        """(N,) the real-clip scores the thresholds are fitted on: for reference real i, the share
        of the N reference reals at least as consistent as it — (1 + the *other* reals more
        consistent than it) / N, its leave-one-out count with itself as the +1.

        Why not the plain leave-one-out share (out of N − 1): a fresh real clip is ranked among N
        reals, a reference real among N − 1, so thresholds fitted on that share let through one
        rank more — with k = floor(rate · N) reals allowed above, a fresh real would be called
        fake with probability (k + 1) / (N + 1), 9.5% instead of 5% for N = 20. With the +1 it is
        k / (N + 1) <= rate (the conformal rank p-value argument)."""
        at_least = self._sorted.size - np.searchsorted(self._sorted, self._sorted, side="left")
        return at_least / self._sorted.size

    def calibration(self) -> Calibration:
        """The fake/uncertain thresholds on :meth:`score`, fitted on :meth:`reference_scores`."""
        return calibrate(self.reference_scores(), self.source, self.fake_false_alarm_rate,
                         self.uncertain_false_alarm_rate)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (``calibration`` is derived, written for readers; loading refits it)."""
        return {"format": FORMAT, "version": FORMAT_VERSION, "avcorr_version": avcorr.__version__,
                "source": self.source, "teacher": self.teacher, "max_offset": self.max_offset,
                "fake_false_alarm_rate": self.fake_false_alarm_rate,
                "uncertain_false_alarm_rate": self.uncertain_false_alarm_rate,
                "window_frames": self.window_frames,
                "normalise": None if self.normalise is None else self.normalise.to_dict(),
                "num_real_clips": self.num_real_clips, "calibration": self.calibration().to_dict(),
                "clips": self.clips, "mean_correlations": self.mean_correlations}

    @classmethod
    def from_dict(cls, data: Any, origin: str = "zero-shot calibration") -> "ZeroShotCalibration":
        """Read :meth:`to_dict`'s output (this version or 1, whose references are whole clips as
        decoded); ``origin`` (the file) names the source in errors."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputError(origin, f"not a zero-shot calibration (format is not {FORMAT!r})", stage="calibration")
        if data.get("version") not in (1, FORMAT_VERSION):
            raise InputError(origin, f"zero-shot calibration version {data.get('version')} is not 1 or {FORMAT_VERSION}",
                             stage="calibration")
        try:
            window = data.get("window_frames")
            return cls(mean_correlations=[float(v) for v in data["mean_correlations"]],
                       clips=[str(c) for c in data["clips"]], source=str(data["source"]),
                       teacher=str(data.get("teacher", "phonetic")),
                       max_offset=int(data.get("max_offset", ZeroShotOptions.max_offset)),
                       fake_false_alarm_rate=float(data.get("fake_false_alarm_rate", 0.05)),
                       uncertain_false_alarm_rate=float(data.get("uncertain_false_alarm_rate", 0.20)),
                       window_frames=None if window is None else int(window),
                       normalise=NormaliseOptions.from_dict(data.get("normalise")))
        except (AvcorrError, KeyError, TypeError, ValueError) as error:
            raise InputError(origin, f"bad zero-shot calibration ({error})", stage="calibration") from None

    def save(self, path: str | Path) -> Path:
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> "ZeroShotCalibration":
        try:
            data = json.loads(Path(path).read_text())
        except OSError as error:
            raise InputError(path, f"cannot read zero-shot calibration ({error.strerror or error})", stage="calibration") from None
        except ValueError:
            raise InputError(path, "zero-shot calibration is not valid JSON", stage="calibration") from None
        return cls.from_dict(data, str(path))


def packaged_calibration() -> ZeroShotCalibration | None:
    """The calibration shipped with avcorr, or None when this install has none."""
    return ZeroShotCalibration.load(PACKAGED_CALIBRATION) if PACKAGED_CALIBRATION.exists() else None


@register_detector
class ZeroShotDetector(Detector):
    """Training-free detection from the phonetic teacher (or any :class:`~avcorr.teachers.base.Teacher`).

    ``calibration``: the reference reals scores are read against — ``"packaged"`` (the shipped
    file, if any), a file path, a :class:`ZeroShotCalibration`, or None (uncalibrated). Videos
    are prepared with its ``normalise`` and scored in windows of its ``window_frames`` (the
    video score is the mean window score); uncalibrated, or with a calibration of whole clips,
    the whole analysed clip is one window. ``threshold``: the user's own fake threshold (no
    uncertain band), instead of the calibrated ones. ``options``: the offset search (default:
    the calibration's); ``max_offset`` sets just that. ``lip_model``: the phonetic teacher's lip
    viseme model (.npz; default: the shipped one). ``max_frames`` and ``evidence_frames``: as
    every :class:`~avcorr.detect.base.Detector`.
    """

    kind = "zero-shot"
    fast_mesh_every = FAST_MESH_EVERY  # score change vs full rate ~ a CRF-18 re-encode's (benchmarks/results/detect_speed.md)

    def __init__(self, teacher: Any = None, options: ZeroShotOptions | None = None,
                 segment_options: SegmentOptions | None = None, max_frames: int | None = DEFAULT_MAX_FRAMES,
                 evidence_frames: int = 0, calibration: ZeroShotCalibration | str | Path | None = PACKAGED,
                 threshold: float | None = None, max_offset: int | None = None,
                 lip_model: str | Path | None = None) -> None:
        super().__init__(max_frames=max_frames, evidence_frames=evidence_frames)
        if teacher is None:
            # Zero-shot never trusts a file name for a transcript: the audio may not be what it says.
            teacher = PhoneticTeacher(model_path=lip_model, use_transcripts=False)
        self.teacher = teacher
        if calibration == PACKAGED:
            calibration = packaged_calibration()
        elif isinstance(calibration, (str, Path)):
            calibration = ZeroShotCalibration.load(calibration)
        self.calibration: ZeroShotCalibration | None = calibration
        if options is None and max_offset is not None:
            options = ZeroShotOptions(max_offset=int(max_offset))
        self.options = options or ZeroShotOptions(max_offset=calibration.max_offset if calibration else ZeroShotOptions.max_offset)
        self.segment_options = segment_options or SegmentOptions(high=0.55, low=0.5, smooth_frames=13,
                                                                 min_duration_s=0.5, merge_gap_s=0.3)
        self.warning: str | None = None
        if threshold is not None:
            self.operating_point = OperatingPoint.user_threshold(threshold)
        elif calibration is not None:
            self.operating_point = OperatingPoint.from_calibration(calibration.calibration())
        else:
            self.operating_point = OperatingPoint.uncalibrated(UNCALIBRATED_REASON)
            self.warning = ("zero-shot is uncalibrated: no calibration file, so scores are a fixed prior and the "
                            "0.5 threshold has no known false-alarm rate (fit one: avcorr calibrate zero-shot)")
        if calibration is not None and self.options.max_offset != calibration.max_offset:
            self.warning = (f"the zero-shot calibration was fitted with --max-offset {calibration.max_offset}, "
                            f"not {self.options.max_offset}: its false-alarm rates do not hold")

    @classmethod
    def recognises(cls, path: Path) -> bool:
        """A zero-shot calibration file (``avcorr calibrate zero-shot``)."""
        return json_format(path) == FORMAT

    @classmethod
    def from_path(cls, path: str | Path, **options: Any) -> "ZeroShotDetector":
        """Zero-shot read against the reference reals of a calibration file."""
        return cls(calibration=Path(path), **options)

    def prepare_options(self) -> PrepareOptions:
        return PrepareOptions(store_stft=False, store_mouth=self.evidence_frames > 0, max_frames=self.max_frames,
                              normalise=self.normalise)

    def score(self, path: str | Path, prepared: PreparedClip, audio_path: str | Path | None,
              handle: Any = None) -> VideoVerdict:
        output = self.teacher.posteriors(prepared.media, prepared.record)
        verdict = self.verdict_from_posteriors(path, output.audio, output.visual, prepared.media.fps,
                                               list(output.vocabulary), audio_path)
        verdict.details.update({"teacher": self.teacher.name, **output.info,
                                "normalise": None if self.normalise is None else self.normalise.to_dict()})
        return verdict

    @property
    def window_frames(self) -> int | None:
        """Frames per scored window: the calibration's reference length (None: the whole clip)."""
        return self.calibration.window_frames if self.calibration is not None else None

    @property
    def normalise(self) -> NormaliseOptions | None:
        """The canonical resolution videos are prepared at: the calibration's (None: as decoded)."""
        return self.calibration.normalise if self.calibration is not None else None

    def window_score(self, mean_correlation: float, prior: float) -> float:
        """A window's score: calibrated on the reference reals, else the teacher's ``prior``."""
        return self.calibration.score(mean_correlation) if self.calibration is not None else prior

    def verdict_from_posteriors(self, path: str | Path, audio: np.ndarray, visual: np.ndarray, fps: float,
                                vocabulary: Sequence[str], audio_path: str | Path | None = None) -> VideoVerdict:
        """The verdict for teacher posteriors already at hand (e.g. from a prepared cache): the
        whole clip gives the per-frame curves and the offset shown; the score is the mean over
        windows of :attr:`window_frames` frames of each window's :meth:`score`."""
        result = zero_shot(audio, visual, self.options)
        num_frames = len(result.correlation)
        bounds = Windowing.for_calibrated_clips(self.window_frames).bounds(num_frames)
        length = bounds[0][1] - bounds[0][0] if bounds else 0
        windows = [result if length == num_frames else zero_shot(audio[s:e], visual[s:e], self.options)
                   for s, e in bounds]
        window_scores = [self.window_score(w.mean_correlation, w.score) for w in windows]
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
        score = float(np.mean(window_scores))
        calibrated = self.calibration is not None
        return VideoVerdict(
            path=str(path), score=score, verdict=self.operating_point.band(score), mode=self.mode, fps=fps,
            frames=frames, segments=segments, audio_path=str(audio_path) if audio_path else None,
            operating_point=self.operating_point,
            details={"mean_correlation": round(result.mean_correlation, 4), "offset_frames": result.offset,
                     "offset_s": round(result.offset / fps, 3), "num_frames": len(frames),
                     "threshold": self.operating_point.fake_threshold,
                     "reference_clips": self.calibration.num_real_clips if calibrated else None,
                     "score_is": ("mean of window_scores[].score, each the share of the reference real clips more "
                                  "consistent than that window" if calibrated else
                                  "mean of window_scores[].score, each the teacher's uncalibrated prior"),
                     "frame_probability_is": "1 - the per-frame consistency at the whole clip's best offset "
                                             "(for the curves and segments; not the video score)",
                     "window_frames": length, "windows": len(bounds),
                     "window_scores": [{"start_s": round(s / fps, 3), "end_s": round(e / fps, 3),
                                        "mean_correlation": round(w.mean_correlation, 4), "offset_frames": w.offset,
                                        "score": round(float(v), 4)}
                                       for (s, e), w, v in zip(bounds, windows, window_scores)]},
        )
