"""Audio encoder of the student: a squeeze-excitation ResNet over the MFCC "image" (docs/design.md §1).

(B, 4T, 13) MFCC → (B, T, D): the two (2, 2) strides bring 100 Hz MFCC to the 25 fps video
rate; the frequency axis is averaged out at the end. Names follow the public code.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class SqueezeExcitation(nn.Module):
    """Channel gates from the global average: Linear(c, c/8) → ReLU → Linear → sigmoid."""

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gates = self.fc(x.mean(dim=(2, 3)))
        return x * gates[:, :, None, None]


class SEBasicBlock(nn.Module):
    """conv3×3(stride) → ReLU → BN → conv3×3 → BN → SE, plus the (projected) input, → ReLU.

    ReLU before BN in the first half is the public code's order, kept for weight compatibility.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int | tuple[int, int] = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.se = SqueezeExcitation(out_channels)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn1(F.relu(self.conv1(x)))
        out = self.se(self.bn2(self.conv2(out)))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


class AudioEncoder(nn.Module):
    """(B, 4T, 13) MFCC → (B, T, widths[-1])."""

    def __init__(self, stem_channels: int = 16, widths: list[int] | None = None, blocks: list[int] | None = None) -> None:
        super().__init__()
        widths = widths or [16, 32, 64, 128]
        blocks = blocks or [3, 4, 6, 3]
        self.conv1 = nn.Conv2d(1, stem_channels, 7, stride=(2, 1), padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        strides: list[int | tuple[int, int]] = [1, (2, 2), (2, 2), 1]
        channels = stem_channels
        for i, (width, count, stride) in enumerate(zip(widths, blocks, strides)):
            layer = [SEBasicBlock(channels, width, stride)] + [SEBasicBlock(width, width) for _ in range(count - 1)]
            self.add_module(f"layer{i + 1}", nn.Sequential(*layer))
            channels = width

    def forward(self, mfcc: torch.Tensor) -> torch.Tensor:
        x = mfcc.float().unsqueeze(1).transpose(2, 3)  # (B, 1, 13, 4T): frequency × time
        x = F.relu(self.bn1(self.conv1(x)))
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
        return x.mean(dim=2).transpose(1, 2)  # (B, T, C)
