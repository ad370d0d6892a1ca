"""How fast is ``detect`` end to end (decode → face track → crops → features → detector → verdict)?

Real-time factor (RTF) = seconds of video analysed / seconds of wall-clock time, per clip, on the
shared real clips and forged versions of them (``avcorr forge``), with torch (and the process)
limited to ``--cores`` CPU cores. The target is RTF ≥ 10 on 2 cores for the default detector.
Measured detectors (``--configs``): ``zero-shot``, ``dynamics`` (the reference ``--dynamics``),
``pseudo-trace`` (the model ``--trace``), ``cues`` (``--model``, default: the bundled cue model),
and student configs (``cpu``, ``paper``; untrained weights unless ``--checkpoint``). The first
clip is a warm-up (model and face-model loading) and is not counted. The machine may be shared:
the load average is recorded before, after and at each clip, and the CPU RTF (video seconds per
CPU second of the process) is given beside the wall-clock one.

``--exact-too`` times every detector a second time with ``fast_prepare`` off (the face mesh on
every frame, frames decoded at full size then rescaled), clip by clip beside the fast path in the
same run, and reports the score differences. ``--landmark-error N`` measures on N corpus clips how
far reduced-rate tracking's landmarks lie from full-rate ones. ``--long-video SECONDS`` makes a video
that long from the corpus's 360 × 288 real clips and runs ``avcorr detect`` on all of it under
``/usr/bin/time -v`` (peak RSS). Results: benchmarks/results/detect_speed.{json,md}.

    .venv/bin/python benchmarks/detect_speed.py            # 10 real clips + their forgeries: zero-shot, cues, cpu, paper
    .venv/bin/python benchmarks/detect_speed.py --quick    # 3 real clips, 1 forgery method: zero-shot, cues
    .venv/bin/python benchmarks/detect_speed.py --clips 6 --methods "" --configs zero-shot,dynamics,pseudo-trace \
        --dynamics DIR --trace DIR --exact-too --landmark-error 6 --long-video 600
"""
from __future__ import annotations

import argparse
import csv
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from avcorr.bench.machine import load_note, machine_description as machine
from avcorr.bench.results import shared_data_dir, write_results

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def real_clips(data: Path, count: int) -> list[Path]:
    """Real clips of the shared catalog, spread over its sources (every k-th row)."""
    with (data / "catalog.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["label"] == "real"]
    step = max(1, len(rows) // count)
    return [data / r["file"] for r in rows[::step][:count]]


def forge_clips(sources: list[Path], methods: str, out: Path) -> list[tuple[Path, str]]:
    """Forged versions of ``sources`` (one per source and method), via ``avcorr forge``; none for no methods."""
    if not [m for m in methods.split(",") if m.strip()]:
        return []
    from avcorr.data.manifest import ManifestRow
    from avcorr.forge.forge import ForgeOptions, run_forge

    rows = [ManifestRow(clip_id=p.stem, video_path=str(p), label=0, method="real", source_id=p.stem) for p in sources]
    run_forge(rows, out, ForgeOptions(methods=methods.split(","), per_source=1, seed=0, include_real=False))
    return read_forged(out)


def read_forged(out: Path) -> list[tuple[Path, str]]:
    """The fake clips listed in a forge output folder's manifest."""
    with (out / "manifest.csv").open(newline="") as handle:
        fakes = [r for r in csv.DictReader(handle) if r["label"] == "1"]
    return [(Path(r["video_path"]) if Path(r["video_path"]).is_absolute() else out / r["video_path"], r["method"])
            for r in fakes]


def cue_model(model: Path | None) -> Path | None:
    """The cue model to time: ``--model``, else the shipped default when it is a cue model, else the
    first bundled cue model (None when there is none)."""
    from avcorr.detect.bundled import CUE_KIND, bundled_cue_model, describe
    from avcorr.detect.registry import BUNDLED_DIR, DEFAULT_DETECTOR

    if model is not None:
        return model
    default = BUNDLED_DIR / DEFAULT_DETECTOR
    if default.is_dir() and describe(default).kind == CUE_KIND:
        return default
    return bundled_cue_model()


def run_config(name: str, checkpoint: str | None, clips: list[tuple[Path, str]], workdir: Path,
               model: Path | None = None, exact_too: bool = False, models: dict[str, Path | None] | None = None) -> list[dict]:
    """Time one detector — a student config (``checkpoint`` or untrained weights), ``cues`` (the cue
    model ``model``), ``dynamics`` or ``pseudo-trace`` (``models``) — on the fast path, and with
    ``exact_too`` also with ``fast_prepare`` off, clip by clip side by side (one run per path)."""
    models = models or {}
    if name == "dynamics":
        from avcorr.detect.dynamics_detector import DynamicsDetector

        checkpoint = str(models["dynamics"])
        detector = DynamicsDetector(checkpoint)
    elif name == "pseudo-trace":
        from avcorr.detect.trace_detector import TraceDetector

        checkpoint = str(models["pseudo-trace"])
        detector = TraceDetector(checkpoint)
    elif name == "zero-shot":
        from avcorr.detect.zero_shot import ZeroShotDetector

        checkpoint = "packaged zero-shot calibration"
        detector = ZeroShotDetector()
    elif name == "cues":
        from avcorr.detect.cue_detector import CueDetector

        checkpoint = str(model)
        detector = CueDetector(model)
    else:
        import torch

        from avcorr.config import load_experiment_config
        from avcorr.detect.model_detector import StudentDetector
        from avcorr.models.checkpoint import save_detector
        from avcorr.models.detector import build_detector

        if checkpoint is None:
            config = load_experiment_config(name)
            torch.manual_seed(0)
            checkpoint = str(workdir / f"run_{name}")
            save_detector(checkpoint, build_detector(config.model).eval(), config)
        detector = StudentDetector(checkpoint)
    detector.detect(clips[0][0])  # warm-up: loads the face models and the network
    paths = [True, False] if exact_too else [True]
    rows: dict[bool, list[dict]] = {fast: [] for fast in paths}
    for path, kind in clips:
        for fast in paths:  # side by side, clip by clip: both paths see the same load
            detector.fast_prepare = fast
            rows[fast].append(time_clip(detector, path, kind, name if fast else f"{name} (exact)"))
    if hasattr(detector, "close"):
        detector.close()
    runs = [summarise(name if fast else f"{name} (exact)", checkpoint, rows[fast], detector) for fast in paths]
    if exact_too:
        runs[0]["score_vs_exact"] = score_differences(rows[True], rows[False])
    return runs


def time_clip(detector, path: Path, kind: str, label: str) -> dict:
    """One timed ``detect`` (wall and process CPU seconds, the stages, the load at the start)."""
    load = os.getloadavg()[0]
    started, cpu_started = time.perf_counter(), time.process_time()
    verdict = detector.detect(path)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if verdict.error or verdict.score is None:
        return {"clip": path.name, "kind": kind, "error": verdict.error or verdict.verdict}
    seconds = len(verdict.frames) / verdict.fps
    stages = dict(verdict.details.get("timings_s", {}))
    stages["score"] = round(max(0.0, elapsed - sum(stages.values())), 3)  # the kind's own work after prepare
    print(f"  {label:22s} {kind:10s} {seconds:6.2f} s video in {elapsed:6.2f} s → RTF {seconds / elapsed:5.2f} "
          f"(CPU {cpu:6.2f} s → {seconds / cpu:5.2f}) load {load:4.1f} score {verdict.score:.4f}  {path.name}", flush=True)
    return {"clip": path.name, "kind": kind, "video_s": round(seconds, 2), "wall_s": round(elapsed, 3),
            "rtf": round(seconds / elapsed, 2), "cpu_s": round(cpu, 3), "cpu_rtf": round(seconds / cpu, 2),
            "load_1min": round(load, 2), "score": round(float(verdict.score), 4), "band": verdict.verdict,
            "stages_s": stages}


def score_differences(fast: list[dict], exact: list[dict]) -> dict:
    """How far the fast path's scores lie from the exact path's, clip by clip."""
    pairs = [(f["score"], e["score"], f["band"] == e["band"]) for f, e in zip(fast, exact) if "score" in f and "score" in e]
    if not pairs:
        return {}
    diff = np.abs(np.array([a - b for a, b, _ in pairs]))
    return {"clips": len(pairs), "mean_abs": round(float(diff.mean()), 4), "max_abs": round(float(diff.max()), 4),
            "same_band": sum(same for _, _, same in pairs)}


def summarise(name: str, checkpoint: str | None, rows: list[dict], detector) -> dict:
    done = [r for r in rows if "rtf" in r]
    total_video = sum(r["video_s"] for r in done)
    total_wall = sum(r["wall_s"] for r in done)
    stages: dict[str, float] = {}
    for r in done:
        for stage, value in r["stages_s"].items():
            stages[stage] = stages.get(stage, 0.0) + value
    return {
        "config": name, "checkpoint": checkpoint, "clips": rows,
        **({"groups": list(detector.groups)} if name == "cues" else {}),
        "loads_1min": [r["load_1min"] for r in done],
        "overall_rtf": round(total_video / total_wall, 2) if total_wall else None,
        "cpu_rtf": round(total_video / sum(r["cpu_s"] for r in done), 2) if done else None,
        "median_rtf": round(statistics.median(r["rtf"] for r in done), 2) if done else None,
        "min_rtf": round(min(r["rtf"] for r in done), 2) if done else None,
        "real_rtf": _group_rtf(done, real=True), "forged_rtf": _group_rtf(done, real=False),
        "stage_share": {k: round(v / total_wall, 3) for k, v in sorted(stages.items(), key=lambda kv: -kv[1])},
        "video_s": round(total_video, 1), "wall_s": round(total_wall, 1),
    }


def landmark_error(clips: list[Path], mesh_every: int) -> dict:
    """Reduced-rate tracking against full rate on ``clips`` (nothing else changed), prepared as the
    zero-shot detector prepares them (canonical resolution): landmark distance in % of the face height (forehead to
    chin), over all frames and over the frames the mesh skipped, and the mouth opening's error."""
    from avcorr.data.corpus_options import DEFAULT_CORPUS
    from avcorr.media.face import FaceTracker
    from avcorr.media.landmarks import CHIN, FOREHEAD, LIP_LOWER_INNER, LIP_UPPER_INNER
    from avcorr.prepare.pipeline import PrepareOptions, prepare_clip

    base = PrepareOptions(max_frames=None, store_stft=False, normalise=DEFAULT_CORPUS.normalise())
    tracker = FaceTracker()
    rows = []
    try:
        for path in clips:
            full = prepare_clip(path, None, base, tracker=tracker).track.landmarks
            fast = prepare_clip(path, None, replace(base, mesh_every=mesh_every), tracker=tracker).track.landmarks
            n = min(len(full), len(fast))
            full, fast = full[:n], fast[:n]
            height = np.linalg.norm(full[:, FOREHEAD, :2] - full[:, CHIN, :2], axis=1)[:, None]
            error = 100 * np.linalg.norm(fast[:, :, :2] - full[:, :, :2], axis=2) / height
            skipped = np.arange(n) % mesh_every != 0
            opening = lambda lm: np.linalg.norm(lm[:, LIP_UPPER_INNER, :2] - lm[:, LIP_LOWER_INNER, :2], axis=1)  # noqa: E731
            mouth = 100 * np.abs(opening(fast) - opening(full)) / height[:, 0]
            rows.append({"clip": path.name, "frames": n, "mean_pct": round(float(error.mean()), 3),
                         "p95_pct": round(float(np.percentile(error, 95)), 3),
                         "skipped_mean_pct": round(float(error[skipped].mean()), 3) if skipped.any() else None,
                         "mouth_opening_mean_pct": round(float(mouth.mean()), 3)})
            print(f"  landmarks k={mesh_every}: {rows[-1]}", flush=True)
    finally:
        tracker.close()
    mean = lambda key: round(float(np.mean([r[key] for r in rows if r[key] is not None])), 3) if rows else None  # noqa: E731
    return {"mesh_every": mesh_every, "clips": rows, "mean_pct": mean("mean_pct"), "p95_pct": mean("p95_pct"),
            "skipped_mean_pct": mean("skipped_mean_pct"), "mouth_opening_mean_pct": mean("mouth_opening_mean_pct")}


def make_long_video(data: Path, out: Path, seconds: float, size: tuple[int, int] = (360, 288), fps: int = 25) -> Path:
    """A ``seconds``-long talking-face video (H.264 + AAC, ``size``) made by concatenating the corpus's
    real clips of that size in catalog order (looping when they run out), streamed frame by frame."""
    import av

    from avcorr.media.decode import SAMPLE_RATE, iter_frames, load_audio

    with (data / "catalog.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["label"] == "real" and (int(r["width"]), int(r["height"])) == size]
    total = int(round(seconds * fps))
    written = samples = 0
    with av.open(str(out), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        video.options = {"crf": "23", "preset": "veryfast"}
        audio = container.add_stream("aac", rate=SAMPLE_RATE)
        audio.layout = "mono"
        while written < total and rows:
            for row in rows:
                sound = load_audio(data / row["file"])
                count = 0
                for frame in iter_frames(data / row["file"], fps, total - written):
                    picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
                    picture.pts = written + count
                    container.mux(video.encode(picture))
                    count += 1
                need = int(round(count * SAMPLE_RATE / fps))
                chunk = np.pad(sound[:need], (0, max(0, need - sound[:need].size))).astype(np.float32)
                for i in range(0, chunk.size, 1024):
                    piece = av.AudioFrame.from_ndarray(chunk[None, i:i + 1024], format="flt", layout="mono")
                    piece.sample_rate, piece.pts = SAMPLE_RATE, samples
                    samples += chunk[i:i + 1024].size
                    container.mux(audio.encode(piece))
                written += count
                if written >= total:
                    break
        container.mux(video.encode(None))
        container.mux(audio.encode(None))
    return out


def long_video_run(video: Path, detector: str | None, cores: int) -> dict:
    """``avcorr detect VIDEO --json`` (all of it) under ``/usr/bin/time -v``: wall time, peak RSS,
    and what the verdict says it analysed."""
    import json

    command = ["/usr/bin/time", "-v", sys.executable, "-m", "avcorr.cli.main", "detect", "--json", str(video)]
    if detector:
        command[6:6] = ["--detector", detector]
    cpus = ",".join(str(c) for c in sorted(os.sched_getaffinity(0))[:cores]) if hasattr(os, "sched_getaffinity") else None
    if cpus:
        command = ["taskset", "-c", cpus, *command]
    load = os.getloadavg()[0]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    peak_kb = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", done.stderr)
    cpu = [float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", done.stderr)]
    wall_s = None
    if wall:
        parts = [float(x) for x in wall.group(1).split(":")]
        wall_s = round(sum(v * 60 ** i for i, v in enumerate(reversed(parts))), 2)
    try:
        verdict = json.loads(done.stdout)["videos"][0]
    except (ValueError, KeyError, IndexError):
        verdict = {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    details = verdict.get("details") or {}
    analysed = details.get("analysed_s")
    from avcorr.detect.bundled import DEFAULT_DETECTOR

    return {"video": video.name, "detector": detector or f"default ({DEFAULT_DETECTOR})", "exit": done.returncode, "load_1min_before": round(load, 2),
            "load_1min_after": round(os.getloadavg()[0], 2),
            "peak_rss_mb": round(int(peak_kb.group(1)) / 1024, 1) if peak_kb else None, "wall_s": wall_s,
            "cpu_s": round(sum(cpu), 1) if cpu else None, "analysed_s": analysed, "source_s": details.get("source_s"),
            "analysed_share": details.get("analysed_share"), "truncated": details.get("truncated"),
            "score": verdict.get("score"), "band": verdict.get("band"), "error": verdict.get("error"),
            "rtf": round(analysed / wall_s, 2) if analysed and wall_s else None,
            "cpu_rtf": round(analysed / sum(cpu), 2) if analysed and cpu else None,
            "timings_s": details.get("timings_s"), "command": " ".join(command[command.index("/usr/bin/time"):])}


def _group_rtf(rows: list[dict], real: bool) -> float | None:
    chosen = [r for r in rows if (r["kind"] == "real") == real]
    wall = sum(r["wall_s"] for r in chosen)
    return round(sum(r["video_s"] for r in chosen) / wall, 2) if wall else None


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        "# detect speed (end to end: decode → face track → crops → features → detector → verdict)", "",
        f"Machine: {m['cpu']}, {m['logical_cores']} logical cores, torch {m['torch']}, Python {m['python']}; "
        f"limited to {result['cores']} cores (process affinity and torch threads). Load average during the run: "
        f"{result['load_before']:.1f} → {result['load_after']:.1f} (1 min): {load_note(result['load_before'])}", "",
        f"Clips: {result['num_real']} real clips of the shared set and {result['num_forged']} forged versions "
        f"({result['methods'] or 'none'}). RTF = video seconds / wall seconds (higher is faster; ≥ 1 is real time; "
        "target ≥ 10 for the default detector on 2 cores).", "",
        "CPU RTF = video seconds / CPU seconds of the process (all its threads): what one core alone would "
        "deliver, so a lower bound for a quiet 2-core machine that load from other jobs barely moves.", "",
        "`zero-shot`: calibrated consistency (canonical resolution, 3-s windows); `dynamics`: the reals-only "
        "reference; `pseudo-trace`: the trace network; `cues`: the bundled cue detector; `(exact)`: the same "
        "detector with `fast_prepare` off (face mesh on every frame, full-size decode then OpenCV rescale), timed "
        "clip by clip beside the fast path in the same run. Stage shares are of the wall time; on the fast path "
        "decode and normalise run in a second thread beside tracking (`prefetch`), so the shares add up to more "
        "than 100%, and `score` (wall time left after the stages: the kind's own work, windows, features, "
        "teacher) is then underestimated.", "",
        "| config | overall RTF | CPU RTF | real | forged | median | slowest clip | video (s) | wall (s) | load (1 min) | time share by stage |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        share = ", ".join(f"{k} {100 * v:.0f}%" for k, v in run["stage_share"].items() if v >= 0.005)
        loads = run.get("loads_1min") or [float("nan")]
        lines.append(f"| {run['config']} | {run['overall_rtf']} | {run['cpu_rtf']} | {run['real_rtf']} | {run['forged_rtf']} | "
                     f"{run['median_rtf']} | {run['min_rtf']} | {run['video_s']} | {run['wall_s']} | "
                     f"{min(loads):.1f}–{max(loads):.1f} | {share} |")
    diffs = [(r["config"], r["score_vs_exact"]) for r in result["runs"] if r.get("score_vs_exact")]
    if diffs:
        lines += ["", "Score change of the fast path against the exact one (same clips, same run):", "",
                  "| detector | clips | mean abs. difference | max abs. difference | same band |", "|---|---|---|---|---|"]
        lines += [f"| {name} | {d['clips']} | {d['mean_abs']} | {d['max_abs']} | {d['same_band']}/{d['clips']} |" for name, d in diffs]
    for lm in result.get("landmark_error") or []:
        lines += ["", f"Reduced-rate tracking (face mesh on every {lm['mesh_every']}nd frame, interpolated; nothing else changed) against full rate "
                  f"on {len(lm['clips'])} corpus clips, canonical resolution: landmark error {lm['mean_pct']}% of the face "
                  f"height on average (95th percentile {lm['p95_pct']}%; on the skipped frames {lm['skipped_mean_pct']}%), "
                  f"mouth opening {lm['mouth_opening_mean_pct']}% of the face height. (Two full-rate runs differ too: the mesh "
                  "follows its own history.)"]
    for run in result.get("long_videos") or []:
        lines += ["", f"Whole video: `{run['video']}` ({run['source_s']} s), `avcorr detect --json` with the "
                  f"{run['detector']} detector under `/usr/bin/time -v` on {result['cores']} cores: analysed {run['analysed_s']} s "
                  f"(share {run['analysed_share']}, truncated {run['truncated']}), peak RSS {run['peak_rss_mb']} MB, wall "
                  f"{run['wall_s']} s (RTF {run['rtf']}; CPU {run['cpu_s']} s → CPU RTF {run['cpu_rtf']}), load "
                  f"{run['load_1min_before']} → {run['load_1min_after']}, band {run['band']}, exit {run['exit']}. "
                  f"Stages: {run['timings_s']}."]
    if result.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {note}" for note in result["notes"]]
    lines += ["", f"Command: `{result['command']}`", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=shared_data_dir(), help="shared clips folder (default: ../shared/data)")
    parser.add_argument("--clips", type=int, default=10, help="real clips to use")
    parser.add_argument("--methods", default="audio-swap,lip-rewrite,still-talk", help="forgery methods")
    parser.add_argument("--configs", default="zero-shot,cues,cpu,paper",
                        help="detectors to time: zero-shot (the default detector), cues (the --model cue detector) "
                        "and/or student configs (untrained weights)")
    parser.add_argument("--checkpoint", default=None, help="time this student run folder instead of the student --configs")
    parser.add_argument("--model", type=Path, default=None,
                        help="cue model folder for the cues entry (default: the first bundled cue model)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="3 clips, one forgery method, zero-shot and cues")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--forged", type=Path, default=None, help="reuse this `avcorr forge` output folder (else forge to a temporary one)")
    parser.add_argument("--dynamics", type=Path, default=None, help="reals-only reference (model folder) for the dynamics entry")
    parser.add_argument("--trace", type=Path, default=None, help="pseudo-trace model folder for the pseudo-trace entry")
    parser.add_argument("--exact-too", action="store_true", help="also time each detector with fast_prepare off, side by side")
    parser.add_argument("--landmark-error", type=int, default=0, metavar="N",
                        help="measure reduced-rate tracking's landmark error on N real clips")
    parser.add_argument("--long-video", type=float, default=0.0, metavar="SECONDS",
                        help="make a video this long from corpus clips and scan it whole with avcorr detect (peak RSS)")
    parser.add_argument("--long-detector", default=None, help="detector(s) for --long-video, comma-separated (default: the shipped default)")
    parser.add_argument("--long-path", type=Path, default=None, help="reuse (or make here) the --long-video file")
    parser.add_argument("--name", default=None, help="results name (default: detect_speed)")
    args = parser.parse_args()
    if args.quick:
        args.clips, args.methods, args.configs = 3, "audio-swap", "zero-shot,cues"
    if args.data is None or not (args.data / "catalog.csv").exists():
        print(f"no shared clips at {args.data} (give --data)", file=sys.stderr)
        return 2
    if hasattr(os, "sched_setaffinity"):
        available = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, set(available[: args.cores]))
    import torch

    torch.set_num_threads(args.cores)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sources = real_clips(args.data, args.clips)
        if args.methods.strip():
            print(f"forging {args.methods} from {len(sources)} real clips (not timed; reused if --forged holds them)...", flush=True)
        forged_dir = args.forged or workdir / "forged"
        forged = forge_clips(sources, args.methods, forged_dir) if not (forged_dir / "manifest.csv").exists() \
            else read_forged(forged_dir)
        clips = [(p, "real") for p in sources] + forged
        configs = [c.strip() for c in args.configs.split(",") if c.strip()]
        if args.checkpoint:
            configs = ["checkpoint"] + [c for c in configs if c in ("cues", "zero-shot")]
        model = cue_model(args.model) if "cues" in configs else None
        if "cues" in configs and model is None:
            print("cues: no --model and no bundled cue model: not timed", file=sys.stderr)
            configs.remove("cues")
        models = {"dynamics": args.dynamics, "pseudo-trace": args.trace}
        for name, path in models.items():
            if name in configs and path is None:
                print(f"{name}: no model given (--{'dynamics' if name == 'dynamics' else 'trace'}): not timed", file=sys.stderr)
                configs.remove(name)
        runs = [run for name in configs
                for run in run_config(name, args.checkpoint, clips, workdir, model, args.exact_too, models)]
        landmarks = [landmark_error(sources[: args.landmark_error], 2)] if args.landmark_error else []
        long_videos = []
        if args.long_video:
            video = args.long_path or workdir / f"long_{int(args.long_video)}s.mp4"
            if not video.exists():
                print(f"making a {args.long_video:g}-s video from corpus clips (not timed)...", flush=True)
                make_long_video(args.data, video, args.long_video)
            for detector in (args.long_detector or "").split(",") if args.long_detector else [None]:
                long_videos.append(long_video_run(video, detector, args.cores))
                print(f"  long video: {long_videos[-1]}", flush=True)
    result = {"machine": machine(), "cores": args.cores, "load_before": load_before, "load_after": os.getloadavg()[0],
              "num_real": len(sources), "num_forged": len(forged), "methods": args.methods,
              "command": " ".join(["python", "benchmarks/detect_speed.py", *sys.argv[1:]]), "runs": runs,
              "landmark_error": landmarks, "long_videos": long_videos,
              "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    name = args.name or ("detect_speed_quick" if args.quick else "detect_speed")
    write_results(args.out, name, result, markdown)
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
