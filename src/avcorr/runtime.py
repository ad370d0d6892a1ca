"""Small runtime helpers every layer may use: the device resolver, the stage timer, plain JSON.

A leaf module (numpy and torch only), so the one way of doing each of these lives below all the
layers that need it.
"""
from __future__ import annotations

import contextlib
import json
import os
import math
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from avcorr.errors import CheckpointError

#: The file beside a model's weights that describes it (kind, config, calibration, provenance).
CONFIG_NAME = "config.json"


def resolve_device(device: str = "auto") -> "torch.device":  # noqa: F821 (torch is imported when called)
    """``auto`` → CUDA when available, else CPU; any other name as torch spells it (``cpu``, ``cuda:1``)."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class StageTimer:
    """Wall seconds spent per named stage, summed over repeated entries.

    ``with timer("decode"): ...`` times a block; ``timer.add(stage, started)`` adds the time since a
    ``time.perf_counter()`` reading.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, stage: str, started: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, started)


def plain_json(value: Any) -> Any:
    """``value`` with numpy scalars/arrays, tuples and non-finite floats made JSON-plain (NaN, ±inf → None)."""
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain_json(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | Path, document: Any) -> Path:
    """``document`` as indented JSON at ``path`` (folders made), through a temporary file and a
    rename, so a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(document, indent=1) + "\n")
    os.replace(tmp, path)
    return path


def read_json_object(path: str | Path) -> dict[str, Any]:
    """A JSON file holding an object (a run's or a model's ``config.json``, ``split.json``);
    :class:`~avcorr.errors.CheckpointError` naming the file when it is missing, not JSON or not an object."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read ({error.strerror or error})") from None
    except ValueError:
        raise CheckpointError(f"{path}: not valid JSON") from None
    if not isinstance(document, dict):
        raise CheckpointError(f"{path}: not a JSON object")
    return document


def json_format(path: str | Path) -> str | None:
    """The ``format`` a ``.json`` file holding an object declares (how a detector kind recognises
    its own files); None for a missing, non-JSON or format-less file."""
    path = Path(path)
    if not path.is_file() or path.suffix.lower() != ".json":
        return None
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return document.get("format") if isinstance(document, dict) else None
