"""Is a lip viseme model fitted on a corpus's real clips better than the shipped one? Judged on
held-out source groups (:mod:`avcorr.teachers.phonetic.corpus` makes the clips, the fits and the
held-out posteriors).

Leave-one-source-group-out cross-validation (a source group, i.e. a data set or a repository,
with GRID's single speaker among them, never straddles the two sides): frame viseme agreement
(argmax against the label) of the held-out model, of the shipped model and of the training folds'
majority class; the same without silence frames and as macro recall over visemes (silence
dominates); and the zero-shot ROC-AUC of real clips against the same videos with audio from a
clip of another group (:func:`avcorr.teachers.zero_shot.zero_shot`'s mean correlation). Each
comes with a 95% percentile bootstrap (:mod:`avcorr.eval.bootstrap`) over held-out clips or
whole groups; differences between models are paired (same resample).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from avcorr.eval.bootstrap import draw_counts, percentile_interval
from avcorr.teachers.phonetic.corpus import (
    SILENCE, CorpusClip, LipFitOptions, Progress, clip_groups, held_out_visual,
)
from avcorr.teachers.phonetic.visual_model import LipVisemeModel
from avcorr.teachers.visemes import VISEMES
from avcorr.teachers.zero_shot import zero_shot


def swap_pairs_by_group(groups: Sequence[str], same_group: bool, rounds: int = 3,
                        seed: int = 0) -> list[tuple[int, int]]:
    """(video clip, audio clip) pairs: each clip's video with up to ``rounds`` other clips' audio, all
    from other source groups (``same_group`` False) or all from its own (True: same speakers,
    recording and grammar, e.g. GRID to GRID, so only the content differs — the hard case)."""
    groups = np.asarray(groups)
    rng = np.random.default_rng(seed)
    pairs = []
    for i in range(len(groups)):
        others = np.flatnonzero((groups == groups[i]) == same_group)
        others = others[others != i]
        for j in rng.choice(others, size=min(rounds, len(others)), replace=False) if len(others) else []:
            pairs.append((i, int(j)))
    return pairs


#: The swap protocols of the zero-shot check, by the name of the row field that holds their ROC-AUC.
SWAP_PROTOCOLS = {"zero_shot_auc": False, "zero_shot_auc_same_group": True}
METRICS = ("agreement", "speech_agreement", "macro_recall", *SWAP_PROTOCOLS)


@dataclass
class Estimate:
    """A statistic on the held-out clips and its 95% percentile bootstrap interval (over clips or groups)."""

    value: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in asdict(self).items()}

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass
class AgreementRow:
    """How one model's held-out argmax agrees with the audio side's, over ``clips`` clips."""

    model: str
    clips: int
    groups: int
    frames: int
    speech_frames: int
    agreement: Estimate
    speech_agreement: Estimate  # frames whose label is not silence
    macro_recall: Estimate  # mean over the visemes present of the share of their frames recalled
    recall_by_viseme: dict[str, float]
    agreement_by_group: dict[str, float]
    zero_shot_auc: Estimate | None = None  # real vs audio from another group; None for the majority class
    zero_shot_auc_same_group: Estimate | None = None  # real vs audio from its own group (reals that have one)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in METRICS}
        for name in METRICS:
            value = getattr(self, name)
            out[name] = value.to_dict() if value is not None else None
        return out


@dataclass
class CorpusEvaluation:
    """The grouped cross-validation table, on all held-out real clips and on those the shipped
    (reference) model never saw; ``differences``: paired bootstrap of each fitted model minus the
    reference and minus the majority class."""

    rows: list[AgreementRow]
    unseen_rows: list[AgreementRow]
    differences: dict[str, dict[str, Estimate]]
    frames_by_group: dict[str, int]
    label_modes: dict[str, int]
    swap_pairs: dict[str, int]
    n_boot: int
    resample: str = "clip"  # the bootstrap's unit: "clip" or "group"
    folds: str = "leave one source group out"
    options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def row(self, model: str, unseen: bool = False) -> AgreementRow:
        return next(r for r in (self.unseen_rows if unseen else self.rows) if r.model == model)

    def to_dict(self) -> dict[str, Any]:
        return {"folds": self.folds, "n_boot": self.n_boot, "resample": self.resample, "swap_pairs": self.swap_pairs,
                "frames_by_group": self.frames_by_group, "label_modes": self.label_modes, "options": self.options,
                "rows": [r.to_dict() for r in self.rows], "unseen_by_reference": [r.to_dict() for r in self.unseen_rows],
                "differences": {k: {m: e.to_dict() for m, e in v.items()} for k, v in self.differences.items()}}


def _counts(clips: Sequence[CorpusClip], visual: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per clip and viseme: frames labelled v (counts) and of those, frames predicted v (hits); (n, V) each."""
    v = len(VISEMES)
    counts = np.stack([np.bincount(c.labels, minlength=v) for c in clips]).astype(float)
    hits = np.stack([np.bincount(c.labels[q.argmax(axis=1) == c.labels], minlength=v) for c, q in zip(clips, visual)])
    return counts, hits.astype(float)


def _frame_stats(counts: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """(B, n) clip weights applied to (n, V) counts → (B, 3): agreement, speech agreement, macro recall."""
    speech = np.arange(counts.shape[-1]) != SILENCE
    with np.errstate(invalid="ignore", divide="ignore"):
        agreement = hits.sum(-1) / counts.sum(-1)
        speech_agreement = hits[..., speech].sum(-1) / counts[..., speech].sum(-1)
        recall = np.where(counts > 0, hits / np.where(counts > 0, counts, 1), np.nan)
        macro = np.nanmean(recall, axis=-1)
    return np.stack([agreement, speech_agreement, macro], axis=-1)


def _swap_consistency(clips: Sequence[CorpusClip], visual: Sequence[np.ndarray],
                      pairs: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Zero-shot mean correlation of each real clip and of each (video, audio) swapped pair."""
    real = np.array([zero_shot(c.audio_posteriors, q).mean_correlation for c, q in zip(clips, visual)])
    swapped = np.array([zero_shot(clips[a].audio_posteriors, visual[v]).mean_correlation for v, a in pairs])
    return real, swapped


def _weighted_auc(real: np.ndarray, swapped: np.ndarray, real_w: np.ndarray, swap_w: np.ndarray) -> np.ndarray:
    """ROC-AUC, P(real consistency > swapped) with ties counted half, under (B, ·) clip weights → (B,)."""
    values = np.r_[real, swapped]
    order = np.argsort(values, kind="mergesort")
    is_real = np.r_[np.ones(len(real), bool), np.zeros(len(swapped), bool)][order]
    weights = np.concatenate([real_w, swap_w], axis=1)[:, order]
    _, start = np.unique(values[order], return_index=True)  # runs of tied values, ascending
    wr = np.add.reduceat(weights * is_real, start, axis=1)
    ws = np.add.reduceat(weights * ~is_real, start, axis=1)
    below = np.cumsum(ws, axis=1) - ws  # swapped weight strictly below each run
    denominator = wr.sum(1) * ws.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (wr * (below + 0.5 * ws)).sum(1) / denominator, np.nan)


def _estimate(value: float, replicates: np.ndarray) -> Estimate:
    interval = percentile_interval(value, replicates, level=0.95)
    return Estimate(interval.value, interval.low, interval.high)


def evaluate_on_corpus(clips: Sequence[CorpusClip], variants: dict[str, LipFitOptions],
                       reference: LipVisemeModel | None = None, reference_name: str = "shipped", n_boot: int = 1000,
                       swap_rounds: int = 3, seed: int = 0, uniform: float = 0.02, resample: str = "clip",
                       progress: Progress | None = None) -> CorpusEvaluation:
    """Grouped cross-validation of ``variants`` against the majority class and ``reference``
    (:func:`held_out_visual`), summarised by :func:`summarize_held_out`."""
    reference = reference or LipVisemeModel.load()
    visual = held_out_visual(clips, variants, reference, reference_name, uniform, progress)
    return summarize_held_out(clips, visual, reference_name, set(reference.provenance.get("clip_names", [])),
                              n_boot, swap_rounds, seed, resample, options={k: asdict(v) for k, v in variants.items()})


def summarize_held_out(clips: Sequence[CorpusClip], visual: dict[str, list[np.ndarray]], reference_name: str = "shipped",
                       reference_clips: Iterable[str] = (), n_boot: int = 1000, swap_rounds: int = 3, seed: int = 0,
                       resample: str = "clip", options: dict[str, dict[str, Any]] | None = None) -> CorpusEvaluation:
    """The agreement table of held-out ``visual`` posteriors (must hold ``"majority"`` and
    ``reference_name``); ``reference_clips``: video file names the reference was fitted on;
    ``resample``: bootstrap unit, ``"clip"`` or ``"group"`` (whole source groups: wider, honest
    about clips of one speaker being alike)."""
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if resample not in ("clip", "group"):
        raise ValueError(f"resample must be 'clip' or 'group', got {resample!r}")
    clips = list(clips)
    groups = clip_groups(clips)
    variants = [name for name in visual if name not in ("majority", reference_name)]
    n = len(clips)
    reference_clips = set(reference_clips)
    unseen = np.array([c.video_name not in reference_clips for c in clips], dtype=float)
    protocols = {key: swap_pairs_by_group(groups, same, swap_rounds, seed) for key, same in SWAP_PROTOCOLS.items()}
    consistency = {(name, key): _swap_consistency(clips, q, pairs)
                   for name, q in visual.items() if name != "majority" for key, pairs in protocols.items() if pairs}
    rng = np.random.default_rng(seed)
    if resample == "clip":
        weights = draw_counts(n, n_boot, rng)  # (B, n) clip multiplicities
    else:
        names, group_index = np.unique(groups, return_inverse=True)
        weights = draw_counts(len(names), n_boot, rng)[:, group_index]

    def rows_for(mask: np.ndarray) -> tuple[list[AgreementRow], dict[str, dict[str, tuple[float, np.ndarray]]]]:
        """Rows over the clips ``mask`` (n,) keeps, and each metric's (value, replicates) by model."""
        w = weights * mask
        rows, stats = [], {}
        for name, q in visual.items():
            counts, hits = _counts(clips, q)
            point = _frame_stats(mask[None] @ counts, mask[None] @ hits)[0]
            rep = _frame_stats(w @ counts, w @ hits)  # (B, 3)
            stats[name] = {m: (float(point[k]), rep[:, k]) for k, m in enumerate(METRICS[:3])}
            for key, pairs in protocols.items():
                if (name, key) not in consistency:
                    continue
                video = np.array([v for v, _ in pairs], dtype=int)
                has_pair = np.bincount(video, minlength=n) > 0  # reals without a swap do not enter
                real, swapped = consistency[(name, key)]
                value = _weighted_auc(real, swapped, (mask * has_pair)[None], mask[video][None])[0]
                if np.isfinite(value):
                    stats[name][key] = (float(value), _weighted_auc(real, swapped, w * has_pair, w[:, video]))
            total, recalled = mask @ counts, mask @ hits
            by_group = {g: round(float(hits[(mask > 0) & (groups == g)].sum() / counts[(mask > 0) & (groups == g)].sum()), 3)
                        for g in sorted(set(groups[mask > 0]))}
            rows.append(AgreementRow(
                model=name, clips=int(mask.sum()), groups=len(by_group), frames=int(total.sum()),
                speech_frames=int(total.sum() - total[SILENCE]),
                recall_by_viseme={VISEMES[v]: round(float(recalled[v] / total[v]), 3)
                                  for v in range(len(VISEMES)) if total[v] > 0},
                agreement_by_group=by_group, **{m: _estimate(*stats[name][m]) for m in stats[name]}))
        return rows, stats

    rows, stats = rows_for(np.ones(n))
    unseen_rows = rows_for(unseen)[0] if unseen.any() else []
    differences: dict[str, dict[str, Estimate]] = {}
    for name in variants:
        for base in (reference_name, "majority"):
            shared = [m for m in METRICS if m in stats[name] and m in stats[base]]
            differences[f"{name} - {base}"] = {
                m: _estimate(stats[name][m][0] - stats[base][m][0], stats[name][m][1] - stats[base][m][1]) for m in shared}
    frames_by_group = {g: int(sum(c.num_frames for c in clips if c.group == g)) for g in sorted(set(groups))}
    modes = {m: sum(c.label_mode == m for c in clips) for m in sorted({c.label_mode for c in clips})}
    return CorpusEvaluation(rows, unseen_rows, differences, frames_by_group, modes,
                            {k: len(v) for k, v in protocols.items()}, n_boot, resample=resample, options=options or {})


def markdown_table(rows: Sequence[AgreementRow]) -> list[str]:
    """The agreement table as Markdown lines (values with their 95% bootstrap intervals)."""
    lines = ["| lip model | clips | frames | agreement | without silence | macro recall | "
             "zero-shot ROC-AUC, audio of another group | same group |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        aucs = [str(getattr(r, m)) if getattr(r, m) else "—" for m in SWAP_PROTOCOLS]
        lines.append(f"| {r.model} | {r.clips} | {r.frames} | {r.agreement} | {r.speech_agreement} | "
                     f"{r.macro_recall} | {' | '.join(aucs)} |")
    return lines
