"""Leave-one-generator-family-out folds over the wild corpus, with source groups kept on one side.

One fold per family with at least ``min_family_clips`` fakes; the smaller families are pooled into
one fold named ``other``. A fold holds out every fake of its families. Each real source group is
held out by exactly one fold: first the groups a fold is forced to take (a group that also holds
the fold's fakes, and the group of a held-out fake's paired real), then the rest greedily, largest
group first, to the fold with the fewest test reals so far (ties: fold order; equal-sized groups in
an order drawn from ``seed``). The fold's test groups are the source groups of its test clips; its
training side is every clip outside them, and a test group's other clips (fakes of other
families) are excluded from both sides.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from avcorr.data.catalog import CatalogClip, paired_real
from avcorr.errors import AvcorrError

OTHER = "other"


@dataclass
class Fold:
    """One held-out split: its families' fakes and its real groups on the test side (ids in catalog order)."""

    name: str
    families: list[str]
    test_ids: list[str]
    train_ids: list[str]
    excluded_ids: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Fold":
        return cls(**{k: (str(v) if k == "name" else [str(x) for x in v]) for k, v in data.items()})


def build_folds(clips: Sequence[CatalogClip], min_family_clips: int = 3, seed: int = 0) -> list[Fold]:
    """The folds of ``clips`` (see the module docstring); family folds by name, then ``other``."""
    fakes = [c for c in clips if c.label == 1]
    if not fakes:
        raise AvcorrError("the catalog holds no fake clips: there is no family to hold out")
    counts = Counter(c.family for c in fakes)
    big = sorted((f for f, n in counts.items() if n >= min_family_clips), key=str.lower)
    small = sorted((f for f, n in counts.items() if n < min_family_clips), key=str.lower)
    fold_families = [[f] for f in big] + ([small] if small else [])
    names = big + ([OTHER] if small else [])
    held = [[c for c in fakes if c.family in fams] for fams in fold_families]

    real_groups: dict[str, list[CatalogClip]] = {}
    for clip in clips:
        if clip.label == 0:
            real_groups.setdefault(clip.source_group, []).append(clip)

    # Forced groups: paired reals' groups first (the stronger rule), then groups shared with held-out fakes.
    forced: list[list[str]] = [[] for _ in names]
    for i, fold_fakes in enumerate(held):
        for fake in fold_fakes:
            partner = paired_real(fake, clips)
            if partner is not None and partner.source_group not in forced[i]:
                forced[i].append(partner.source_group)
    for i, fold_fakes in enumerate(held):
        for group in dict.fromkeys(f.source_group for f in fold_fakes):
            if group in real_groups and group not in forced[i]:
                forced[i].append(group)
    owner: dict[str, int] = {}
    notes: list[list[str]] = [[] for _ in names]
    for i in range(len(names)):
        for group in forced[i]:
            owner.setdefault(group, i)
    for i in range(len(names)):
        for group in forced[i]:
            if owner[group] != i:
                notes[i].append(f"reals of {group} are held out by fold {names[owner[group]]}: excluded here")

    test_reals = [sum(len(real_groups[g]) for g, j in owner.items() if j == i) for i in range(len(names))]
    remaining = [g for g in real_groups if g not in owner]
    tiebreak = np.random.default_rng(seed).permutation(len(remaining))
    for k in sorted(range(len(remaining)), key=lambda k: (-len(real_groups[remaining[k]]), tiebreak[k])):
        group = remaining[k]
        target = int(np.argmin(test_reals))
        owner[group] = target
        test_reals[target] += len(real_groups[group])

    folds = []
    for i, name in enumerate(names):
        own_reals = {c.clip_id for g, j in owner.items() if j == i for c in real_groups[g]}
        test = {c.clip_id for c in held[i]} | own_reals
        test_groups = {c.source_group for c in held[i]} | set(forced[i]) | {g for g, j in owner.items() if j == i}
        fold_notes = list(notes[i])
        if name == OTHER:
            fold_notes.insert(0, f"pools families with fewer than {min_family_clips} fakes: "
                                 + ", ".join(f"{f} ({counts[f]})" for f in small))
        excluded = [c.clip_id for c in clips if c.source_group in test_groups and c.clip_id not in test]
        if excluded:
            fold_notes.append(f"{len(excluded)} clip(s) of other families share a test source group: excluded")
        folds.append(Fold(
            name=name, families=list(fold_families[i]),
            test_ids=[c.clip_id for c in clips if c.clip_id in test],
            train_ids=[c.clip_id for c in clips if c.source_group not in test_groups],
            excluded_ids=excluded, notes=fold_notes,
        ))
    return folds


def check_folds(folds: Sequence[Fold], clips: Sequence[CatalogClip]) -> None:
    """Raise ValueError unless the folds keep every rule: no source group on both sides, paired reals
    beside their fakes, every clip on exactly one side (or excluded) of each fold, and every real and
    every fake on the test side of exactly one fold."""
    by_id = {c.clip_id: c for c in clips}
    held_out: Counter[str] = Counter()
    for fold in folds:
        test, train, excluded = set(fold.test_ids), set(fold.train_ids), set(fold.excluded_ids)
        unknown = (test | train | excluded) - set(by_id)
        if unknown:
            raise ValueError(f"fold {fold.name}: unknown clip id(s) {', '.join(sorted(unknown)[:3])}")
        if len(test) + len(train) + len(excluded) != len(test | train | excluded):
            raise ValueError(f"fold {fold.name}: a clip is on more than one side")
        if len(test | train | excluded) != len(by_id):
            missing = sorted(set(by_id) - test - train - excluded)
            raise ValueError(f"fold {fold.name}: clip(s) on no side: {', '.join(missing[:3])}")
        straddling = {by_id[i].source_group for i in test} & {by_id[i].source_group for i in train}
        if straddling:
            raise ValueError(f"fold {fold.name}: source group(s) on both sides: {', '.join(sorted(straddling))}")
        for clip_id in fold.test_ids:
            partner = paired_real(by_id[clip_id], clips)
            if partner is not None and partner.clip_id not in test:
                raise ValueError(f"fold {fold.name}: {clip_id} is held out but its paired real {partner.clip_id} is not")
        held_out.update(fold.test_ids)
    for clip in clips:
        if held_out[clip.clip_id] != 1:
            kind = "fake" if clip.label else "real"
            raise ValueError(f"{kind} clip {clip.clip_id} is on the test side of {held_out[clip.clip_id]} folds, not 1")
