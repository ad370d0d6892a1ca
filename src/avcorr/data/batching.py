"""Dynamic batches: as many clips as fit in a budget of frames, all cut to one length.

The detector takes clips of equal length (no padding), so a batch holds clips of similar length
(within ``length_tolerance`` of its shortest), each cut to the shortest: a random window in
training, the centre in validation. Every choice of an epoch (order, windows, augmentation seeds)
follows from ``(seed, epoch)`` alone and is made identically on every DDP rank before the
batches are dealt out, so ranks never disagree and each gets the same number of batches
(the list is padded by repeating its first batches when it does not divide evenly).
"""
from __future__ import annotations

import math
from typing import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler

from avcorr.data.dataset import ClipWindow


class ClipOrderSampler(Sampler[int]):
    """The clip order of an epoch: a seeded permutation, or the identity when not shuffling.

    Lightning calls ``set_epoch`` on a batch sampler's ``sampler`` at each epoch start; the batch
    sampler reads the epoch from here.
    """

    def __init__(self, num_clips: int, shuffle: bool, seed: int = 0) -> None:
        self.num_clips = num_clips
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        if not self.shuffle:
            return iter(range(self.num_clips))
        rng = np.random.default_rng([self.seed, self.epoch, 0])
        return iter(rng.permutation(self.num_clips).tolist())

    def __len__(self) -> int:
        return self.num_clips


class FrameBudgetBatchSampler(Sampler[list[ClipWindow]]):
    """Yields lists of :class:`ClipWindow` with ``len(batch) * length <= max_batch_frames``.

    ``lengths`` are the clips' frame counts. Each clip is first limited to ``max_clip_frames``
    and ``crop_frames`` (training crops); a clip longer than the whole budget is cut to it.
    ``num_replicas``/``rank`` shard the batches for DDP.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        max_batch_frames: int,
        max_clip_frames: int | None = None,
        crop_frames: int | None = None,
        shuffle: bool = False,
        seed: int = 0,
        augment: bool = False,
        num_replicas: int = 1,
        rank: int = 0,
        length_tolerance: float = 1.25,
    ) -> None:
        if max_batch_frames < 1:
            raise ValueError("max_batch_frames must be positive")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} outside 0..{num_replicas - 1}")
        if any(length < 1 for length in lengths):
            raise ValueError("every clip needs at least one frame")
        self.lengths = [int(n) for n in lengths]
        self.max_batch_frames = int(max_batch_frames)
        limits = [self.max_batch_frames] + [int(v) for v in (max_clip_frames, crop_frames) if v]
        self.usable = [min([n] + limits) for n in self.lengths]
        self.sampler = ClipOrderSampler(len(self.lengths), shuffle=shuffle, seed=seed)
        self.random_windows = shuffle
        self.augment = augment
        self.num_replicas = num_replicas
        self.rank = rank
        self.length_tolerance = length_tolerance
        self._num_batches: int | None = None

    @property
    def epoch(self) -> int:
        return self.sampler.epoch

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def all_batches(self) -> list[list[ClipWindow]]:
        """Every batch of the epoch, before sharding (the same list on every rank)."""
        rng = np.random.default_rng([self.sampler.seed, self.epoch, 1])
        order = sorted(self.sampler, key=lambda i: self.usable[i])  # stable: ties keep the shuffled order
        groups: list[list[int]] = []
        for index in order:
            group = groups[-1] if groups else None
            if group is not None:
                shortest = self.usable[group[0]]
                fits = (len(group) + 1) * shortest <= self.max_batch_frames
                if fits and self.usable[index] <= shortest * self.length_tolerance:
                    group.append(index)
                    continue
            groups.append([index])
        if self.sampler.shuffle:
            groups = [groups[i] for i in rng.permutation(len(groups))]
        batches = []
        for group in groups:
            length = self.usable[group[0]]
            batch = []
            for index in group:
                slack = self.lengths[index] - length
                start = int(rng.integers(0, slack + 1)) if self.random_windows else slack // 2
                seed = int(rng.integers(0, 2**31 - 1)) if self.augment else None
                batch.append(ClipWindow(index, start, length, seed))
            batches.append(batch)
        return batches

    def _shard(self, batches: list[list[ClipWindow]]) -> list[list[ClipWindow]]:
        if self.num_replicas == 1 or not batches:
            return batches
        total = math.ceil(len(batches) / self.num_replicas) * self.num_replicas
        padded = [batches[i % len(batches)] for i in range(total)]
        return padded[self.rank::self.num_replicas]

    def __iter__(self) -> Iterator[list[ClipWindow]]:
        # A generator: the epoch's batches are drawn at the first ``next``, not at ``iter`` (Lightning
        # may create the iterator before it calls ``set_epoch``, e.g. when resuming).
        yield from self._shard(self.all_batches())

    def __len__(self) -> int:
        # The number of batches depends on the multiset of lengths only, never on the epoch.
        if self._num_batches is None:
            self._num_batches = len(self._shard(self.all_batches()))
        return self._num_batches
