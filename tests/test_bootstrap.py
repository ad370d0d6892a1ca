"""Stratified bootstrap CIs: exact cases (perfect separation; a 2 + 2 case enumerated by hand)."""
from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest

from avcorr.eval.bootstrap import Interval, bootstrap_ci, bootstrap_replicates
from avcorr.eval.metrics import average_precision, roc_auc

# Reals 0.1, 0.6; fakes 0.4, 0.9. Each class resampled with replacement: 4 × 4 equally likely draws.
# Reals {0.1,0.1} (1/4): AUC 1 whatever the fakes. Reals {0.6,0.6} (1/4): fakes {0.4,0.4} → 0,
# {0.9,0.9} → 1, mixed (1/2) → 0.5. Reals mixed (1/2): a 0.4 fake beats one real of two, a 0.9 fake
# both: fakes {0.4,0.4} → 0.5, {0.9,0.9} → 1, mixed → 0.75. Hence P(0) = 1/16, P(0.5) = 4/16,
# P(0.75) = 4/16, P(1) = 7/16.
LABELS = np.array([0, 0, 1, 1])
SCORES = np.array([0.1, 0.6, 0.4, 0.9])
EXACT = {0.0: 1 / 16, 0.5: 4 / 16, 0.75: 4 / 16, 1.0: 7 / 16}


def test_hand_distribution_matches_enumeration() -> None:
    counts: Counter[float] = Counter()
    for reals in itertools.product([0, 1], repeat=2):
        for fakes in itertools.product([2, 3], repeat=2):
            idx = list(reals) + list(fakes)
            counts[roc_auc(LABELS[idx], SCORES[idx])] += 1
    assert {k: v / 16 for k, v in counts.items()} == EXACT


def test_replicates_follow_the_exact_distribution() -> None:
    values = bootstrap_replicates(LABELS, SCORES, roc_auc, n_boot=200_000, seed=3)
    assert set(np.round(values, 12)) == set(EXACT)
    for value, p in EXACT.items():
        assert np.isclose(values, value).mean() == pytest.approx(p, abs=0.005)


@pytest.mark.parametrize("level, low, high", [(0.95, 0.0, 1.0), (0.5, 0.5, 1.0), (0.2, 0.75, 1.0)])
def test_percentiles_match_exact_quantiles(level: float, low: float, high: float) -> None:
    # CDF: 1/16 at 0, 5/16 at 0.5, 9/16 at 0.75; e.g. level 0.5 → quantiles 25% = 0.5, 75% = 1.
    iv = bootstrap_ci(LABELS, SCORES, roc_auc, n_boot=20_000, seed=1, level=level)
    assert iv == Interval(value=0.75, low=low, high=high, n_boot=20_000)
    assert iv.value == roc_auc(LABELS, SCORES)


def test_perfect_separation_gives_a_point_interval() -> None:
    y = np.array([0] * 5 + [1] * 7)
    s = np.concatenate([np.linspace(0, 0.4, 5), np.linspace(0.6, 1, 7)])
    for metric in (roc_auc, average_precision):
        iv = bootstrap_ci(y, s, metric, n_boot=500)
        assert (iv.value, iv.low, iv.high) == pytest.approx((1.0, 1.0, 1.0), abs=1e-12)  # sklearn's AP: 1 - 2e-16


@pytest.mark.parametrize("metric", [roc_auc, average_precision])
def test_vectorized_metrics_equal_the_per_replicate_calls(metric) -> None:  # noqa: ANN001
    rng = np.random.default_rng(0)
    y = np.array([0] * 9 + [1] * 6)
    s = np.round(rng.random(15), 1)  # ties inside and across classes
    fast = bootstrap_replicates(y, s, metric, n_boot=300, seed=5)
    slow = bootstrap_replicates(y, s, lambda a, b: metric(a, b), n_boot=300, seed=5)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)


def test_deterministic_for_a_seed_and_nan_without_a_class() -> None:
    rng = np.random.default_rng(1)
    y, s = rng.integers(0, 2, 40), rng.random(40)
    assert bootstrap_ci(y, s, roc_auc, seed=7) == bootstrap_ci(y, s, roc_auc, seed=7)
    one_class = bootstrap_ci(np.zeros(4, dtype=int), s[:4], roc_auc)
    assert math.isnan(one_class.value) and math.isnan(one_class.low) and one_class.to_dict()["low"] is None
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_ci([0, 1], [0.2, math.nan], roc_auc)
