"""Does a lip model fitted on the corpus's real clips carry more content than the shipped one?

Leave-one-source-group-out over the real clips of a prepared clip cache (GRID, one speaker, is one
group): frame viseme agreement with the audio side (argmax of the cached ``audio_posteriors``:
forced alignment for GRID clips whose names spell their sentence, else the phone loop) of

- the shipped lip model (``phonetic_lips.npz``, synthetic faces + 10 GRID clips), used as it is;
- the training folds' majority class;
- the same model family fitted on the other groups' real frames (``corpus``), and two variants:
  class-balanced weights, and two thirds of the silence frames dropped;

also without silence frames and as macro recall, and, downstream, the zero-shot ROC-AUC of real
clips against their video with another clip's audio: from another group, or from the same group
(the hard case: same speaker or recording setup, only the content differs). 95% percentile
bootstrap over held-out clips, paired for differences; also over whole source groups.

Decision rule (the issue's): the corpus model ships (as ``resources/lips_corpus.npz``, beside the
shipped one) only if its held-out agreement beats both the shipped model and the majority class
with the clip bootstrap's 95% interval of the difference above zero.

    .venv/bin/python benchmarks/lip_teacher.py                   # runs/bench-wild/cache_full
    .venv/bin/python benchmarks/lip_teacher.py --cache DIR --model-out /tmp/lips_corpus.npz

Results: benchmarks/results/lip_teacher.{json,md}.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

from avcorr.bench.machine import load_note, machine_description
from avcorr.bench.results import write_results

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_CACHE = ROOT / "runs" / "bench-wild" / "cache_full"


def decide(evaluation, variants) -> dict:
    """Which variants beat the shipped model and the majority class on agreement (CI above 0)."""
    verdict = {}
    for name in variants:
        lows = {base: evaluation.differences[f"{name} - {base}"]["agreement"].low for base in ("shipped", "majority")}
        verdict[name] = {"beats_shipped": lows["shipped"] > 0, "beats_majority": lows["majority"] > 0,
                         "clear": lows["shipped"] > 0 and lows["majority"] > 0}
    return verdict


def markdown(report: dict, evaluation, by_group, table) -> str:
    m = report["machine"]
    data = report["data"]
    lines = [
        "# Lip teacher fitted on the corpus's real clips vs the shipped one", "",
        f"Machine: {m['cpu']}, {m['logical_cores']} logical cores, torch {m['torch']}, Python {m['python']}; "
        f"limited to {report['cores']} cores. Load average (1 min) {report['load_before']} → {report['load_after']}: "
        f"{load_note(report['load_before'])} Wall time {report['wall_s']} s.", "",
        f"Data: `{data['cache']}`, {data['clips']} real clips, {data['frames']} frames at 25 fps, {data['groups']} source groups "
        f"(frames: {', '.join(f'{g} {n}' for g, n in data['frames_by_group'].items())}). Labels: argmax of the cached "
        f"audio side per frame — {data['label_modes'].get('aligned', 0)} clips force-aligned (GRID names), "
        f"{data['label_modes'].get('phone_loop', 0)} phone loop.", "",
        "## Held out by source group (leave one group out)", "",
        "Agreement = share of frames whose lip-model argmax equals the audio side's viseme. "
        f"[95% bootstrap over clips, {report['n_boot']} replicates.] Zero-shot ROC-AUC: each real clip against its video "
        f"with the audio of {report['swap_pairs']['zero_shot_auc']} clips of other groups (3 per video) or "
        f"{report['swap_pairs']['zero_shot_auc_same_group']} of its own group; score = the zero-shot mean correlation.", "",
        *table(evaluation.rows), "",
        f"On the {evaluation.unseen_rows[0].clips if evaluation.unseen_rows else 0} clips the shipped model was not fitted on:", "",
        *table(evaluation.unseen_rows), "",
        "## Paired differences", "",
        "| comparison | metric | bootstrap over clips | over source groups |", "|---|---|---|---|",
    ]
    for name, metrics in evaluation.differences.items():
        for metric, estimate in metrics.items():
            lines.append(f"| {name} | {metric} | {estimate} | {by_group.differences[name][metric]} |")
    visemes = list(evaluation.rows[0].recall_by_viseme)
    lines += ["", "## Recall by viseme (held out)", "", "| lip model | " + " | ".join(visemes) + " |",
              "|---|" + "---|" * len(visemes)]
    for row in evaluation.rows:
        lines.append(f"| {row.model} | " + " | ".join(f"{row.recall_by_viseme.get(v, 0):.3f}" for v in visemes) + " |")
    groups = list(evaluation.rows[0].agreement_by_group)
    lines += ["", "## Agreement by held-out group", "", "| group | frames | " +
              " | ".join(r.model for r in evaluation.rows) + " |", "|---|---|" + "---|" * len(evaluation.rows)]
    for g in groups:
        lines.append(f"| {g} | {data['frames_by_group'][g]} | " +
                     " | ".join(f"{r.agreement_by_group[g]:.3f}" for r in evaluation.rows) + " |")
    lines += ["", "Notes: labels come from the cache's smoothed audio posteriors (σ = 1 frame), so a one-frame viseme "
              "between longer ones can vanish; outside GRID they are pocketsphinx's phone loop, noisy in the wild, which "
              "caps any lip model's agreement. In the swaps, GRID clips' audio side is forced alignment as cached, "
              "where `detect --zero-shot` would use the phone loop. Clips of one group are alike (GRID: one speaker), "
              "so the group bootstrap is the more honest interval; with 12 groups it is wide."]
    verdict = report["decision"]
    shipped = [n for n, v in verdict.items() if v["clear"]]
    lines += ["", "## Decision", "",
              "Rule: ship a corpus-fitted model only if its held-out agreement beats both the shipped model and the "
              "majority class, the 95% interval of each paired difference (over clips) above zero.", "",
              *(f"- `{n}`: beats shipped {v['beats_shipped']}, beats majority {v['beats_majority']}" for n, v in verdict.items()),
              "", f"**{'Met by ' + ', '.join(shipped) if shipped else 'Not met: no model shipped'}.**", "",
              f"Command: `python benchmarks/lip_teacher.py{report['arguments']}`", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="a clip cache prepared with the phonetic teacher")
    parser.add_argument("--boot", type=int, default=1000, help="bootstrap replicates")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--model-out", type=Path, default=None,
                        help="also write the corpus model fitted on all real clips here (whatever the decision)")
    args = parser.parse_args()
    if not (args.cache / "clips").is_dir():
        print(f"no prepared clips at {args.cache}", file=sys.stderr)
        return 1
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.cores]))
    from avcorr.eval.lip_corpus import markdown_table, summarize_held_out
    from avcorr.teachers.phonetic.corpus import default_variants, fit_corpus_model, held_out_visual, load_real_clips
    from avcorr.teachers.phonetic.visual_model import LipVisemeModel

    load_before = round(os.getloadavg()[0], 2)
    start = time.perf_counter()
    clips = load_real_clips(args.cache)
    variants = default_variants()
    reference = LipVisemeModel.load()
    seen = reference.provenance.get("clip_names", [])
    visual = held_out_visual(clips, variants, reference)
    options = {k: asdict(v) for k, v in variants.items()}
    evaluation = summarize_held_out(clips, visual, "shipped", seen, args.boot, options=options)
    by_group = summarize_held_out(clips, visual, "shipped", seen, args.boot, resample="group", options=options)
    if args.model_out:
        model = fit_corpus_model(clips, variants["corpus"], provenance={
            "command": f"benchmarks/lip_teacher.py --cache {args.cache.name}", "fitted_at": time.strftime("%Y-%m-%d"),
            "clip_names": sorted({c.video_name for c in clips})})
        model.save(args.model_out)
    wall = round(time.perf_counter() - start, 1)
    argv = sys.argv[1:]
    report = {
        "machine": machine_description(), "cores": args.cores, "load_before": load_before,
        "load_after": round(os.getloadavg()[0], 2), "wall_s": wall, "n_boot": args.boot,
        "arguments": (" " + " ".join(argv)) if argv else "",
        "data": {"cache": str(args.cache.relative_to(ROOT)) if args.cache.is_relative_to(ROOT) else str(args.cache),
                 "clips": len(clips), "frames": sum(c.num_frames for c in clips), "groups": len(evaluation.frames_by_group),
                 "frames_by_group": evaluation.frames_by_group, "label_modes": evaluation.label_modes,
                 "shipped_model_training_clips_in_cache": len(clips) - (evaluation.unseen_rows[0].clips if evaluation.unseen_rows else 0)},
        "swap_pairs": evaluation.swap_pairs,
        "cross_validation": evaluation.to_dict(),
        "differences_group_bootstrap": {k: {m: e.to_dict() for m, e in v.items()} for k, v in by_group.differences.items()},
        "decision": decide(evaluation, variants),
    }
    write_results(args.out_dir, "lip_teacher", report, markdown(report, evaluation, by_group, markdown_table))
    print("\n".join(markdown_table(evaluation.rows)))
    print(f"decision: {report['decision']}  ({wall} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
