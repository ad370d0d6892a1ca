"""Convert the paper authors' released checkpoint into avcorr's format.

The public file is a pickled PyTorch state dict of the authors' whole training module
(783 tensors): ``model.*`` (the student), ``lossAV.FC.*`` (the frame classifier),
``ASRmodel.*`` / ``VSRmodel.*`` (the frozen deep_avsr teachers) and
``lossCont_Spea.projection_{A,B}.*`` (present but unused by the forward pass). It is read with
``weights_only=True`` — a file that needs to run code to load is refused.

Output: ``OUT/model.safetensors`` + ``OUT/config.json`` (the student, loadable with
:func:`avcorr.load_detector`) and ``OUT/teachers/deep_avsr_audio.safetensors`` /
``deep_avsr_video.safetensors`` (the teachers). Every key is either placed, known-unused, or
reported as unplaced; any shape mismatch is an error.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import save_file

from avcorr.config import ExperimentConfig, load_experiment_config
from avcorr.errors import CheckpointError
from avcorr.models.checkpoint import save_detector
from avcorr.models.detector import build_detector
from avcorr.teachers.deep_avsr import AudioNet, VideoNet

#: public module prefix → avcorr detector attribute
STUDENT_PREFIXES: dict[str, str] = {
    "model.visualFrontend.": "visual_frontend.",
    "model.visualTCN.": "visual_tcn.",
    "model.visualConv1D.": "visual_projection.",
    "model.audioEncoder.": "audio_encoder.",
    "model.crossA2V.": "cross_audio.",
    "model.crossV2A.": "cross_visual.",
    "model.selfAV.": "fusion.",
    "lossAV.FC.": "classifier.",
}
TEACHER_PREFIXES: dict[str, str] = {"ASRmodel.": "deep_avsr_audio", "VSRmodel.": "deep_avsr_video"}
KNOWN_UNUSED_PREFIXES: tuple[str, ...] = ("lossCont_Spea.",)


@dataclass
class ConversionReport:
    """What happened to every key of the source checkpoint."""

    placed: int = 0
    teacher_keys: dict[str, int] = field(default_factory=dict)
    unused: list[str] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


def read_legacy_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A PyTorch state dict from ``path``, loaded without running any pickled code."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: cannot be read as a weights-only PyTorch file ({exc.__class__.__name__}: {str(exc).splitlines()[0][:200]})") from None
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise CheckpointError(f"{path}: does not hold a state dict of tensors")
    # DataParallel / DDP wrappers prefix every key with "module."
    if loaded and all(k.startswith("module.") for k in loaded):
        loaded = {k[len("module."):]: v for k, v in loaded.items()}
    return loaded


def convert_paper_checkpoint(path: str | Path, out_dir: str | Path, config: ExperimentConfig | None = None) -> ConversionReport:
    """Convert the authors' checkpoint at ``path`` into ``out_dir`` (see module docstring)."""
    source = read_legacy_state_dict(path)
    config = config or load_experiment_config("paper")
    model = build_detector(config.model)
    target = model.state_dict()
    report = ConversionReport()
    student: dict[str, torch.Tensor] = {}
    teachers: dict[str, dict[str, torch.Tensor]] = {name: {} for name in TEACHER_PREFIXES.values()}

    for key, tensor in source.items():
        new_key = _rename(key, STUDENT_PREFIXES)
        if new_key is not None:
            if new_key not in target:
                report.unplaced.append(key)
                continue
            _check_shape(key, tensor, target[new_key])
            student[new_key] = tensor
            continue
        teacher = next((name for prefix, name in TEACHER_PREFIXES.items() if key.startswith(prefix)), None)
        if teacher is not None:
            teachers[teacher][key.split(".", 1)[1]] = tensor
        elif key.startswith(KNOWN_UNUSED_PREFIXES):
            report.unused.append(key)
        else:
            report.unplaced.append(key)

    missing = sorted(set(target) - set(student))
    if missing:
        raise CheckpointError(f"{path}: {len(missing)} detector parameters are absent from the checkpoint (first: {missing[:3]})")
    model.load_state_dict(student, strict=True)
    report.placed = len(student)

    out_dir = Path(out_dir)
    report.outputs.append(str(save_detector(out_dir, model, config, extra={"converted_from": str(path), "source_format": "paper"})))
    for name, state in teachers.items():
        if not state:
            continue
        _check_teacher(name, state, report)
        teacher_file = out_dir / "teachers" / f"{name}.safetensors"
        teacher_file.parent.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in state.items()}, str(teacher_file), metadata={"format": name})
        report.outputs.append(str(teacher_file))
        report.teacher_keys[name] = len(state)
    return report


def _rename(key: str, prefixes: dict[str, str]) -> str | None:
    for old, new in prefixes.items():
        if key.startswith(old):
            return new + key[len(old):]
    return None


def _check_shape(key: str, tensor: torch.Tensor, expected: torch.Tensor) -> None:
    if tuple(tensor.shape) != tuple(expected.shape):
        raise CheckpointError(f"{key}: shape {tuple(tensor.shape)} does not match the model's {tuple(expected.shape)}")


def _check_teacher(name: str, state: dict[str, torch.Tensor], report: ConversionReport) -> None:
    """Shapes of teacher keys against avcorr's deep_avsr modules; unknown keys are unplaced."""
    reference = (AudioNet() if name == "deep_avsr_audio" else VideoNet()).state_dict()
    prefix = "ASRmodel." if name == "deep_avsr_audio" else "VSRmodel."
    for key in list(state):
        if key not in reference:
            report.unplaced.append(prefix + key)
            del state[key]
            continue
        _check_shape(prefix + key, state[key], reference[key])
