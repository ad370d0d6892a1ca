"""Training and validation clips of a clip cache, as Lightning dataloaders.

The split: clips whose ``meta.split`` is ``train`` train and ``val`` (or ``valid``/``dev``)
validate; ``test`` clips are never touched. Clips without a split are divided by ``source_id``
with a seeded draw of ``data.val_fraction`` of the sources, so clips forged from one source
never sit on both sides. When the cache has train clips but no val clips, the val sources are
carved from the train clips the same way.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import lightning as L
import numpy as np
from torch.utils.data import DataLoader

from avcorr.config import ExperimentConfig
from avcorr.data.augment import VideoAugment
from avcorr.data.batching import FrameBudgetBatchSampler
from avcorr.data.clip_cache import ClipCache
from avcorr.data.dataset import ClipDataset, ClipEntry, collate_clips, list_clips
from avcorr.errors import InputError

TRAIN_SPLITS = ("train",)
VAL_SPLITS = ("val", "valid", "validation", "dev")
TEST_SPLITS = ("test",)


def split_entries(entries: Sequence[ClipEntry], val_fraction: float, seed: int) -> tuple[list[ClipEntry], list[ClipEntry]]:
    """(train, val) clips by ``meta.split``, the rest by a seeded split of ``source_id``."""
    train = [e for e in entries if e.split in TRAIN_SPLITS]
    val = [e for e in entries if e.split in VAL_SPLITS]
    unassigned = [e for e in entries if e.split not in TRAIN_SPLITS + VAL_SPLITS + TEST_SPLITS]
    if val:
        return train + unassigned, val
    pool = train + unassigned
    sources = sorted({e.source_id for e in pool})
    num_val = int(round(val_fraction * len(sources)))
    if val_fraction > 0 and len(sources) > 1:
        num_val = min(max(num_val, 1), len(sources) - 1)
    rng = np.random.default_rng([seed, 7])
    val_sources = {sources[i] for i in rng.permutation(len(sources))[:num_val]}
    return [e for e in pool if e.source_id not in val_sources], [e for e in pool if e.source_id in val_sources]


class ClipDataModule(L.LightningDataModule):
    """Dynamic frame-budget batches of a cache's train and val clips, sharded over DDP ranks."""

    def __init__(self, config: ExperimentConfig, data_dir: str | Path) -> None:
        super().__init__()
        self.config = config
        self.data_dir = Path(data_dir)
        self.train_entries: list[ClipEntry] = []
        self.val_entries: list[ClipEntry] = []

    def setup(self, stage: str | None = None) -> None:
        if self.train_entries:
            return
        if not self.data_dir.is_dir():
            raise InputError(self.data_dir, "clip cache folder not found", stage="train")
        entries = list_clips(ClipCache(self.data_dir))
        self.train_entries, self.val_entries = split_entries(
            entries, self.config.data.val_fraction, self.config.trainer.seed)
        if not self.train_entries:
            raise InputError(self.data_dir, "no training clips (all clips are in the test or val split)", stage="train")

    def split_summary(self) -> dict[str, list[str]]:
        """Which clips trained and which validated (written beside the run for later evaluation)."""
        return {"train": [e.clip_id for e in self.train_entries], "val": [e.clip_id for e in self.val_entries]}

    def write_split(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.split_summary(), indent=1) + "\n")

    def _rank(self) -> tuple[int, int]:
        trainer = self.trainer
        if trainer is None:
            return 1, 0
        return trainer.world_size, trainer.global_rank

    def _loader(self, entries: list[ClipEntry], training: bool) -> DataLoader:
        data = self.config.data
        augment = VideoAugment(data.augment) if training and data.augment.enabled else None
        dataset = ClipDataset(entries, self.config.model.visual.frame_size, self.config.loss.divergence, augment)
        replicas, rank = self._rank()
        sampler = FrameBudgetBatchSampler(
            dataset.lengths,
            max_batch_frames=data.max_batch_frames,
            max_clip_frames=data.max_clip_frames,
            crop_frames=data.train_crop_frames if training else None,
            shuffle=training,
            seed=self.config.trainer.seed,
            augment=augment is not None,
            num_replicas=replicas,
            rank=rank,
        )
        if self.trainer is not None:
            # Lightning creates the first iterator before its first ``set_epoch``; on resume that
            # first epoch is not 0.
            sampler.set_epoch(self.trainer.current_epoch)
        return DataLoader(
            dataset,
            batch_sampler=sampler,
            collate_fn=collate_clips,
            num_workers=data.num_workers,
            persistent_workers=data.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_entries, training=True)

    def val_dataloader(self) -> DataLoader | list:
        if not self.val_entries:
            return []
        return self._loader(self.val_entries, training=False)
