"""The detectors shipped inside the package: ``avcorr/resources/models/<name>/``.

Each folder is a model ``detect --checkpoint`` accepts (``config.json`` + ``model.safetensors``);
the one named ``default`` is what ``avcorr detect`` runs without a model flag. A folder's kind
comes from its ``config.json``: ``feature_logistic`` (a cue model from ``avcorr fit-detector``)
or a student run (``avcorr train``). Nothing here runs a model; it only reads configs.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avcorr.errors import CheckpointError

BUNDLED_DIR = Path(__file__).resolve().parents[1] / "resources" / "models"
DEFAULT_NAME = "default"
CUE_KIND = "feature_logistic"  # avcorr.cues.classifier.KIND
STUDENT_KIND = "student"
CONFIG_NAME = "config.json"


@dataclass
class BundledModel:
    """One shipped model as ``avcorr models`` lists it. ``calibration``: the stored
    :class:`~avcorr.eval.calibration.Calibration` dict (None: uncalibrated); ``training_labels``:
    training clips per label, where the config says; ``error``: why the folder is unusable, or None."""

    name: str
    path: Path
    kind: str
    groups: list[str] = field(default_factory=list)
    num_features: int | None = None
    calibration: dict[str, Any] | None = None
    training_labels: dict[str, int] | None = None
    error: str | None = None

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_NAME

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "default": self.is_default, "path": str(self.path), "kind": self.kind,
                "groups": self.groups, "num_features": self.num_features, "calibration": self.calibration,
                "training_labels": self.training_labels, "error": self.error}


def read_config(folder: str | Path) -> dict[str, Any]:
    """A model folder's ``config.json`` as a dict; :class:`CheckpointError` when it is missing or bad."""
    path = Path(folder) / CONFIG_NAME
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise CheckpointError(f"{path}: cannot read ({error.strerror or error})") from None
    except ValueError:
        raise CheckpointError(f"{path}: not valid JSON") from None
    if not isinstance(document, dict):
        raise CheckpointError(f"{path}: not a JSON object")
    return document


def model_kind(folder: str | Path) -> str:
    """``feature_logistic`` for a cue model, ``student`` for anything else (a run folder, or a
    ``model.safetensors`` path, whose checks are the student loader's)."""
    folder = Path(folder)
    if not folder.is_dir() or not (folder / CONFIG_NAME).is_file():
        return STUDENT_KIND
    kind = read_config(folder).get("kind")
    return CUE_KIND if kind == CUE_KIND else STUDENT_KIND


def describe(folder: Path) -> BundledModel:
    """What a model folder holds, from its config (an unreadable one is listed with its error)."""
    try:
        config = read_config(folder)
    except CheckpointError as error:
        return BundledModel(name=folder.name, path=folder, kind="unreadable", error=str(error))
    if not (folder / "model.safetensors").is_file():
        return BundledModel(name=folder.name, path=folder, kind=str(config.get("kind", STUDENT_KIND)),
                            error=f"{folder}: model.safetensors is missing")
    if config.get("kind") == CUE_KIND:
        info = config.get("info") or {}
        names = list(config.get("feature_names") or [])
        groups = list(info.get("groups") or sorted({n.split(".", 1)[0] for n in names}))
        labels = (info.get("training_data") or {}).get("labels")
        return BundledModel(name=folder.name, path=folder, kind=CUE_KIND, groups=groups, num_features=len(names),
                            calibration=config.get("calibration"), training_labels=labels)
    return BundledModel(name=folder.name, path=folder, kind=STUDENT_KIND, calibration=config.get("calibration"))


def bundled_models(root: str | Path | None = None) -> list[BundledModel]:
    """The models shipped in ``root`` (default :data:`BUNDLED_DIR`), ``default`` first, then by name.
    A folder without ``config.json`` is not a model and is skipped."""
    folder = Path(root) if root is not None else BUNDLED_DIR
    if not folder.is_dir():
        return []
    found = [describe(p) for p in sorted(folder.iterdir()) if p.is_dir() and (p / CONFIG_NAME).exists()]
    return sorted(found, key=lambda m: (not m.is_default, m.name))


def default_model_path(root: str | Path | None = None) -> Path | None:
    """The folder of the bundled ``default`` model, or None when this install ships none."""
    folder = (Path(root) if root is not None else BUNDLED_DIR) / DEFAULT_NAME
    return folder if (folder / CONFIG_NAME).is_file() and (folder / "model.safetensors").is_file() else None
