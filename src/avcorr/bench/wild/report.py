"""The wild benchmark's table: per variant, per held-out family and overall, from per-clip scores.

Input is the scores table (:class:`ScoreRow`, one row per variant × seed × fold × test clip; a
clip is on the test side of several folds — each fake once per real share). Every comparison is
made inside one fold model: seeds are pooled by averaging each (fold, clip) instance's score and
thresholds over seeds, and then

- ROC-AUC of a family is the share of (fake of the family, real) pairs ranked right (ties ½) over
  all pairs held out by the same fold (:mod:`avcorr.bench.wild.pairs`), pooled over the family's
  folds; overall, over every pair that shares a fold. 95% CI: stratified clip bootstrap;
- AP cannot be pooled across models: it is the mean of the within-fold AP over the block's folds,
  weighted by fakes × reals of each fold (a point value, no CI);
- the false-alarm rate is over (fold, real) instances, the share at or above the fold's fake
  threshold; fake recall and the uncertain shares likewise; false alarms also per real share;
- paired differences: ``variant − baseline`` in pooled AUC over the pairs both scored, with a
  bootstrap CI; a variant *beats* a baseline on a family when that CI's lower bound is above 0.
  Every variant is compared with ``shortcut``, and ``full`` with ``detection-only``.

Per-seed pooled ROC-AUC (no CI) is listed beside.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from avcorr.bench.wild.folds import share_of_fold
from avcorr.bench.wild.pairs import FoldScores, bootstrap_pairs, pair_pool
from avcorr.eval.bootstrap import Interval
from avcorr.eval.metrics import average_precision
from avcorr.bench.results import write_results
from avcorr.runtime import plain_json

REPORT_NAME = "wild"
OVERALL = "overall"
SHORTCUT = "shortcut"
COMPARISONS_TO = ((None, SHORTCUT), ("full", "detection-only"))  # (variant or every one, baseline)


@dataclass(frozen=True)
class ScoreRow:
    """One test clip's score under one (variant, seed, fold); ``label`` 1 = fake; thresholds are the fold's."""

    variant: str
    seed: int
    fold: str
    clip_id: str
    label: int
    family: str
    source_group: str
    score: float
    fake_threshold: float
    uncertain_threshold: float


SCORE_COLUMNS = tuple(f.name for f in fields(ScoreRow))


@dataclass(frozen=True)
class MetricBlock:
    """Metrics of one family (or ``overall``); counts are distinct clips, rates are shares of (fold, clip) instances."""

    name: str
    num_real: int
    num_fake: int
    num_folds: int
    num_pairs: int
    roc_auc: Interval
    ap: float
    false_alarm_rate: float
    fake_recall: float
    uncertain_share_real: float
    uncertain_share_fake: float

    def to_dict(self) -> dict[str, Any]:
        return plain_json({**asdict(self), "roc_auc": self.roc_auc.to_dict()})


@dataclass(frozen=True)
class ShareRates:
    """False alarms of the folds of one real share (their test reals: the share's, plus any forced ones)."""

    share: str
    num_folds: int
    num_real_instances: int
    false_alarms: int
    false_alarm_rate: float
    uncertain_share_real: float


@dataclass(frozen=True)
class SeedMetrics:
    """Pooled pairwise ROC-AUC of one seed's scores (no CI), overall and per family."""

    seed: int
    roc_auc: float
    family_roc_auc: dict[str, float]


@dataclass(frozen=True)
class Instance:
    """One (fold, clip) test instance, score and thresholds averaged over seeds."""

    fold: str
    clip_id: str
    label: int
    family: str
    score: float
    fake_threshold: float
    uncertain_threshold: float
    source_group: str = ""


@dataclass(frozen=True)
class GroupRates:
    """False alarms on the held-out reals of one real source group (over its (fold, clip) instances)."""

    source_group: str
    num_clips: int
    num_real_instances: int
    false_alarm_rate: float
    uncertain_share_real: float


def build_report(rows: Sequence[ScoreRow], header: Mapping[str, Any], n_boot: int = 1000, level: float = 0.95,
                 boot_seed: int = 0) -> dict[str, Any]:
    """The plain-JSON document of every variant in ``rows`` (in order of first appearance) and the
    paired comparisons. ``header`` describes the run (config, seeds, commit, machine, ...) and is kept as given."""
    by_variant: dict[str, list[ScoreRow]] = defaultdict(list)
    for row in rows:
        by_variant[row.variant].append(row)
    pooled = {name: pool_seeds(name, vrows) for name, vrows in by_variant.items()}
    variants = [_variant(name, vrows, pooled[name], n_boot, level, boot_seed) for name, vrows in by_variant.items()]
    families = sorted({b["name"] for v in variants for b in v["families"]}, key=str.lower)
    shares = sorted({s["share"] for v in variants for s in v["shares"]})
    comparisons = []
    for only, baseline in COMPARISONS_TO:
        if baseline not in pooled:
            continue
        for name in pooled:
            if name != baseline and (only is None or name == only):
                comparisons.append(_comparison(name, baseline, pooled, families, n_boot, level, boot_seed))
    return plain_json({"header": dict(header), "n_boot": n_boot, "level": level, "families": families,
                       "shares": shares, "variants": variants, "comparisons": comparisons,
                       "default_choice": choose_default(variants)})


def write_report(document: Mapping[str, Any], out_dir: str | Path, name: str = REPORT_NAME) -> tuple[Path, Path]:
    """``out_dir/wild.json`` and ``out_dir/wild.md`` (:func:`avcorr.bench.results.write_results`)."""
    return write_results(out_dir, name, document, render_markdown)


def pool_seeds(variant: str, rows: Sequence[ScoreRow]) -> list[Instance]:
    """One instance per (fold, clip) with a finite score, averaged over seeds (NaN scores dropped)."""
    seen: set[tuple[int, str, str]] = set()
    per_instance: dict[tuple[str, str], list[ScoreRow]] = defaultdict(list)
    labels: dict[str, int] = {}
    for row in rows:
        key = (row.seed, row.fold, row.clip_id)
        if key in seen:
            raise ValueError(f"variant {variant} seed {row.seed}: clip {row.clip_id} scored twice in fold {row.fold}")
        seen.add(key)
        if labels.setdefault(row.clip_id, row.label) != row.label:
            raise ValueError(f"variant {variant}: clip {row.clip_id} has different labels across rows")
        if not math.isnan(row.score):
            per_instance[(row.fold, row.clip_id)].append(row)
    return [Instance(fold=fold, clip_id=clip_id, label=rs[0].label, family=rs[0].family, source_group=rs[0].source_group,
                     score=float(np.mean([r.score for r in rs])),
                     fake_threshold=float(np.mean([r.fake_threshold for r in rs])),
                     uncertain_threshold=float(np.mean([r.uncertain_threshold for r in rs])))
            for (fold, clip_id), rs in per_instance.items()]


def fold_scores(instances: Sequence[Instance], family: str | None = None) -> dict[str, tuple[dict[str, float], dict[str, float]]]:
    """Fold → (fake scores, real scores) of the folds holding a fake of ``family`` (None: every fold with a fake)."""
    out: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
    for x in instances:
        fakes, reals = out.setdefault(x.fold, ({}, {}))
        if x.label == 0:
            reals[x.clip_id] = x.score
        elif family is None or x.family == family:
            fakes[x.clip_id] = x.score
    return {fold: pair for fold, pair in out.items() if pair[0]}


def _fake_families(instances: Sequence[Instance]) -> list[str]:
    return sorted({x.family for x in instances if x.label == 1}, key=str.lower)


def _variant(name: str, rows: Sequence[ScoreRow], instances: Sequence[Instance], n_boot: int, level: float,
             boot_seed: int) -> dict[str, Any]:
    families = [_block(f, instances, f, n_boot, level, boot_seed) for f in _fake_families(instances)]
    overall = _block(OVERALL, instances, None, n_boot, level, boot_seed)
    seeds = sorted({r.seed for r in rows})
    per_seed = [_seed_metrics(s, pool_seeds(name, [r for r in rows if r.seed == s])) for s in seeds]
    return plain_json({"variant": name, "seeds": seeds, "overall": overall.to_dict(),
                       "families": [b.to_dict() for b in families], "shares": [asdict(s) for s in _shares(instances)],
                       "real_groups": [asdict(g) for g in _groups(instances)],
                       "per_seed": [asdict(s) for s in per_seed],
                       "num_nan_scores": sum(1 for r in rows if math.isnan(r.score))})


def _share(flags: Sequence[bool]) -> float:
    return float(np.mean(flags)) if len(flags) else math.nan


def _block(name: str, instances: Sequence[Instance], family: str | None, n_boot: int, level: float,
           boot_seed: int) -> MetricBlock:
    scores = fold_scores(instances, family)
    pool = pair_pool(scores)
    chosen = [x for x in instances if x.fold in scores and (x.label == 0 or family is None or x.family == family)]
    fakes = [x for x in chosen if x.label == 1]
    reals = [x for x in chosen if x.label == 0]
    return MetricBlock(
        name=name, num_real=len({x.clip_id for x in reals}), num_fake=len({x.clip_id for x in fakes}),
        num_folds=len(pool.folds), num_pairs=pool.num_pairs,
        roc_auc=bootstrap_pairs(pool, n_boot=n_boot, seed=boot_seed, level=level),
        ap=within_fold_ap(scores),
        false_alarm_rate=_share([x.score >= x.fake_threshold for x in reals]),
        fake_recall=_share([x.score >= x.fake_threshold for x in fakes]),
        uncertain_share_real=_share([x.uncertain_threshold <= x.score < x.fake_threshold for x in reals]),
        uncertain_share_fake=_share([x.uncertain_threshold <= x.score < x.fake_threshold for x in fakes]),
    )


def within_fold_ap(scores: FoldScores) -> float:
    """The mean over folds of each fold's AP, weighted by its fakes × reals; NaN without a fold with both."""
    total = weight = 0.0
    for fakes, reals in scores.values():
        if not fakes or not reals:
            continue
        y = np.array([1] * len(fakes) + [0] * len(reals))
        s = np.array(list(fakes.values()) + list(reals.values()), dtype=float)
        w = len(fakes) * len(reals)
        total += w * average_precision(y, s)
        weight += w
    return total / weight if weight else math.nan


def _shares(instances: Sequence[Instance]) -> list[ShareRates]:
    by_share: dict[str, list[Instance]] = defaultdict(list)
    for x in instances:
        if x.label == 0:
            by_share[share_of_fold(x.fold)].append(x)
    out = []
    for share in sorted(by_share):
        reals = by_share[share]
        alarms = sum(x.score >= x.fake_threshold for x in reals)
        out.append(ShareRates(share=share, num_folds=len({x.fold for x in reals}), num_real_instances=len(reals),
                              false_alarms=int(alarms), false_alarm_rate=alarms / len(reals),
                              uncertain_share_real=_share([x.uncertain_threshold <= x.score < x.fake_threshold
                                                           for x in reals])))
    return out


def _groups(instances: Sequence[Instance]) -> list[GroupRates]:
    """False alarms per real source group: a detector that only knows some cameras shows it here."""
    by_group: dict[str, list[Instance]] = defaultdict(list)
    for x in instances:
        if x.label == 0:
            by_group[x.source_group].append(x)
    return [GroupRates(source_group=g, num_clips=len({x.clip_id for x in reals}), num_real_instances=len(reals),
                       false_alarm_rate=_share([x.score >= x.fake_threshold for x in reals]),
                       uncertain_share_real=_share([x.uncertain_threshold <= x.score < x.fake_threshold for x in reals]))
            for g, reals in sorted(by_group.items())]


def choose_default(variants: Sequence[Mapping[str, Any]], max_false_alarm_rate: float = 0.05,
                   exclude: Sequence[str] = (SHORTCUT,)) -> dict[str, Any]:
    """The rule that picks ``avcorr detect``'s default: among the variants whose overall false-alarm
    rate on held-out reals is at most ``max_false_alarm_rate``, the one with the highest lower CI
    bound of the overall held-out ROC-AUC (the metadata shortcut is never a detector)."""
    eligible = [v for v in variants if v["variant"] not in exclude
                and (v["overall"].get("false_alarm_rate") is not None)
                and v["overall"]["false_alarm_rate"] <= max_false_alarm_rate
                and v["overall"]["roc_auc"].get("low") is not None]
    ranked = sorted(eligible, key=lambda v: -v["overall"]["roc_auc"]["low"])
    return {"rule": f"highest lower 95% CI bound of the overall held-out ROC-AUC among variants with at most "
                    f"{100 * max_false_alarm_rate:g}% false alarms on held-out reals",
            "eligible": [v["variant"] for v in ranked],
            "ineligible": sorted(v["variant"] for v in variants if v not in eligible and v["variant"] not in exclude),
            "chosen": ranked[0]["variant"] if ranked else None}


def _seed_metrics(seed: int, instances: Sequence[Instance]) -> SeedMetrics:
    return SeedMetrics(seed=seed, roc_auc=pair_pool(fold_scores(instances)).value(),
                       family_roc_auc={f: pair_pool(fold_scores(instances, f)).value()
                                       for f in _fake_families(instances)})


def _comparison(name: str, baseline: str, pooled: Mapping[str, Sequence[Instance]], families: Sequence[str],
                n_boot: int, level: float, boot_seed: int) -> dict[str, Any]:
    def block(block_name: str, family: str | None) -> dict[str, Any]:
        pool = pair_pool(fold_scores(pooled[name], family), baseline=fold_scores(pooled[baseline], family))
        return {"name": block_name, "num_pairs": pool.num_pairs,
                "difference": bootstrap_pairs(pool, n_boot=n_boot, seed=boot_seed, level=level).to_dict()}

    blocks = [block(f, f) for f in families]
    return plain_json({"variant": name, "baseline": baseline, "overall": block(OVERALL, None),
                       "families": [b for b in blocks if b["num_pairs"]]})


def beats(comparison: Mapping[str, Any]) -> list[str]:
    """The families (and ``overall``) where the paired difference's CI lies above 0."""
    blocks = [*comparison["families"], comparison["overall"]]
    return [b["name"] for b in blocks if (b["difference"].get("low") or 0.0) > 0.0]


def _num(value: float | None) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def _interval(iv: Mapping[str, Any]) -> str:
    if iv.get("value") is None:
        return "—"
    if iv.get("low") is None:
        return _num(iv["value"])
    return f"{iv['value']:.3f} [{iv['low']:.3f}, {iv['high']:.3f}]"


def _inline(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k} = {_inline(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_inline(v) for v in value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)


def _cell(value: Any) -> str:
    """A table cell: ``|`` escaped (fold names are ``family|share``)."""
    return _inline(value).replace("|", "\\|")


def _header(header: Mapping[str, Any]) -> list[str]:
    """Scalars and lists as bullets, mappings as nested bullets, lists of mappings as tables after them."""
    bullets, tables = [], []
    for key, value in header.items():
        if isinstance(value, Mapping):
            bullets.append(f"- **{key}**:")
            bullets += [f"  - {k}: {_inline(v)}" for k, v in value.items()]
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Mapping) for v in value):
            columns = list(dict.fromkeys(k for v in value for k in v))
            tables += ["", f"### {key}", "", "| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
            tables += ["| " + " | ".join(_cell(v.get(c)) for c in columns) + " |" for v in value]
        else:
            bullets.append(f"- **{key}**: {_inline(value)}")
    return bullets + tables


def _signed(iv: Mapping[str, Any]) -> str:
    if iv.get("value") is None:
        return "—"
    if iv.get("low") is None:
        return f"{iv['value']:+.3f}"
    return f"{iv['value']:+.3f} [{iv['low']:+.3f}, {iv['high']:+.3f}]"


def render_markdown(document: Mapping[str, Any]) -> str:
    """Protocol, run header, per-family tables (AUC with CI, AP, recall), the overall block, false
    alarms per real share, paired differences, and which variants beat the shortcut where."""
    fams, variants, shares = document["families"], document["variants"], document.get("shares", [])
    comparisons = document.get("comparisons", [])
    pct = f"{document['level']:.0%}"
    lines = [
        "# Wild benchmark: genuine fakes of held-out generator families", "",
        "Folds are (held-out family F, real share R): one model per fold, trained on every clip outside the "
        "fold's test source groups; its test side is F's fakes, the reals of share R and the reals F's fakes force "
        "there (same source group, paired real). A fake is only compared with a real scored by the same fold "
        "model. **ROC-AUC** = the share of (fake, real) pairs held out by the same fold that are ranked right "
        "(ties ½), pooled over the family's folds (overall: over all folds); "
        f"[low, high] = {pct} bootstrap percentile interval ({document['n_boot']} resamples of clips, fakes and "
        "reals separately; a drawn clip brings all its fold instances). **AP** cannot be pooled across models: "
        "it is the mean of the within-fold AP over the folds, weighted by fakes × reals of each fold (no CI). "
        "Seeds are pooled by averaging each (fold, clip) instance's score and thresholds over seeds; rates are "
        "shares of (fold, clip) instances at the fold's calibrated thresholds (score >= fake threshold: called "
        "fake).", "",
        "## Run", "",
        *_header(document["header"]),
    ]

    def count(family: str) -> int:
        return max((b["num_fake"] for v in variants for b in v["families"] if b["name"] == family), default=0)

    def family_table(title: str, cell: Callable[[Mapping[str, Any]], str]) -> list[str]:
        out = ["", f"## {title}", "", "| variant | " + " | ".join(f"{f} ({count(f)})" for f in fams) + " | overall |",
               "|---|" + "---|" * (len(fams) + 1)]
        for v in variants:
            blocks = {b["name"]: b for b in v["families"]}
            out.append(f"| {v['variant']} | " + " | ".join(cell(blocks[f]) if f in blocks else "—" for f in fams)
                       + f" | {cell(v['overall'])} |")
        return out

    lines += family_table(f"ROC-AUC per held-out family (fakes per family; {pct} CI)", lambda b: _interval(b["roc_auc"]))
    lines += family_table("AP per held-out family (within-fold AP, weighted mean over folds)", lambda b: _num(b["ap"]))
    lines += family_table("Fake recall at the calibrated fake threshold", lambda b: _num(b["fake_recall"]))
    lines += ["", "## Overall (every pair that shares a fold)", "",
              "| variant | seeds | real / fake clips | folds | pairs | ROC-AUC | AP | false alarms (reals) | "
              "fake recall | uncertain: reals | uncertain: fakes | ROC-AUC per seed |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for v in variants:
        o = v["overall"]
        per_seed = ", ".join(f"{s['seed']}: {_num(s['roc_auc'])}" for s in v["per_seed"])
        lines.append(f"| {v['variant']} | {len(v['seeds'])} | {o['num_real']} / {o['num_fake']} | {o['num_folds']} | "
                     f"{o['num_pairs']} | {_interval(o['roc_auc'])} | {_num(o['ap'])} | {_num(o['false_alarm_rate'])} | "
                     f"{_num(o['fake_recall'])} | {_num(o['uncertain_share_real'])} | "
                     f"{_num(o['uncertain_share_fake'])} | {per_seed} |")
    if shares:
        lines += ["", "## False alarms per real share", "",
                  "The test reals of the folds of each share (the share's reals, plus any a family forces there): "
                  "false-alarm rate (false alarms / real instances); uncertain share after the semicolon.", "",
                  "| variant | " + " | ".join(shares) + " |", "|---|" + "---|" * len(shares)]
        for v in variants:
            by = {s["share"]: s for s in v["shares"]}
            lines.append(f"| {v['variant']} | " + " | ".join(
                f"{_num(by[s]['false_alarm_rate'])} ({by[s]['false_alarms']}/{by[s]['num_real_instances']}); "
                f"{_num(by[s]['uncertain_share_real'])}" if s in by else "—" for s in shares) + " |")
    if comparisons:
        lines += ["", "## Paired differences in ROC-AUC", "",
                  f"variant − baseline over the pairs both scored (same fold, same clips), {pct} bootstrap CI over "
                  "clips (the same resamples for both).", "",
                  "| comparison | " + " | ".join(fams) + " | overall |", "|---|" + "---|" * (len(fams) + 1)]
        for c in comparisons:
            blocks = {b["name"]: b for b in c["families"]}
            lines.append(f"| {c['variant']} − {c['baseline']} | "
                         + " | ".join(_signed(blocks[f]["difference"]) if f in blocks else "—" for f in fams)
                         + f" | {_signed(c['overall']['difference'])} |")
        against = [c for c in comparisons if c["baseline"] == SHORTCUT]
        if against:
            lines += ["", "## Against the shortcut baseline", "",
                      "A variant *beats* the shortcut on a family when the lower bound of its paired difference's "
                      f"{pct} CI is above 0.", ""]
            for c in against:
                won = beats(c)
                named = [f for f in won if f != OVERALL]
                lines.append(f"- **{c['variant']}** beats {SHORTCUT} on {len(named)} of {len(c['families'])} families"
                             + (f" ({', '.join(named)})" if named else "")
                             + f"; overall: {'yes' if OVERALL in won else 'no'} "
                               f"({_signed(c['overall']['difference'])}).")
    groups = sorted({g["source_group"] for v in variants for g in v.get("real_groups", [])})
    if groups:
        lines += ["", "## False alarms per real source group", "",
                  "Each held-out real source group on its own (clips in brackets): the false-alarm rate at the fold's "
                  "fake threshold. A detector that has only learned some cameras calls the others fake.", "",
                  "| variant | " + " | ".join(groups) + " |", "|---|" + "---|" * len(groups)]
        clips_in = {g["source_group"]: g["num_clips"] for v in variants for g in v.get("real_groups", [])}
        lines[-2] = "| variant | " + " | ".join(f"{g} ({clips_in[g]})" for g in groups) + " |"
        for v in variants:
            by = {g["source_group"]: g for g in v.get("real_groups", [])}
            lines.append(f"| {v['variant']} | " + " | ".join(_num(by[g]["false_alarm_rate"]) if g in by else "—"
                                                        for g in groups) + " |")
    choice = document.get("default_choice")
    if choice:
        lines += ["", "## The default detector", "", f"Rule: {choice['rule']}.", "",
                  f"- eligible, best first: {', '.join(choice['eligible']) or 'none'}",
                  f"- above the false-alarm limit: {', '.join(choice['ineligible']) or 'none'}",
                  f"- **chosen: {choice['chosen'] or 'none'}**"]
    dropped = [f"{v['variant']} ({v['num_nan_scores']})" for v in variants if v["num_nan_scores"]]
    if dropped:
        lines += ["", "NaN scores dropped: " + ", ".join(dropped) + "."]
    return "\n".join(lines) + "\n"
