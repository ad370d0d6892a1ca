"""Soft correlation labels y_t = 1 − D(p_t, q_t) from a pair of teacher posteriors (docs/design.md §1).

``paper`` is the public code's divergence: the symmetric KL averaged over classes,
D = mean_c[(p log(p/q) + q log(q/p)) / 2]. It is unbounded above, so y_t can go negative for
confident, disagreeing teachers; it is kept for reproduction. ``js`` (the default) is the
Jensen–Shannon divergence in bits, which lies in [0, 1], so y_t does too.
"""
from __future__ import annotations

from typing import Literal, Mapping

import numpy as np
import torch

Divergence = Literal["paper", "js"]
_EPS = 1e-12


def symmetric_kl_mean(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """mean over the last axis of (p log(p/q) + q log(q/p)) / 2."""
    p = p.clamp_min(_EPS)
    q = q.clamp_min(_EPS)
    log_ratio = p.log() - q.log()
    return ((p - q) * log_ratio / 2).mean(dim=-1)


def jensen_shannon_bits(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Jensen–Shannon divergence in bits over the last axis, in [0, 1]."""
    p = p.clamp_min(_EPS)
    q = q.clamp_min(_EPS)
    m = (p + q) / 2
    kl_pm = (p * (p.log() - m.log())).sum(dim=-1)
    kl_qm = (q * (q.log() - m.log())).sum(dim=-1)
    return ((kl_pm + kl_qm) / 2 / torch.log(torch.tensor(2.0, dtype=p.dtype))).clamp(0.0, 1.0)


def soft_correlation_label(p: torch.Tensor, q: torch.Tensor, divergence: Divergence = "js") -> torch.Tensor:
    """y_t for posteriors ``p`` (audio) and ``q`` (video) of shape (..., T, V) → (..., T)."""
    if p.shape != q.shape:
        raise ValueError(f"teacher posteriors differ in shape: {tuple(p.shape)} vs {tuple(q.shape)}")
    if divergence == "paper":
        return 1.0 - symmetric_kl_mean(p, q)
    if divergence == "js":
        return 1.0 - jensen_shannon_bits(p, q)
    raise ValueError(f"unknown divergence {divergence!r} (choose 'paper' or 'js')")


def cached_soft_label(arrays: Mapping[str, np.ndarray], divergence: Divergence = "js") -> np.ndarray | None:
    """y_t of a cached clip: its ``soft_label``, else one computed from its cached
    ``audio_posteriors`` / ``visual_posteriors``; None when no teacher ran."""
    if "soft_label" in arrays:
        return np.asarray(arrays["soft_label"], dtype=np.float32)
    if "audio_posteriors" in arrays and "visual_posteriors" in arrays:
        p = torch.from_numpy(np.asarray(arrays["audio_posteriors"], dtype=np.float32))
        q = torch.from_numpy(np.asarray(arrays["visual_posteriors"], dtype=np.float32))
        return soft_correlation_label(p, q, divergence=divergence).numpy().astype(np.float32)
    return None
