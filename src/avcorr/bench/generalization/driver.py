"""The whole benchmark in order: check the options against the work folder, build the data stages
(each timed and skipped once done), estimate, then every (seed, held-out family, variant) run,
rewriting the tables after each so that a stopped benchmark leaves a table marked partial.

Only this module knows the order; the stages, runs and report each do one job and can be called
(and tested) alone. No hyper-parameter depends on the held-out family.
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any, Callable

from avcorr.bench.generalization.plan import (
    RESULT_NAME,
    BenchOptions,
    BenchSize,
    check_options,
    estimate,
    fingerprint,
    fingerprint_diff,
    run_order,
    shared_data,
)
from avcorr.bench.generalization.report import machine_at_start, result_document, write_results
from avcorr.bench.generalization.runs import calibrate_training, split_metrics, train_and_score
from avcorr.bench.generalization.stages import (
    bench_clips,
    build_sources,
    forge_sources,
    prepare_forged,
    zero_shot_scores,
)
from avcorr.bench.state import STATE_NAME, StageClock
from avcorr.errors import ConfigError, InputError
from avcorr.bench.generalization.protocols import VARIANTS, RunResult, families, leave_one_out, replicate_fold
from avcorr.runtime import StageTimer

Log = Callable[[str], None]


def run_benchmark(options: BenchOptions, log: Log = print) -> dict[str, Any]:
    """Run (or resume) the benchmark; returns the result document also written to ``out_dir``.
    ``log`` receives one line per stage and run (the CLI sends them to stderr)."""
    size = check_options(options)
    work = Path(options.work_dir)
    out_dir = options.results_dir()
    clock = _open_work(work, size, options)
    workers = options.workers or os.cpu_count() or 1
    shared = shared_data(options, size)
    started = time.perf_counter()
    machine = clock.state.get("machine") or (machine_at_start() | {"load_average_at_start": None})
    from avcorr.train.fit import quiet_lightning  # lazy: pulls torch and lightning into the light bench package

    quiet_lightning()
    timer = StageTimer()
    stages: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("sources", lambda: build_sources(work, size, shared, options.fold_seed, workers, log)),
        ("forge", lambda: forge_sources(work, size, options.forge_seed, log)),
        ("prepare", lambda: prepare_forged(work, size, workers, log)),
    ]
    for name, action in stages:
        if clock.done(name):
            continue
        if options.report_only:
            raise InputError(work, f"the {name} stage has not finished: nothing to report yet", stage="bench")
        with timer(name):
            info = action()
        clock.record(name, timer.seconds[name], info=info)
        log(f"{name}: done in {timer.seconds[name]:.0f} s")

    cache_dir = work / "cache"
    clips = bench_clips(cache_dir, work / "forged")
    fams = [f for f in families(size.methods) if any(c.family == f for c in clips)]
    with timer("zero_shot"):
        zero = zero_shot_scores(cache_dir, work / "zero_shot.csv")
    if not clock.done("zero_shot") and not options.report_only:
        clock.record("zero_shot", timer.seconds["zero_shot"])
    guess = _estimate(options, size, clock, len(fams), log)

    plan = run_order(options.seeds, fams, options.variants)

    def document(results: list[RunResult]) -> dict[str, Any]:
        return result_document(options, size, fams, machine, clock, guess, results, len(plan),
                               time.perf_counter() - started, clips)

    results: list[RunResult] = []
    for index, seed, held, variant in plan:
        test_fold = replicate_fold(index, size.folds)
        split = leave_one_out(clips, held, test_fold)
        run_dir = work / "runs" / f"seed{seed}" / held / variant
        result_path = run_dir / RESULT_NAME
        if result_path.exists():
            results.append(RunResult.from_dict(json.loads(result_path.read_text())))
            continue
        if options.report_only:
            continue
        begin = time.perf_counter()
        if VARIANTS[variant].trained:
            log(f"run seed {seed} (test fold {test_fold}), held out {held}, {variant}: "
                f"{len(split.train)} training clips, {len(split.test)} test clips")
            scores = train_and_score(size, variant, seed, split, cache_dir, run_dir, options.device)
        else:
            log(f"run seed {seed} (test fold {test_fold}), held out {held}, {variant}")
            scores = {i: zero[i] for i in split.test + split.seen_test if i in zero}
        result = split_metrics(split, clips, scores, variant, seed, time.perf_counter() - begin)
        run_dir.mkdir(parents=True, exist_ok=True)
        result_path.write_text(json.dumps(result.to_dict(), indent=1) + "\n")
        results.append(result)
        stage = clock.state["stages"].setdefault("runs", {"seconds": 0.0})  # grows run by run, never "done"
        stage["seconds"] = round(stage.get("seconds", 0.0) + result.wall_s, 2)
        clock.save()
        log(f"  → ROC-AUC {result.roc_auc:.3f}, AP {result.ap:.3f}, EER {result.eer:.3f} "
            f"(seen families: ROC-AUC {result.seen_roc_auc:.3f}; 1 − mean correlation: ROC-AUC "
            f"{result.correlation_roc_auc:.3f}) in {result.wall_s:.0f} s")
        write_results(out_dir, document(results))
    final = document(results)
    write_results(out_dir, final)
    return final


def _open_work(work: Path, size: BenchSize, options: BenchOptions) -> StageClock:
    """The work folder's state, after refusing a folder that holds another benchmark (or, for a
    report, none); records the configuration and machine unless only reporting."""
    if options.report_only:
        if not (work / STATE_NAME).exists():
            raise InputError(work, "no benchmark here to report on", stage="bench")
    elif (work / STATE_NAME).exists() and not options.resume:
        raise ConfigError(f"{work} already holds a benchmark; pass --resume to continue it or choose another --work")
    work.mkdir(parents=True, exist_ok=True)
    clock = StageClock(work)
    recorded = clock.state.get("config")
    wanted = fingerprint(size, options)
    if recorded is not None and recorded != wanted:
        raise ConfigError(f"{work} was started with another configuration ({fingerprint_diff(recorded, wanted)}); "
                          f"use another --work")
    if not options.report_only:  # a report may run beside a benchmark in progress: it writes no state
        clock.state["config"] = wanted
        clock.state["machine"] = machine_at_start()
        clock.save()
    return clock


def _estimate(options: BenchOptions, size: BenchSize, clock: StageClock, num_families: int, log: Log) -> dict[str, Any]:
    """The up-front estimate from a training rate measured now (a report reuses the recorded one)."""
    if options.report_only:
        return clock.state.get("estimate") or {}
    trained = [v for v in options.variants if VARIANTS[v].trained]
    sources = clock.state["stages"]["sources"]["info"]["sources"]
    rate = calibrate_training(size, options.device) if trained else math.inf
    guess = estimate(size, sources, len(options.seeds), len(trained), rate)
    clock.state["estimate"] = guess
    clock.save()
    log(f"plan: {len(options.seeds)} seeds × {num_families} held-out families × {len(trained)} trained variants = "
        f"{guess['runs']} training runs of {size.epochs} epochs (+ zero-shot); measured {guess['train_frames_per_s']} "
        f"training frames/s now; estimated total {guess['total_s'] / 60:.0f} min "
        f"(data {guess['data_s'] / 60:.0f}, training {guess['train_s'] / 60:.0f}, scoring {guess['score_s'] / 60:.0f})")
    return guess
