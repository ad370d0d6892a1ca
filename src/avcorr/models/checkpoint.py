"""Detector checkpoints: ``model.safetensors`` (weights, cannot run code) + ``config.json``.

A run folder written by ``avcorr train`` or ``avcorr convert-checkpoint`` holds both. Loading
never unpickles anything; legacy PyTorch files go through :mod:`avcorr.models.convert_paper`,
which reads them with ``weights_only=True``.

``config.json`` also records the input contract (:func:`input_contract`): the face-crop size,
the frame normalisation, the frame rate and the MFCC layout the weights expect, so a consumer
can prepare inputs without reading avcorr's code. Files written before it existed still load.
"""
from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

import avcorr
from avcorr.config import DetectorConfig, ExperimentConfig, from_dict
from avcorr.errors import AvcorrError, CheckpointError
from avcorr.media.audio_features import NUM_CEPSTRA, VECTORS_PER_FRAME
from avcorr.models.detector import CorrelationDetector, build_detector
from avcorr.nn.visual_frontend import FRAME_MEAN, FRAME_STD
from avcorr.runtime import CONFIG_NAME, read_json_object

WEIGHTS_NAME = "model.safetensors"
FORMAT = "avcorr-detector"
#: video frame rate the detector is trained at (frames per second); audio features follow it
FPS = 25


def input_contract(config: DetectorConfig) -> dict[str, Any]:
    """What the detector's inputs must be: square gray face crops of ``frame_size`` px, scaled as
    ``(x / 255 - mean) / std`` (nn.visual_frontend.normalize_frames), at ``fps`` frames per second, with
    ``per_frame`` MFCC vectors of ``coefficients`` each per frame (``rate_hz`` vectors per second)."""
    return {
        "frame_size": config.visual.frame_size,
        "normalisation": {"mean": FRAME_MEAN, "std": FRAME_STD},
        "fps": FPS,
        "mfcc": {"rate_hz": FPS * VECTORS_PER_FRAME, "coefficients": NUM_CEPSTRA, "per_frame": VECTORS_PER_FRAME},
    }


def save_detector(run_dir: str | Path, model: torch.nn.Module, config: ExperimentConfig, extra: dict[str, Any] | None = None) -> Path:
    """Write the weights, the full experiment config and the input contract; returns the weights' path.

    The model's own config wins over ``config.model`` (it differs after ``reset_head``), so the
    saved config always builds a network the weights fit.
    """
    model_config = getattr(model, "config", None)
    if isinstance(model_config, DetectorConfig) and model_config != config.model:
        config = replace(config, model=model_config)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights = run_dir / WEIGHTS_NAME
    save_file(state, str(weights), metadata={"format": FORMAT, "avcorr_version": avcorr.__version__})
    document = {"format": FORMAT, "avcorr_version": avcorr.__version__, "config": asdict(config),
                "input": input_contract(config.model), **(extra or {})}
    (run_dir / CONFIG_NAME).write_text(json.dumps(document, indent=2) + "\n")
    return weights


def read_run_config(path: str | Path) -> ExperimentConfig:
    """The experiment config of a run folder (or of the folder holding a weights file)."""
    weights, config_path = _locate(path)
    document = read_json_object(config_path)
    try:
        return from_dict(ExperimentConfig, document["config"])
    except (KeyError, TypeError, AvcorrError) as exc:
        raise CheckpointError(f"{config_path}: not an avcorr detector config ({exc})") from None


def read_input_contract(path: str | Path) -> dict[str, Any]:
    """The input contract a run folder records; for checkpoints written before it was recorded,
    the contract their config implies (the normalisation and rates have not changed)."""
    _, config_path = _locate(path)
    recorded = read_json_object(config_path).get("input")
    return recorded if isinstance(recorded, dict) else input_contract(read_run_config(path).model)


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
