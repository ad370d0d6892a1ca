"""The visual frontend shared by the student and deep_avsr's VSR teacher: a 3-D conv stem and a
per-frame ResNet, (B, T, H, W) uint8 gray frames → (B, T, 512) features (docs/design.md §1).

A leaf below both ``avcorr.teachers`` and ``avcorr.models`` (torch only), so the teacher does not
import the student's package. Module and parameter names follow the public TalkNet / deep_avsr
code (``frontend3D``, ``resnet.layerN.conv1a`` …) so that deep_avsr's ``visual_frontend.pt`` and
the student's checkpoints load unchanged.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

#: Gray-level statistics the public frontend was trained with (pixel values scaled to [0, 1]).
FRAME_MEAN = 0.4161
FRAME_STD = 0.1688
_BN = {"momentum": 0.01, "eps": 0.001}


def normalize_frames(frames: torch.Tensor) -> torch.Tensor:
    """uint8 (or 0–255 float) gray frames → the frontend's normalised float input."""
    return (frames.float() / 255.0 - FRAME_MEAN) / FRAME_STD


class ResNetUnitPair(nn.Module):
    """Two residual units of the frontend ResNet. Unit B adds unit A's *pre-norm* sum, as the
    public code does; ``downsample`` is used only when the stride or width changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.conv1a = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1a = nn.BatchNorm2d(out_channels, **_BN)
        self.conv2a = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.downsample = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)
        self.outbna = nn.BatchNorm2d(out_channels, **_BN)
        self.conv1b = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn1b = nn.BatchNorm2d(out_channels, **_BN)
        self.conv2b = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.outbnb = nn.BatchNorm2d(out_channels, **_BN)
        self.project = stride != 1 or in_channels != out_channels
        # The public checkpoint has a shortcut conv in every stage, used only where the shape
        # changes; elsewhere it is kept (for loading) but frozen, so DDP sees no unused parameter.
        self.downsample.requires_grad_(self.project)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.downsample(x) if self.project else x
        sum_a = self.conv2a(F.relu(self.bn1a(self.conv1a(x)))) + shortcut
        out_a = F.relu(self.outbna(sum_a))
        sum_b = self.conv2b(F.relu(self.bn1b(self.conv1b(out_a)))) + sum_a
        return F.relu(self.outbnb(sum_b))


class FrameResNet(nn.Module):
    """Per-frame 2-D ResNet of four stages (strides 1, 2, 2, 2), globally average-pooled."""

    def __init__(self, in_channels: int, widths: list[int]) -> None:
        super().__init__()
        strides = [1, 2, 2, 2]
        channels = [in_channels, *widths]
        for i, stride in enumerate(strides):
            self.add_module(f"layer{i + 1}", ResNetUnitPair(channels[i], channels[i + 1], stride))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
        # The public code uses AvgPool2d(4) on the 4×4 map of a 112 px input: the same as a global
        # mean there, and the global mean also works for other frame sizes.
        return x.mean(dim=(2, 3))


class VisualFrontend(nn.Module):
    """(B, T, H, W) uint8 gray frames → (B, T, widths[-1]) per-frame features.

    The 3-D stem runs per clip (batch element): the public code ran it over the frames of a
    whole batch laid end to end, which leaks two frames across clip boundaries.
    """

    def __init__(self, stem_channels: int = 64, widths: list[int] | None = None) -> None:
        super().__init__()
        widths = widths or [64, 128, 256, 512]
        self.out_channels = widths[-1]
        self.frontend3D = nn.Sequential(
            nn.Conv3d(1, stem_channels, (5, 7, 7), (1, 2, 2), (2, 3, 3), bias=False),
            nn.BatchNorm3d(stem_channels, **_BN),
            nn.ReLU(),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
        )
        self.resnet = FrameResNet(stem_channels, widths)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        b, t = frames.shape[:2]
        x = normalize_frames(frames) if frames.dtype == torch.uint8 else frames
        x = self.frontend3D(x.unsqueeze(1))  # (B, C, T, h, w)
        x = x.transpose(1, 2).reshape(b * t, x.shape[1], x.shape[3], x.shape[4])
        return self.resnet(x).reshape(b, t, -1)
