"""Losses against hand-computed values."""
from __future__ import annotations

import math

import pytest
import torch

from avcorr.config import LossConfig
from avcorr.losses import compute_losses, correlation_distance, detection_loss, distillation_loss, joint_modal_loss
from avcorr.models.detector import DetectorOutput


def test_detection_loss_is_frame_cross_entropy() -> None:
    logits = torch.tensor([[[0.0, 0.0], [2.0, 0.0]]])  # (1, 2, 2)
    labels = torch.tensor([[1, 0]])
    expected = (math.log(2) + math.log(1 + math.exp(-2))) / 2
    assert float(detection_loss(logits, labels)) == pytest.approx(expected, rel=1e-6)


def test_distillation_loss_is_bce_and_clips_targets() -> None:
    s = torch.tensor([[0.8, 0.3]])
    y = torch.tensor([[1.0, 0.0]])
    expected = -(math.log(0.8) + math.log(0.7)) / 2
    assert float(distillation_loss(s, y)) == pytest.approx(expected, rel=1e-6)
    # the paper's symmetric-KL label can fall below 0: treated as 0, not a NaN
    assert float(distillation_loss(s, torch.tensor([[1.0, -0.5]]))) == pytest.approx(expected, rel=1e-6)


def test_joint_modal_paper_and_scale_free_forms() -> None:
    s = torch.full((2, 4), 0.5)
    y = torch.ones(2, 4)  # ‖y − s‖ = sqrt(4 · 0.25) = 1 for both clips
    label = torch.tensor([0.0, 1.0])
    d = 1 / (1 + math.exp(-1))
    assert correlation_distance(s, y, "paper").tolist() == pytest.approx([d, d])
    assert float(joint_modal_loss(s, y, label, "paper", 1.0)) == pytest.approx((d**2 + (1 - d) ** 2) / 2, rel=1e-6)
    # scale free: d = 1 / sqrt(4) = 0.5, no sigmoid
    assert float(joint_modal_loss(s, y, label, "scale_free", 1.0)) == pytest.approx((0.25 + 0.25) / 2, rel=1e-6)
    # a fake clip beyond the margin costs nothing; a real clip at distance 0 costs nothing (scale free)
    assert float(joint_modal_loss(y, y, torch.tensor([0.0, 0.0]), "scale_free")) == 0.0
    with pytest.raises(ValueError):
        correlation_distance(s, y, "other")


def _output(correlation: torch.Tensor) -> DetectorOutput:
    b, t = correlation.shape
    z = torch.zeros(b, t, 4)
    return DetectorOutput(frame_logits=torch.zeros(b, t, 2), audio=z, visual=z, correlation=correlation,
                          audio_embedding=z, visual_embedding=z, fused=z)


def test_total_is_weighted_sum() -> None:
    out = _output(torch.full((2, 3), 0.6))
    frames = torch.zeros(2, 3, dtype=torch.long)
    y = torch.full((2, 3), 0.9)
    clip = torch.tensor([0.0, 1.0])
    cfg = LossConfig(lambda_cd=0.5, lambda_jm=2.0, joint_modal="scale_free")
    terms = compute_losses(out, frames, y, clip, cfg)
    assert float(terms.detection) == pytest.approx(math.log(2), rel=1e-6)
    assert float(terms.total) == pytest.approx(float(terms.detection + 0.5 * terms.distillation + 2.0 * terms.joint_modal), rel=1e-6)


def test_missing_soft_labels_need_zero_weights() -> None:
    out = _output(torch.full((1, 3), 0.6))
    frames, clip = torch.zeros(1, 3, dtype=torch.long), torch.tensor([0.0])
    with pytest.raises(ValueError, match="soft correlation labels"):
        compute_losses(out, frames, None, clip, LossConfig())
    terms = compute_losses(out, frames, None, clip, LossConfig(lambda_cd=0, lambda_jm=0))
    assert float(terms.total) == pytest.approx(math.log(2))


def test_balanced_class_weights_and_weighted_detection_loss() -> None:
    from avcorr.losses import balanced_class_weights

    assert balanced_class_weights([0, 1, 1, 1, 1, 1]) == pytest.approx([3.0, 0.6])
    assert balanced_class_weights([0, 0, 1, 1]) == pytest.approx([1.0, 1.0])
    assert balanced_class_weights([1, 1]) == pytest.approx([0.0, 1.0])
    # weighted mean: one real frame (loss log 2) with weight 3, one fake frame (loss log(1+e^-2)) with weight 0.6
    logits = torch.tensor([[[0.0, 0.0], [0.0, 2.0]]])
    labels = torch.tensor([[0, 1]])
    expected = (3.0 * math.log(2) + 0.6 * math.log(1 + math.exp(-2))) / 3.6
    assert float(detection_loss(logits, labels, torch.tensor([3.0, 0.6]))) == pytest.approx(expected, rel=1e-6)


def test_unused_shortcut_is_frozen_but_kept_for_checkpoints() -> None:
    from avcorr.config import load_experiment_config
    from avcorr.models.detector import build_detector

    model = build_detector(load_experiment_config("paper").model)
    names = dict(model.named_parameters())
    assert not names["visual_frontend.resnet.layer1.downsample.weight"].requires_grad
    assert names["visual_frontend.resnet.layer2.downsample.weight"].requires_grad
