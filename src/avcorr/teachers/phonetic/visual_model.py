"""The visual side's model: lip features → a distribution over the 15 visemes.

A multinomial logistic regression, strongly L2-regularised (lip geometry is noisy and the labels
come from a speech recogniser, not from people). Its weights are a few kilobytes of ``.npz``
(``avcorr/resources/phonetic_lips.npz``), loaded without pickle; ``avcorr teacher fit-lips``
reproduces them (see docs/teachers.md).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from avcorr.errors import CheckpointError, MissingModelError
from avcorr.teachers.phonetic.lips import FEATURE_NAMES, lip_features
from avcorr.teachers.visemes import VISEMES

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "resources" / "phonetic_lips.npz"
#: Logit given to a viseme never seen in training (its probability comes from the uniform mix).
_UNSEEN_BIAS = -20.0


@dataclass
class LipVisemeModel:
    """``weight (V, D)``, ``bias (V,)`` over features with ±``context`` frames (D = (2c+2)·F)."""

    weight: np.ndarray
    bias: np.ndarray
    context: int = 2
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        expected = (2 * self.context + 2) * len(FEATURE_NAMES)
        if self.weight.shape != (len(VISEMES), expected) or self.bias.shape != (len(VISEMES),):
            raise CheckpointError(
                f"lip viseme model has weight {self.weight.shape}, bias {self.bias.shape}; "
                f"expected {(len(VISEMES), expected)} and {(len(VISEMES),)}"
            )

    def predict_proba(self, landmarks: np.ndarray) -> np.ndarray:
        """(T, 478, 3) landmarks of one clip → (T, V) viseme probabilities."""
        x = lip_features(landmarks, self.context).astype(np.float64)
        logits = x @ self.weight.T.astype(np.float64) + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, weight=self.weight.astype(np.float32), bias=self.bias.astype(np.float32),
                 context=np.array(self.context), visemes=np.array(VISEMES), features=np.array(FEATURE_NAMES),
                 provenance=np.array(json.dumps(self.provenance, sort_keys=True)))
        return path

    @classmethod
    def load(cls, path: str | Path | None = None) -> "LipVisemeModel":
        path = Path(path) if path else DEFAULT_MODEL
        if not path.is_file():
            raise MissingModelError(f"lip viseme model not found: {path} (run `avcorr teacher fit-lips`)")
        with np.load(path, allow_pickle=False) as data:
            if list(data["visemes"]) != VISEMES or list(data["features"]) != FEATURE_NAMES:
                raise CheckpointError(f"{path} was fitted for another viseme list or feature set")
            return cls(weight=data["weight"], bias=data["bias"], context=int(data["context"]),
                       provenance=json.loads(str(data["provenance"])))


def fit_lip_viseme_model(features: Sequence[np.ndarray], labels: Sequence[np.ndarray], context: int = 2,
                         regularization: float = 0.01, provenance: dict[str, Any] | None = None,
                         class_weight: str | None = None) -> LipVisemeModel:
    """Fit on clips' ``lip_features`` (T_i, D) and viseme indices (T_i,); ``regularization`` is sklearn's C,
    ``class_weight`` sklearn's (``"balanced"``: every viseme weighs as much as silence)."""
    from sklearn.linear_model import LogisticRegression

    x = np.concatenate([np.asarray(f, dtype=np.float64) for f in features])
    y = np.concatenate([np.asarray(l, dtype=np.int64) for l in labels])
    if len(np.unique(y)) < 2:
        raise ValueError("fitting the lip model needs frames of at least two visemes")
    fitted = LogisticRegression(C=regularization, max_iter=3000, class_weight=class_weight).fit(x, y)
    weight = np.zeros((len(VISEMES), x.shape[1]))
    bias = np.full(len(VISEMES), _UNSEEN_BIAS)
    weight[fitted.classes_] = fitted.coef_
    bias[fitted.classes_] = fitted.intercept_
    info = {"frames": int(len(y)), "clips": len(features), "regularization": regularization,
            **({"class_weight": class_weight} if class_weight else {}),
            "class_frames": {VISEMES[c]: int((y == c).sum()) for c in np.unique(y)}}
    return LipVisemeModel(weight=weight, bias=bias, context=context, provenance={**info, **(provenance or {})})
