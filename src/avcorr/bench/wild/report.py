"""The wild benchmark's table: per variant, per held-out family and overall, from per-clip scores.

Input is the scores table (:class:`ScoreRow`, one row per variant × seed × fold × test clip). Each
clip is on the test side of exactly one fold, so a variant's rows of one seed score every clip once;
seeds are pooled by averaging each clip's score — and its thresholds — over seeds. A family's block
is that family's fakes against *every* real clip (each real scored by the fold that held it out),
so all families share one set of negatives; the overall block is every held-out clip. Each block
has ROC-AUC and AP with stratified bootstrap CIs, the false-alarm rate of the reals and the recall
of the fakes at each clip's own fold threshold (score >= fake_threshold), the share of reals and
of fakes in the uncertain band, and counts. Per-seed ROC-AUC and AP (no CI) are listed beside.
"""
from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from avcorr.eval.bootstrap import Interval, bootstrap_ci
from avcorr.eval.metrics import average_precision, roc_auc
from avcorr.runtime import plain_json

REPORT_NAME = "wild"


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
    """Metrics of one set of held-out clips (``name``: a family or ``overall``); rates are shares in [0, 1]."""

    name: str
    num_real: int
    num_fake: int
    roc_auc: Interval
    ap: Interval
    false_alarm_rate: float
    fake_recall: float
    uncertain_share_real: float
    uncertain_share_fake: float

    def to_dict(self) -> dict[str, Any]:
        return plain_json({**asdict(self), "roc_auc": self.roc_auc.to_dict(), "ap": self.ap.to_dict()})


@dataclass(frozen=True)
class SeedMetrics:
    """Point ROC-AUC / AP of one seed's scores (no pooling, no CI), overall and per family."""

    seed: int
    roc_auc: float
    ap: float
    family_roc_auc: dict[str, float]


def build_report(rows: Sequence[ScoreRow], header: Mapping[str, Any], n_boot: int = 1000, level: float = 0.95,
                 boot_seed: int = 0) -> dict[str, Any]:
    """The plain-JSON document of every variant in ``rows`` (in order of first appearance).

    ``header`` describes the run (config, seeds, commit, machine, load, seconds per stage, ...) and is
    kept as given.
    """
    by_variant: dict[str, list[ScoreRow]] = defaultdict(list)
    for row in rows:
        by_variant[row.variant].append(row)
    variants = [_variant(name, vrows, n_boot, level, boot_seed) for name, vrows in by_variant.items()]
    families = sorted({b["name"] for v in variants for b in v["families"]}, key=str.lower)
    return plain_json({"header": dict(header), "n_boot": n_boot, "level": level, "families": families,
                       "variants": variants})


def write_report(document: Mapping[str, Any], out_dir: str | Path, name: str = REPORT_NAME) -> tuple[Path, Path]:
    """``out_dir/wild.json`` (plain JSON, written atomically) and ``out_dir/wild.md``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f"{name}.json", out_dir / f"{name}.md"
    tmp = json_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(plain_json(dict(document)), indent=1, allow_nan=False) + "\n")
    os.replace(tmp, json_path)
    md_path.write_text(render_markdown(document))
    return json_path, md_path


@dataclass
class _Pooled:
    """One variant's clips with scores and thresholds averaged over seeds."""

    label: np.ndarray
    family: np.ndarray
    score: np.ndarray
    fake_threshold: np.ndarray
    uncertain_threshold: np.ndarray


def _variant(name: str, rows: Sequence[ScoreRow], n_boot: int, level: float, boot_seed: int) -> dict[str, Any]:
    finite = [r for r in rows if not math.isnan(r.score)]
    seen: dict[tuple[int, str], str] = {}
    per_clip: dict[str, list[ScoreRow]] = defaultdict(list)
    for row in finite:
        key = (row.seed, row.clip_id)
        if key in seen:
            raise ValueError(f"variant {name} seed {row.seed}: clip {row.clip_id} scored twice "
                             f"(folds {seen[key]} and {row.fold})")
        seen[key] = row.fold
        per_clip[row.clip_id].append(row)
    for clip_id, clip_rows in per_clip.items():
        if len({r.label for r in clip_rows}) > 1:
            raise ValueError(f"variant {name}: clip {clip_id} has different labels across seeds")
    pooled = _Pooled(
        label=np.array([r[0].label for r in per_clip.values()], dtype=int),
        family=np.array([r[0].family for r in per_clip.values()], dtype=object),
        score=np.array([np.mean([x.score for x in r]) for r in per_clip.values()], dtype=float),
        fake_threshold=np.array([np.mean([x.fake_threshold for x in r]) for r in per_clip.values()], dtype=float),
        uncertain_threshold=np.array([np.mean([x.uncertain_threshold for x in r]) for r in per_clip.values()]),
    )
    fake_families = sorted({str(f) for f, y in zip(pooled.family, pooled.label) if y == 1}, key=str.lower)
    real = pooled.label == 0
    overall = _block("overall", pooled, np.ones(len(pooled.label), dtype=bool), n_boot, level, boot_seed)
    families = [_block(f, pooled, real | ((pooled.label == 1) & (pooled.family == f)), n_boot, level, boot_seed)
                for f in fake_families]
    seeds = sorted({r.seed for r in finite})
    per_seed = [_seed_metrics(s, [r for r in finite if r.seed == s]) for s in seeds]
    return plain_json({"variant": name, "seeds": seeds, "overall": overall.to_dict(),
                       "families": [b.to_dict() for b in families], "per_seed": [asdict(s) for s in per_seed],
                       "num_nan_scores": len(rows) - len(finite)})


def _block(name: str, pooled: _Pooled, chosen: np.ndarray, n_boot: int, level: float, boot_seed: int) -> MetricBlock:
    y, s = pooled.label[chosen], pooled.score[chosen]
    called_fake = s >= pooled.fake_threshold[chosen]
    uncertain = (s >= pooled.uncertain_threshold[chosen]) & ~called_fake
    real, fake = y == 0, y == 1

    def share(flags: np.ndarray, among: np.ndarray) -> float:
        return float(flags[among].mean()) if among.any() else math.nan

    return MetricBlock(
        name=name, num_real=int(real.sum()), num_fake=int(fake.sum()),
        roc_auc=bootstrap_ci(y, s, roc_auc, n_boot=n_boot, seed=boot_seed, level=level),
        ap=bootstrap_ci(y, s, average_precision, n_boot=n_boot, seed=boot_seed, level=level),
        false_alarm_rate=share(called_fake, real), fake_recall=share(called_fake, fake),
        uncertain_share_real=share(uncertain, real), uncertain_share_fake=share(uncertain, fake),
    )


def _seed_metrics(seed: int, rows: Sequence[ScoreRow]) -> SeedMetrics:
    y = np.array([r.label for r in rows], dtype=int)
    s = np.array([r.score for r in rows], dtype=float)
    fam = np.array([r.family for r in rows], dtype=object)
    per_family = {}
    for f in sorted({str(x) for x, lab in zip(fam, y) if lab == 1}, key=str.lower):
        chosen = (y == 0) | ((y == 1) & (fam == f))
        per_family[f] = roc_auc(y[chosen], s[chosen])
    return SeedMetrics(seed=seed, roc_auc=roc_auc(y, s), ap=average_precision(y, s), family_roc_auc=per_family)


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
            tables += ["| " + " | ".join(_inline(v.get(c)) for c in columns) + " |" for v in value]
        else:
            bullets.append(f"- **{key}**: {_inline(value)}")
    return bullets + tables


def render_markdown(document: Mapping[str, Any]) -> str:
    """The run header, ROC-AUC / AP / fake-recall tables (variant × family), then the overall block."""
    fams, variants = document["families"], document["variants"]
    pct = f"{document['level']:.0%}"
    lines = [
        "# Wild benchmark: genuine fakes of held-out generator families", "",
        "Leave-one-family-out; a family's column is its fakes against every held-out real clip (each scored "
        f"by the fold that held it out). [low, high] = {pct} bootstrap interval ({document['n_boot']} resamples, "
        "stratified by class). Seeds are pooled by averaging each clip's score and thresholds over seeds; a clip "
        "is called fake when its score reaches its fold's calibrated fake threshold.", "",
        "## Run", "",
        *_header(document["header"]),
    ]

    def count(family: str) -> int:
        return max((b["num_fake"] for v in variants for b in v["families"] if b["name"] == family), default=0)

    def family_table(title: str, cell: Any) -> list[str]:
        out = ["", f"## {title}", "", "| variant | " + " | ".join(f"{f} ({count(f)})" for f in fams) + " | overall |",
               "|---|" + "---|" * (len(fams) + 1)]
        for v in variants:
            blocks = {b["name"]: b for b in v["families"]}
            out.append(f"| {v['variant']} | " + " | ".join(cell(blocks[f]) if f in blocks else "—" for f in fams)
                       + f" | {cell(v['overall'])} |")
        return out

    lines += family_table(f"ROC-AUC per held-out family (fakes per family; {pct} CI)", lambda b: _interval(b["roc_auc"]))
    lines += family_table(f"AP per held-out family ({pct} CI)", lambda b: _interval(b["ap"]))
    lines += family_table("Fake recall at the calibrated fake threshold", lambda b: _num(b["fake_recall"]))
    lines += ["", "## Overall (all held-out clips)", "",
              "| variant | seeds | real / fake | ROC-AUC | AP | false alarms (reals) | fake recall | "
              "uncertain: reals | uncertain: fakes | ROC-AUC per seed |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for v in variants:
        o = v["overall"]
        per_seed = ", ".join(f"{s['seed']}: {_num(s['roc_auc'])}" for s in v["per_seed"])
        lines.append(f"| {v['variant']} | {len(v['seeds'])} | {o['num_real']} / {o['num_fake']} | "
                     f"{_interval(o['roc_auc'])} | {_interval(o['ap'])} | {_num(o['false_alarm_rate'])} | "
                     f"{_num(o['fake_recall'])} | {_num(o['uncertain_share_real'])} | "
                     f"{_num(o['uncertain_share_fake'])} | {per_seed} |")
    dropped = [f"{v['variant']} ({v['num_nan_scores']})" for v in variants if v["num_nan_scores"]]
    if dropped:
        lines += ["", "NaN scores dropped: " + ", ".join(dropped) + "."]
    return "\n".join(lines) + "\n"
