"""Datasets and dynamic batches: alignment, frame budget, determinism, DDP sharding."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from avcorr.config import AugmentConfig
from avcorr.data.augment import VideoAugment
from avcorr.data.batching import FrameBudgetBatchSampler
from avcorr.data.clip_cache import ClipCache, load_clip
from avcorr.data.dataset import ClipDataset, ClipWindow, collate_clips, list_clips, select_entries
from avcorr.soft_label import soft_correlation_label
from avcorr.train.datamodule import split_entries
from synthetic_cache import SyntheticCacheSpec, write_synthetic_cache


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> ClipCache:
    return write_synthetic_cache(tmp_path_factory.mktemp("cache"), SyntheticCacheSpec(num_sources=4, frame_size=40))


def test_list_clips_reads_manifest(cache: ClipCache) -> None:
    entries = list_clips(cache)
    assert len(entries) == 24
    assert Counter(e.label for e in entries) == Counter({0: 12, 1: 12})
    assert all(e.num_frames == load_clip(e.path, arrays=["frames"]).num_frames for e in entries[:5])


def test_window_keeps_mfcc_four_times_aligned(cache: ClipCache) -> None:
    entries = list_clips(cache)
    dataset = ClipDataset(entries, frame_size=32)
    entry = entries[0]
    full = load_clip(entry.path)
    example = dataset[ClipWindow(0, start=7, length=20)]
    assert example.frames.shape == (20, 32, 32) and example.frames.dtype == np.uint8
    assert example.mfcc.shape == (80, 13)
    assert np.array_equal(example.mfcc, full.arrays["mfcc"][28:108])
    assert example.frame_labels.shape == (20,) and example.soft_label.shape == (20,)


def test_soft_label_derived_from_posteriors_when_absent(cache: ClipCache) -> None:
    entries = list_clips(cache)
    dataset = ClipDataset(entries, frame_size=40, divergence="paper")
    index = next(i for i, e in enumerate(entries) if "soft_label" not in load_clip(e.path).arrays)
    record = load_clip(entries[index].path)
    import torch

    expected = soft_correlation_label(torch.from_numpy(record.arrays["audio_posteriors"]),
                                      torch.from_numpy(record.arrays["visual_posteriors"]), "paper").numpy()
    assert np.allclose(dataset[index].soft_label, expected)


def test_window_outside_clip_is_an_error(cache: ClipCache) -> None:
    from avcorr.errors import InputError

    entries = list_clips(cache)
    dataset = ClipDataset(entries, frame_size=40)
    with pytest.raises(InputError):
        dataset[ClipWindow(0, start=entries[0].num_frames - 2, length=5)]


def test_augmented_window_is_reproducible(cache: ClipCache) -> None:
    dataset = ClipDataset(list_clips(cache), 40, augment=VideoAugment(AugmentConfig(crop_prob=1.0, rotation_prob=1.0)))
    a = dataset[ClipWindow(1, 0, 10, augment_seed=9)]
    b = dataset[ClipWindow(1, 0, 10, augment_seed=9)]
    plain = dataset[ClipWindow(1, 0, 10)]
    assert np.array_equal(a.frames, b.frames) and not np.array_equal(a.frames, plain.frames)


LENGTHS = [40, 55, 61, 80, 33, 120, 47, 75, 90, 52, 64, 70, 1500, 38]


@pytest.mark.parametrize("crop", [None, 25])
def test_batches_respect_budget_and_cover_every_clip(crop: int | None) -> None:
    sampler = FrameBudgetBatchSampler(LENGTHS, max_batch_frames=200, max_clip_frames=100, crop_frames=crop,
                                      shuffle=True, seed=3)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    seen = sorted(w.index for batch in batches for w in batch)
    assert seen == list(range(len(LENGTHS)))
    for batch in batches:
        length = batch[0].length
        assert all(w.length == length for w in batch)
        assert len(batch) * length <= 200
        for w in batch:
            assert 0 <= w.start and w.start + w.length <= LENGTHS[w.index]
            assert w.length <= min(LENGTHS[w.index], 100, crop or 10**9)
            if crop is None:
                assert LENGTHS[w.index] > 100 or min(LENGTHS[w.index], 100) <= 1.25 * length  # near-equal lengths


def test_batches_deterministic_per_seed_and_epoch() -> None:
    def run(seed: int, epoch: int) -> list:
        sampler = FrameBudgetBatchSampler(LENGTHS, 200, 100, crop_frames=30, shuffle=True, seed=seed, augment=True)
        sampler.set_epoch(epoch)
        return list(sampler)

    assert run(0, 1) == run(0, 1)
    assert run(0, 1) != run(0, 2)
    assert run(0, 1) != run(1, 1)
    assert all(w.augment_seed is not None for batch in run(0, 1) for w in batch)


def test_validation_batches_are_fixed_centre_windows() -> None:
    sampler = FrameBudgetBatchSampler(LENGTHS, 200, 100, shuffle=False)
    first = list(sampler)
    sampler.set_epoch(5)
    assert list(sampler) == first
    assert all(w.augment_seed is None for batch in first for w in batch)
    long = next(w for batch in first for w in batch if w.index == 12)
    assert long.length == 100 and long.start == (1500 - 100) // 2


@pytest.mark.parametrize("replicas", [2, 3, 4])
def test_ddp_shards_have_equal_counts_and_cover_everything(replicas: int) -> None:
    shards = []
    for rank in range(replicas):
        sampler = FrameBudgetBatchSampler(LENGTHS, 150, 100, crop_frames=30, shuffle=True, seed=0,
                                          num_replicas=replicas, rank=rank)
        sampler.set_epoch(2)
        shards.append(list(sampler))
        assert len(shards[-1]) == len(sampler)
    assert len({len(s) for s in shards}) == 1
    covered = {w.index for shard in shards for batch in shard for w in batch}
    assert covered == set(range(len(LENGTHS)))
    everything = FrameBudgetBatchSampler(LENGTHS, 150, 100, crop_frames=30, shuffle=True, seed=0)
    everything.set_epoch(2)
    assert sum(len(s) for s in shards) - len(everything.all_batches()) < replicas


def test_collate_stacks_equal_windows(cache: ClipCache) -> None:
    dataset = ClipDataset(list_clips(cache), 32)
    batch = collate_clips([dataset[ClipWindow(i, 0, 30)] for i in range(3)])
    assert tuple(batch.frames.shape) == (3, 30, 32, 32) and tuple(batch.mfcc.shape) == (3, 120, 13)
    assert tuple(batch.frame_labels.shape) == (3, 30) and batch.clip_label.shape == (3,)
    assert str(batch.frame_labels.dtype) == "torch.int64" and str(batch.soft_label.dtype) == "torch.float32"
    assert batch.soft_label_missing == [False, False, False]


def test_select_entries_by_split_and_id(cache: ClipCache) -> None:
    entries = list_clips(cache)
    tests = select_entries(entries, splits=["test"])
    assert tests and {e.split for e in tests} == {"test"}
    ids = [entries[3].clip_id, entries[0].clip_id]
    assert [e.clip_id for e in select_entries(entries, clip_ids=ids)] == [entries[0].clip_id, entries[3].clip_id]
    assert select_entries(entries, splits=["train"], clip_ids=[tests[0].clip_id]) == []


def test_split_keeps_sources_apart(cache: ClipCache) -> None:
    entries = [e for e in list_clips(cache)]
    from dataclasses import replace

    unsplit = [replace(e, split="") for e in entries]
    train, val = split_entries(unsplit, val_fraction=0.25, seed=0)
    assert len(train) + len(val) == len(unsplit) and val
    assert not {e.source_id for e in train} & {e.source_id for e in val}
    assert split_entries(unsplit, 0.25, seed=0) == (train, val)
    train2, val2 = split_entries(entries, val_fraction=0.25, seed=0)  # meta.split wins
    assert {e.split for e in train2} == {"train"} and {e.split for e in val2} == {"val"}
