"""Detector checkpoints: ``model.safetensors`` (weights, cannot run code) + ``config.json``.

A run folder written by ``avcorr train`` or ``avcorr convert-checkpoint`` holds both. Loading
never unpickles anything; legacy PyTorch files go through :mod:`avcorr.models.convert_paper`,
which reads them with ``weights_only=True``.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

import avcorr
from avcorr.config import DetectorConfig, ExperimentConfig, from_dict
from avcorr.errors import AvcorrError, CheckpointError
from avcorr.models.detector import CorrelationDetector, build_detector

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
FORMAT = "avcorr-detector"


def save_detector(run_dir: str | Path, model: torch.nn.Module, config: ExperimentConfig, extra: dict[str, Any] | None = None) -> Path:
    """Write the weights and the full experiment config; returns the weights' path."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights = run_dir / WEIGHTS_NAME
    save_file(state, str(weights), metadata={"format": FORMAT, "avcorr_version": avcorr.__version__})
    document = {"format": FORMAT, "avcorr_version": avcorr.__version__, "config": asdict(config), **(extra or {})}
    (run_dir / CONFIG_NAME).write_text(json.dumps(document, indent=2) + "\n")
    return weights


def read_run_config(path: str | Path) -> ExperimentConfig:
    """The experiment config of a run folder (or of the folder holding a weights file)."""
    weights, config_path = _locate(path)
    try:
        document = json.loads(config_path.read_text())
        return from_dict(ExperimentConfig, document["config"])
    except (OSError, ValueError, KeyError, TypeError, AvcorrError) as exc:
        raise CheckpointError(f"{config_path}: not an avcorr detector config ({exc})") from None


def load_detector(path: str | Path, device: str | torch.device = "cpu") -> CorrelationDetector:
    """The detector of a run folder (or ``model.safetensors`` beside its ``config.json``), in eval mode."""
    weights, _ = _locate(path)
    config: DetectorConfig = read_run_config(path).model
    model = build_detector(config)
    try:
        state = load_file(str(weights), device="cpu")
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"{weights}: cannot read weights ({exc})") from None
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f"{weights}: weights do not fit the config (missing {len(missing)}: {missing[:3]}, unexpected {len(unexpected)}: {unexpected[:3]})"
        )
    return model.to(device).eval()


def _locate(path: str | Path) -> tuple[Path, Path]:
    path = Path(path)
    if path.is_dir():
        weights, config = path / WEIGHTS_NAME, path / CONFIG_NAME
    elif path.suffix == ".safetensors":
        weights, config = path, path.parent / CONFIG_NAME
    elif path.exists():
        raise CheckpointError(f"{path}: not an avcorr checkpoint (convert legacy files with `avcorr convert-checkpoint`)")
    else:
        raise CheckpointError(f"{path}: checkpoint not found")
    for needed in (weights, config):
        if not needed.exists():
            raise CheckpointError(f"{needed}: missing from the checkpoint")
    return weights, config
