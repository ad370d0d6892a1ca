"""What every teacher provides: per-frame distributions over one vocabulary for each modality.

A teacher is frozen: ``prepare`` runs it once per clip and caches what it returns
(``audio_posteriors``, ``visual_posteriors`` and the soft correlation label ``soft_label``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from avcorr.soft_label import Divergence, soft_correlation_label

if TYPE_CHECKING:  # media is a heavier import; teachers only need the clip's fields
    from avcorr.data.clip_cache import ClipRecord
    from avcorr.media.decode import MediaClip


@dataclass
class TeacherOutput:
    """``audio``, ``visual``: (T, V) float32 distributions per video frame over ``vocabulary``.

    ``info`` says how they were made (e.g. ``{"audio_mode": "phone_loop"}``), for the cache's
    metadata and for reports.
    """

    audio: np.ndarray
    visual: np.ndarray
    vocabulary: list[str]
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.audio.shape != self.visual.shape or self.audio.ndim != 2:
            raise ValueError(f"teacher posteriors differ in shape: {self.audio.shape} vs {self.visual.shape}")
        if self.audio.shape[1] != len(self.vocabulary):
            raise ValueError(f"posteriors have {self.audio.shape[1]} classes, vocabulary {len(self.vocabulary)}")

    @property
    def num_frames(self) -> int:
        return int(self.audio.shape[0])

    def soft_label(self, divergence: Divergence = "js") -> np.ndarray:
        """(T,) y_t = 1 − D(audio_t, visual_t) (docs/design.md §1)."""
        import torch

        y = soft_correlation_label(torch.from_numpy(self.audio).double(), torch.from_numpy(self.visual).double(), divergence)
        return y.numpy().astype(np.float32)

    def cache_arrays(self, divergence: Divergence = "js") -> dict[str, np.ndarray]:
        """The arrays ``prepare`` stores in a clip record."""
        return {
            "audio_posteriors": self.audio.astype(np.float32),
            "visual_posteriors": self.visual.astype(np.float32),
            "soft_label": self.soft_label(divergence),
        }


@runtime_checkable
class Teacher(Protocol):
    """A frozen pair of content recognisers, one per modality, sharing ``vocabulary``."""

    name: str
    vocabulary: list[str]

    def posteriors(self, clip: "MediaClip | None", record: "ClipRecord") -> TeacherOutput:
        """Per-frame distributions for the clip's T frames (``record.num_frames``).

        ``clip`` carries the 16 kHz audio (``None`` when only the record is at hand; a teacher
        then reads what it needs from ``record.arrays``: ``stft``, ``mouth``, ``landmarks``).
        """
        ...
