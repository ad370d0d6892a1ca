"""Operating thresholds fitted on real clips only, and the verdict bands they define.

A threshold is chosen for a target false-alarm rate (the share of real clips called fake), so it
needs no fakes — a held-out generator cannot leak into it. Two thresholds make three bands:
``fake`` (score >= fake_threshold, calibrated to 5% false alarms by default), ``uncertain``
(between the two; the uncertain threshold allows 20% of reals at or above it by default) and
``no evidence of manipulation`` (below both). A score is the probability of fake.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping, Sequence

import numpy as np

from avcorr.errors import ConfigError

FAKE = "fake"
UNCERTAIN = "uncertain"
NO_EVIDENCE = "no evidence of manipulation"
BANDS = (FAKE, UNCERTAIN, NO_EVIDENCE)


def threshold_for_false_alarm(real_scores: Sequence[float], rate: float) -> float:
    """The smallest threshold t with (share of real scores >= t) <= ``rate``.

    k = floor(rate · n) reals may score at or above t; t lies just above the (k+1)-th largest real
    score (``np.nextafter``), so tied reals are all below it and fewer than k may remain above.
    """
    s = np.asarray(real_scores, dtype=float)
    if s.size == 0:
        raise ValueError("no real scores to calibrate a threshold on")
    if np.isnan(s).any():
        raise ValueError(f"{int(np.isnan(s).sum())} NaN real score(s)")
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"false-alarm rate must be in [0, 1), got {rate}")
    allowed = min(int(math.floor(rate * s.size + 1e-9)), s.size - 1)  # 1e-9: 0.29 * 100 is 28.999…
    kth_largest = np.sort(s)[::-1][allowed]
    return float(np.nextafter(kth_largest, np.inf))


def false_alarm_rate(real_scores: Sequence[float], threshold: float) -> float:
    """Share of real clips called fake (score >= threshold); NaN without reals."""
    s = np.asarray(real_scores, dtype=float)
    return float((s >= threshold).mean()) if s.size else math.nan


def recall(fake_scores: Sequence[float], threshold: float) -> float:
    """Share of fake clips called fake (score >= threshold); NaN without fakes."""
    s = np.asarray(fake_scores, dtype=float)
    return float((s >= threshold).mean()) if s.size else math.nan


@dataclass(frozen=True, kw_only=True)
class Calibration:
    """A model's two thresholds, the false-alarm rates they were fitted for, and on what."""

    fake_threshold: float
    fake_false_alarm_rate: float = 0.05
    uncertain_threshold: float
    uncertain_false_alarm_rate: float = 0.20
    num_real_clips: int
    source: str

    def __post_init__(self) -> None:
        if self.uncertain_threshold > self.fake_threshold:
            raise ValueError(f"uncertain threshold {self.uncertain_threshold} is above the fake threshold "
                             f"{self.fake_threshold}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "calibration") -> "Calibration":
        """Read :meth:`to_dict`'s output; ``origin`` (e.g. a config file) names the source in errors."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{origin}: calibration must be an object, got {type(data).__name__}")
        required = [f.name for f in fields(cls) if f.name not in ("fake_false_alarm_rate", "uncertain_false_alarm_rate")]
        missing = [name for name in required if name not in data]
        if missing:
            raise ConfigError(f"{origin}: calibration lacks {', '.join(missing)}")
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"{origin}: calibration has unknown key(s) {', '.join(unknown)}")
        try:
            values = {k: float(v) for k, v in data.items() if k not in ("num_real_clips", "source")}
            calibration = cls(**values, num_real_clips=int(data["num_real_clips"]), source=str(data["source"]))
        except (TypeError, ValueError) as error:
            raise ConfigError(f"{origin}: bad calibration ({error})") from None
        return calibration


def calibrate(real_scores: Sequence[float], source: str, fake_false_alarm_rate: float = 0.05,
              uncertain_false_alarm_rate: float = 0.20) -> Calibration:
    """Both thresholds from real clips' scores (``source`` says which clips, e.g. ``training-side reals``)."""
    return Calibration(
        fake_threshold=threshold_for_false_alarm(real_scores, fake_false_alarm_rate),
        fake_false_alarm_rate=fake_false_alarm_rate,
        uncertain_threshold=threshold_for_false_alarm(real_scores, uncertain_false_alarm_rate),
        uncertain_false_alarm_rate=uncertain_false_alarm_rate,
        num_real_clips=len(real_scores),
        source=source,
    )


def band(score: float, calibration: Calibration) -> str:
    """``fake`` (score >= fake threshold), ``uncertain`` (>= uncertain threshold) or ``no evidence of manipulation``."""
    if math.isnan(score):
        raise ValueError("a NaN score has no band")
    if score >= calibration.fake_threshold:
        return FAKE
    if score >= calibration.uncertain_threshold:
        return UNCERTAIN
    return NO_EVIDENCE
