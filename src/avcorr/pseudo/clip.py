"""What a pseudo-fake is made from and what it returns.

A :class:`SourceClip` holds one real clip's arrays as the clip cache stores them (face crops,
landmarks in face-crop pixels, 4 MFCC vectors per frame). A generator reads the whole clip (it may
borrow frames or audio from outside the span it forges) and returns a :class:`PseudoFake` for the
frames ``span = (start, stop)`` only: the forged arrays, where they differ from the real ones, and
its label. Nothing is written to disk: pseudo-fakes are made on the fly, one per training draw.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from avcorr.data.clip_cache import ClipRecord

#: video frame rate of a clip cache (frames per second) and MFCC vectors per frame
FPS = 25
MFCC_PER_FRAME = 4


@dataclass(frozen=True)
class SourceClip:
    """One real clip: ``frames`` (T, H, W) uint8, ``landmarks`` (T, 478, 2+) face-crop pixels,
    ``mfcc`` (4T, 13) float32 or None."""

    frames: np.ndarray
    landmarks: np.ndarray
    mfcc: np.ndarray | None = None
    clip_id: str = ""
    source_id: str = ""

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @classmethod
    def from_record(cls, record: ClipRecord) -> "SourceClip":
        a = record.arrays
        mfcc = a.get("mfcc")
        return cls(frames=np.asarray(a["frames"], dtype=np.uint8),
                   landmarks=np.asarray(a["landmarks"], dtype=np.float32)[..., :2],
                   mfcc=None if mfcc is None else np.asarray(mfcc, dtype=np.float32),
                   clip_id=record.meta.clip_id, source_id=record.meta.source_id)

    def span(self, span: tuple[int, int] | None) -> tuple[int, int]:
        """``span`` checked against the clip (None: the whole clip)."""
        start, stop = (0, self.num_frames) if span is None else span
        if not 0 <= start < stop <= self.num_frames:
            raise ValueError(f"span {span} outside a clip of {self.num_frames} frames")
        return int(start), int(stop)

    def real(self, span: tuple[int, int] | None = None) -> "PseudoFake":
        """The untouched frames of ``span`` as a label-0 sample (the real side of a pair)."""
        start, stop = self.span(span)
        n = stop - start
        return PseudoFake(frames=self.frames[start:stop].copy(), mfcc=self.mfcc_rows(start, stop),
                          mask=np.zeros((n, *self.frames.shape[1:3]), np.float32),
                          frame_mask=np.zeros(n, bool), label=0, kind="real", span=(start, stop))

    def smooth_landmarks(self, sigma: float) -> np.ndarray:
        """Landmarks (T, 478, 2) smoothed over time (Gaussian, ``sigma`` frames; 0: as tracked).

        Generators move faces smoothly; a per-frame tracker jitters. Forging along the raw track
        would teach a learner that jitter means fake, the opposite of what real generators leave.
        """
        marks = self.landmarks[..., :2].astype(np.float32)
        if sigma <= 0:
            return marks
        from scipy.ndimage import gaussian_filter1d

        return gaussian_filter1d(marks, sigma, axis=0, mode="nearest")

    def mfcc_rows(self, start: int, stop: int, shift: int = 0) -> np.ndarray | None:
        """MFCC of frames [start, stop) taken ``shift`` frames later (edge rows repeat past the clip)."""
        if self.mfcc is None:
            return None
        rows = np.arange(MFCC_PER_FRAME * (start + shift), MFCC_PER_FRAME * (stop + shift))
        return self.mfcc[np.clip(rows, 0, len(self.mfcc) - 1)].copy()


@dataclass
class PseudoFake:
    """A forged span: ``frames`` (n, H, W) uint8, ``mfcc`` (4n, 13) or None, ``mask`` (n, H, W)
    float32 in [0, 1] (share of each pixel taken from the forgery), ``frame_mask`` (n,) bool
    (frames whose pixels or audio were changed), ``label`` (1 fake, 0 real), ``kind`` (generator),
    ``span`` (source frames), ``params`` (what was drawn)."""

    frames: np.ndarray
    mfcc: np.ndarray | None
    mask: np.ndarray
    frame_mask: np.ndarray
    label: int
    kind: str
    span: tuple[int, int]
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def visual(self) -> bool:
        """True when some pixel differs from the real clip (a visual learner can see it)."""
        return bool(self.mask.max(initial=0.0) > 0)


def blend(fake: np.ndarray, real: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``mask · fake + (1 − mask) · real``, rounded to uint8; exactly ``real`` where mask is 0."""
    out = mask * fake.astype(np.float32) + (1.0 - mask) * real.astype(np.float32)
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return np.where(mask > 0, out, real)
