"""The few exceptions avcorr raises for users: each carries a one-line message.

The CLI prints ``str(error)`` and exits non-zero; tracebacks appear only with ``--debug``.
"""
from __future__ import annotations

from pathlib import Path


class AvcorrError(Exception):
    """Base class: an error a user can act on, described in one line."""


class ConfigError(AvcorrError):
    """A config file or a key=value override is wrong."""


class InputError(AvcorrError):
    """A user's file cannot be used. ``stage`` says where it failed (decode, track, ...)."""

    def __init__(self, path: str | Path, reason: str, stage: str = "input") -> None:
        self.path = str(path)
        self.reason = reason
        self.stage = stage
        super().__init__(f"{self.path}: {reason}")


class CheckpointError(AvcorrError):
    """A checkpoint is missing, malformed, or does not fit the model."""


class MissingModelError(AvcorrError):
    """A model file the user must provide (e.g. deep_avsr weights) is absent."""
