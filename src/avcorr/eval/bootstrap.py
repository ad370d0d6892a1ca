"""Bootstrap confidence intervals: the one resampling and percentile interval of the project.

:func:`draw_counts` draws clips with replacement as per-clip multiplicities (a replicate is a
weighted statistic), :func:`percentile_interval` turns replicate values into an interval; the
wild benchmark's pooled pair AUC and the lip teacher's corpus evaluation are built on both.

Clip-level detection metrics (:func:`bootstrap_ci`): clips are resampled *stratified by class*: the real clips and the fake clips are each drawn with
replacement to their own count, so every replicate holds both classes and ROC-AUC / AP stay
defined. The interval is the percentile interval of the replicate values. ROC-AUC and AP of
:mod:`avcorr.eval.metrics` are computed for all replicates at once (a resample is a set of
per-clip counts, i.e. sample weights); any other metric is called once per replicate.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import numpy as np

from avcorr.eval.metrics import average_precision, roc_auc

Metric = Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class Interval:
    """A metric on the original clips (``value``) and its bootstrap percentile interval."""

    value: float
    low: float
    high: float
    n_boot: int

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def bootstrap_ci(labels: Sequence[int], scores: Sequence[float], metric: Metric, n_boot: int = 1000,
                 seed: int = 0, level: float = 0.95) -> Interval:
    """``metric(labels, scores)`` with its ``level`` percentile interval over ``n_boot`` stratified resamples.

    ``labels`` 0 real / 1 fake, ``scores`` probability of fake. NaN everywhere when a class is absent.
    """
    y, s = _checked(labels, scores)
    check_boot(n_boot, level)
    value = float(metric(y, s))
    if (y == 0).sum() == 0 or (y == 1).sum() == 0:
        return Interval(value=value, low=math.nan, high=math.nan, n_boot=n_boot)
    return percentile_interval(value, bootstrap_replicates(y, s, metric, n_boot=n_boot, seed=seed), level)


def check_boot(n_boot: int, level: float) -> None:
    """Raise ValueError unless ``n_boot >= 1`` and ``0 < level < 1``."""
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")


def percentile_interval(value: float, replicates: np.ndarray, level: float = 0.95) -> Interval:
    """``value`` with the ``level`` percentile interval of ``replicates`` (NaN replicates ignored;
    NaN bounds when none is finite); ``n_boot`` is the number of replicates."""
    replicates = np.asarray(replicates, dtype=float)
    finite = replicates[np.isfinite(replicates)]
    if not finite.size:
        return Interval(value=float(value), low=math.nan, high=math.nan, n_boot=len(replicates))
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(finite, [tail, 100.0 - tail])
    return Interval(value=float(value), low=float(low), high=float(high), n_boot=len(replicates))


def draw_counts(n: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n) draw counts of ``n`` clips resampled ``n`` times with replacement, one row per replicate."""
    return _multiplicities(rng.integers(0, n, size=(n_boot, n)), n)


def _multiplicities(draws: np.ndarray, n: int) -> np.ndarray:
    """(B, n) counts of each of ``n`` indices in each row of ``draws`` (B, k)."""
    offsets = n * np.arange(draws.shape[0])[:, None]  # one bincount for all replicates
    return np.bincount((draws + offsets).ravel(), minlength=draws.shape[0] * n).reshape(draws.shape[0], n).astype(float)


def bootstrap_replicates(labels: Sequence[int], scores: Sequence[float], metric: Metric, n_boot: int = 1000,
                         seed: int = 0) -> np.ndarray:
    """The ``n_boot`` replicate values of ``metric`` (reals and fakes each resampled with replacement)."""
    y, s = _checked(labels, scores)
    real, fake = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    if len(real) == 0 or len(fake) == 0:
        raise ValueError("stratified bootstrap needs both real and fake clips")
    rng = np.random.default_rng(seed)
    draws = np.concatenate([real[rng.integers(0, len(real), size=(n_boot, len(real)))],
                            fake[rng.integers(0, len(fake), size=(n_boot, len(fake)))]], axis=1)  # (n_boot, n) clip indices
    if metric is roc_auc or metric is average_precision:
        return (_weighted_auc if metric is roc_auc else _weighted_ap)(y, s, _multiplicities(draws, len(y)))
    return np.array([float(metric(y[row], s[row])) for row in draws])


def _checked(labels: Sequence[int], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).astype(int)
    s = np.asarray(scores, dtype=float)
    if y.shape != s.shape or y.ndim != 1:
        raise ValueError(f"{y.size} labels but {s.size} scores")
    if np.isnan(s).any():
        raise ValueError(f"{int(np.isnan(s).sum())} NaN score(s): drop them before bootstrapping")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (real) or 1 (fake)")
    return y, s


def _weighted_auc(y: np.ndarray, s: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """ROC-AUC per row of per-clip ``counts``: the weighted share of (real, fake) pairs ranked right, ties half."""
    real, fake = y == 0, y == 1
    wins = (s[fake][None, :] > s[real][:, None]) + 0.5 * (s[fake][None, :] == s[real][:, None])
    cr, cf = counts[:, real], counts[:, fake]
    return np.einsum("bi,ij,bj->b", cr, wins, cf) / (cr.sum(1) * cf.sum(1))


def _weighted_ap(y: np.ndarray, s: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """AP per row of per-clip ``counts``: sum over distinct thresholds of recall gain × precision (sklearn's steps)."""
    thresholds, group = np.unique(-s, return_inverse=True)  # distinct scores, highest first
    fake_w = np.zeros((counts.shape[0], len(thresholds)))
    real_w = np.zeros_like(fake_w)
    np.add.at(fake_w.T, group[y == 1], counts[:, y == 1].T)
    np.add.at(real_w.T, group[y == 0], counts[:, y == 0].T)
    tp, fp = np.cumsum(fake_w, axis=1), np.cumsum(real_w, axis=1)
    precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    return (fake_w * precision).sum(axis=1) / tp[:, -1]
