"""ROC-AUC from (fake, real) pairs scored by the same fold model, pooled over folds, with a bootstrap.

Scores of different fold models are on different scales, so a fake is only compared with a real
that the same fold held out. The pooled ROC-AUC is the share of such pairs ranked right (fake above
real; ties count ½) over all of them — the Mann–Whitney AUC summed over folds. A paired difference
of two detectors is the mean over the same pairs of the difference of their concordances.

The bootstrap resamples *clips*, fakes and reals separately with replacement (so every replicate
keeps both classes); a drawn clip brings all its fold instances. A replicate is then a weighted
sum: per fold, ``fake_weights @ values @ real_weights`` over ``Σ fake_weights · Σ real_weights``,
with the weights the clips' draw counts (:func:`avcorr.eval.bootstrap.draw_counts`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from avcorr.eval.bootstrap import Interval, check_boot, draw_counts, percentile_interval

# fold name → (fake clip id → score, real clip id → score): one fold model's held-out scores.
FoldScores = Mapping[str, tuple[Mapping[str, float], Mapping[str, float]]]


@dataclass(frozen=True)
class FoldPairs:
    """One fold's (fake, real) pairs: clip indices into the pool and the pair values (n_fake × n_real)."""

    fold: str
    fake_index: np.ndarray
    real_index: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class PairPool:
    """The pairs of several folds over one set of fake and real clips (ids sorted)."""

    fake_ids: tuple[str, ...]
    real_ids: tuple[str, ...]
    folds: tuple[FoldPairs, ...]

    @property
    def num_pairs(self) -> int:
        return sum(f.values.size for f in self.folds)

    def value(self) -> float:
        """The mean pair value (the pooled AUC, or the mean paired difference); NaN without pairs."""
        return float(sum(f.values.sum() for f in self.folds) / self.num_pairs) if self.num_pairs else math.nan

    def weighted(self, fake_weights: np.ndarray, real_weights: np.ndarray) -> np.ndarray:
        """The mean pair value per row of per-clip weights ((B, n_fake) and (B, n_real)); NaN where no pair weighs."""
        top = np.zeros(fake_weights.shape[0])
        bottom = np.zeros(fake_weights.shape[0])
        for f in self.folds:
            wf, wr = fake_weights[:, f.fake_index], real_weights[:, f.real_index]
            top += ((wf @ f.values) * wr).sum(axis=1)
            bottom += wf.sum(axis=1) * wr.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)


def concordance(fake_scores: np.ndarray, real_scores: np.ndarray) -> np.ndarray:
    """(n_fake, n_real): 1 where the fake scores above the real, ½ on a tie, else 0."""
    f = np.asarray(fake_scores, dtype=float)[:, None]
    r = np.asarray(real_scores, dtype=float)[None, :]
    return (f > r) + 0.5 * (f == r)


def pair_pool(scores: FoldScores, baseline: FoldScores | None = None) -> PairPool:
    """The pairs of ``scores`` (values: concordance), or, with ``baseline``, the pairs both score
    (same fold, same clips) valued by the concordance difference ``scores − baseline``."""
    folds: list[tuple[str, list[str], list[str], np.ndarray]] = []
    for fold, (fakes, reals) in scores.items():
        if baseline is not None:
            if fold not in baseline:
                continue
            base_fakes, base_reals = baseline[fold]
            fake_ids = sorted(set(fakes) & set(base_fakes))
            real_ids = sorted(set(reals) & set(base_reals))
        else:
            fake_ids, real_ids = sorted(fakes), sorted(reals)
        if not fake_ids or not real_ids:
            continue
        values = concordance([fakes[i] for i in fake_ids], [reals[i] for i in real_ids])
        if baseline is not None:
            base_fakes, base_reals = baseline[fold]
            values = values - concordance([base_fakes[i] for i in fake_ids], [base_reals[i] for i in real_ids])
        folds.append((fold, fake_ids, real_ids, values))
    all_fakes = tuple(sorted({i for _, f, _, _ in folds for i in f}))
    all_reals = tuple(sorted({i for _, _, r, _ in folds for i in r}))
    fake_at = {c: k for k, c in enumerate(all_fakes)}
    real_at = {c: k for k, c in enumerate(all_reals)}
    return PairPool(fake_ids=all_fakes, real_ids=all_reals, folds=tuple(
        FoldPairs(fold=name, fake_index=np.array([fake_at[i] for i in f], dtype=int),
                  real_index=np.array([real_at[i] for i in r], dtype=int), values=v)
        for name, f, r, v in folds))


def bootstrap_pairs(pool: PairPool, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> Interval:
    """``pool.value()`` and its ``level`` percentile interval over ``n_boot`` stratified clip resamples."""
    check_boot(n_boot, level)
    if not pool.num_pairs:
        return Interval(value=math.nan, low=math.nan, high=math.nan, n_boot=n_boot)
    rng = np.random.default_rng(seed)
    fake_w = draw_counts(len(pool.fake_ids), n_boot, rng)
    real_w = draw_counts(len(pool.real_ids), n_boot, rng)
    return percentile_interval(pool.value(), pool.weighted(fake_w, real_w), level)
