"""The three losses of the method (docs/design.md §1): detection, correlation distillation, joint-modal.

L = L_ce + λ_cd · L_cd + λ_jm · L_jm.

- L_ce: frame-level cross-entropy of the classifier (class 1 = fake).
- L_cd: BCE of the student correlation s_t to the teacher's soft label y_t, over all clips.
- L_jm: per clip, d = sigmoid(‖y − s‖₂ over time) (``paper``) or ‖y − s‖₂ / √T (``scale_free``);
  real clips pull d to 0, fake clips push it beyond the margin m: (1 − ℓ)d² + ℓ·max(0, m − d)².
  In the ``paper`` form d ≥ 0.5 always (a sigmoid of a norm), so a real clip's loss never falls
  below 0.25; the scale-free form has no such floor and does not grow with clip length.

The correlation losses run in float32 even under AMP (BCE is not autocast-safe).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from avcorr.config import LossConfig
from avcorr.models.detector import DetectorOutput

_PROB_EPS = 1e-6


@dataclass
class LossTerms:
    """The total and its (unweighted) parts, each a scalar tensor."""

    total: torch.Tensor
    detection: torch.Tensor
    distillation: torch.Tensor
    joint_modal: torch.Tensor


def detection_loss(frame_logits: torch.Tensor, frame_labels: torch.Tensor, class_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy over all frames: logits (B, T, 2), labels (B, T) in {0, 1}.

    With ``class_weights`` (one per class) it is the weighted mean, so that a training set with
    five fakes per real clip does not teach the head to call everything fake.
    """
    weight = None if class_weights is None else class_weights.float()
    return F.cross_entropy(frame_logits.float().reshape(-1, frame_logits.shape[-1]), frame_labels.reshape(-1).long(), weight=weight)


def balanced_class_weights(labels: list[int], num_classes: int = 2) -> list[float]:
    """w_c = N / (C · N_c): inverse class frequency, 1 for every class when balanced; absent classes get 0."""
    counts = [sum(1 for label in labels if label == c) for c in range(num_classes)]
    present = sum(1 for n in counts if n)
    return [len(labels) / (present * n) if n else 0.0 for n in counts]


def distillation_loss(correlation: torch.Tensor, soft_label: torch.Tensor) -> torch.Tensor:
    """Mean BCE(s_t, y_t). y_t is clipped to [0, 1] (the ``paper`` divergence can leave it)."""
    s = correlation.float().clamp(_PROB_EPS, 1.0 - _PROB_EPS)
    y = soft_label.float().clamp(0.0, 1.0)
    with torch.autocast(device_type=s.device.type, enabled=False):
        return F.binary_cross_entropy(s, y)


def correlation_distance(correlation: torch.Tensor, soft_label: torch.Tensor, form: str = "paper") -> torch.Tensor:
    """Per-clip distance d between (B, T) student and teacher correlations → (B,)."""
    norm = torch.linalg.vector_norm(soft_label.float() - correlation.float(), dim=-1)
    if form == "paper":
        return torch.sigmoid(norm)
    if form == "scale_free":
        return norm / correlation.shape[-1] ** 0.5
    raise ValueError(f"unknown joint-modal form {form!r} (choose 'paper' or 'scale_free')")


def joint_modal_loss(
    correlation: torch.Tensor,
    soft_label: torch.Tensor,
    clip_label: torch.Tensor,
    form: str = "paper",
    margin: float = 1.0,
) -> torch.Tensor:
    """Contrastive ("metric") loss between student and teacher correlation, mean over clips."""
    d = correlation_distance(correlation, soft_label, form)
    fake = clip_label.float().to(d.device)
    return ((1.0 - fake) * d.pow(2) + fake * (margin - d).clamp_min(0.0).pow(2)).mean()


def compute_losses(
    output: DetectorOutput,
    frame_labels: torch.Tensor,
    soft_label: torch.Tensor | None,
    clip_label: torch.Tensor,
    config: LossConfig,
    class_weights: torch.Tensor | None = None,
) -> LossTerms:
    """All terms for one batch. ``soft_label`` may be None only when both λ are 0."""
    ce = detection_loss(output.frame_logits, frame_labels, class_weights)
    zero = ce.new_zeros(())
    if soft_label is None:
        if config.lambda_cd or config.lambda_jm:
            raise ValueError("the batch has no soft correlation labels: prepare the cache with a teacher, or set loss.lambda_cd=0 loss.lambda_jm=0")
        return LossTerms(total=ce, detection=ce, distillation=zero, joint_modal=zero)
    cd = distillation_loss(output.correlation, soft_label)
    jm = joint_modal_loss(output.correlation, soft_label, clip_label, config.joint_modal, config.margin)
    total = ce + config.lambda_cd * cd + config.lambda_jm * jm
    return LossTerms(total=total, detection=ce, distillation=cd, joint_modal=jm)
