"""Typed configuration: YAML files → dataclasses, read once at the edge and passed down.

A config file has the sections of :class:`ExperimentConfig` (``model``, ``loss``, ``optim``,
``data``, ``trainer``); any key may be overridden on the command line as ``section.key=value``
(values parsed as YAML, so ``trainer.max_epochs=3`` and ``model.visual.widths=[8,16,32,64]``
both work). Unknown keys are errors, never silently ignored.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Sequence, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from avcorr.errors import ConfigError

T = TypeVar("T")


@dataclass
class VisualEncoderConfig:
    """Visual front end: 3-D conv stem, per-frame ResNet, temporal conv net.

    ``frame_size`` is the side of the square grayscale face crop in pixels (112 in the paper).
    """

    frame_size: int = 112
    stem_channels: int = 64
    widths: list[int] = field(default_factory=lambda: [64, 128, 256, 512])
    tcn_blocks: int = 5


@dataclass
class AudioEncoderConfig:
    """SE-ResNet over the MFCC image; the last width is the embedding size."""

    stem_channels: int = 16
    widths: list[int] = field(default_factory=lambda: [16, 32, 64, 128])
    blocks: list[int] = field(default_factory=lambda: [3, 4, 6, 3])


@dataclass
class DetectorConfig:
    """The student detector (docs/design.md §1). ``embed_dim`` must equal the audio encoder's last width."""

    name: str = "talknet_correlation"
    embed_dim: int = 128
    heads: int = 8
    attention_dropout: float = 0.1
    num_classes: int = 2
    visual: VisualEncoderConfig = field(default_factory=VisualEncoderConfig)
    audio: AudioEncoderConfig = field(default_factory=AudioEncoderConfig)

    def validate(self) -> None:
        if self.audio.widths[-1] != self.embed_dim:
            raise ConfigError(
                f"model.audio.widths[-1] ({self.audio.widths[-1]}) must equal model.embed_dim ({self.embed_dim})"
            )
        if self.embed_dim % self.heads:
            raise ConfigError(f"model.embed_dim ({self.embed_dim}) must be divisible by model.heads ({self.heads})")
        if len(self.visual.widths) != 4 or len(self.audio.widths) != 4 or len(self.audio.blocks) != 4:
            raise ConfigError("model.visual.widths, model.audio.widths and model.audio.blocks need 4 stages each")


@dataclass
class LossConfig:
    """Weights and forms of the three losses (docs/design.md §1).

    ``divergence`` picks how the soft correlation label is computed from teacher posteriors when
    it is not cached: ``paper`` (symmetric KL, the public code) or ``js`` (Jensen–Shannon in bits).
    ``joint_modal``: ``paper`` (sigmoid of the L2 distance over time) or ``scale_free``
    (distance / sqrt(T), no sigmoid).
    """

    lambda_cd: float = 1.0
    lambda_jm: float = 1.0
    divergence: Literal["paper", "js"] = "js"
    joint_modal: Literal["paper", "scale_free"] = "paper"
    margin: float = 1.0
    #: weight the detection loss by inverse class frequency of the training clips
    balance_classes: bool = True


@dataclass
class OptimConfig:
    """Adam with a per-epoch StepLR, as in the paper."""

    lr: float = 1e-4
    weight_decay: float = 0.0
    lr_gamma: float = 0.95


@dataclass
class AugmentConfig:
    """Video-only augmentations of the paper: horizontal flip, random crop, rotation."""

    enabled: bool = True
    flip_prob: float = 0.5
    crop_fraction: float = 0.9
    crop_prob: float = 0.5
    max_rotation_deg: float = 15.0
    rotation_prob: float = 0.5


@dataclass
class DataConfig:
    """How clips become batches. Batches are dynamic: filled up to ``max_batch_frames`` frames."""

    max_batch_frames: int = 2000
    max_clip_frames: int = 1000
    train_crop_frames: int | None = None
    val_fraction: float = 0.1
    num_workers: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass
class TrainerConfig:
    """What Lightning's Trainer gets. ``precision: auto`` means 16-mixed on CUDA, 32 elsewhere."""

    max_epochs: int = 30
    max_steps: int = -1
    accelerator: str = "auto"
    devices: int | str = "auto"
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "auto"
    seed: int = 0
    log_every_n_steps: int = 10
    gradient_clip_val: float | None = None
    deterministic: bool = True
    check_val_every_n_epoch: int = 1
    #: Train the visual ResNet's 2-D convs in channels-last (NHWC) layout: speed only (most with
    #: bf16-mixed on CPUs), the saved weights are the same; measured in docs/training.md.
    channels_last: bool = False


@dataclass
class ExperimentConfig:
    """Everything a training run needs; saved beside the weights as config.json."""

    model: DetectorConfig = field(default_factory=DetectorConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    data: DataConfig = field(default_factory=DataConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)


def from_dict(cls: type[T], values: dict[str, Any] | None, where: str = "") -> T:
    """Build dataclass ``cls`` from a nested dict, rejecting unknown keys and values of the wrong type.

    Every field is checked against its annotation: unions and ``Optional``, ``Literal``, list
    elements, nested sections. ``bool`` is not an ``int``; an ``int`` is accepted for a ``float``.
    A wrong value raises :class:`ConfigError` naming the dotted key, e.g.
    ``model.visual.widths[0] must be int, got 'a'``.
    """
    values = dict(values or {})
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown config key(s) {', '.join(where + k for k in unknown)}")
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in values:
            kwargs[f.name] = _check_value(hints[f.name], values[f.name], f"{where}{f.name}")
    return cls(**kwargs)


def _check_value(hint: Any, value: Any, name: str) -> Any:
    """``value`` converted to ``hint`` (int → float, tuple → list), or a ConfigError naming ``name``."""
    if is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"{name} must be a mapping, got {value!r}")
        return from_dict(hint, value, where=f"{name}.")
    origin = get_origin(hint)
    if origin in (Union, UnionType):
        if value is None and type(None) in get_args(hint):
            return None
        for arm in get_args(hint):
            if _matches_shape(arm, value):
                # the value has this arm's shape: its errors (e.g. a bad list element) are the precise ones
                return _check_value(arm, value, name)
        raise ConfigError(f"{name} must be {_describe(hint)}, got {value!r}")
    if not _matches_shape(hint, value):
        raise ConfigError(f"{name} must be {_describe(hint)}, got {value!r}")
    if origin is list:
        (element,) = get_args(hint) or (Any,)
        return [_check_value(element, item, f"{name}[{i}]") for i, item in enumerate(value)]
    if origin is dict:
        key_hint, value_hint = get_args(hint) or (Any, Any)
        return {_check_value(key_hint, k, f"{name} key {k!r}"): _check_value(value_hint, v, f"{name}.{k}")
                for k, v in value.items()}
    if hint is float:
        return float(value)
    return value


def _matches_shape(hint: Any, value: Any) -> bool:
    """Whether ``value`` has the outer type of ``hint`` (list elements and sections are checked after)."""
    origin = get_origin(hint)
    if hint is Any:
        return True
    if hint is type(None) or hint is None:
        return value is None
    if origin is Literal:
        # 1 == True in Python: compare types too, so ``True`` is not the literal ``1``
        return any(value == choice and type(value) is type(choice) for choice in get_args(hint))
    if origin in (Union, UnionType):
        return any(_matches_shape(arm, value) for arm in get_args(hint))
    if hint is list or origin is list:
        return isinstance(value, (list, tuple))
    if hint is dict or origin is dict:
        return isinstance(value, dict)
    if is_dataclass(hint):
        return isinstance(value, dict)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    raise TypeError(f"config annotation {hint!r} is not supported")


def _describe(hint: Any) -> str:
    """A type annotation in words: ``int or None``, ``one of ['paper', 'js']``, ``a list of int``."""
    origin = get_origin(hint)
    if hint is type(None) or hint is None:
        return "None"
    if origin is Literal:
        return f"one of {list(get_args(hint))}"
    if origin in (Union, UnionType):
        return " or ".join(_describe(arm) for arm in get_args(hint))
    if origin is list:
        (element,) = get_args(hint) or (Any,)
        return "a list" if element is Any else f"a list of {_describe(element)}"
    if hint is list:
        return "a list"
    if hint is dict or origin is dict:
        return "a mapping"
    if is_dataclass(hint):
        return "a mapping"
    return getattr(hint, "__name__", str(hint))


def to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def apply_overrides(values: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` overrides (values parsed as YAML) to a nested dict, in place."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {item!r}: value is not valid YAML ({exc.__class__.__name__})") from None
        node = values
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {part} is not a section")
        node[parts[-1]] = value
    return values


def load_experiment_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read a YAML (or JSON) experiment config, apply overrides, validate."""
    values: dict[str, Any] = {}
    if path is not None:
        path = resolve_config_path(path)
        try:
            loaded = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read config ({exc.__class__.__name__}: {exc})") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: a config must be a mapping of sections")
        values = loaded
    apply_overrides(values, overrides)
    config = from_dict(ExperimentConfig, values)
    config.model.validate()
    return config


def resolve_config_path(path: str | Path) -> Path:
    """The bundled config of a bare name (``paper``, ``cpu``, ``tiny``), else the path as given.

    A bare name (no suffix, no path separator) always means the bundled config, even when the
    working directory holds a file or folder of that name; ``./tiny`` or ``tiny.yaml`` is a path.
    """
    text = str(path)
    is_bare_name = "/" not in text and "\\" not in text and not Path(text).suffix
    if is_bare_name:
        bundled = Path(__file__).parent / "configs" / f"{text}.yaml"
        if bundled.is_file():
            return bundled
    candidate = Path(path)
    if candidate.is_file():
        return candidate
    if is_bare_name:
        names = ", ".join(sorted(p.stem for p in (Path(__file__).parent / "configs").glob("*.yaml")))
        raise ConfigError(f"{path}: no such config file or bundled config (bundled: {names})")
    raise ConfigError(f"{path}: config file not found")
