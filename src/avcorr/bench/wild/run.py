"""``avcorr bench wild``: leave-one-generator-family-out on genuine forgeries (docs/design.md §9).

Stages, each done once under the work folder and skipped on a rerun (resumable):

1. ``folds``     catalog → folds (no source group on both sides; paired reals with their fakes);
2. ``prepare``   every clip once, with the phonetic teacher (capped at ``prepare_frames``);
3. ``crop``      every clip cut to its centre ``crop_frames`` frames, so that no variant can see a
                 clip's duration or frame count;
4. ``features``  per-clip tables: container metadata + global frame statistics (the shortcut
                 baseline), visual cues, the zero-shot consistency;
5. ``runs``      every variant on every fold (3 seeds where a network trains), each run's scores
                 written as it ends;
6. ``report``    ``wild.json`` + ``wild.md``: per family and overall ROC-AUC and AP with 95%
                 bootstrap CIs, false-alarm rate and fake recall at each fold's own threshold.
"""
from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, TypeVar

import numpy as np

from avcorr.bench.machine import machine_description
from avcorr.bench.results import git_commit
from avcorr.bench.state import StageClock
from avcorr.bench.wild.folds import Fold, build_folds, check_folds
from avcorr.bench.wild.report import ScoreRow, build_report, write_report
from avcorr.bench.wild.variants import (
    WILD_VARIANTS, rows_for, run_features, run_pseudo, run_reals_only, run_student, run_zero_shot,
)
from avcorr.cues.corpus import CONSISTENCY, FEATURE_GROUPS, corpus_tables
from avcorr.data.catalog import CatalogClip, cap_real_groups, read_catalog
from avcorr.data.corpus_options import DEFAULT_CORPUS, CorpusOptions
from avcorr.errors import ConfigError
from avcorr.runtime import StageTimer, plain_json

T = TypeVar("T")
Progress = Callable[[Iterable[T], str], Iterable[T]]
DEFAULT_VARIANTS = ("shortcut", "zero-shot", "consistency-two-sided", "dynamics", "pseudo", "detection-only", "full",
                    "cues-trace", "cues-animation", "cues", "consistency", "consistency-animation", "fused")
SCORES_NAME = "scores.csv"


@dataclass
class WildOptions:
    """What one benchmark run does. ``student_overrides`` apply to ``student_config`` for every
    trained network; ``epochs`` is per training run."""

    data_dir: Path
    work_dir: Path
    out_dir: Path
    catalog: Path | None = None
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    variants: list[str] = field(default_factory=lambda: list(DEFAULT_VARIANTS))
    corpus: CorpusOptions = DEFAULT_CORPUS
    student_config: str = "cpu"
    student_overrides: list[str] = field(default_factory=lambda: ["data.train_crop_frames=50", "data.max_clip_frames=75"])
    epochs: int = 6
    pseudo_minutes: float = 2.0
    min_family_clips: int = 3
    real_shares: int = 3
    max_reals_per_group: int | None = 8
    fold_seed: int = 0
    n_boot: int = 1000
    report_only: bool = False
    command: str = ""

    def validate(self) -> None:
        unknown = [v for v in self.variants if v not in WILD_VARIANTS]
        if unknown:
            raise ConfigError(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(WILD_VARIANTS)}")
        self.corpus.validate()


def run_wild(options: WildOptions, log: Callable[[str], None] = print, progress: Progress | None = None) -> dict[str, Any]:
    """Run (or resume) the benchmark and write its tables; returns the JSON document."""
    options.validate()
    work = options.work_dir
    work.mkdir(parents=True, exist_ok=True)
    clock = StageClock(work)
    catalog = read_catalog(options.data_dir, options.catalog)
    clips = {c.clip_id: c for c in cap_real_groups(catalog, options.max_reals_per_group)}
    folds = build_folds(list(clips.values()), min_family_clips=options.min_family_clips, seed=options.fold_seed,
                        real_shares=options.real_shares)
    check_folds(folds, list(clips.values()))
    (work / "folds.json").write_text(json.dumps([asdict(f) for f in folds], indent=1) + "\n")
    if not options.report_only:
        cache, tables = _corpus(options, clips, clock, log, progress)
        _run_all(options, clips, folds, cache, tables, clock, log)
    return _report(options, clips, folds, clock, log)


def _corpus(options: WildOptions, clips: dict[str, CatalogClip], clock: StageClock, log: Callable[[str], None],
            progress: Progress | None) -> tuple[Path, dict[str, dict[str, float]]]:
    """Stages 2–4 through :func:`avcorr.cues.corpus.corpus_tables` (the layout ``fit-detector`` shares):
    prepare once, cut to fixed length, feature tables; each reuses what an earlier run made, and
    refuses a work folder prepared or cut differently."""
    corpus = options.corpus
    timer = StageTimer()
    made = corpus_tables(list(clips.values()), options.work_dir, prepare_frames=corpus.prepare_frames,
                         crop_frames=corpus.crop_frames, workers=corpus.workers, normalise=corpus.normalise(),
                         progress=progress, log=lambda message: log(f"wild: {message}"), timer=timer)
    info = {"prepare": {"clips": len(clips), "failures": made.prepare_failures},
            "crop": {"frames": corpus.crop_frames},
            "features": {"failures": made.feature_failures, "groups": list(FEATURE_GROUPS), "reused": made.reused}}
    for stage, seconds in timer.seconds.items():
        clock.record(stage, seconds, **info.get(stage, {}))
    return options.work_dir / "cache", made.tables


def _run_all(options: WildOptions, clips: dict[str, CatalogClip], folds: Sequence[Fold], cache: Path,
             tables: dict[str, dict[str, float]], clock: StageClock, log: Callable[[str], None]) -> None:
    """Stage 5: the untrained and feature variants first (seconds), then the networks seed by seed,
    fold by fold with every network variant on a fold before the next fold, so that a cut run
    leaves paired comparisons on whole folds (the report pools whichever folds finished)."""
    done_runs = _done_runs(options.work_dir)
    consistency = {i: t.get(f"{CONSISTENCY}.mean_correlation", np.nan) for i, t in tables.items()}
    quick = [n for n in options.variants if not WILD_VARIANTS[n].trained_network]
    networks = [n for n in options.variants if WILD_VARIANTS[n].trained_network]
    plan = [(n, options.seeds[0], f) for n in quick for f in folds]
    plan += [(n, seed, f) for seed in options.seeds for f in network_fold_order(folds) for n in networks]
    for name, seed, fold in plan:
        key = f"{name}/seed{seed}/{fold.name}"
        if key in done_runs:
            continue
        variant = WILD_VARIANTS[name]
        started = time.perf_counter()
        if variant.kind == "features":
            scores, calibration = run_features(variant, fold, clips, tables, options.corpus.false_alarm_rate,
                                               options.corpus.uncertain_rate)
        elif variant.kind == "zero-shot":
            scores, calibration = run_zero_shot(fold, clips, consistency, options.corpus.false_alarm_rate,
                                                options.corpus.uncertain_rate)
        elif variant.kind == "reals-only":
            scores, calibration = run_reals_only(variant, fold, clips, tables, options.corpus.false_alarm_rate,
                                                 options.corpus.uncertain_rate)
        elif variant.kind == "pseudo":
            scores, calibration = run_pseudo(variant, fold, folds, seed, clips, cache, options.work_dir / "pseudo",
                                             options.pseudo_minutes, options.corpus.false_alarm_rate,
                                             options.corpus.uncertain_rate)
        else:
            run_dir = options.work_dir / "runs" / name / f"seed{seed}" / fold.name.replace("|", "__")
            scores, calibration = run_student(variant, fold, seed, clips, cache, run_dir, options.student_config,
                                              options.student_overrides, options.epochs,
                                              options.corpus.false_alarm_rate, options.corpus.uncertain_rate)
        rows = rows_for(name, seed, fold, clips, scores, calibration)
        _append_rows(options.work_dir, rows)
        seconds = time.perf_counter() - started
        clock.record(f"run:{key}", seconds, calibration=calibration.to_dict(), clips=len(rows))
        log(f"wild: {key}: {len(rows)} clips scored in {seconds:.0f} s")


def network_fold_order(folds: Sequence[Fold]) -> list[Fold]:
    """Folds interleaved by real share (every family's fold of one share, then the next share), so
    that a partial run of the networks covers every family early."""
    shares = sorted({f.real_share for f in folds})
    return [f for share in shares for f in folds if f.real_share == share]


def _done_runs(work: Path) -> set[str]:
    path = work / SCORES_NAME
    if not path.exists():
        return set()
    with path.open(newline="") as handle:
        return {f"{r['variant']}/seed{r['seed']}/{r['fold']}" for r in csv.DictReader(handle)}


def _append_rows(work: Path, rows: Sequence[ScoreRow]) -> None:
    path = work / SCORES_NAME
    new = not path.exists()
    columns = list(ScoreRow.__dataclass_fields__)
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        if new:
            writer.writeheader()
        writer.writerows([asdict(r) for r in rows])


def read_score_rows(work: Path) -> list[ScoreRow]:
    path = work / SCORES_NAME
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [ScoreRow(variant=r["variant"], seed=int(r["seed"]), fold=r["fold"], clip_id=r["clip_id"],
                         label=int(r["label"]), family=r["family"], source_group=r["source_group"],
                         score=float(r["score"]), fake_threshold=float(r["fake_threshold"]),
                         uncertain_threshold=float(r["uncertain_threshold"])) for r in csv.DictReader(handle)]


def _report(options: WildOptions, clips: dict[str, CatalogClip], folds: Sequence[Fold], clock: StageClock,
            log: Callable[[str], None]) -> dict[str, Any]:
    """Stage 6: the tables, from every run finished so far (safe beside a run in progress)."""
    rows = read_score_rows(options.work_dir)
    machine = clock.state.setdefault("machine", machine_description())
    clock.save()
    header = {
        "command": options.command, "commit": git_commit(), "options": plain_json({  # flat, as before the corpus options had their own record
            k: str(v) if isinstance(v, Path) else v for k, v in {**asdict(options), **asdict(options.corpus)}.items()
            if k != "corpus"}),
        "machine": machine, "load_average_at_report": [round(x, 2) for x in os.getloadavg()],
        "stage_seconds": clock.seconds(),
        "folds": [{"name": f.name, "families": list(f.families), "test_fakes": sum(clips[i].label for i in f.test_ids),
                   "test_reals": sum(1 - clips[i].label for i in f.test_ids), "train": len(f.train_ids),
                   "excluded": len(f.excluded_ids), "notes": f.notes} for f in folds],
        "corpus": {"clips": len(clips), "real": sum(1 - c.label for c in clips.values()),
                   "fake": sum(c.label for c in clips.values()),
                   "real_source_groups": len({c.source_group for c in clips.values() if c.label == 0}),
                   "fake_generators": len({c.generator for c in clips.values() if c.label == 1}),
                   "max_reals_per_group": options.max_reals_per_group},
        "variants": {n: WILD_VARIANTS[n].description for n in options.variants},
    }
    document = build_report(rows, header, n_boot=options.n_boot)
    json_path, md_path = write_report(document, options.out_dir)
    log(f"wild: wrote {json_path} and {md_path}")
    return document
