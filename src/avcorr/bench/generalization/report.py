"""The benchmark's result document and its tables: the finished runs aggregated over seeds, the
training losses and the teacher's labels as diagnostics, the setup and timings, written as JSON
and markdown.

Everything here reads what the work folder already holds, so a report can be rewritten after each
run, or beside a benchmark in progress (``--report-only``), without training anything.
"""
from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from avcorr.bench import results
from avcorr.bench.generalization.plan import BenchOptions, BenchSize
from avcorr.bench.generalization.protocols import VARIANTS, BenchClip, RunResult, aggregate, fold_name
from avcorr.bench.machine import machine_description
from avcorr.bench.state import StageClock
from avcorr.config import resolve_config_path
from avcorr.data.clip_cache import ClipCache, load_clip

SCHEMA_VERSION = 1
NOTES_NAME = "generalization_notes.md"


def machine_at_start() -> dict[str, Any]:
    """The shared machine description, its load average named for when it is taken (the start)."""
    info = machine_description()
    info["load_average_at_start"] = info.pop("load_average_1_5_15")
    return info


def training_losses(work: Path, results: Sequence[RunResult]) -> dict[str, dict[str, dict[str, float | None]]]:
    """Per trained variant, the mean over its runs of each training loss term in the first and
    last epoch (read from the runs' Lightning CSV logs). Every term is logged whatever its λ, so
    this shows whether a variant's student learned the teacher's correlation at all."""
    sums: dict[str, dict[str, dict[str, list[float]]]] = {}
    for result in results:
        log_dir = work / "runs" / f"seed{result.seed}" / result.held_out / result.variant / "model" / "logs"
        files = sorted(log_dir.glob("version_*/metrics.csv"))
        rows: list[dict[str, str]] = []
        for path in files:
            with path.open(newline="") as handle:
                rows += [r for r in csv.DictReader(handle) if r.get("train/loss_epoch")]
        if not rows:
            continue
        for term in ("detection", "distillation", "joint_modal"):
            key = f"train/{term}_epoch"
            values = [float(r[key]) for r in rows if r.get(key)]
            if values:
                entry = sums.setdefault(result.variant, {}).setdefault(term, {"first": [], "last": []})
                entry["first"].append(values[0])
                entry["last"].append(values[-1])
    return {v: {t: {k: (round(float(np.mean(x)), 4) if x else None) for k, x in e.items()} for t, e in terms.items()}
            for v, terms in sums.items()}


def teacher_label_summary(cache_dir: Path, clips: Sequence[BenchClip]) -> dict[str, Any]:
    """What the teacher's soft labels y_t can teach: the mean y_t of each family's clips (± std
    over clips), and the distillation loss (BCE) of three students: the floor (s_t = y_t, the mean
    binary entropy of y_t), one that knows each clip's mean y_t, and one that predicts the global
    mean. A trained student's distillation loss sits somewhere between the floor and the last."""
    cache = ClipCache(cache_dir)
    family = {c.clip_id: c.family for c in clips}
    per_family: dict[str, list[float]] = {}
    labels: list[np.ndarray] = []
    for row in cache.read_manifest():
        record = load_clip(cache.root / row["file"], arrays=["soft_label"])
        if "soft_label" not in record.arrays:
            continue
        y = np.clip(np.asarray(record.arrays["soft_label"], dtype=np.float64), 1e-7, 1 - 1e-7)
        labels.append(y)
        per_family.setdefault(family.get(row["clip_id"], "?"), []).append(float(y.mean()))
    if not labels:
        return {}

    def bce(y: np.ndarray, s: np.ndarray | float) -> float:
        s = np.clip(s, 1e-7, 1 - 1e-7)
        return float(np.mean(-(y * np.log(s) + (1 - y) * np.log(1 - s))))

    every = np.concatenate(labels)
    return {
        "mean_soft_label": {f: {"mean": round(float(np.mean(v)), 4), "std": round(float(np.std(v, ddof=1)), 4) if len(v) > 1 else None,
                                "clips": len(v)} for f, v in sorted(per_family.items())},
        "distillation_bce_floor": round(bce(every, every), 4),
        "distillation_bce_clip_mean": round(float(np.average([bce(y, y.mean()) for y in labels], weights=[len(y) for y in labels])), 4),
        "distillation_bce_constant": round(bce(every, float(every.mean())), 4),
    }


def result_document(options: BenchOptions, size: BenchSize, fams: list[str], machine: dict[str, Any], clock: StageClock,
                    guess: dict[str, Any], results: list[RunResult], planned: int, wall_s: float,
                    clips: Sequence[BenchClip]) -> dict[str, Any]:
    """The JSON result of the runs finished so far (``planned`` of them make it complete);
    ``wall_s``: seconds this invocation has run."""
    complete = len(results) == planned
    summary = aggregate(results)
    counts: dict[str, dict[str, int]] = {}
    for clip in clips:
        counts.setdefault(fold_name(clip.fold), {}).setdefault(clip.family, 0)
        counts[fold_name(clip.fold)][clip.family] += 1
    load_now = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    return {
        "benchmark": "generalization",
        "schema_version": SCHEMA_VERSION,
        "status": "complete" if complete else f"partial ({len(results)} of {planned} runs{_missing(options, fams, results)})",
        "command": options.command,
        "config": {
            "size": size.name, "synth_clips": size.synth_clips, "synth_size_px": size.synth_size,
            "max_seconds": size.max_seconds, "face_size_px": size.face_size, "methods": size.methods,
            "held_out_families": fams, "folds": size.folds, "seeds": options.seeds,
            "variants": {v: VARIANTS[v].description for v in options.variants},
            "teacher": "phonetic", "experiment_config": str(resolve_config_path(size.config).name),
            "overrides": size.overrides, "epochs": size.epochs, "fold_seed": options.fold_seed,
            "forge_seed": options.forge_seed, "device": options.device,
        },
        "machine": machine | {"load_average_at_end": load_now},
        "data": {"clips_per_fold_and_family": counts, "stages": {k: v.get("info") for k, v in clock.state["stages"].items()
                                                                 if v.get("info") is not None}},
        "estimate_s": guess,
        "stage_seconds": clock.seconds(),
        "wall_s": round(sum(clock.seconds().values()), 1),
        "this_invocation_s": round(wall_s, 1),
        "runs": [r.to_dict() for r in results],
        "training_losses": training_losses(Path(options.work_dir), results),
        "teacher_labels": teacher_label_summary(Path(options.work_dir) / "cache", clips),
        "notes": _notes(options),
        "aggregate": summary.to_dict(),
    }


def _missing(options: BenchOptions, fams: Sequence[str], results: Sequence[RunResult]) -> str:
    """``; missing: distillation-only 14`` — runs of each variant not finished yet."""
    done: dict[str, int] = {}
    for result in results:
        done[result.variant] = done.get(result.variant, 0) + 1
    expected = len(options.seeds) * len(fams)
    parts = [f"{v} {expected - done.get(v, 0)}" for v in options.variants if done.get(v, 0) < expected]
    return "; missing: " + ", ".join(parts) if parts else ""


def _notes(options: BenchOptions) -> str:
    """Hand-written notes on a committed run (``<out>/generalization_notes.md``), if any."""
    path = options.results_dir() / NOTES_NAME
    return path.read_text() if path.exists() else ""


def write_results(out_dir: Path, document: dict[str, Any], name: str = "generalization") -> tuple[Path, Path]:
    """``out_dir/<name>.json`` and ``out_dir/<name>.md`` (:func:`avcorr.bench.results.write_results`)."""
    return results.write_results(out_dir, name, document, render_markdown)


def paired_verdict(stat: dict[str, Any], confidence: float = 0.95) -> str:
    """One sentence on a paired mean ROC-AUC difference: a one-sided t-test over seeds."""
    n, mean, std = stat.get("n") or 0, stat.get("mean"), stat.get("std")
    if n < 2 or mean is None or std is None:
        return "Too few seeds to tell the difference from noise."
    from scipy.stats import t as student_t

    critical = float(student_t.ppf(confidence, n - 1))
    score = mean / (std / math.sqrt(n)) if std > 0 else math.copysign(math.inf, mean) if mean else 0.0
    if score > critical:
        return f"The full model beats detection-only on unseen methods (t = {score:.2f} > {critical:.2f}, one-sided, {n - 1} dof)."
    if score < -critical:
        return f"The full model does worse than detection-only on unseen methods (t = {score:.2f} < −{critical:.2f})."
    return (f"The full model does **not** beat detection-only beyond seed-to-seed noise "
            f"(t = {score:.2f}, one-sided {confidence:.0%} needs {critical:.2f}); see the notes.")


def _cell(stat: dict[str, Any] | None) -> str:
    """``mean ± std`` of a statistic, ``mean`` alone for one seed, ``—`` when there is none."""
    if not stat or stat.get("mean") is None:
        return "—"
    if stat.get("std") is None:
        return f"{stat['mean']:.3f}"
    return f"{stat['mean']:.3f} ± {stat['std']:.3f}"


def render_markdown(document: dict[str, Any]) -> str:
    """The tables of a result document: mean over held-out families, then per family."""
    agg = document["aggregate"]
    cfg = document["config"]
    variants = list(agg["mean_over_held_out"])
    fams = cfg["held_out_families"]
    lines = [
        "# Generalization to unseen forgery methods",
        "",
        f"Status: **{document['status']}**. Leave-one-family-out on avcorr's own forgeries; "
        f"seeds {', '.join(map(str, cfg['seeds']))} (seed *i* tests fold *i* mod {cfg['folds']}); "
        "mean ± sample std over seeds. Protocol and how to read this: `docs/generalization.md`.",
        "",
        f"Command: `{document['command']}`",
        "",
        "## Mean over held-out families",
        "",
        "| variant | ROC-AUC (unseen) | AP (unseen) | EER (unseen) | ROC-AUC (seen families) | "
        "ROC-AUC of 1 − mean correlation (unseen) |",
        "|---|---|---|---|---|---|",
    ]
    for v in variants:
        m = agg["mean_over_held_out"][v]
        lines.append(f"| {v} | {_cell(m.get('roc_auc'))} | {_cell(m.get('ap'))} | {_cell(m.get('eer'))} | "
                     f"{_cell(m.get('seen_roc_auc'))} | {_cell(m.get('correlation_roc_auc'))} |")
    paired = agg.get("full_minus_detection_only") or {}
    if paired.get("roc_auc", {}).get("n"):
        lines += ["", f"Full − detection-only, paired by seed: ROC-AUC {_cell(paired['roc_auc'])}, "
                      f"AP {_cell(paired.get('ap'))}, EER {_cell(paired.get('eer'))} "
                      f"(n = {paired['roc_auc']['n']} seeds). {paired_verdict(paired['roc_auc'])}"]
    for metric, title in (("roc_auc", "ROC-AUC"), ("ap", "AP"), ("eer", "EER")):
        lines += ["", f"## {title} per held-out family", "", "| variant | " + " | ".join(fams) + " |",
                  "|---|" + "---|" * len(fams)]
        for v in variants:
            row = agg["per_held_out"].get(v, {})
            lines.append(f"| {v} | " + " | ".join(_cell(row.get(f, {}).get(metric)) for f in fams) + " |")
    lines += _diagnostics_lines(document)
    if document.get("notes"):
        lines += ["", "## Notes", "", document["notes"].strip()]
    lines += _setup_lines(document)
    return "\n".join(lines)


def _diagnostics_lines(document: dict[str, Any]) -> list[str]:
    """The training-loss and teacher-label sections (empty when the document has neither)."""
    lines: list[str] = []
    losses = document.get("training_losses") or {}
    if losses:
        lines += ["", "## Training losses (mean over runs; first → last epoch)", "",
                  "| variant | detection (CE) | distillation (BCE to y_t) | joint-modal |", "|---|---|---|---|"]
        for v, terms in losses.items():
            parts = [f"{terms[t]['first']:.3f} → {terms[t]['last']:.3f}" if t in terms and terms[t]["last"] is not None
                     else "—" for t in ("detection", "distillation", "joint_modal")]
            lines.append(f"| {v} | " + " | ".join(parts) + " |")
        lines += ["", "Every term is logged whatever its weight: detection-only's distillation column is what a "
                      "correlation head trained without that loss scores against the teacher. Balanced detection CE "
                      f"at chance is ln 2 = {math.log(2):.3f}."]
    teacher = document.get("teacher_labels") or {}
    if teacher:
        lines += ["", "## What the teacher's labels carry", "",
                  "| family | mean y_t of its clips (± std over clips) |", "|---|---|"]
        for fam, stat in teacher["mean_soft_label"].items():
            spread = f" ± {stat['std']:.3f}" if stat.get("std") is not None else ""
            lines.append(f"| {fam} | {stat['mean']:.3f}{spread} ({stat['clips']} clips) |")
        lines += ["", f"Distillation BCE of reference students: floor (s_t = y_t) {teacher['distillation_bce_floor']:.3f}; "
                      f"knowing each clip's mean y_t {teacher['distillation_bce_clip_mean']:.3f}; "
                      f"predicting the global mean {teacher['distillation_bce_constant']:.3f}."]
    return lines


def _setup_lines(document: dict[str, Any]) -> list[str]:
    """The setup section: sources, model, variants, machine and wall time per stage (s)."""
    cfg = document["config"]
    machine = document["machine"]
    stages = document["stage_seconds"]
    return [
        "",
        "## Setup",
        "",
        f"- Sources: {cfg['synth_clips']} synth clips + shared real clips when present; "
        f"{cfg['max_seconds'] or 'whole'} s each; {cfg['folds']} identity-disjoint folds; methods {', '.join(cfg['methods'])}.",
        f"- Model: `{cfg['experiment_config']}` with {' '.join(cfg['overrides'])}, {cfg['epochs']} epochs, "
        f"{cfg['face_size_px']} px crops; teacher: {cfg['teacher']}.",
        "- Variants: " + "; ".join(f"**{k}**: {v}" for k, v in cfg["variants"].items()) + ".",
        f"- Machine: {machine['cpu']}, {machine['logical_cores']} logical cores, GPU {machine['gpu'] or 'none'}, "
        f"torch {machine['torch']}; load average {machine.get('load_average_at_start') or 'not recorded'} at start, "
        f"{machine.get('load_average_at_end')} when this table was written (a shared machine: timings were taken "
        "under load).",
        f"- Wall time: {document['wall_s'] / 60:.1f} min over all stages (summed over resumptions; s): "
        + ", ".join(f"{k} {v:.0f}" for k, v in stages.items()) + ".",
        "",
    ]
