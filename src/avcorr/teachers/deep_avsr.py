"""deep_avsr's ASR and VSR transformers, the paper's teachers (docs/design.md §2).

``AudioNet`` reads 100 Hz STFT magnitudes (321 bins, 4 vectors per 25 fps video frame) and
``VideoNet`` reads 512-d per-frame lip features from the VSR visual frontend. Both end in a
softmax over deep_avsr's 40 characters, one distribution per video frame. Module and parameter
names match deep_avsr's public ``audio-only.pt`` / ``video-only.pt`` state dicts (and the
``ASRmodel.*`` / ``VSRmodel.*`` keys of the paper's checkpoint), so those load with
``load_state_dict(strict=True)``.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from avcorr.errors import CheckpointError, MissingModelError
from avcorr.media.audio_features import teacher_stft
from avcorr.nn.visual_frontend import VisualFrontend
from avcorr.teachers.base import TeacherOutput

#: deep_avsr's output alphabet: index 0 is the CTC blank, 39 the end-of-sentence token.
CHARACTERS: list[str] = [
    "<blank>", " ", "E", "T", "O", "A", "I", "N", "H", "S", "R", "L", "D", "U", "Y", "W", "M", "G",
    "C", "F", "P", "K", "B", "'", "V", "J", "X", "Q", "Z", "1", "2", "3", "4", "5", "6", "7", "8",
    "9", "0", "<EOS>",
]

D_MODEL = 512
NUM_HEADS = 8
FFN_DIM = 2048
NUM_LAYERS = 6
MAX_LENGTH = 2500
NUM_CLASSES = len(CHARACTERS)
STFT_BINS = 321


class PositionalEncoding(nn.Module):
    """Fixed sinusoid table added to a sequence-first (L, B, D) batch; stored as buffer ``pe``."""

    def __init__(self, d_model: int = D_MODEL, max_length: int = MAX_LENGTH) -> None:
        super().__init__()
        position = torch.arange(max_length, dtype=torch.float32).unsqueeze(1)
        denominator = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (math.log(10000.0) / d_model))
        table = torch.zeros(max_length, d_model)
        table[:, 0::2] = torch.sin(position / denominator)
        table[:, 1::2] = torch.cos(position / denominator)
        self.register_buffer("pe", table.unsqueeze(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > self.pe.shape[0]:
            raise ValueError(f"sequence of {x.shape[0]} steps exceeds the positional table ({self.pe.shape[0]})")
        return x + self.pe[: x.shape[0]]


def _transformer_stack() -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        d_model=D_MODEL, nhead=NUM_HEADS, dim_feedforward=FFN_DIM, dropout=0.1, activation="relu",
        batch_first=False, norm_first=False,
    )
    return nn.TransformerEncoder(layer, num_layers=NUM_LAYERS, enable_nested_tensor=False)


class _CharacterTransformer(nn.Module):
    """Shared tail: positional encoding → encoder ×6 → decoder ×6 → Conv1d(512, 40, 1) → softmax."""

    def _transform(self, x: torch.Tensor, encoder: nn.Module, decoder: nn.Module) -> torch.Tensor:
        # x: (B, T, 512) → posteriors (B, T, 40)
        seq = self.positionalEncoding(x.transpose(0, 1))
        seq = decoder(encoder(seq))
        logits = self.outputConv(seq.permute(1, 2, 0)).transpose(1, 2)
        return logits.softmax(dim=-1)


class AudioNet(_CharacterTransformer):
    """deep_avsr's ASR transformer: STFT (B, 4T, 321) → character posteriors (B, T, 40)."""

    def __init__(self) -> None:
        super().__init__()
        self.audioConv = nn.Conv1d(STFT_BINS, D_MODEL, kernel_size=4, stride=4)
        self.positionalEncoding = PositionalEncoding()
        self.audioEncoder = _transformer_stack()
        self.audioDecoder = _transformer_stack()
        self.outputConv = nn.Conv1d(D_MODEL, NUM_CLASSES, kernel_size=1)

    def forward(self, stft: torch.Tensor) -> torch.Tensor:
        x = self.audioConv(stft.transpose(1, 2)).transpose(1, 2)
        return self._transform(x, self.audioEncoder, self.audioDecoder)


class VideoNet(_CharacterTransformer):
    """deep_avsr's VSR transformer: lip features (B, T, 512) → character posteriors (B, T, 40)."""

    def __init__(self) -> None:
        super().__init__()
        self.positionalEncoding = PositionalEncoding()
        self.videoEncoder = _transformer_stack()
        self.videoDecoder = _transformer_stack()
        self.outputConv = nn.Conv1d(D_MODEL, NUM_CLASSES, kernel_size=1)

    def forward(self, lip_features: torch.Tensor) -> torch.Tensor:
        return self._transform(lip_features, self.videoEncoder, self.videoDecoder)


def load_state_dict_file(path: str | Path, prefix: str = "") -> dict[str, torch.Tensor]:
    """Tensors of a deep_avsr checkpoint (``torch.load(weights_only=True)``, nothing executed).

    ``prefix`` selects and strips a sub-module's keys (e.g. ``"ASRmodel."`` in the paper's
    checkpoint); without it, a file whose keys all carry one such prefix is accepted as well.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingModelError(f"deep_avsr checkpoint not found: {path} (obtain it from deep_avsr's release and pass its path)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file or pickled code
        raise CheckpointError(f"cannot read {path} as a weights-only checkpoint: {exc}") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} does not hold a state dict")
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not state:
            raise CheckpointError(f"{path} has no keys under {prefix!r}")
    return state


def load_into(module: nn.Module, state: dict[str, torch.Tensor], source: str = "checkpoint") -> nn.Module:
    """Load ``state`` strictly into ``module`` (every key consumed, none missing) and freeze it."""
    result = module.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(
            f"{source} does not fit {type(module).__name__}: missing {result.missing_keys[:5]}, "
            f"unexpected {result.unexpected_keys[:5]}"
        )
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module


class DeepAVSRTeacher:
    """The paper's teachers: ASR on the STFT, VSR on mouth crops through deep_avsr's visual frontend.

    ``audio_model``, ``video_model``, ``visual_frontend``: paths to deep_avsr's ``audio-only.pt``,
    ``video-only.pt`` and ``visual_frontend.pt`` (a paper checkpoint with ``ASRmodel.*`` /
    ``VSRmodel.*`` keys works for the first two). Read with ``weights_only=True``; nothing is
    downloaded. Output: (T, 40) character posteriors per video frame for each modality.
    """

    name = "deep_avsr"
    vocabulary = CHARACTERS

    def __init__(self, audio_model: str | Path | None = None, video_model: str | Path | None = None,
                 visual_frontend: str | Path | None = None, device: str = "cpu") -> None:
        missing = [name for name, path in (("audio_model", audio_model), ("video_model", video_model),
                                           ("visual_frontend", visual_frontend)) if not path]
        if missing:
            raise MissingModelError(
                "the deep_avsr teacher needs deep_avsr's checkpoints, which avcorr cannot download: "
                f"give {', '.join(missing)} (teacher options audio_model, video_model, visual_frontend)"
            )
        self.device = torch.device(device)
        self.asr = load_into(AudioNet(), _teacher_state(audio_model, "ASRmodel."), str(audio_model)).to(self.device)
        self.vsr = load_into(VideoNet(), _teacher_state(video_model, "VSRmodel."), str(video_model)).to(self.device)
        self.frontend = load_into(VisualFrontend(), load_state_dict_file(visual_frontend), str(visual_frontend)).to(self.device)

    @torch.no_grad()
    def posteriors(self, clip, record):  # (MediaClip | None, ClipRecord) -> TeacherOutput
        import numpy as np

        t = record.num_frames
        stft = record.arrays.get("stft")
        if stft is None:
            if clip is None:
                raise ValueError(f"{record.meta.clip_id}: the deep_avsr teacher needs the STFT or the clip's audio")

            stft = teacher_stft(clip.audio, t, clip.fps)
        mouth = record.arrays.get("mouth")
        if mouth is None:
            raise ValueError(f"{record.meta.clip_id}: the deep_avsr teacher needs mouth crops (prepare with mouth crops on)")
        stft_t = torch.from_numpy(np.asarray(stft, np.float32)).unsqueeze(0).to(self.device)
        audio = self.asr(stft_t)[0]
        features = self.frontend(torch.from_numpy(np.ascontiguousarray(mouth)).unsqueeze(0).to(self.device))
        visual = self.vsr(features)[0]
        n = min(audio.shape[0], visual.shape[0], t)
        return TeacherOutput(audio=audio[:n].cpu().numpy().astype(np.float32), visual=visual[:n].cpu().numpy().astype(np.float32),
                             vocabulary=list(CHARACTERS), info={"audio_mode": "asr_transformer"})


def _teacher_state(path: str | Path, prefix: str) -> dict[str, torch.Tensor]:
    """deep_avsr's own file (unprefixed keys) or a paper checkpoint (keys under ``prefix``)."""
    state = load_state_dict_file(path)
    if any(k.startswith(prefix) for k in state):
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    return state
