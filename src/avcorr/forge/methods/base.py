"""What every forgery method shares: its inputs, its output, its labels, and the registry by name.

A method turns one real *source* clip (frames, audio, face track) plus donors (replacement
audio, another identity's face) into a forged clip of exactly the source's length and size, so
that duration, resolution and frame count never tell real from fake (docs/design.md §8). Every random
choice comes from the request's ``rng``, so the same seed gives the same forgery.

Labels follow FakeAVCeleb/CMDFD: 0 real, 1 fake, per modality and for audio-visual sync.
``audio_label`` is 1 when the track is not this person's own speech (another identity's real
voice, or TTS); a ``-self`` donor is the same person's real voice, so it stays 0.
``sync_label`` is 1 when the lips do not follow the audio.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Protocol

import numpy as np

DonorKind = Literal["none", "other", "self", "tts"]


@dataclass
class SourceClip:
    """A real clip to forge from. ``landmarks`` (T, 478, 3) source pixels or ``None`` (no face work)."""

    clip_id: str
    identity: str
    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    audio: np.ndarray  # (N,) float32, N = round(T / fps * sample_rate)
    fps: float
    sample_rate: int
    landmarks: np.ndarray | None = None
    found: np.ndarray | None = None  # (T,) bool

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])


@dataclass
class AudioDonor:
    """Replacement speech, already fitted to the source's length (N samples).

    ``visemes`` holds one viseme index per source frame (``avcorr.teachers.visemes.VISEMES``)
    for the methods that move lips; ``viseme_origin`` says where they came from (``tts`` phone
    timings, or the recogniser used on real speech).
    """

    audio: np.ndarray
    source_id: str
    clip_id: str
    kind: DonorKind
    visemes: np.ndarray | None = None
    viseme_origin: str = ""
    text: str = ""


@dataclass
class FaceDonor:
    """Frames of another identity with their landmarks, chosen to span mouth openings."""

    frames: np.ndarray  # (M, H, W, 3) uint8
    landmarks: np.ndarray  # (M, 478, 3)
    source_id: str
    clip_id: str


@dataclass
class ForgeRequest:
    """One forgery to make. ``window`` = [start, end) frames to manipulate (the whole clip if None)."""

    source: SourceClip
    rng: np.random.Generator
    audio_donor: AudioDonor | None = None
    face_donor: FaceDonor | None = None
    window: tuple[int, int] | None = None

    @property
    def frame_range(self) -> tuple[int, int]:
        return self.window if self.window is not None else (0, self.source.num_frames)


@dataclass
class ForgedClip:
    """A method's output: full-length frames and audio, plus the parameters it drew (for audit)."""

    frames: np.ndarray
    audio: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ForgeryLabels:
    audio_label: int
    video_label: int
    sync_label: int


class ForgeryMethod(Protocol):
    """A training-free forgery family. ``audio_donor``: which replacement audio it needs."""

    name: str
    audio_donor: DonorKind
    needs_face: bool
    needs_face_donor: bool
    needs_visemes: bool
    labels: ForgeryLabels

    def forge(self, request: ForgeRequest) -> ForgedClip: ...


_REGISTRY: dict[str, Callable[[], ForgeryMethod]] = {}


def register_method(name: str, factory: Callable[[], ForgeryMethod]) -> None:
    _REGISTRY[name] = factory


def method_names() -> list[str]:
    """All registered names, ``-self`` variants included, in a stable order."""
    _load_builtin()
    return list(_REGISTRY)


def get_method(name: str) -> ForgeryMethod:
    """Build a method by name; unknown names raise ``KeyError`` listing the known ones."""
    _load_builtin()
    if name not in _REGISTRY:
        raise KeyError(f"unknown forgery method {name!r}; known: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]()


def _load_builtin() -> None:
    if _REGISTRY:
        return
    # here, not on top: each method module imports this one
    from avcorr.forge.methods import audio_swap, face_swap, lip_rewrite, still_talk, tts_dub

    for module in (audio_swap, tts_dub, lip_rewrite, still_talk, face_swap):
        module.register(register_method)


@dataclass
class VisemeDriven:
    """What a method that moves the source's mouth to an audio donor's visemes declares (lip-rewrite,
    still-talk; their ``-self`` variants take the donor from the same identity): a forgery of both
    audio and video, out of sync."""

    name: str = ""
    audio_donor: DonorKind = "other"
    needs_face: bool = True
    needs_face_donor: bool = False
    needs_visemes: bool = True
    labels: ForgeryLabels = ForgeryLabels(audio_label=1, video_label=1, sync_label=0)


def viseme_driven_inputs(request: ForgeRequest, method: str) -> tuple[np.ndarray, np.ndarray]:
    """The source's (T, 478, 2) float64 landmark positions (pixels) and (T,) face-found mask, for a
    method that moves the mouth to its audio donor's visemes; ValueError when the source has no
    landmarks or the donor no visemes."""
    source, donor = request.source, request.audio_donor
    if donor is None or donor.visemes is None or source.landmarks is None:
        raise ValueError(f"{method} needs landmarks and an audio donor with visemes")
    marks = source.landmarks[..., :2].astype(np.float64)
    found = source.found if source.found is not None else np.ones(len(marks), dtype=bool)
    return marks, found
