"""Clips of a clip cache as training and evaluation examples.

A :class:`ClipDataset` is indexed either by a :class:`ClipWindow` (which frames of which clip,
and with which augmentation seed: chosen by the batch sampler, so that every random choice of an
epoch follows from the seed and the epoch alone, whatever the number of loader workers) or by a
plain clip index (the whole clip, for evaluation). Frames are resized to the model's frame size
on load; the MFCC window is always exactly 4× the frame window (100 Hz audio vs 25 fps video).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from avcorr.data.augment import VideoAugment
from avcorr.data.clip_cache import ClipCache, ClipMeta, load_clip, load_meta
from avcorr.errors import InputError
from avcorr.soft_label import cached_soft_label

#: MFCC frames per video frame (100 Hz audio features, 25 fps video).
MFCC_PER_FRAME = 4

_ARRAYS = ("frames", "mfcc", "frame_labels", "soft_label", "audio_posteriors", "visual_posteriors")


@dataclass(frozen=True)
class ClipEntry:
    """What the samplers and splitters need to know about a cached clip, without loading it."""

    clip_id: str
    path: Path
    label: int
    method: str
    source_id: str
    split: str
    num_frames: int


@dataclass(frozen=True)
class ClipWindow:
    """Frames ``[start, start + length)`` of clip ``index``; ``augment_seed`` None = no augmentation."""

    index: int
    start: int
    length: int
    augment_seed: int | None = None


@dataclass
class ClipExample:
    """One clip (or window of one), ready for collation. T = frames in the window."""

    clip_id: str
    method: str
    label: int
    start: int
    frames: np.ndarray  # (T, S, S) uint8, S = model frame size
    mfcc: np.ndarray  # (4T, 13) float32
    frame_labels: np.ndarray  # (T,) int64, 1 = manipulated frame
    soft_label: np.ndarray  # (T,) float32 in [0, 1]; NaN when the cache has no teacher output


@dataclass
class ClipBatch:
    """Clips of equal length stacked for the detector. B clips, T frames each."""

    clip_ids: list[str]
    methods: list[str]
    frames: torch.Tensor  # (B, T, S, S) uint8
    mfcc: torch.Tensor  # (B, 4T, 13) float32
    frame_labels: torch.Tensor  # (B, T) int64
    soft_label: torch.Tensor  # (B, T) float32
    clip_label: torch.Tensor  # (B,) float32
    soft_label_missing: list[bool]  # per clip: the cache holds no teacher output (soft_label is NaN)

    def __len__(self) -> int:
        return len(self.clip_ids)

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[1])


def list_clips(cache: ClipCache) -> list[ClipEntry]:
    """All clips of a cache, from its manifest (rebuilt when missing or out of date)."""
    files = cache.clip_files()
    if not files:
        raise InputError(cache.root, "no clips in this cache (run `avcorr prepare` first)", stage="cache")
    rows = cache.read_manifest()
    if len(rows) != len(files) or any(not (cache.root / row["file"]).exists() for row in rows):
        cache.rebuild_manifest()
        rows = cache.read_manifest()
    entries = []
    for row in rows:
        path = cache.root / row["file"]
        num_frames = int(row["num_frames"]) if row.get("num_frames") else load_meta(path).num_frames
        entries.append(ClipEntry(
            clip_id=row["clip_id"], path=path, label=int(row["label"]), method=row.get("method") or "real",
            source_id=row.get("source_id") or row["clip_id"], split=row.get("split") or "", num_frames=num_frames,
        ))
    return entries


def select_entries(entries: Sequence[ClipEntry], splits: Sequence[str] | None = None,
                   clip_ids: Sequence[str] | None = None) -> list[ClipEntry]:
    """The clips of the given splits and/or ids (None: no restriction), in cache order."""
    wanted_splits = None if splits is None else set(splits)
    wanted_ids = None if clip_ids is None else set(clip_ids)
    return [e for e in entries
            if (wanted_splits is None or e.split in wanted_splits) and (wanted_ids is None or e.clip_id in wanted_ids)]


class ClipDataset(Dataset):
    """Reads clips of a cache on demand (one ``.npz`` per clip; nothing is kept in memory)."""

    def __init__(
        self,
        entries: Sequence[ClipEntry],
        frame_size: int,
        divergence: str = "js",
        augment: VideoAugment | None = None,
    ) -> None:
        self.entries = list(entries)
        self.frame_size = frame_size
        self.divergence = divergence
        self.augment = augment

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def lengths(self) -> list[int]:
        return [entry.num_frames for entry in self.entries]

    def __getitem__(self, item: int | ClipWindow) -> ClipExample:
        if isinstance(item, ClipWindow):
            window = item
        else:
            window = ClipWindow(int(item), 0, self.entries[int(item)].num_frames)
        entry = self.entries[window.index]
        record = load_clip(entry.path, arrays=_ARRAYS)
        arrays, meta = record.arrays, record.meta
        total = record.num_frames
        if "frames" not in arrays or "mfcc" not in arrays:
            raise InputError(entry.path, "clip has no frames or no mfcc", stage="dataset")
        if window.start < 0 or window.start + window.length > total or window.length <= 0:
            raise InputError(entry.path, f"window {window.start}+{window.length} outside {total} frames", stage="dataset")
        if arrays["mfcc"].shape[0] != MFCC_PER_FRAME * total:
            raise InputError(entry.path, f"mfcc has {arrays['mfcc'].shape[0]} rows for {total} frames", stage="dataset")
        span = slice(window.start, window.start + window.length)
        audio_span = slice(MFCC_PER_FRAME * window.start, MFCC_PER_FRAME * (window.start + window.length))
        frames = resize_frames(arrays["frames"][span], self.frame_size)
        if self.augment is not None and window.augment_seed is not None:
            frames = self.augment(frames, window.augment_seed)
        return ClipExample(
            clip_id=meta.clip_id,
            method=meta.method or "real",
            label=int(meta.label),
            start=window.start,
            frames=np.ascontiguousarray(frames),
            mfcc=np.asarray(arrays["mfcc"][audio_span], dtype=np.float32),
            frame_labels=_frame_labels(arrays, meta, total)[span],
            soft_label=_soft_label(arrays, total, self.divergence)[span],
        )


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """(T, H, W) uint8 → (T, size, size); area interpolation when shrinking, bilinear when growing."""
    if frames.shape[1] == size and frames.shape[2] == size:
        return frames
    interpolation = cv2.INTER_AREA if frames.shape[1] > size else cv2.INTER_LINEAR
    out = np.empty((frames.shape[0], size, size), dtype=np.uint8)
    for t in range(frames.shape[0]):
        out[t] = cv2.resize(frames[t], (size, size), interpolation=interpolation)
    return out


def _frame_labels(arrays: dict[str, np.ndarray], meta: ClipMeta, total: int) -> np.ndarray:
    if "frame_labels" in arrays:
        return np.asarray(arrays["frame_labels"], dtype=np.int64)
    return np.full(total, int(meta.label), dtype=np.int64)


def _soft_label(arrays: dict[str, np.ndarray], total: int, divergence: str) -> np.ndarray:
    """The cached y_t, else y_t from the cached teacher posteriors, else NaN (no teacher ran)."""
    label = cached_soft_label(arrays, divergence)  # type: ignore[arg-type]
    return label if label is not None else np.full(total, np.nan, dtype=np.float32)


def collate_clips(examples: Sequence[ClipExample]) -> ClipBatch:
    """Stack examples into a batch, cutting each to the shortest (samplers already make them equal)."""
    length = min(example.frames.shape[0] for example in examples)
    return ClipBatch(
        clip_ids=[e.clip_id for e in examples],
        methods=[e.method for e in examples],
        frames=torch.from_numpy(np.stack([e.frames[:length] for e in examples])),
        mfcc=torch.from_numpy(np.stack([e.mfcc[: MFCC_PER_FRAME * length] for e in examples])),
        frame_labels=torch.from_numpy(np.stack([e.frame_labels[:length] for e in examples])),
        soft_label=torch.from_numpy(np.stack([e.soft_label[:length] for e in examples])),
        clip_label=torch.tensor([float(e.label) for e in examples], dtype=torch.float32),
        soft_label_missing=[bool(np.isnan(e.soft_label[:length]).any()) for e in examples],
    )
