"""A detector fitted on real clips only: how extreme each cue of a clip is among real footage.

Per feature, the sorted values of N real clips. A clip's value gets a conformal tail p-value
(the +1 correction: a new real clip is as likely to fall in any of the N + 1 gaps):
``low`` = (1 + #{reals ≤ x}) / (N + 1), ``high`` = (1 + #{reals ≥ x}) / (N + 1), ``two`` =
min(1, 2 · min(low, high)). Fitted with source groups, each group weighs one clip in all (its
clips 1/n each; N is then the number of groups and the new clip counts as one more group), so
that one large source (45 clips of one studio speaker) cannot set the tails alone. Which tail is evidence is each feature's property
(:data:`avcorr.cues.dynamics.FEATURES`; the zero-shot consistency is two-sided: audio-driven
animation is *more* lip/speech consistent than real footage, a dub or a swap less).

Combined score: within a cue, the smallest p-value times the number of its measured features
(Bonferroni: a cue's features are strongly dependent); across cues, Fisher's method; the score is
−log10 of Fisher's p (0 when nothing was measured). No fake is ever used: the bands come from
:func:`avcorr.eval.calibration.calibrate` on :attr:`RealReference.real_scores`, the reals' own
scores each computed against a reference that did not contain that clip's source group.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from avcorr.cues import dynamics
from avcorr.cues.corpus import CONSISTENCY, DYNAMICS
from avcorr.errors import ConfigError
from avcorr.runtime import write_json

FORMAT, VERSION = "avcorr-real-reference", 1
SIDES = (dynamics.LOW, dynamics.HIGH, dynamics.TWO)
#: Every cue the reference can score: the dynamics parts and the zero-shot consistency.
CUES: tuple[str, ...] = dynamics.CUES + ("consistency",)


@dataclass(frozen=True)
class Column:
    """A scored column of the corpus feature table: its ``cue`` (the ablation unit), ``side`` and why."""

    name: str
    cue: str
    side: str
    why: str = ""


def _known_columns() -> dict[str, Column]:
    known = {f"{DYNAMICS}.{f.name}": Column(f"{DYNAMICS}.{f.name}", cue, f.side, f.why)
             for cue in dynamics.CUES for f in dynamics.FEATURES[cue]}
    # the blink count and length are the animation group's own features, not measured twice
    known["anim.blink_rate_per_min"] = Column("anim.blink_rate_per_min", "eyes", dynamics.TWO,
                                              "no blink at all, or blinks far more often than people")
    known["anim.blink_duration_s"] = Column("anim.blink_duration_s", "eyes", dynamics.TWO,
                                            "blinks shorter or longer than real ones")
    zs = f"{CONSISTENCY}.mean_correlation"
    known[zs] = Column(zs, "consistency", dynamics.TWO,
                       "over-consistent: driven by the audio; under-consistent: dubbed or swapped")
    return known


KNOWN_COLUMNS: dict[str, Column] = _known_columns()


def reference_columns(cues: Sequence[str] = CUES) -> list[str]:
    """The column names of ``cues`` (a subset of :data:`CUES`), for an ablation."""
    unknown = sorted(set(cues) - set(CUES))
    if unknown:
        raise ValueError(f"unknown cue(s) {unknown}; known: {list(CUES)}")
    return [name for name, column in KNOWN_COLUMNS.items() if column.cue in cues]


def tail_p_value(sorted_reals: np.ndarray, value: float, side: str, weights: np.ndarray | None = None) -> float:
    """Conformal tail p-value of ``value`` among ``sorted_reals`` (ascending, finite), each real
    weighing ``weights`` (default 1; the new clip weighs 1); NaN for a NaN value or no reals."""
    if len(sorted_reals) == 0 or not math.isfinite(value):
        return math.nan
    w = np.ones(len(sorted_reals)) if weights is None else np.asarray(weights, dtype=np.float64)
    cumulative = np.concatenate([[0.0], np.cumsum(w)])
    total = cumulative[-1]
    low = (1 + cumulative[int(np.searchsorted(sorted_reals, value, side="right"))]) / (total + 1)
    high = (1 + total - cumulative[int(np.searchsorted(sorted_reals, value, side="left"))]) / (total + 1)
    if side == dynamics.LOW:
        return low
    if side == dynamics.HIGH:
        return high
    if side == dynamics.TWO:
        return min(1.0, 2 * min(low, high))
    raise ValueError(f"unknown side {side!r}; known: {list(SIDES)}")


def fisher_score(p_values: Sequence[float]) -> float:
    """−log10 of Fisher's combined p-value of the finite ``p_values`` (0 when there are none).

    Fisher's X = −2 Σ ln p is χ² with 2k degrees of freedom; its survival function for even
    degrees is exp(−X/2) Σ_{i<k} (X/2)^i / i!, summed in logs so that tiny p-values stay finite.
    """
    p = np.asarray([v for v in p_values if math.isfinite(v)], dtype=np.float64)
    if p.size == 0:
        return 0.0
    half = float(-np.log(np.clip(p, 1e-300, 1.0)).sum())
    terms = [i * math.log(half) - math.lgamma(i + 1) if half > 0 else (0.0 if i == 0 else -math.inf)
             for i in range(p.size)]
    top = max(terms)
    log_sf = -half + top + math.log(sum(math.exp(t - top) for t in terms))
    return max(0.0, -log_sf / math.log(10))


@dataclass
class RealReference:
    """Per scored column, the sorted values of the real clips it was fitted on and their weights
    (1, or 1 / clips of its source group).

    ``real_scores``: out-of-fold scores of those reals (for :func:`~avcorr.eval.calibration.calibrate`).
    """

    columns: tuple[Column, ...]
    values: dict[str, np.ndarray]
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    real_scores: tuple[float, ...] = ()
    num_real_clips: int = 0
    folds: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def p_values(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        """(N, F) tail p-values of each row's columns (NaN where a row lacks a value)."""
        out = np.full((len(rows), len(self.columns)), np.nan)
        for i, row in enumerate(rows):
            for j, column in enumerate(self.columns):
                value = row.get(column.name)
                out[i, j] = tail_p_value(self.values[column.name], float(value) if value is not None else math.nan,
                                         column.side, self.weights.get(column.name))
        return out

    def cue_p_values(self, rows: Sequence[Mapping[str, float]]) -> dict[str, np.ndarray]:
        """Per cue, (N,) Bonferroni p-values: min over its measured columns × their number (NaN if none)."""
        p = self.p_values(rows)
        cues = sorted({c.cue for c in self.columns}, key=CUES.index)
        out: dict[str, np.ndarray] = {}
        for cue in cues:
            block = p[:, [j for j, c in enumerate(self.columns) if c.cue == cue]]
            counts = np.isfinite(block).sum(axis=1)
            smallest = np.where(np.isfinite(block), block, 1.0).min(axis=1, initial=1.0)
            out[cue] = np.where(counts > 0, np.minimum(1.0, smallest * np.maximum(counts, 1)), np.nan)
        return out

    def score(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        """(N,) combined anomaly score, −log10 Fisher p over the cues (higher: less like the reals)."""
        cue_p = self.cue_p_values(rows)
        matrix = np.stack(list(cue_p.values()), axis=1) if cue_p else np.full((len(rows), 0), np.nan)
        return np.array([fisher_score(row) for row in matrix])

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "num_real_clips": self.num_real_clips, "folds": self.folds,
                "columns": [{"name": c.name, "cue": c.cue, "side": c.side, "why": c.why} for c in self.columns],
                "values": {name: [float(v) for v in values] for name, values in self.values.items()},
                "weights": {name: [float(v) for v in weights] for name, weights in self.weights.items()},
                "real_scores": [float(s) for s in self.real_scores], "extra": self.extra}

    def save(self, path: str | Path) -> Path:
        return write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping, origin: str = "reference") -> "RealReference":
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise ConfigError(f"{origin}: not an {FORMAT} file")
        if data.get("version") != VERSION:
            raise ConfigError(f"{origin}: version {data.get('version')!r}, this avcorr reads {VERSION}")
        try:
            columns = tuple(Column(str(c["name"]), str(c["cue"]), str(c["side"]), str(c.get("why", "")))
                            for c in data["columns"])
            values = {c.name: np.asarray(data["values"][c.name], dtype=np.float64) for c in columns}
            weights = {c.name: np.asarray(data.get("weights", {}).get(c.name, np.ones(len(values[c.name]))),
                                          dtype=np.float64) for c in columns}
            scores = tuple(float(s) for s in data.get("real_scores", []))
        except (KeyError, TypeError, ValueError) as error:
            raise ConfigError(f"{origin}: malformed reference ({error.__class__.__name__}: {error})") from None
        bad = [c.name for c in columns if c.side not in SIDES or c.cue not in CUES
               or len(weights[c.name]) != len(values[c.name]) or np.any(np.diff(values[c.name]) < 0)]
        if bad:
            raise ConfigError(f"{origin}: unknown side or cue, unsorted values or mismatched weights for "
                              f"{', '.join(bad)}")
        return cls(columns=columns, values=values, weights=weights, real_scores=scores, num_real_clips=int(data.get("num_real_clips", 0)),
                   folds=str(data.get("folds", "")), extra=dict(data.get("extra") or {}))

    @classmethod
    def load(cls, path: str | Path) -> "RealReference":
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except OSError as error:
            raise ConfigError(f"{path}: cannot read ({error.strerror or error})") from None
        except ValueError:
            raise ConfigError(f"{path}: not valid JSON") from None
        return cls.from_dict(data, origin=str(path))


def _reference(rows: Sequence[Mapping[str, float]], columns: Sequence[Column],
               groups: Sequence[str] | None) -> RealReference:
    values, weights = {}, {}
    for c in columns:
        column = np.array([float(r.get(c.name, math.nan)) for r in rows], dtype=np.float64)
        finite = np.isfinite(column)
        if groups is None:
            w = np.ones(int(finite.sum()))
        else:  # each group's measured clips share one unit of weight
            kept = [g for g, ok in zip(groups, finite) if ok]
            sizes = {g: kept.count(g) for g in set(kept)}
            w = np.array([1.0 / sizes[g] for g in kept])
        order = np.argsort(column[finite], kind="stable")
        values[c.name], weights[c.name] = column[finite][order], w[order]
    return RealReference(columns=tuple(columns), values=values, weights=weights, num_real_clips=len(rows))


def fit_reference(rows: Sequence[Mapping[str, float]], names: Sequence[str] | None = None,
                  groups: Sequence[str] | None = None, folds: int = 5) -> RealReference:
    """A :class:`RealReference` from real clips' feature rows (no fake may be among them).

    ``names``: the scored columns (:func:`reference_columns`; default: every known column);
    each must be in :data:`KNOWN_COLUMNS`. With ``groups`` (each clip's source group) each group
    weighs one clip in the tails. ``real_scores`` are cross-fitted: the reals are split
    into ``folds`` parts by ``groups`` (each clip's source group; a group never straddles parts)
    or, without groups, by position, and each part is scored against the others' reference.
    """
    names = list(KNOWN_COLUMNS) if names is None else list(names)
    unknown = [n for n in names if n not in KNOWN_COLUMNS]
    if unknown:
        raise ValueError(f"no side is defined for column(s) {unknown}")
    columns = [KNOWN_COLUMNS[n] for n in names]
    keys = list(groups) if groups is not None else [str(i) for i in range(len(rows))]
    if len(keys) != len(rows):
        raise ValueError(f"{len(keys)} groups for {len(rows)} rows")
    reference = _reference(rows, columns, groups)
    distinct = sorted(set(keys))
    parts = min(folds, len(distinct))
    if parts >= 2:
        part_of = {g: k % parts for k, g in enumerate(distinct)}
        scores = np.full(len(rows), np.nan)
        for k in range(parts):
            held = [i for i, g in enumerate(keys) if part_of[g] == k]
            others = [i for i in range(len(rows)) if part_of[keys[i]] != k]
            rest = _reference([rows[i] for i in others], columns, None if groups is None else [keys[i] for i in others])
            scores[held] = rest.score([rows[i] for i in held])
        reference.real_scores = tuple(float(s) for s in scores)
        reference.folds = f"{parts} parts by {'source group' if groups is not None else 'clip'}"
    else:
        reference.real_scores = tuple(float(s) for s in reference.score(rows))
        reference.folds = "in-sample (fewer than 2 groups)"
    return reference
