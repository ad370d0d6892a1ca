"""Leave-one-generator-family-out folds over the wild corpus, one model per (family, real share).

Scores of different fold models are on different scales, so a fake may only be compared with a
real scored by the *same* model. Hence every fold holds out a family's fakes together with a share
of the real clips:

- families: one per family with at least ``min_family_clips`` fakes; the smaller families are
  pooled into one named ``other``;
- real shares: the real source groups are dealt into ``real_shares`` (K) shares ``reals-1`` …
  ``reals-K``, largest group first, each to the share with the fewest reals so far (ties: the
  lower share; equal-sized groups in an order drawn from ``seed``);
- a fold is a pair (family F, share R), named ``F|R``: its test side is every fake of F, the reals
  of R and the reals *forced* by F (every real of a source group that holds a fake of F, or that
  holds the paired real of one); its test groups are the source groups of its test clips; its
  training side is every clip outside them; the other clips of a test group (fakes of other
  families) are excluded from both sides.

So every fake is held out by K folds (one per share) and, for each family, every real by at least
one fold of that family (the forced reals by all K).

No real source group may dominate a threshold or an AUC: :func:`avcorr.data.catalog.cap_real_groups` keeps at most
``max_per_group`` reals of each source group (the ones paired with a fake first, then a fixed
draw by CRC-32 of the clip id) before the folds are built — the corpus once held 45 clips of one
GRID speaker among 83 reals, and every model learned that studio. Capping (rather than weighting
pairs) keeps every statistic a plain count over clips.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from avcorr.data.catalog import CatalogClip, paired_real
from avcorr.errors import AvcorrError

OTHER = "other"
SHARE_PREFIX = "reals-"
SEPARATOR = "|"


@dataclass
class Fold:
    """One held-out split (``family`` × ``real_share``); ids in catalog order."""

    name: str
    family: str
    real_share: str
    families: list[str]
    test_ids: list[str]
    train_ids: list[str]
    excluded_ids: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Fold":
        text = ("name", "family", "real_share")
        return cls(**{k: (str(v) if k in text else [str(x) for x in v]) for k, v in data.items()})


def fold_name(family: str, real_share: str) -> str:
    """``family|real_share``, e.g. ``Hallo|reals-1``."""
    return f"{family}{SEPARATOR}{real_share}"


def share_of_fold(name: str) -> str:
    """The real share of a fold name (``Hallo|reals-1`` → ``reals-1``); the name itself without a separator."""
    return name.rsplit(SEPARATOR, 1)[-1]


def deal_real_shares(clips: Sequence[CatalogClip], real_shares: int = 2, seed: int = 0) -> dict[str, str]:
    """Real source group → share name (see the module docstring)."""
    sizes = Counter(c.source_group for c in clips if c.label == 0)
    if real_shares < 1:
        raise AvcorrError(f"need at least 1 real share, got {real_shares}")
    if len(sizes) < real_shares:
        raise AvcorrError(f"{real_shares} real shares need as many real source groups; the catalog has {len(sizes)}")
    groups = list(sizes)
    tiebreak = np.random.default_rng(seed).permutation(len(groups))
    filled = [0] * real_shares
    share: dict[str, str] = {}
    for k in sorted(range(len(groups)), key=lambda k: (-sizes[groups[k]], tiebreak[k])):
        target = int(np.argmin(filled))
        share[groups[k]] = f"{SHARE_PREFIX}{target + 1}"
        filled[target] += sizes[groups[k]]
    return share


def build_folds(clips: Sequence[CatalogClip], min_family_clips: int = 3, seed: int = 0,
                real_shares: int = 2) -> list[Fold]:
    """The folds of ``clips``: families by name (``other`` last), each with its shares in order."""
    fakes = [c for c in clips if c.label == 1]
    if not fakes:
        raise AvcorrError("the catalog holds no fake clips: there is no family to hold out")
    share_of_group = deal_real_shares(clips, real_shares, seed)
    shares = [f"{SHARE_PREFIX}{k + 1}" for k in range(real_shares)]
    real_groups: dict[str, list[CatalogClip]] = defaultdict(list)
    for clip in clips:
        if clip.label == 0:
            real_groups[clip.source_group].append(clip)

    counts = Counter(c.family for c in fakes)
    big = sorted((f for f, n in counts.items() if n >= min_family_clips), key=str.lower)
    small = sorted((f for f, n in counts.items() if n < min_family_clips), key=str.lower)
    groupings = [(f, [f]) for f in big] + ([(OTHER, small)] if small else [])

    folds = []
    for family, members in groupings:
        held = [c for c in fakes if c.family in members]
        forced = {p.source_group for p in (paired_real(f, clips) for f in held) if p is not None}
        forced |= {f.source_group for f in held if f.source_group in real_groups}
        for share in shares:
            reals = [c for g, cs in real_groups.items() if g in forced or share_of_group[g] == share for c in cs]
            test = {c.clip_id for c in held} | {c.clip_id for c in reals}
            test_groups = {c.source_group for c in held} | {c.source_group for c in reals}
            notes = []
            if family == OTHER:
                notes.append(f"pools families with fewer than {min_family_clips} fakes: "
                             + ", ".join(f"{f} ({counts[f]})" for f in small))
            borrowed = sorted(g for g in forced if share_of_group[g] != share)
            if borrowed:
                notes.append("forced onto the test side by this family's fakes: reals of "
                             + ", ".join(f"{g} ({share_of_group[g]})" for g in borrowed))
            excluded = [c.clip_id for c in clips if c.source_group in test_groups and c.clip_id not in test]
            if excluded:
                notes.append(f"{len(excluded)} clip(s) of other families share a test source group: excluded")
            folds.append(Fold(
                name=fold_name(family, share), family=family, real_share=share, families=list(members),
                test_ids=[c.clip_id for c in clips if c.clip_id in test],
                train_ids=[c.clip_id for c in clips if c.source_group not in test_groups],
                excluded_ids=excluded, notes=notes,
            ))
    return folds


def check_folds(folds: Sequence[Fold], clips: Sequence[CatalogClip]) -> None:
    """Raise ValueError unless the folds keep every rule:

    1. per fold: every clip on exactly one side (test, train or excluded), no source group on both
       the test and the training side, every held-out fake's paired real on the test side, the
       test fakes exactly the fakes of the fold's families, at least one real on the test side,
       and the name ``family|real_share``;
    2. the families of different family names are disjoint, and every family name has exactly one
       fold per share, the same K shares for all;
    3. every fake is on the test side of exactly K folds (one per share) — those of its family;
    4. for each family name, every real is on the test side of at least one of its folds, and a real
       on the test side of several of them is forced by the family (its source group holds a fake
       of the family or the paired real of one).
    """
    by_id = {c.clip_id: c for c in clips}
    shares_of: dict[str, list[str]] = defaultdict(list)
    members_of: dict[str, set[str]] = {}
    for fold in folds:
        _check_one(fold, clips, by_id)
        shares_of[fold.family].append(fold.real_share)
        if members_of.setdefault(fold.family, set(fold.families)) != set(fold.families):
            raise ValueError(f"fold {fold.name}: families differ from the other folds of {fold.family}")
    family_names = list(members_of)
    for i, a in enumerate(family_names):
        for b in family_names[i + 1:]:
            if members_of[a] & members_of[b]:
                raise ValueError(f"families {a} and {b} share {', '.join(sorted(members_of[a] & members_of[b]))}")
    shares = sorted(shares_of[family_names[0]]) if family_names else []
    for family, got in shares_of.items():
        if len(got) != len(set(got)) or sorted(got) != shares:
            raise ValueError(f"family {family}: real shares {', '.join(got)}, expected one fold each of "
                             + ", ".join(shares))
    held: Counter[str] = Counter()
    for fold in folds:
        held.update(fold.test_ids)
    for clip in clips:
        if clip.label == 1 and held[clip.clip_id] != len(shares):
            raise ValueError(f"fake clip {clip.clip_id} is on the test side of {held[clip.clip_id]} folds, "
                             f"not {len(shares)} (one per real share)")
    for family in family_names:
        own = [f for f in folds if f.family == family]
        fakes = [c for c in clips if c.label == 1 and c.family in members_of[family]]
        forced = {f.source_group for f in fakes}
        forced |= {p.source_group for p in (paired_real(f, clips) for f in fakes) if p is not None}
        count = Counter(i for f in own for i in f.test_ids)
        for clip in clips:
            if clip.label == 1:
                continue
            if count[clip.clip_id] == 0:
                raise ValueError(f"family {family}: real clip {clip.clip_id} is on the test side of none of its folds")
            if count[clip.clip_id] > 1 and clip.source_group not in forced:
                raise ValueError(f"family {family}: real clip {clip.clip_id} is on the test side of "
                                 f"{count[clip.clip_id]} folds but not forced by the family's fakes")


def _check_one(fold: Fold, clips: Sequence[CatalogClip], by_id: Mapping[str, CatalogClip]) -> None:
    test, train, excluded = set(fold.test_ids), set(fold.train_ids), set(fold.excluded_ids)
    unknown = (test | train | excluded) - set(by_id)
    if unknown:
        raise ValueError(f"fold {fold.name}: unknown clip id(s) {', '.join(sorted(unknown)[:3])}")
    if len(test) + len(train) + len(excluded) != len(test | train | excluded):
        raise ValueError(f"fold {fold.name}: a clip is on more than one side")
    if len(test | train | excluded) != len(by_id):
        missing = sorted(set(by_id) - test - train - excluded)
        raise ValueError(f"fold {fold.name}: clip(s) on no side: {', '.join(missing[:3])}")
    if fold.name != fold_name(fold.family, fold.real_share):
        raise ValueError(f"fold {fold.name}: name is not {fold_name(fold.family, fold.real_share)}")
    straddling = {by_id[i].source_group for i in test} & {by_id[i].source_group for i in train}
    if straddling:
        raise ValueError(f"fold {fold.name}: source group(s) on both sides: {', '.join(sorted(straddling))}")
    for clip_id in fold.test_ids:
        partner = paired_real(by_id[clip_id], clips)
        if partner is not None and partner.clip_id not in test:
            raise ValueError(f"fold {fold.name}: {clip_id} is held out but its paired real {partner.clip_id} is not")
    test_fakes = {i for i in test if by_id[i].label == 1}
    family_fakes = {c.clip_id for c in clips if c.label == 1 and c.family in fold.families}
    if test_fakes != family_fakes:
        odd = sorted(test_fakes ^ family_fakes)
        raise ValueError(f"fold {fold.name}: test fakes differ from the fakes of its families ({', '.join(odd[:3])})")
    if not any(by_id[i].label == 0 for i in test):
        raise ValueError(f"fold {fold.name}: no real clip on the test side")
