"""The phonetic teacher: its cost, its viseme accuracy, and how well it detects swapped audio.

1. Cost: CPU seconds the teacher spends per second of video (phones from pocketsphinx, visemes,
   lip model) on prepared clips, with the process limited to ``--cores`` cores. Target: < 0.2 s
   per second of video on 2 cores. Decoding and face tracking belong to ``prepare`` and are
   reported apart, for context.
2. Viseme accuracy of the audio side on the GRID clips (their file names spell their sentences):
   the phone loop's per-frame viseme against forced alignment's; and forced alignment against
   eSpeak's own phone timings on synthesized GRID sentences.
3. Real vs audio-swapped (each video with 3 other clips' audio): mean soft label y_t and the
   zero-shot ROC-AUC, (a) leave-clips-out (5 folds: every clip's lip model was fitted on the
   other clips), (b) the shipped lip model on the clips it was not fitted on (all but GRID).

Results: benchmarks/results/teachers.{json,md} (``--quick``: teachers_quick.*).

    .venv/bin/python benchmarks/teacher_speed.py           # all 33 real shared clips
    .venv/bin/python benchmarks/teacher_speed.py --quick   # 12 clips, no eSpeak check
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

from avcorr.bench.machine import machine_description as machine
from avcorr.bench.results import shared_data_dir, write_results

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def real_clips(data: Path, count: int | None) -> list[Path]:
    with (data / "catalog.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["label"] == "real"]
    if count:
        step = max(1, len(rows) // count)
        rows = rows[::step][:count]
    return [data / r["file"] for r in rows]


def viseme_accuracy(clips) -> dict:
    from avcorr.teachers.visemes import VISEME_INDEX

    aligned = [c for c in clips if c.label_mode == "aligned"]
    if not aligned:
        return {}
    truth = np.concatenate([c.labels for c in aligned])
    loop = np.concatenate([c.loop_labels for c in aligned])
    majority = np.bincount(truth).argmax()
    recall = {}
    for name in ("sil", "PP", "FF", "oh", "ou", "aa"):
        mask = truth == VISEME_INDEX[name]
        if mask.any():
            recall[name] = round(float((loop[mask] == truth[mask]).mean()), 3)
    speech = truth != VISEME_INDEX["sil"]
    return {"clips": len(aligned), "frames": int(len(truth)),
            "phone_loop_vs_alignment": round(float((loop == truth).mean()), 3),
            "phone_loop_vs_alignment_speech_frames": round(float((loop[speech] == truth[speech]).mean()), 3),
            "majority_class_rate": round(float((truth == majority).mean()), 3),
            "recall_by_viseme": recall}


def lip_recall(clips, visual) -> dict:
    """Held-out lip model vs forced alignment on the GRID clips: accuracy and recall by viseme."""
    from avcorr.teachers.visemes import VISEME_INDEX

    pairs = [(c.labels, q.argmax(axis=1)) for c, q in zip(clips, visual) if c.label_mode == "aligned"]
    if not pairs:
        return {}
    truth = np.concatenate([t for t, _ in pairs])
    guess = np.concatenate([g for _, g in pairs])
    recall = {}
    for name in ("sil", "PP", "FF", "oh", "ou", "aa", "E", "ih"):
        mask = truth == VISEME_INDEX[name]
        if mask.any():
            recall[name] = round(float((guess[mask] == truth[mask]).mean()), 3)
    closed = np.isin(truth, [VISEME_INDEX["PP"]])
    return {"frames": int(len(truth)), "accuracy": round(float((guess == truth).mean()), 3), "recall_by_viseme": recall,
            "PP_frames": int(closed.sum())}


def espeak_alignment(count: int) -> dict:
    from avcorr.forge.grammar import sample_sentence
    from avcorr.forge.tts import frame_visemes, synthesize
    from avcorr.teachers.phonetic.audio import PhoneRecognizer, viseme_occupancy

    rng = np.random.default_rng(0)
    recognizer = PhoneRecognizer()
    agree = total = loop_agree = failed = 0
    for _ in range(count):
        sentence = sample_sentence(rng)
        speech = synthesize(sentence.spoken)
        t = int(speech.duration_s * 25)
        truth = frame_visemes(speech.phones, t)
        aligned = recognizer.align(speech.audio, sentence.transcript)
        if aligned is None:
            failed += 1
            continue
        agree += int((viseme_occupancy(aligned, t).argmax(1) == truth).sum())
        loop_agree += int((viseme_occupancy(recognizer.phone_loop(speech.audio), t).argmax(1) == truth).sum())
        total += t
    return {"sentences": count, "alignment_failed": failed, "frames": total,
            "alignment_vs_espeak": round(agree / max(total, 1), 3), "phone_loop_vs_espeak": round(loop_agree / max(total, 1), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=shared_data_dir(), help="shared clips folder (default: ../shared/data)")
    parser.add_argument("--clips", type=int, default=None, help="how many real clips (default: all)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.data is None or not (args.data / "catalog.csv").exists():
        print(f"no clips at {args.data} (give --data)", file=sys.stderr)
        return 1
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.cores]))
    import torch

    torch.set_num_threads(args.cores)
    from sklearn.metrics import roc_auc_score

    from avcorr.prepare.pipeline import PrepareOptions, prepare_clip
    from avcorr.media.face import FaceTracker
    from avcorr.teachers.phonetic.crossval import analyse_landmarks, evaluate_swaps, score_pairs, swap_pairs
    from avcorr.teachers.phonetic.teacher import PhoneticTeacher

    count = 12 if args.quick and args.clips is None else args.clips
    paths = real_clips(args.data, count)
    load_start = os.getloadavg()[0]
    teacher = PhoneticTeacher(use_transcripts=False)
    tracker = FaceTracker()
    per_clip, clips = [], []
    warm = True
    for path in paths:
        wall = time.perf_counter()
        prepared = prepare_clip(path, None, PrepareOptions(store_stft=False, store_mouth=False), tracker=tracker)
        prepare_wall = time.perf_counter() - wall
        if warm:  # first call loads pocketsphinx; not counted
            teacher.posteriors(prepared.media, prepared.record)
            warm = False
        cpu, wall = time.process_time(), time.perf_counter()
        teacher.posteriors(prepared.media, prepared.record)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        seconds = prepared.record.num_frames / prepared.media.fps
        per_clip.append({"clip": path.name, "video_s": round(seconds, 2), "teacher_cpu_s": round(cpu, 3),
                         "teacher_wall_s": round(wall, 3), "prepare_wall_s": round(prepare_wall, 2)})
        clips.append(analyse_landmarks(path, prepared.media.audio, prepared.record.arrays["landmarks"],
                                       prepared.media.fps, teacher.recognizer))
    video_s = sum(c["video_s"] for c in per_clip)
    cost = {"video_s": round(video_s, 1),
            "teacher_cpu_s_per_video_s": round(sum(c["teacher_cpu_s"] for c in per_clip) / video_s, 4),
            "teacher_wall_s_per_video_s": round(sum(c["teacher_wall_s"] for c in per_clip) / video_s, 4),
            "worst_clip_cpu_s_per_video_s": round(max(c["teacher_cpu_s"] / c["video_s"] for c in per_clip), 4),
            "prepare_wall_s_per_video_s": round(sum(c["prepare_wall_s"] for c in per_clip) / video_s, 4)}

    rounds = 3
    loco = evaluate_swaps(clips, folds=5, rounds=rounds, seed=0)
    swap = {"real_clips": len(clips), "swapped_pairs": len(loco.pairs),
            "leave_clips_out": {"roc_auc": round(loco.roc_auc, 3),
                                "mean_soft_label_real": round(float(loco.real_soft_label.mean()), 4),
                                "mean_soft_label_swapped": round(float(loco.swapped_soft_label.mean()), 4),
                                "soft_label_roc_auc": round(float(roc_auc_score(
                                    np.r_[np.ones(len(clips)), np.zeros(len(loco.pairs))],
                                    np.r_[loco.real_soft_label, loco.swapped_soft_label])), 3),
                                "accuracy_at_0.5": round(float(((loco.real_scores < 0.5).sum() + (loco.swapped_scores >= 0.5).sum())
                                                               / (len(clips) + len(loco.pairs))), 3),
                                "lip_model_frame_accuracy": round(loco.visual_accuracy, 3),
                                "lip_model_vs_alignment_grid": lip_recall(clips, loco.visual_posteriors)}}
    unseen = [i for i, c in enumerate(clips) if Path(c.path).name not in set(teacher.lip_model.provenance.get("clip_names", []))]
    if len(unseen) >= 4:
        sub = [clips[i] for i in unseen]
        visual = [teacher.visual_posteriors(c.landmarks) for c in sub]
        real, _ = score_pairs(sub, visual, [(i, i) for i in range(len(sub))])
        fake, _ = score_pairs(sub, visual, swap_pairs(len(sub), rounds, 0))
        swap["shipped_model_on_unseen_clips"] = {
            "clips": len(sub), "roc_auc": round(float(roc_auc_score(np.r_[np.zeros(len(real)), np.ones(len(fake))], np.r_[real, fake])), 3),
            "accuracy_at_0.5": round(float(((real < 0.5).sum() + (fake >= 0.5).sum()) / (len(real) + len(fake))), 3)}

    results = {"benchmark": "teachers", "quick": args.quick, "machine": machine(), "cores": args.cores,
               "load_average_1min": [round(load_start, 2), round(os.getloadavg()[0], 2)],
               "lip_model": {k: teacher.lip_model.provenance.get(k) for k in ("command", "clips", "frames", "regularization")},
               "cost": cost, "viseme_accuracy_grid": viseme_accuracy(clips),
               "espeak_alignment": espeak_alignment(6 if args.quick else 30),
               "real_vs_swapped": swap, "per_clip": per_clip,
               "command": "python benchmarks/teacher_speed.py" + (" --quick" if args.quick else "")}
    write_results(RESULTS, "teachers_quick" if args.quick else "teachers", results, markdown)
    print(markdown(results))
    return 0


def markdown(r: dict) -> str:
    m, c, v, e, s = r["machine"], r["cost"], r["viseme_accuracy_grid"], r["espeak_alignment"], r["real_vs_swapped"]
    lo = s["leave_clips_out"]
    lines = [
        "# phonetic teacher: cost, viseme accuracy, real vs swapped audio", "",
        f"Machine: {m['cpu']}, {m['logical_cores']} logical cores, torch {m['torch']}, Python {m['python']}; "
        f"limited to {r['cores']} cores. Load average (1 min) {r['load_average_1min'][0]} → {r['load_average_1min'][1]}: "
        "the machine was shared with other jobs, so timings are pessimistic.", "",
        "## Cost (target: < 0.2 s of compute per second of video on 2 cores)", "",
        "| video (s) | teacher CPU s / video s | teacher wall s / video s | worst clip CPU s / video s | prepare wall s / video s (context) |",
        "|---|---|---|---|---|",
        f"| {c['video_s']} | {c['teacher_cpu_s_per_video_s']} | {c['teacher_wall_s_per_video_s']} | {c['worst_clip_cpu_s_per_video_s']} | {c['prepare_wall_s_per_video_s']} |",
        "",
        "## Audio side: viseme accuracy per 25 fps frame", "",
    ]
    if v:
        lines += [
            f"GRID clips ({v['clips']}, {v['frames']} frames), phone loop vs forced alignment: **{v['phone_loop_vs_alignment']}** "
            f"(speech frames only: {v['phone_loop_vs_alignment_speech_frames']}; always guessing the majority class: {v['majority_class_rate']}). "
            f"Recall by viseme: {', '.join(f'{k} {x}' for k, x in v['recall_by_viseme'].items())}.", ""]
    lines += [
        f"Synthesized GRID sentences ({e['sentences']}, eSpeak NG, {e['frames']} frames) against eSpeak's own phone timings: "
        f"forced alignment **{e['alignment_vs_espeak']}**, phone loop {e['phone_loop_vs_espeak']} "
        f"(alignment failed on {e['alignment_failed']}).", "",
        f"## Real vs audio-swapped ({s['real_clips']} real clips, {s['swapped_pairs']} swapped pairs)", "",
        "| lip model | ROC-AUC | accuracy at 0.5 | mean y_t real | mean y_t swapped | y_t ROC-AUC |", "|---|---|---|---|---|---|",
        f"| leave-clips-out (5 folds) | **{lo['roc_auc']}** | {lo['accuracy_at_0.5']} | {lo['mean_soft_label_real']} | {lo['mean_soft_label_swapped']} | {lo['soft_label_roc_auc']} |",
    ]
    if "shipped_model_on_unseen_clips" in s:
        u = s["shipped_model_on_unseen_clips"]
        lines.append(f"| shipped (`{r['lip_model']['clips']}` clips), on the {u['clips']} clips it never saw | {u['roc_auc']} | {u['accuracy_at_0.5']} | | | |")
    lines += ["", f"Lip model held-out frame accuracy (against the labels it is trained on): {lo['lip_model_frame_accuracy']}."]
    g = lo.get("lip_model_vs_alignment_grid")
    if g:
        lines += [f"On the GRID clips against forced alignment ({g['frames']} frames, held out): accuracy {g['accuracy']}; "
                  f"recall by viseme: {', '.join(f'{k} {x}' for k, x in g['recall_by_viseme'].items())} "
                  "(chance for a 15-way guess is 0.067)."]
    lines += ["",
              f"Shipped lip model: `{r['lip_model']['command']}`.", "", f"Command: `{r['command']}`", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
