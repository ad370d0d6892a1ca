"""Visual encoder of the student: the shared visual frontend (3-D conv stem + per-frame ResNet,
:mod:`avcorr.nn.visual_frontend`), a temporal conv net, and a projection to the embedding size
(docs/design.md §1).

Module and parameter names follow the public TalkNet / deep_avsr code so that their
checkpoints load unchanged (``frontend3D``, ``resnet.layerN.conv1a`` …, ``net.N``).
"""
from __future__ import annotations

import torch
from torch import nn

from avcorr.nn.visual_frontend import VisualFrontend

__all__ = ["VisualFrontend", "VisualTCN", "VisualProjection", "GlobalLayerNorm", "DepthwiseSeparableBlock"]


class GlobalLayerNorm(nn.Module):
    """Layer norm over channels *and* time with per-channel gain and bias (Conv-TasNet's gLN)."""

    def __init__(self, channels: int, eps: float = 1e-8) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(1, channels, 1))
        self.beta = nn.Parameter(torch.zeros(1, channels, 1))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(1, 2), keepdim=True)
        var = ((x - mean) ** 2).mean(dim=(1, 2), keepdim=True)
        return self.gamma * (x - mean) / torch.sqrt(var + self.eps) + self.beta


class DepthwiseSeparableBlock(nn.Module):
    """Residual block: ReLU → BN → depthwise conv(k3) → PReLU → gLN → pointwise conv."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.ReLU(),
            nn.BatchNorm1d(channels),
            nn.Conv1d(channels, channels, 3, padding=1, groups=channels, bias=False),
            nn.PReLU(),
            GlobalLayerNorm(channels),
            nn.Conv1d(channels, channels, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class VisualTCN(nn.Module):
    """Temporal context over per-frame features: (B, C, T) → (B, C, T)."""

    def __init__(self, channels: int, blocks: int = 5) -> None:
        super().__init__()
        self.net = nn.Sequential(*[DepthwiseSeparableBlock(channels) for _ in range(blocks)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class VisualProjection(nn.Module):
    """Conv1d(C → 2D, k5) → BN → ReLU → Conv1d(2D → D, k1): (B, C, T) → (B, D, T)."""

    def __init__(self, in_channels: int, embed_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(in_channels, 2 * embed_dim, 5, padding=2),
            nn.BatchNorm1d(2 * embed_dim),
            nn.ReLU(),
            nn.Conv1d(2 * embed_dim, embed_dim, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
