"""Detector kinds by name, and :func:`load`: a name or a path in, a ready detector out.

A kind registers itself with :func:`register_detector` in its own module (``@register_detector``
on a :class:`~avcorr.detect.base.Detector` subclass); :mod:`avcorr.detect` imports the kind
modules, so registration happens on ``import avcorr.detect``. :func:`load` resolves, in order:
nothing (the shipped default, :data:`DEFAULT_DETECTOR`), a registered kind
name (``zero-shot``), a bundled model folder's name (``avcorr models``), or a path — a model
folder whose ``config.json`` names its ``kind``, a file a kind recognises (a zero-shot calibration
JSON), or a student run folder (a folder with a ``config.json`` and no known ``kind``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from avcorr.detect.base import Detector
from avcorr.errors import ConfigError
from avcorr.runtime import CONFIG_NAME, read_json_object

#: The model folders shipped inside the package (``avcorr models`` lists them).
BUNDLED_DIR = Path(__file__).resolve().parents[1] / "resources" / "models"
#: What ``avcorr detect`` and ``avcorr.detect.load()`` run without a model: chosen by the wild
#: benchmark's rule (docs/design.md §9, docs/model_card.md).
DEFAULT_DETECTOR = "trace-cues"

D = TypeVar("D", bound=type[Detector])

_KINDS: dict[str, type[Detector]] = {}
#: The kind a model folder loads as when its config.json names no registered kind (a student run).
FALLBACK_KIND = "model"


def read_config(folder: str | Path) -> dict[str, Any]:
    """A model folder's ``config.json`` as a dict; :class:`~avcorr.errors.CheckpointError` when it is missing or bad."""
    return read_json_object(Path(folder) / CONFIG_NAME)


def register_detector(cls: D) -> D:
    """Class decorator: make ``cls`` loadable by its :attr:`~Detector.kind` name and by the
    ``config.json`` kinds it lists in :attr:`~Detector.config_kinds`."""
    if not cls.kind:
        raise ValueError(f"{cls.__name__} has no kind name")
    if cls.kind in _KINDS and _KINDS[cls.kind] is not cls:
        raise ValueError(f"detector kind {cls.kind!r} is registered twice")
    _KINDS[cls.kind] = cls
    return cls


def detector_kinds() -> dict[str, type[Detector]]:
    """The registered kinds, by name."""
    return dict(_KINDS)


def _kind_for_config(kind: str | None) -> type[Detector]:
    for cls in _KINDS.values():
        if kind in cls.config_kinds:
            return cls
    return _KINDS[FALLBACK_KIND]


def resolve(name_or_path: str | Path | None) -> tuple[type[Detector], Path | None]:
    """The kind and the model path (None: the kind needs none) that ``name_or_path`` means."""
    name = DEFAULT_DETECTOR if name_or_path is None else name_or_path
    if isinstance(name, str) and name in _KINDS:
        return _KINDS[name], None
    path = Path(name)
    if not path.exists() and isinstance(name, str) and (BUNDLED_DIR / name / CONFIG_NAME).is_file():
        path = BUNDLED_DIR / name
    if not path.exists():
        known = ", ".join(sorted(_KINDS))
        raise ConfigError(f"{name}: not a detector name ({known}, or a bundled model: `avcorr models`) "
                          "and no such file or folder")
    if path.is_dir() and (path / CONFIG_NAME).is_file():
        config = read_config(path)
        return _kind_for_config(config.get("kind") or config.get("format")), path
    for cls in _KINDS.values():
        if cls.recognises(path):
            return cls, path
    return _KINDS[FALLBACK_KIND], path  # a run folder or a .safetensors file: the student loader checks it


def load(name_or_path: str | Path | None = None, **options: Any) -> Detector:
    """A ready detector: the shipped default (None), a kind's name, a bundled model's name, or a
    path. ``options`` go to the kind: ``threshold`` (your own fake threshold), ``max_frames``,
    ``evidence_frames`` for every kind, plus the kind's own (e.g. ``device`` for a student)."""
    cls, path = resolve(name_or_path)
    return cls(**options) if path is None else cls.from_path(path, **options)

