"""How fast is ``detect`` end to end (decode → face track → crops → features → detector → verdict)?

Real-time factor (RTF) = seconds of video analysed / seconds of wall-clock time, per clip, on the
shared real clips and forged versions of them (``avcorr forge``), with torch (and the process)
limited to ``--cores`` CPU cores. The target is RTF ≥ 1 on 2 cores, 3 as the goal (5 for the
cue detector, the default). Measured detectors (``--configs``): student configs (``cpu``,
``paper``; the weights do not change the speed, so an untrained model of the config is used
unless ``--checkpoint`` is given) and ``cues``, the cue detector of ``--model`` (default: the
bundled default model; skipped with a note when there is none). The first clip is a warm-up
(model and face-model loading) and is not counted. Results: benchmarks/results/detect_speed.{json,md}.

    .venv/bin/python benchmarks/detect_speed.py            # 10 real clips + their forgeries: zero-shot, cues, cpu, paper
    .venv/bin/python benchmarks/detect_speed.py --quick    # 3 real clips, 1 forgery method: zero-shot, cues
    .venv/bin/python benchmarks/detect_speed.py --clips 1 --methods "" --configs cues --model DIR --out /tmp/x
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

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
    """The cue model to time: ``--model``, else the first bundled cue model (None when there is none)."""
    from avcorr.detect.bundled import bundled_cue_model

    return model if model is not None else bundled_cue_model()


def run_config(name: str, checkpoint: str | None, clips: list[tuple[Path, str]], workdir: Path,
               model: Path | None = None) -> dict:
    """Time one detector: a student config (``checkpoint`` or untrained weights) or ``cues``
    (the cue model ``model``)."""
    if name == "zero-shot":
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
    rows = []
    for path, kind in clips:
        load = os.getloadavg()[0]
        started, cpu_started = time.perf_counter(), time.process_time()
        verdict = detector.detect(path)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if verdict.error:
            rows.append({"clip": path.name, "kind": kind, "error": verdict.error})
            continue
        seconds = len(verdict.frames) / verdict.fps
        rows.append({"clip": path.name, "kind": kind, "video_s": round(seconds, 2), "wall_s": round(elapsed, 3),
                     "rtf": round(seconds / elapsed, 2), "cpu_s": round(cpu, 3), "cpu_rtf": round(seconds / cpu, 2),
                     "load_1min": round(load, 2),
                     "stages_s": verdict.details.get("timings_s", {})})
        print(f"  {name:6s} {kind:12s} {seconds:6.2f} s video in {elapsed:6.2f} s → RTF {seconds / elapsed:5.2f} "
              f"(CPU {cpu:6.2f} s → {seconds / cpu:5.2f})  {path.name}",
              flush=True)
    if hasattr(detector, "close"):
        detector.close()
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
        "overall_rtf": round(total_video / total_wall, 2) if total_wall else None,
        "cpu_rtf": round(total_video / sum(r["cpu_s"] for r in done), 2) if done else None,
        "median_rtf": round(statistics.median(r["rtf"] for r in done), 2) if done else None,
        "min_rtf": round(min(r["rtf"] for r in done), 2) if done else None,
        "real_rtf": _group_rtf(done, real=True), "forged_rtf": _group_rtf(done, real=False),
        "stage_share": {k: round(v / total_wall, 3) for k, v in sorted(stages.items(), key=lambda kv: -kv[1])},
        "video_s": round(total_video, 1), "wall_s": round(total_wall, 1),
    }


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
        f"({result['methods']}). RTF = video seconds / wall seconds (higher is faster; ≥ 1 is real time, goal 3).", "",
        "CPU RTF = video seconds / CPU seconds of the process (all its threads): what one core alone would "
        "deliver, so a lower bound for a quiet 2-core machine that load from other jobs barely moves.", "",
        "`zero-shot`: the default detector (calibrated consistency, canonical resolution, 3-s windows); `cues`: the "
        "bundled cue detector (feature groups in the JSON); the others: the student of that config.", "",
        "| config | overall RTF | CPU RTF | real | forged | median | slowest clip | video (s) | wall (s) | time share by stage |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        share = ", ".join(f"{k} {100 * v:.0f}%" for k, v in run["stage_share"].items())
        lines.append(f"| {run['config']} | {run['overall_rtf']} | {run['cpu_rtf']} | {run['real_rtf']} | {run['forged_rtf']} | "
                     f"{run['median_rtf']} | {run['min_rtf']} | {run['video_s']} | {run['wall_s']} | {share} |")
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
        model = cue_model(args.model)
        if "cues" in configs and model is None:
            print("cues: no --model and no bundled cue model: not timed", file=sys.stderr)
            configs.remove("cues")
        runs = [run_config(name, args.checkpoint, clips, workdir, model) for name in configs]
    result = {"machine": machine(), "cores": args.cores, "load_before": load_before, "load_after": os.getloadavg()[0],
              "num_real": len(sources), "num_forged": len(forged), "methods": args.methods,
              "command": " ".join(["python", "benchmarks/detect_speed.py", *sys.argv[1:]]), "runs": runs,
              "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    suffix = "_quick" if args.quick else ""
    write_results(args.out, f"detect_speed{suffix}", result, markdown)
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
