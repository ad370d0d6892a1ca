"""One interface for every detector kind: prepare the video by the detector's own contract → score
→ a verdict with details, evidence and the operating point its band came from.

A kind (zero-shot, cue model, trained student, …) is a subclass in its own file that says how its
videos must be prepared (:meth:`Detector.prepare_options`: the canonical resolution, crops and
teacher its scores were calibrated with) and how a prepared clip is scored (:meth:`Detector.score`).
Everything around that — decoding and tracking once, the details every verdict carries, the
evidence frames for the report, turning errors into a failed verdict — is written here once.
Kinds are registered by name in :mod:`avcorr.detect.registry`, and :func:`avcorr.detect.load`
builds one from a name or a path.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from avcorr.detect.evidence import collect_evidence
from avcorr.detect.verdict import OperatingPoint, VideoVerdict
from avcorr.media.coverage import too_little_to_judge
from avcorr.errors import ConfigError
from avcorr.media import face
from avcorr.prepare.pipeline import PreparedClip, PrepareOptions, prepare_clip

#: Frames (25 fps) a detector analyses per video unless told otherwise (None: the whole video).
DEFAULT_MAX_FRAMES: int | None = None


class Detector(ABC):
    """A detector kind. Subclasses set :attr:`kind` (the registry name, also the verdict's ``mode``),
    :attr:`operating_point` and :attr:`warning` in ``__init__``, and implement
    :meth:`prepare_options` and :meth:`score`; :meth:`from_path` builds one from a model path.

    ``max_frames``: analyse at most this many frames (25 fps) per video (None: all of it).
    ``evidence_frames``: keep the face and mouth crops of this many most suspicious frames on
    each verdict (for the HTML report; 0: none).
    """

    kind: ClassVar[str] = ""
    #: ``config.json`` ``kind`` (or ``format``) values of model folders this detector loads.
    config_kinds: ClassVar[tuple[str, ...]] = ()

    operating_point: OperatingPoint
    warning: str | None = None
    #: Prepare videos with :meth:`PrepareOptions.fast` (face mesh at :attr:`fast_mesh_every`, frames
    #: decoded at the canonical size); False: exactly as training caches are prepared (slower).
    fast_prepare: bool = True
    #: The face-mesh rate fast preparation may use for this kind. 1 (every frame) unless a kind was
    #: measured not to care (:data:`~avcorr.prepare.pipeline.FAST_MESH_EVERY`): cues that read the
    #: landmarks' motion frame by frame (jitter, jerk, acceleration, blinks) change when it is interpolated.
    fast_mesh_every: ClassVar[int] = 1

    def __init__(self, max_frames: int | None = DEFAULT_MAX_FRAMES, evidence_frames: int = 0) -> None:
        if max_frames is not None and int(max_frames) < 2:
            raise ConfigError(f"max_frames must be at least 2 (or None for the whole video), got {max_frames}")
        if int(evidence_frames) < 0:
            raise ConfigError(f"evidence_frames must be >= 0, got {evidence_frames}")
        self.max_frames = None if max_frames is None else int(max_frames)
        self.evidence_frames = int(evidence_frames)
        self._tracker: face.FaceTracker | None = None

    @property
    def mode(self) -> str:
        """The verdict's ``mode`` field: the kind's name."""
        return self.kind

    @classmethod
    def from_path(cls, path: str | Path, **options: Any) -> "Detector":
        """The detector stored at ``path`` (a model folder or file of this kind)."""
        raise ConfigError(f"a {cls.kind} detector is not loaded from a path ({path})")

    @classmethod
    def recognises(cls, path: Path) -> bool:
        """Whether ``path`` (a file, or a folder without ``config.json``) is a model of this kind."""
        return False

    # ------------------------------------------------------------------ what a kind provides

    @abstractmethod
    def prepare_options(self) -> PrepareOptions:
        """How videos are prepared for this detector: the processing its scores were calibrated on."""

    def prepare_teacher(self) -> Any:
        """The teacher prepare runs on the clip (None: none)."""
        return None

    def begin(self, path: str | Path) -> Any:
        """Work that may run beside prepare for ``path`` (e.g. a second decode in a thread); its
        handle is passed to :meth:`score`. Default: none."""
        return None

    def cancel(self, handle: Any) -> None:
        """Abandon :meth:`begin`'s work when prepare fails."""

    @abstractmethod
    def score(self, path: str | Path, prepared: PreparedClip, audio_path: str | Path | None,
              handle: Any = None) -> VideoVerdict:
        """The verdict for one prepared clip: score, band, per-frame values, segments, details."""

    def close(self) -> None:
        """Release threads or models held between videos."""

    # ------------------------------------------------------------------ written once for all kinds

    def detect(self, path: str | Path, audio_path: str | Path | None = None) -> VideoVerdict:
        """Judge one video (``audio_path``: judge it against this audio instead of its own track).

        A fragment — shorter than :data:`avcorr.media.coverage.MIN_JUDGE_SECONDS` once decoded, or
        with less than :data:`~avcorr.media.coverage.MIN_COVERAGE` of its declared length decodable —
        gets no score: a "too little to judge" verdict with its reason. Raises
        :class:`avcorr.errors.AvcorrError` for a file that cannot be analysed at all;
        :func:`avcorr.detect.batch.detect_videos` turns that into a failed verdict."""
        handle = self.begin(path)
        try:
            prepared = prepare_clip(path, audio_path, self.detect_options(), teacher=self.prepare_teacher(),
                                    tracker=self.tracker())
        except BaseException:
            self.cancel(handle)
            raise
        reason = too_little_to_judge(prepared.media)
        if reason is not None:
            self.cancel(handle)
            return VideoVerdict.too_little(path, self.mode, reason, fps=prepared.media.fps, audio_path=audio_path,
                                           details=analysed_details(prepared))
        verdict = self.score(path, prepared, audio_path, handle)
        scoring_timings = verdict.details.pop("timings_s", {})
        verdict.details.update(analysed_details(prepared))
        verdict.details.setdefault("timings_s", {}).update(scoring_timings)
        if self.evidence_frames:
            verdict.evidence = collect_evidence(prepared.record.arrays, frame_fake_probabilities(verdict),
                                                float(prepared.record.meta.fps or 25.0), self.evidence_frames)
        return verdict

    def detect_options(self) -> PrepareOptions:
        """How :meth:`detect` prepares a video: the kind's :meth:`prepare_options`, made
        :meth:`~avcorr.prepare.pipeline.PrepareOptions.fast` unless :attr:`fast_prepare` is off."""
        options = self.prepare_options()
        return options.fast(self.fast_mesh_every) if self.fast_prepare else options

    def tracker(self) -> face.FaceTracker:
        """The face tracker, built once (its MediaPipe graphs are reused from video to video)."""
        if self._tracker is None:
            self._tracker = face.FaceTracker()
        return self._tracker

    def __enter__(self) -> "Detector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def analysed_details(prepared: PreparedClip) -> dict[str, Any]:
    """What every verdict says about the part of the video it judged: where it starts, how long it
    is, whether it was cut, how often the face was seen, and the seconds each stage took."""
    record = prepared.record
    extra = record.meta.extra
    fps = float(record.meta.fps or 25.0)
    analysed_s = record.num_frames / fps
    source_s = extra.get("source_video_s")
    details: dict[str, Any] = {
        "face_found_fraction": extra.get("face_found_fraction"),
        "start_s": extra.get("start_s", 0.0),
        "truncated": bool(extra.get("truncated", False)),
        "analysed_s": round(analysed_s, 3),
        "source_s": None if source_s is None else round(float(source_s), 3),
        "decoded_share": extra.get("coverage"),
        "packets_skipped": {"video": extra.get("video_packets_skipped", 0), "audio": extra.get("audio_packets_skipped", 0)},
    }
    if source_s:
        details["analysed_share"] = round(min(1.0, analysed_s / float(source_s)), 4)
    details["timings_s"] = {k: round(v, 3) for k, v in prepared.timings.items() if v > 0}
    return details


def frame_fake_probabilities(verdict: VideoVerdict) -> np.ndarray:
    """(T,) the verdict's per-frame fake probability (NaN where a frame has none)."""
    return np.array([math.nan if f.fake_probability is None else f.fake_probability for f in verdict.frames],
                    dtype=np.float64)
