"""Source-disjoint train/val/test splits of a manifest.

Clips are grouped by ``source_id`` (the real recording a fake was forged from, or the identity
of a real clip), and whole groups are dealt into splits, so no person or recording is seen in
training and again in testing. Deterministic for a seed; rows that already carry a split keep it.
"""
from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Sequence

from avcorr.data.manifest import ManifestRow


def _group_key(row: ManifestRow) -> str:
    return row.source_id or row.clip_id


def _rank(group: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()


def assign_splits(rows: Sequence[ManifestRow], test_fraction: float = 0.3, val_fraction: float = 0.0,
                  seed: int = 0, overwrite: bool = False) -> list[ManifestRow]:
    """Rows with ``split`` set to train/val/test by source group (fractions of groups, rounded,
    at least one test group when there are two or more groups)."""
    if not 0 <= test_fraction < 1 or not 0 <= val_fraction < 1 or test_fraction + val_fraction >= 1:
        raise ValueError("split fractions must be in [0, 1) and leave room for training")
    groups = sorted({_group_key(r) for r in rows if overwrite or not r.split}, key=lambda g: _rank(g, seed))
    n_test = round(len(groups) * test_fraction)
    if test_fraction > 0 and n_test == 0 and len(groups) >= 2:
        n_test = 1
    n_val = round(len(groups) * val_fraction)
    split_of = {g: "test" for g in groups[:n_test]}
    split_of.update({g: "val" for g in groups[n_test : n_test + n_val]})
    split_of.update({g: "train" for g in groups[n_test + n_val :]})
    return [r if (r.split and not overwrite) else replace(r, split=split_of[_group_key(r)]) for r in rows]
