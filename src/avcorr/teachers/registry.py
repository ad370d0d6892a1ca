"""Teachers by name: ``none``, ``phonetic`` (the offline default) and ``deep_avsr``."""
from __future__ import annotations

from typing import Any, Callable

from avcorr.errors import ConfigError
from avcorr.teachers.base import Teacher
from avcorr.teachers.deep_avsr import DeepAVSRTeacher
from avcorr.teachers.phonetic.teacher import PhoneticTeacher


def _phonetic(**options: Any) -> Teacher:
    return PhoneticTeacher(**options)


def _deep_avsr(**options: Any) -> Teacher:
    return DeepAVSRTeacher(**options)


_BUILDERS: dict[str, Callable[..., Teacher]] = {"phonetic": _phonetic, "deep_avsr": _deep_avsr}
TEACHER_NAMES: list[str] = ["none", *_BUILDERS]


def get_teacher(name: str, **options: Any) -> Teacher | None:
    """The teacher called ``name`` built with ``options``; ``none`` gives None (no distillation labels)."""
    key = name.strip().lower().replace("-", "_")
    if key == "none":
        return None
    if key not in _BUILDERS:
        raise ConfigError(f"unknown teacher {name!r} (choose from {', '.join(TEACHER_NAMES)})")
    return _BUILDERS[key](**options)
