"""NaN-safe summary statistics shared by the cue extractors.

A cue that cannot be measured (too few frames, a zero denominator, a missing array) is NaN, never
an exception and never a warning: the feature classifier imputes NaN with its training median.
"""
from __future__ import annotations

import numpy as np

NAN = float("nan")


def finite(values: np.ndarray) -> np.ndarray:
    """The finite entries of ``values``, flattened (float64)."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    return v[np.isfinite(v)]


def mean(values: np.ndarray) -> float:
    """Mean of the finite entries; NaN when there are none."""
    v = finite(values)
    return float(v.mean()) if v.size else NAN


def median(values: np.ndarray) -> float:
    """Median of the finite entries; NaN when there are none."""
    v = finite(values)
    return float(np.median(v)) if v.size else NAN


def std(values: np.ndarray, min_count: int = 2) -> float:
    """Population standard deviation of the finite entries; NaN below ``min_count`` of them."""
    v = finite(values)
    return float(v.std()) if v.size >= min_count else NAN


def ratio(numerator: float, denominator: float, eps: float = 0.0) -> float:
    """``(numerator + eps) / (denominator + eps)``; NaN when either is NaN or the denominator is 0."""
    if not (np.isfinite(numerator) and np.isfinite(denominator)):
        return NAN
    d = denominator + eps
    return float((numerator + eps) / d) if d > 0 else NAN


def log_ratio(numerator: float, denominator: float, eps: float = 1e-6) -> float:
    """``log((numerator + eps) / (denominator + eps))`` for non-negative inputs; NaN if undefined."""
    r = ratio(numerator, denominator, eps)
    return float(np.log(r)) if np.isfinite(r) and r > 0 else NAN


def slope(values: np.ndarray, dt: float = 1.0) -> float:
    """Least-squares slope of ``values`` against time ``index · dt`` (units of values per unit of dt).

    Non-finite samples are left out; NaN with fewer than 3 finite samples.
    """
    y = np.asarray(values, dtype=np.float64).reshape(-1)
    t = np.arange(y.size, dtype=np.float64) * dt
    keep = np.isfinite(y)
    if keep.sum() < 3:
        return NAN
    t, y = t[keep], y[keep]
    tc = t - t.mean()
    denom = float(tc @ tc)
    return float(tc @ (y - y.mean()) / denom) if denom > 0 else NAN


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation over the positions where both are finite; NaN if either is constant."""
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    n = min(a.size, b.size)
    a, b = a[:n], b[:n]
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 3:
        return NAN
    a, b = a[keep] - a[keep].mean(), b[keep] - b[keep].mean()
    denom = float(np.sqrt((a @ a) * (b @ b)))
    return float(a @ b / denom) if denom > 1e-12 else NAN


def rms(values: np.ndarray) -> float:
    """Root mean square of the finite entries; NaN when there are none."""
    v = finite(values)
    return float(np.sqrt(np.mean(v * v))) if v.size else NAN
