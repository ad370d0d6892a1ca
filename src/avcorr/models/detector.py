"""The student detector: TalkNet-style audio-visual network with a correlation branch.

``forward_features`` produces the per-modality embeddings and their cross-attended versions
(:class:`DetectorFeatures`); ``forward_head`` fuses them and classifies each frame, so
``forward(a, v) == forward_head(forward_features(a, v))``; ``reset_head`` swaps the classifier
for fine-tuning to another number of classes. The student correlation
s_t = (cos(A'_t, V'_t) + 1) / 2 is what the correlation distillation loss trains
(docs/design.md §1). Built by name from a small registry, from a :class:`DetectorConfig`.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from avcorr.config import DetectorConfig
from avcorr.errors import ConfigError
from avcorr.models.attention import AttentionBlock
from avcorr.models.audio import AudioEncoder
from avcorr.models.visual import VisualFrontend, VisualProjection, VisualTCN


@dataclass
class DetectorOutput:
    """Per-frame outputs for a batch of B clips of T frames each.

    ``frame_logits`` (B, T, 2): class 1 is "fake". ``audio``/``visual`` (B, T, D) are the
    embeddings after cross-attention; ``correlation`` (B, T) in [0, 1] is (cos + 1) / 2 of them.
    """

    frame_logits: torch.Tensor
    audio: torch.Tensor
    visual: torch.Tensor
    correlation: torch.Tensor
    audio_embedding: torch.Tensor
    visual_embedding: torch.Tensor
    fused: torch.Tensor

    @property
    def fake_probability(self) -> torch.Tensor:
        """(B, T) per-frame probability that the frame is fake."""
        return self.frame_logits.float().softmax(dim=-1)[..., 1]


@dataclass
class DetectorFeatures:
    """What the encoders and cross-attention give the head, for B clips of T frames (all (B, T, D)).

    ``audio_embedding``/``visual_embedding`` are the encoders' outputs; ``audio``/``visual``
    the same after cross-attention to the other modality.
    """

    audio_embedding: torch.Tensor
    visual_embedding: torch.Tensor
    audio: torch.Tensor
    visual: torch.Tensor


def student_correlation(audio: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
    """(cos(a_t, v_t) + 1) / 2 over the last axis."""
    return (F.cosine_similarity(audio, visual, dim=-1) + 1.0) / 2.0


class CorrelationDetector(nn.Module):
    """Audio encoder + visual encoder → cross-attention both ways → fusion → frame classifier."""

    def __init__(self, config: DetectorConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        v, a, d = config.visual, config.audio, config.embed_dim
        self.visual_frontend = VisualFrontend(v.stem_channels, v.widths)
        self.visual_tcn = VisualTCN(v.widths[-1], v.tcn_blocks)
        self.visual_projection = VisualProjection(v.widths[-1], d)
        self.audio_encoder = AudioEncoder(a.stem_channels, a.widths, a.blocks)
        self.cross_audio = AttentionBlock(d, config.heads, config.attention_dropout)
        self.cross_visual = AttentionBlock(d, config.heads, config.attention_dropout)
        self.fusion = AttentionBlock(2 * d, config.heads, config.attention_dropout)
        self.classifier = nn.Linear(2 * d, config.num_classes)

    def encode_visual(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, T, H, W) uint8 → (B, T, D)."""
        x = self.visual_frontend(frames).transpose(1, 2)  # (B, C, T)
        x = self.visual_projection(self.visual_tcn(x))
        return x.transpose(1, 2)

    def encode_audio(self, mfcc: torch.Tensor) -> torch.Tensor:
        """(B, 4T, 13) → (B, T, D)."""
        return self.audio_encoder(mfcc)

    def forward_features(self, audio: torch.Tensor, video: torch.Tensor) -> DetectorFeatures:
        """MFCC (B, 4T, 13) and uint8 face crops (B, T, H, W) → per-frame embeddings."""
        _check_inputs(audio, video, self.config.visual.frame_size)
        audio_embedding = self.encode_audio(audio)
        visual_embedding = self.encode_visual(video)
        return DetectorFeatures(
            audio_embedding=audio_embedding,
            visual_embedding=visual_embedding,
            audio=self.cross_audio(src=audio_embedding, tar=visual_embedding),
            visual=self.cross_visual(src=visual_embedding, tar=audio_embedding),
        )

    def forward_head(self, features: DetectorFeatures) -> DetectorOutput:
        """Fusion + frame classifier, and the student correlation of the cross-attended embeddings."""
        joint = torch.cat([features.audio, features.visual], dim=-1)
        fused = self.fusion(src=joint, tar=joint)
        return DetectorOutput(
            frame_logits=self.classifier(fused),
            correlation=student_correlation(features.audio.float(), features.visual.float()),
            fused=fused,
            **{f.name: getattr(features, f.name) for f in fields(features)},
        )

    def forward(self, audio: torch.Tensor, video: torch.Tensor) -> DetectorOutput:
        """MFCC (B, 4T, 13) and uint8 face crops (B, T, H, W) → per-frame outputs."""
        return self.forward_head(self.forward_features(audio, video))

    def reset_head(self, num_classes: int) -> None:
        """A freshly initialised frame classifier with ``num_classes`` outputs (fine-tuning);
        the encoders, attention and fusion keep their weights. ``config.num_classes`` follows,
        so a saved checkpoint loads with the new head."""
        old = self.classifier.weight
        self.classifier = nn.Linear(old.shape[1], num_classes, device=old.device, dtype=old.dtype)
        self.config = replace(self.config, num_classes=num_classes)


def _check_inputs(mfcc: torch.Tensor, frames: torch.Tensor, frame_size: int) -> None:
    if frames.ndim != 4 or mfcc.ndim != 3 or mfcc.shape[-1] != 13:
        raise ValueError(f"expected mfcc (B, 4T, 13) and frames (B, T, H, W); got {tuple(mfcc.shape)} and {tuple(frames.shape)}")
    if mfcc.shape[0] != frames.shape[0] or mfcc.shape[1] != 4 * frames.shape[1]:
        raise ValueError(f"mfcc must have 4 vectors per frame: {tuple(mfcc.shape)} vs {tuple(frames.shape)}")
    if frames.shape[2] != frame_size or frames.shape[3] != frame_size:
        raise ValueError(f"frames must be {frame_size}×{frame_size} for this model, got {frames.shape[2]}×{frames.shape[3]}")


_REGISTRY: dict[str, Callable[[DetectorConfig], nn.Module]] = {"talknet_correlation": CorrelationDetector}


def register_detector(name: str, factory: Callable[[DetectorConfig], nn.Module]) -> None:
    _REGISTRY[name] = factory


def build_detector(config: DetectorConfig) -> CorrelationDetector:
    """The one constructor: a detector by ``config.name``, freshly initialised, in train mode."""
    try:
        factory = _REGISTRY[config.name]
    except KeyError:
        raise ConfigError(f"unknown detector {config.name!r}; known: {', '.join(sorted(_REGISTRY))}") from None
    return factory(config)  # type: ignore[return-value]
