"""Pooled within-fold pairwise AUC: hand-computed pools, weights, bootstrap against a slow loop, paired differences."""
from __future__ import annotations

import numpy as np
import pytest

from avcorr.bench.wild.pairs import bootstrap_pairs, concordance, pair_pool
from avcorr.eval.bootstrap import Interval, draw_counts

# Two fold models on different scales. Fold A: a1 .9, a2 .4 vs r1 .1, r2 .5 → 3 of 4 pairs right.
# Fold B: a1 .2, a3 .3 vs r3 .3, r4 .9 → a3 ties r3 (½), the rest wrong → ½ of 4. Pooled: 3.5 / 8.
SCORES = {"A": ({"a1": 0.9, "a2": 0.4}, {"r1": 0.1, "r2": 0.5}),
          "B": ({"a1": 0.2, "a3": 0.3}, {"r3": 0.3, "r4": 0.9})}


def test_concordance_and_the_pooled_value() -> None:
    np.testing.assert_array_equal(concordance([0.9, 0.4], [0.1, 0.5]), [[1, 1], [1, 0]])
    pool = pair_pool(SCORES)
    assert pool.fake_ids == ("a1", "a2", "a3") and pool.real_ids == ("r1", "r2", "r3", "r4")
    assert pool.num_pairs == 8 and pool.value() == pytest.approx(3.5 / 8)
    np.testing.assert_array_equal(pool.folds[1].fake_index, [0, 2])  # a1 is one clip in both folds
    np.testing.assert_array_equal(pool.folds[1].values, [[0, 0], [0.5, 0]])


def test_weights_are_clip_multiplicities() -> None:
    pool = pair_pool(SCORES)
    # a1 drawn twice, a2 never, a3 once; every real once. Fold A: 2·(1 + 1) over 2·2; fold B: a1 2·(0 + 0),
    # a3 1·(½ + 0), over (2 + 1)·2. Pooled: (4 + 0.5) / (4 + 6).
    fake_w = np.array([[2.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    real_w = np.ones((2, 4))
    np.testing.assert_allclose(pool.weighted(fake_w, real_w), [4.5 / 10, 3.5 / 8])
    assert np.isnan(pool.weighted(np.array([[0.0, 0.0, 0.0]]), np.ones((1, 4)))[0])


def test_draw_counts_are_bincounts_of_draws() -> None:
    counts = draw_counts(5, 300, np.random.default_rng(2))
    assert counts.shape == (300, 5) and (counts.sum(axis=1) == 5).all()
    draws = np.random.default_rng(2).integers(0, 5, size=(300, 5))
    np.testing.assert_array_equal(counts[7], np.bincount(draws[7], minlength=5))


def test_all_concordant_pairs_give_a_point_interval() -> None:
    scores = {"A": ({"a1": 0.9, "a2": 0.8}, {"r1": 0.1, "r2": 0.5}), "B": ({"a1": 0.6}, {"r3": 0.3, "r1": 0.2})}
    assert bootstrap_pairs(pair_pool(scores), n_boot=500) == Interval(value=1.0, low=1.0, high=1.0, n_boot=500)


def test_bootstrap_equals_resampling_clips_by_hand() -> None:
    rng = np.random.default_rng(0)
    scores = {f"F{k}": ({f"f{i}": float(rng.random()) for i in rng.choice(6, 3, replace=False)},
                        {f"r{i}": float(np.round(rng.random(), 1)) for i in rng.choice(8, 4, replace=False)})
              for k in range(3)}
    pool = pair_pool(scores)
    n_boot, seed = 400, 11
    draws = np.random.default_rng(seed)
    fake_draws = draws.integers(0, len(pool.fake_ids), size=(n_boot, len(pool.fake_ids)))
    real_draws = draws.integers(0, len(pool.real_ids), size=(n_boot, len(pool.real_ids)))
    slow = []
    for fd, rd in zip(fake_draws, real_draws):
        right = total = 0.0
        for fakes, reals in scores.values():  # every drawn copy of a clip brings its instance in each fold
            f = [fakes[pool.fake_ids[i]] for i in fd if pool.fake_ids[i] in fakes]
            r = [reals[pool.real_ids[i]] for i in rd if pool.real_ids[i] in reals]
            right += concordance(f, r).sum()
            total += len(f) * len(r)
        slow.append(right / total if total else np.nan)
    low, high = np.nanpercentile(slow, [2.5, 97.5])
    iv = bootstrap_pairs(pool, n_boot=n_boot, seed=seed)
    assert (iv.value, iv.low, iv.high) == pytest.approx((pool.value(), low, high), abs=1e-12)


def test_paired_difference_over_common_pairs() -> None:
    # Baseline scores everything 0.5 (all ties: ½ per pair) and lacks r4 and fold C.
    baseline = {"A": ({"a1": 0.5, "a2": 0.5}, {"r1": 0.5, "r2": 0.5}), "B": ({"a1": 0.5, "a3": 0.5}, {"r3": 0.5})}
    scores = {**SCORES, "C": ({"a1": 0.1}, {"r1": 0.0})}
    diff = pair_pool(scores, baseline=baseline)
    # Common pairs: fold A's 4 (3 right) and fold B's a1, a3 vs r3 (½ right): (3 + ½ − 6 · ½) / 6.
    assert diff.num_pairs == 6 and diff.value() == pytest.approx((3.5 - 3) / 6)
    same = bootstrap_pairs(pair_pool(SCORES, baseline=SCORES), n_boot=200)
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0)
    empty = bootstrap_pairs(pair_pool(SCORES, baseline={}), n_boot=10)
    assert np.isnan(empty.value) and np.isnan(empty.low)
