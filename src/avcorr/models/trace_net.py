"""TraceNet: a compact (2+1)-D conv net that reads generation traces in grey face-crop windows.

Input: (B, T, S, S) face crops scaled to [0, 1] (S = ``config.size``, T = ``config.frames`` at
25 fps). The net derives its own channels — the frame, its high-pass residual (frame minus a
3×3 blur: resampling, blending seams and codec traces live there) and the temporal difference to
the previous frame (texture stuck to a still, spliced frames) — so a caller only resizes crops.
Each block factorises a 3-D conv into a spatial 3×3 and a temporal 3 conv (R(2+1)D), with a
residual path; global average pooling and a linear head give one logit per window (fake > 0).

``model.safetensors`` (weights) + ``config.json`` (:class:`TraceNetConfig` and what the caller
records); loading never unpickles.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from avcorr.errors import CheckpointError
from avcorr.runtime import CONFIG_NAME

FORMAT = "avcorr-trace-net"
WEIGHTS_NAME = "model.safetensors"


@dataclass(frozen=True)
class TraceNetConfig:
    """``size``: crop side (pixels); ``frames``: window length (frames at 25 fps); ``widths``:
    channels of the stem and of each stage (every stage halves the spatial size); ``dropout``
    before the head; ``standardize``: each input channel divided by its RMS over the window, so
    that a camera's overall sharpness, noise and motion level do not count, only where and when
    they change."""

    size: int = 64
    frames: int = 16
    widths: tuple[int, ...] = (16, 24, 48, 96)
    dropout: float = 0.2
    standardize: bool = True


class Block2Plus1D(nn.Module):
    """Spatial 3×3 conv (stride ``stride``) → BN → ReLU → temporal conv (3) → BN, plus a residual."""

    def __init__(self, cin: int, cout: int, stride: int = 2) -> None:
        super().__init__()
        mid = max(cin, cout)
        self.spatial = nn.Sequential(nn.Conv3d(cin, mid, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False),
                                     nn.BatchNorm3d(mid), nn.ReLU(inplace=True))
        self.temporal = nn.Sequential(nn.Conv3d(mid, cout, (3, 1, 1), 1, (1, 0, 0), bias=False), nn.BatchNorm3d(cout))
        self.skip = nn.Sequential(nn.Conv3d(cin, cout, 1, (1, stride, stride), bias=False), nn.BatchNorm3d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.temporal(self.spatial(x)) + self.skip(x))


class TraceNet(nn.Module):
    def __init__(self, config: TraceNetConfig = TraceNetConfig()) -> None:
        super().__init__()
        self.config = config
        w = config.widths
        self.stem = nn.Sequential(nn.Conv3d(3, w[0], (1, 5, 5), (1, 2, 2), (0, 2, 2), bias=False),
                                  nn.BatchNorm3d(w[0]), nn.ReLU(inplace=True))
        self.stages = nn.Sequential(*[Block2Plus1D(a, b) for a, b in zip(w[:-1], w[1:])])
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(w[-1], 1)
        self.register_buffer("blur", torch.full((1, 1, 3, 3), 1.0 / 9.0), persistent=False)

    def channels(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, S, S) in [0, 1] → (B, 3, T, S, S): centred frame, high-pass residual, temporal difference."""
        b, t, h, w = x.shape
        flat = x.reshape(b * t, 1, h, w)
        smooth = nn.functional.conv2d(nn.functional.pad(flat, (1, 1, 1, 1), mode="replicate"), self.blur)
        high = (flat - smooth).reshape(b, t, h, w) * 8.0
        diff = torch.cat([torch.zeros_like(x[:, :1]), x[:, 1:] - x[:, :-1]], dim=1) * 4.0
        out = torch.stack([x - 0.5, high, diff], dim=1)
        if self.config.standardize:
            centred = out - out.mean(dim=(2, 3, 4), keepdim=True)
            out = centred / centred.pow(2).mean(dim=(2, 3, 4), keepdim=True).add(1e-6).sqrt()
        return out

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, S, S) → pooled features (B, widths[-1])."""
        return self.stages(self.stem(self.channels(x))).mean(dim=(2, 3, 4))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(features)).squeeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One logit per window (fake > 0)."""
        return self.forward_head(self.forward_features(x))


def save_trace_net(folder: str | Path, model: TraceNet, info: dict[str, Any] | None = None) -> Path:
    """Write ``model.safetensors`` and ``config.json`` (the net's config plus ``info``); returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_NAME), metadata={"format": FORMAT})
    document = {"format": FORMAT, "config": asdict(model.config), "info": info or {}}
    (folder / CONFIG_NAME).write_text(json.dumps(document, indent=2) + "\n")
    return folder


def load_trace_net(folder: str | Path) -> tuple[TraceNet, dict[str, Any]]:
    """The net (eval mode) and the ``info`` saved with it."""
    folder = Path(folder)
    try:
        document = json.loads((folder / CONFIG_NAME).read_text())
        if document.get("format") != FORMAT:
            raise CheckpointError(f"{folder}: not a {FORMAT} model (format {document.get('format')!r})")
        values = dict(document["config"])
        values["widths"] = tuple(values["widths"])
        model = TraceNet(TraceNetConfig(**values))
        model.load_state_dict(load_file(str(folder / WEIGHTS_NAME)))
    except (OSError, KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{folder}: cannot load the trace net ({exc.__class__.__name__}: {exc})") from None
    model.eval()
    return model, document.get("info", {})
