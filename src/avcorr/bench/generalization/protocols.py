"""The cross-method generalization protocol (docs/design.md §5): leave one forgery family out.

Sources (real recordings, one identity each) are dealt into ``K`` folds *before* forging, and
every fake inherits its source's fold (forge also takes its donors from the same fold), so no
person, recording or donor crosses between training and testing. For a replicate ``r`` (a
seed) the test fold is ``r mod K``; for a held-out family ``M``:

- train on every clip of the other folds except the fakes of ``M`` (real + the other families);
- test on the test fold's real clips (unseen sources) + the test fold's fakes of ``M``.

A *family* is a method with its ``-self`` variant (``lip-rewrite`` and ``lip-rewrite-self``),
so that holding out a method never leaves its near twin in training.

Variants compared on the same splits and seeds (:data:`VARIANTS`): the full model (λ_cd = λ_jm
= 1), detection only (both 0), distillation without the joint-modal loss (λ_jm = 0), and the
teacher's zero-shot score (no training). :func:`aggregate` gives mean ± sample std over
replicates; the mean over held-out families is taken *within* each replicate first, so its
spread is the spread of the quantity reported.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from avcorr.errors import ConfigError

SELF_SUFFIX = "-self"
REAL = "real"
#: Donor ids that are not a person (eSpeak voices shared by every TTS fake).
SHARED_DONOR_PREFIXES = ("tts:",)
METRICS = ("roc_auc", "ap", "eer")
#: Diagnostics beside the metrics: seen families' ROC-AUC, and the ROC-AUC of 1 − mean correlation.
DIAGNOSTICS = ("seen_roc_auc", "correlation_roc_auc")


@dataclass(frozen=True)
class Variant:
    """One column of the comparison. ``trained`` False: the teacher's zero-shot score."""

    name: str
    lambda_cd: float
    lambda_jm: float
    trained: bool
    description: str

    def overrides(self) -> list[str]:
        """Config overrides selecting this variant's losses."""
        return [f"loss.lambda_cd={self.lambda_cd}", f"loss.lambda_jm={self.lambda_jm}"]


VARIANTS: dict[str, Variant] = {
    "full": Variant("full", 1.0, 1.0, True, "detection + correlation distillation + joint-modal (λ_cd = λ_jm = 1)"),
    "detection-only": Variant("detection-only", 0.0, 0.0, True, "detection loss only (λ_cd = λ_jm = 0)"),
    "distillation-only": Variant("distillation-only", 1.0, 0.0, True,
                                 "detection + correlation distillation, no joint-modal loss (λ_jm = 0)"),
    "zero-shot": Variant("zero-shot", 0.0, 0.0, False, "the phonetic teacher's zero-shot score, no training"),
}


def method_family(method: str) -> str:
    """``lip-rewrite-self`` → ``lip-rewrite``; ``real`` stays ``real``."""
    return method[: -len(SELF_SUFFIX)] if method.endswith(SELF_SUFFIX) else method


def families(methods: Iterable[str]) -> list[str]:
    """The distinct fake families of ``methods``, in first-seen order."""
    out: list[str] = []
    for method in methods:
        family = method_family(method)
        if family != REAL and family not in out:
            out.append(family)
    return out


@dataclass(frozen=True)
class BenchClip:
    """What the protocol needs to know about one prepared clip."""

    clip_id: str
    label: int
    method: str
    source_id: str
    audio_source_id: str
    fold: int
    donors: tuple[str, ...] = ()  # other identities the clip is made of (e.g. a face-swap's face donor)

    @property
    def family(self) -> str:
        return REAL if self.label == 0 else method_family(self.method)

    def people(self) -> set[str]:
        """Identities this clip is made of (source, audio donor, other donors; not shared TTS voices)."""
        ids = {self.source_id, self.audio_source_id, *self.donors}
        return {i for i in ids if i and not i.startswith(SHARED_DONOR_PREFIXES)}


def assign_folds(source_ids: Sequence[str], num_folds: int, seed: int = 0,
                 strata: Mapping[str, str] | None = None) -> dict[str, int]:
    """Deal sources into ``num_folds`` folds of near-equal size, each stratum (e.g. ``synth`` vs
    ``shared``) spread evenly over the folds. Deterministic in (ids, num_folds, seed)."""
    unique = sorted(set(source_ids))
    if num_folds < 2:
        raise ConfigError("the protocol needs at least 2 folds (one to test, the rest to train)")
    if len(unique) < num_folds:
        raise ConfigError(f"{len(unique)} sources cannot fill {num_folds} folds")
    strata = strata or {}
    groups: dict[str, list[str]] = {}
    for source in unique:
        groups.setdefault(strata.get(source, ""), []).append(source)
    rng = np.random.default_rng([seed, 1009])
    folds: dict[str, int] = {}
    counts = np.zeros(num_folds, dtype=int)
    for name in sorted(groups):
        members = groups[name]
        for index in rng.permutation(len(members)):
            # the emptiest fold so far (ties: lowest index), so strata fill folds evenly overall
            fold = int(np.argmin(counts))
            folds[members[int(index)]] = fold
            counts[fold] += 1
    return folds


def fold_name(fold: int) -> str:
    return f"fold{fold}"


def fold_of(split: str) -> int:
    """``fold2`` → 2 (the split value forge and prepare carry for each clip)."""
    if not split.startswith("fold") or not split[4:].isdigit():
        raise ValueError(f"split {split!r} is not a fold name (foldK)")
    return int(split[4:])


@dataclass
class HoldOutSplit:
    """Clip ids of one (held-out family, test fold) split."""

    held_out: str
    test_fold: int
    train: list[str]
    test: list[str]
    seen_test: list[str] = field(default_factory=list)  # test-fold fakes of the trained families (diagnostic)


def leave_one_out(clips: Sequence[BenchClip], held_out: str, test_fold: int) -> HoldOutSplit:
    """The split holding out family ``held_out`` and testing on fold ``test_fold``."""
    train = [c.clip_id for c in clips if c.fold != test_fold and c.family != held_out]
    test = [c.clip_id for c in clips if c.fold == test_fold and c.family in (REAL, held_out)]
    seen = [c.clip_id for c in clips if c.fold == test_fold and c.family not in (REAL, held_out)]
    split = HoldOutSplit(held_out, test_fold, train, test, seen)
    check_split(split, clips)
    return split


def check_split(split: HoldOutSplit, clips: Sequence[BenchClip]) -> None:
    """Raise ValueError unless the split keeps its promises: the held-out family is absent from
    training and present in testing, the test set has real clips, no clip is on both sides, and
    no recording (source or audio donor) of a test clip appears in any training clip."""
    by_id = {c.clip_id: c for c in clips}
    train = [by_id[i] for i in split.train]
    test = [by_id[i] for i in split.test]
    if set(split.train) & set(split.test):
        raise ValueError(f"{split.held_out}: clips on both sides of the split")
    if any(c.family == split.held_out for c in train):
        raise ValueError(f"{split.held_out}: the held-out family is in training")
    if not any(c.label == 1 for c in test) or not any(c.label == 0 for c in test):
        raise ValueError(f"{split.held_out}: the test set of fold {split.test_fold} lacks real or fake clips")
    if any(c.label == 1 and c.family != split.held_out for c in test):
        raise ValueError(f"{split.held_out}: a fake of another family is in the test set")
    if not any(c.label == 1 for c in train) or not any(c.label == 0 for c in train):
        raise ValueError(f"{split.held_out}: the training set lacks real or fake clips")
    train_people = set().union(*(c.people() for c in train))
    leaked = sorted(set().union(*(c.people() for c in test)) & train_people)
    if leaked:
        raise ValueError(f"{split.held_out}: recordings in both training and testing: {', '.join(leaked[:5])}")


def replicate_fold(replicate: int, num_folds: int) -> int:
    """The test fold of the ``replicate``-th seed."""
    return replicate % num_folds


# ---------------------------------------------------------------------------------------------
# Aggregation


@dataclass
class RunResult:
    """One (variant, held-out family, seed) cell: metrics on unseen real + held-out fakes, plus
    ROC-AUC on unseen real + *seen* families' test fakes (how well the model does in-distribution)
    and ``correlation_roc_auc``: the ROC-AUC on unseen real + held-out fakes of 1 − the clip's mean
    correlation (the student's s_t; the teacher's for zero-shot) — whether the correlation the
    model learned, by itself, tells the unseen method's fakes from real clips."""

    variant: str
    held_out: str
    seed: int
    test_fold: int
    roc_auc: float
    ap: float
    eer: float
    seen_roc_auc: float
    num_real: int
    num_fake: int
    wall_s: float = 0.0
    correlation_roc_auc: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "RunResult":
        known = cls.__dataclass_fields__
        return cls(**{k: (math.nan if v is None and k in METRICS + DIAGNOSTICS else v)
                      for k, v in values.items() if k in known})


@dataclass(frozen=True)
class MeanStd:
    """Mean and sample standard deviation (ddof = 1; NaN with one value) of ``n`` finite values."""

    mean: float
    std: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"mean": _none(self.mean), "std": _none(self.std), "n": self.n}

    def format(self, digits: int = 3) -> str:
        if self.n == 0:
            return "—"
        if self.n == 1 or math.isnan(self.std):
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"


def _none(value: float) -> float | None:
    return None if math.isnan(value) else value


def mean_std(values: Iterable[float]) -> MeanStd:
    """Mean ± sample std of the finite values (NaNs, e.g. undefined AUCs, are left out)."""
    finite = np.array([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if finite.size == 0:
        return MeanStd(math.nan, math.nan, 0)
    std = float(finite.std(ddof=1)) if finite.size > 1 else math.nan
    return MeanStd(float(finite.mean()), std, int(finite.size))


@dataclass
class Aggregate:
    """``cells[variant][held_out][metric]`` over seeds; ``means[variant][metric]``: the mean over
    held-out families within each seed, then mean ± std over seeds; ``paired[metric]``: the
    per-seed difference of those means, full − detection-only (same splits, same seeds)."""

    cells: dict[str, dict[str, dict[str, MeanStd]]]
    means: dict[str, dict[str, MeanStd]]
    paired: dict[str, MeanStd]

    def to_dict(self) -> dict[str, Any]:
        return {
            "per_held_out": {v: {h: {m: s.to_dict() for m, s in ms.items()} for h, ms in hs.items()}
                             for v, hs in self.cells.items()},
            "mean_over_held_out": {v: {m: s.to_dict() for m, s in ms.items()} for v, ms in self.means.items()},
            "full_minus_detection_only": {m: s.to_dict() for m, s in self.paired.items()},
        }


def aggregate(results: Sequence[RunResult], metrics: Sequence[str] = METRICS + DIAGNOSTICS,
              baseline: str = "detection-only", candidate: str = "full") -> Aggregate:
    """Mean ± std per (variant, held-out family) over seeds, the per-seed mean over families, and
    the paired candidate − baseline difference. A seed counts in a variant's mean over families
    only when all of that variant's families have a finite value for it in that seed."""
    variants = _ordered(r.variant for r in results)
    held = _ordered(r.held_out for r in results)
    seeds = sorted({r.seed for r in results})
    index = {(r.variant, r.held_out, r.seed): r for r in results}
    cells: dict[str, dict[str, dict[str, MeanStd]]] = {}
    means: dict[str, dict[str, MeanStd]] = {}
    per_seed: dict[str, dict[str, dict[int, float]]] = {}
    for variant in variants:
        cells[variant] = {}
        for h in held:
            runs = [index[(variant, h, s)] for s in seeds if (variant, h, s) in index]
            if runs:
                cells[variant][h] = {m: mean_std(getattr(r, m) for r in runs) for m in metrics}
        per_seed[variant] = {}
        for metric in metrics:
            values: dict[int, float] = {}
            for seed in seeds:
                row = [getattr(index[(variant, h, seed)], metric) for h in held if (variant, h, seed) in index]
                if len(row) == len(held) and all(not math.isnan(v) for v in row):
                    values[seed] = float(np.mean(row))
            per_seed[variant][metric] = values
        means[variant] = {m: mean_std(per_seed[variant][m].values()) for m in metrics}
    paired: dict[str, MeanStd] = {}
    if candidate in per_seed and baseline in per_seed:
        for metric in metrics:
            a, b = per_seed[candidate][metric], per_seed[baseline][metric]
            paired[metric] = mean_std(a[s] - b[s] for s in sorted(set(a) & set(b)))
    return Aggregate(cells, means, paired)


def _ordered(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out
