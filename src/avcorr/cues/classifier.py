"""A calibrated linear classifier over named per-clip features, saved without pickle.

Used for every feature-based detector (the metadata shortcut baseline, the cue detectors, the
fused score): features are imputed with the training medians, scaled robustly (median / IQR,
so one extreme clip does not set the scale), clipped to ±``clip_z`` and fed to an
L2-regularised logistic regression. A folder holds ``model.safetensors`` (the numbers) and
``config.json`` (feature names, hyper-parameters, calibration), so loading runs no code.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from avcorr.errors import CheckpointError
from avcorr.runtime import CONFIG_NAME, read_json_object

KIND = "feature_logistic"


@dataclass
class FeatureClassifier:
    """Fitted parameters. ``coef`` and ``scale`` are over ``feature_names`` in order."""

    feature_names: list[str]
    median: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    c: float = 0.1
    clip_z: float = 5.0
    calibration: dict[str, Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def matrix(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        """(N, F) standardised features of ``rows`` (missing or NaN → the training median)."""
        raw = np.array([[float(r.get(n, np.nan)) for n in self.feature_names] for r in rows], dtype=np.float64)
        raw = raw.reshape(len(rows), len(self.feature_names))
        raw = np.where(np.isfinite(raw), raw, self.median)
        return np.clip((raw - self.median) / self.scale, -self.clip_z, self.clip_z)

    def decision(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        return self.matrix(rows) @ self.coef + self.intercept

    def score(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        """(N,) probability of fake."""
        return 1.0 / (1.0 + np.exp(-np.clip(self.decision(rows), -60, 60)))

    def contributions(self, row: Mapping[str, float], top: int = 5) -> list[tuple[str, float]]:
        """The features that moved this clip's decision most (name, signed contribution in logits)."""
        parts = self.matrix([row])[0] * self.coef
        order = np.argsort(-np.abs(parts))[:top]
        return [(self.feature_names[i], float(parts[i])) for i in order]

    def save(self, folder: str | Path) -> Path:
        from safetensors.numpy import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file({"median": self.median.astype(np.float64), "scale": self.scale.astype(np.float64),
                   "coef": self.coef.astype(np.float64), "intercept": np.array([self.intercept], dtype=np.float64)},
                  str(folder / "model.safetensors"))
        config = {"kind": KIND, "feature_names": self.feature_names, "c": self.c, "clip_z": self.clip_z,
                  "calibration": self.calibration, "info": self.info}
        (folder / CONFIG_NAME).write_text(json.dumps(config, indent=1) + "\n")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "FeatureClassifier":
        from safetensors.numpy import load_file

        folder = Path(folder)
        config = read_json_object(folder / CONFIG_NAME)
        try:
            tensors = load_file(str(folder / "model.safetensors"))
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{folder}: not a feature classifier ({exc.__class__.__name__}: {exc})") from None
        if config.get("kind") != KIND:
            raise CheckpointError(f"{folder}: config.json kind is {config.get('kind')!r}, expected {KIND!r}")
        names = list(config["feature_names"])
        if any(tensors[k].shape != (len(names),) for k in ("median", "scale", "coef")):
            raise CheckpointError(f"{folder}: parameter shapes do not match {len(names)} feature names")
        return cls(feature_names=names, median=tensors["median"], scale=tensors["scale"], coef=tensors["coef"],
                   intercept=float(tensors["intercept"][0]), c=float(config.get("c", 0.1)),
                   clip_z=float(config.get("clip_z", 5.0)), calibration=config.get("calibration"),
                   info=dict(config.get("info") or {}))


def fit_classifier(rows: Sequence[Mapping[str, float]], labels: Sequence[int], feature_names: Sequence[str],
                   c: float = 0.1, clip_z: float = 5.0, balanced: bool = True) -> FeatureClassifier:
    """Fit on training rows only. ``c`` is the inverse L2 strength; classes weighted to balance."""
    from sklearn.linear_model import LogisticRegression

    names = list(feature_names)
    labels = np.asarray(labels, dtype=int)
    if len(set(labels.tolist())) < 2:
        raise ValueError("fitting a classifier needs real and fake training clips")
    raw = np.array([[float(r.get(n, np.nan)) for n in names] for r in rows], dtype=np.float64)
    median = np.nanmedian(np.where(np.isfinite(raw), raw, np.nan), axis=0)
    median = np.where(np.isfinite(median), median, 0.0)
    filled = np.where(np.isfinite(raw), raw, median)
    q75, q25 = np.percentile(filled, [75, 25], axis=0)
    scale = (q75 - q25) / 1.349
    fallback = filled.std(axis=0)
    scale = np.where(scale > 1e-12, scale, np.where(fallback > 1e-12, fallback, 1.0))
    z = np.clip((filled - median) / scale, -clip_z, clip_z)
    model = LogisticRegression(C=c, class_weight="balanced" if balanced else None, max_iter=2000)
    model.fit(z, labels)
    return FeatureClassifier(feature_names=names, median=median, scale=scale, coef=model.coef_[0].astype(np.float64),
                             intercept=float(model.intercept_[0]), c=c, clip_z=clip_z)


def out_of_fold_scores(rows: Sequence[Mapping[str, float]], labels: Sequence[int], groups: Sequence[str],
                       feature_names: Sequence[str], folds: int = 5, seed: int = 0, **fit_options: Any) -> np.ndarray:
    """Scores of the training rows by models that did not see their group (grouped K-fold), for
    calibrating a threshold on training-side clips without scoring a clip by a model fitted on it.
    Rows whose fold lacks a class to train on stay NaN."""
    labels = np.asarray(labels, dtype=int)
    unique = sorted(set(groups))
    rng = np.random.default_rng(seed)
    order = [unique[i] for i in rng.permutation(len(unique))]
    # largest groups first to balance the folds, then round-robin by size
    sizes = {g: sum(1 for x in groups if x == g) for g in unique}
    order.sort(key=lambda g: -sizes[g])
    fold_of: dict[str, int] = {}
    load = [0] * max(1, min(folds, len(unique)))
    for g in order:
        k = int(np.argmin(load))
        fold_of[g] = k
        load[k] += sizes[g]
    scores = np.full(len(rows), np.nan)
    for k in range(len(load)):
        test = np.array([fold_of[g] == k for g in groups])
        train = ~test
        if len(set(labels[train].tolist())) < 2:
            continue
        model = fit_classifier([rows[i] for i in np.flatnonzero(train)], labels[train], feature_names, **fit_options)
        scores[test] = model.score([rows[i] for i in np.flatnonzero(test)])
    return scores


def save_rows(path: str | Path, rows: Mapping[str, Mapping[str, float]]) -> Path:
    """Per-clip features as JSON (clip id → {name: value}); NaN written as null."""
    plain = {k: {n: (None if not np.isfinite(v) else float(v)) for n, v in r.items()} for k, r in rows.items()}
    Path(path).write_text(json.dumps(plain) + "\n")
    return Path(path)


def load_rows(path: str | Path) -> dict[str, dict[str, float]]:
    values = json.loads(Path(path).read_text())
    return {k: {n: (np.nan if v is None else float(v)) for n, v in r.items()} for k, r in values.items()}


def to_dict(classifier: FeatureClassifier) -> dict[str, Any]:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in asdict(classifier).items()}
