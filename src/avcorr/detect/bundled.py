"""The detectors shipped inside the package, as ``avcorr models`` lists them.

The default — what ``avcorr detect`` runs without a model flag — is :data:`DEFAULT_DETECTOR`,
picked by the wild benchmark's rule (the best lower CI bound of held-out ROC-AUC among variants
with at most 5% false alarms on held-out reals; docs/model_card.md, benchmarks/results/wild.md).
The calibrated zero-shot detector (:data:`ZERO_SHOT_NAME`, the phonetic teacher's lip/speech
consistency read against ``avcorr/resources/zero_shot_calibration.json``) is listed first.

Model folders in ``avcorr/resources/models/<name>/`` (``config.json``, plus ``model.safetensors``
where the model has weights; what ``detect --detector`` accepts by name) are listed by name; a
folder's kind comes from its ``config.json``: ``feature_logistic`` (a cue model from ``avcorr
fit-detector``), a reals-only dynamics reference, or a student run (``avcorr train``). Nothing here
runs a model; it only reads files.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avcorr.cues.real_reference import FORMAT as REAL_REFERENCE_FORMAT
from avcorr.detect import zero_shot
from avcorr.detect.registry import BUNDLED_DIR, DEFAULT_DETECTOR, read_config
from avcorr.errors import AvcorrError, CheckpointError
from avcorr.runtime import CONFIG_NAME

#: The name and kind ``avcorr models`` lists the calibrated zero-shot detector under.
ZERO_SHOT_NAME = "zero-shot"
ZERO_SHOT_KIND = "calibrated consistency"
CUE_KIND = "feature_logistic"  # avcorr.cues.classifier.KIND
DYNAMICS_KIND = "dynamics"
STUDENT_KIND = "student"


@dataclass
class BundledModel:
    """One shipped detector as ``avcorr models`` lists it. ``calibration``: the stored
    :class:`~avcorr.eval.calibration.Calibration` dict (None: uncalibrated); ``training_labels``:
    training clips per label, where the config says; ``error``: why it is unusable, or None. The
    zero-shot entry adds ``reference_clips`` (real clips its scores are read against),
    ``window_frames`` (frames per scored window; None: whole clips) and ``normalise`` (the
    canonical resolution videos are prepared at; None: as decoded)."""

    name: str
    path: Path
    kind: str
    groups: list[str] = field(default_factory=list)
    num_features: int | None = None
    calibration: dict[str, Any] | None = None
    training_labels: dict[str, int] | None = None
    error: str | None = None
    reference_clips: int | None = None
    window_frames: int | None = None
    normalise: dict[str, Any] | None = None

    @property
    def is_default(self) -> bool:
        """What ``avcorr detect`` runs without a model flag (:data:`DEFAULT_DETECTOR`)."""
        return self.name == DEFAULT_DETECTOR

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "default": self.is_default, "path": str(self.path), "kind": self.kind,
                "groups": self.groups, "num_features": self.num_features, "calibration": self.calibration,
                "training_labels": self.training_labels, "reference_clips": self.reference_clips,
                "window_frames": self.window_frames, "normalise": self.normalise, "error": self.error}


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
    if config.get("format") == REAL_REFERENCE_FORMAT:  # no weights: the real clips' values are the model
        extra = config.get("extra") or {}
        labels = (extra.get("training_data") or {}).get("labels")
        return BundledModel(name=folder.name, path=folder, kind=DYNAMICS_KIND, groups=list(extra.get("cues") or []),
                            num_features=len(config.get("columns") or []), training_labels=labels,
                            reference_clips=config.get("num_real_clips"), window_frames=extra.get("crop_frames"),
                            normalise=extra.get("normalise"))
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


def describe_zero_shot(path: str | Path | None = None) -> BundledModel:
    """The calibrated zero-shot detector as ``avcorr models`` lists it, from its calibration file
    (default: the packaged one). Without the file it is listed uncalibrated (``calibration``
    None: detect then scores with the teacher's fixed prior and warns); an unreadable file is
    its ``error``."""
    path = Path(path) if path is not None else zero_shot.PACKAGED_CALIBRATION
    entry = BundledModel(name=ZERO_SHOT_NAME, path=path, kind=ZERO_SHOT_KIND)
    if not path.is_file():
        return entry
    try:
        calibration = zero_shot.ZeroShotCalibration.load(path)
    except AvcorrError as error:
        entry.error = str(error)
        return entry
    entry.calibration = calibration.calibration().to_dict()
    entry.reference_clips = calibration.num_real_clips
    entry.window_frames = calibration.window_frames
    entry.normalise = None if calibration.normalise is None else calibration.normalise.to_dict()
    return entry


def bundled_models(root: str | Path | None = None) -> list[BundledModel]:
    """The shipped detectors: the calibrated zero-shot one (the default) first, then the model
    folders in ``root`` (default :data:`BUNDLED_DIR`) by name. A folder without ``config.json``
    is not a model and is skipped."""
    folder = Path(root) if root is not None else BUNDLED_DIR
    found = [describe(p) for p in sorted(folder.iterdir()) if p.is_dir() and (p / CONFIG_NAME).exists()] \
        if folder.is_dir() else []
    return [describe_zero_shot(), *sorted(found, key=lambda m: m.name)]


def bundled_cue_model(root: str | Path | None = None) -> Path | None:
    """The first usable bundled cue model folder (by name), or None when this install ships none
    (benchmarks time it). Never what ``avcorr detect`` runs without a model flag: run it with
    ``detect --checkpoint``."""
    found = [m for m in bundled_models(root) if m.kind == CUE_KIND and m.error is None]
    return found[0].path if found else None
