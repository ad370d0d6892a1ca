"""Which pseudo-fake types are on and how often each is drawn (the ablation switches them).

``PSEUDO_TYPES`` names the generators; a :class:`PseudoMix` holds their mixing weights (0: off).
:func:`make_pseudo_fake` draws a type by weight and forges one span of a clip with it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from avcorr.errors import ConfigError
from avcorr.pseudo.av_splice import av_splice
from avcorr.pseudo.clip import PseudoFake, SourceClip
from avcorr.pseudo.lower_face import lower_face
from avcorr.pseudo.self_blend import self_blend
from avcorr.pseudo.still_image import still_image

Generator = Callable[[SourceClip, "tuple[int, int] | None", np.random.Generator], PseudoFake]

PSEUDO_TYPES: dict[str, Generator] = {
    "lower_face": lower_face,
    "still": still_image,
    "self_blend": self_blend,
    "av_splice": av_splice,
}
DEFAULT_WEIGHTS = {"lower_face": 0.35, "still": 0.25, "self_blend": 0.25, "av_splice": 0.15}


@dataclass(frozen=True)
class PseudoMix:
    """Mixing weights of the pseudo-fake types (any non-negative numbers; 0 turns a type off)."""

    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))

    def __post_init__(self) -> None:
        unknown = sorted(set(self.weights) - set(PSEUDO_TYPES))
        if unknown:
            raise ConfigError(f"unknown pseudo-fake type(s) {', '.join(unknown)}; known: {', '.join(PSEUDO_TYPES)}")
        if any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            raise ConfigError("pseudo-fake weights must be >= 0 with at least one > 0")

    @classmethod
    def only(cls, types: list[str] | tuple[str, ...]) -> "PseudoMix":
        """The default weights of ``types``, every other type off."""
        unknown = sorted(set(types) - set(PSEUDO_TYPES))
        if unknown or not types:
            raise ConfigError(f"unknown pseudo-fake type(s) {', '.join(unknown) or '(none given)'}; "
                              f"known: {', '.join(PSEUDO_TYPES)}")
        return cls({t: DEFAULT_WEIGHTS[t] for t in types})

    @property
    def enabled(self) -> list[str]:
        return [t for t, w in self.weights.items() if w > 0]

    def draw(self, rng: np.random.Generator) -> str:
        names = self.enabled
        p = np.array([self.weights[t] for t in names], np.float64)
        return names[int(rng.choice(len(names), p=p / p.sum()))]


def make_pseudo_fake(clip: SourceClip, span: tuple[int, int] | None, rng: np.random.Generator,
                     mix: PseudoMix = PseudoMix()) -> PseudoFake:
    """One pseudo-fake of ``clip``'s ``span``, of a type drawn from ``mix``."""
    return PSEUDO_TYPES[mix.draw(rng)](clip, span, rng)
