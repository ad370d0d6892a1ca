"""How fast is ``avcorr forge`` end to end (decode → face track → phones/TTS → forge → encode)?

Throughput = frames written (the re-encoded real rows and every fake) per second of wall-clock
time, for all eight methods (K = 1) on real clips of ../shared/data, with the process pinned to
``--cores`` CPU cores (OpenCV's threads too). The target is ≥ 50 frames/s on 2 cores. The run's
per-stage seconds say where the time goes. Process CPU seconds are recorded beside wall seconds:
on a shared, loaded machine wall time overstates the cost, and frames per CPU second is what one
idle core would give (most stages run single-threaded). Results:
benchmarks/results/forge_speed{,_quick}.{json,md}.

    .venv/bin/python benchmarks/forge_speed.py            # 6 real clips (GRID, PC-AVS, HDTF), whole clips
    .venv/bin/python benchmarks/forge_speed.py --quick    # 3 GRID clips, 2 s each
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from avcorr.bench.machine import load_note, machine_description as machine
from avcorr.bench.results import shared_data_dir, write_results

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
FULL = [
    "rizkiarm+LipNet__evaluation__samples__GRID__bbaf2n.mpg",
    "rizkiarm+LipNet__evaluation__samples__GRID__brbk7n.mpg",
    "rizkiarm+LipNet__evaluation__samples__GRID__lbax4n.mpg",
    "Hangz-nju-cuhk+Talking-Face_PC-AVS__misc__Audio_Source__00015.mp4",
    "Hangz-nju-cuhk+Talking-Face_PC-AVS__misc__Input__00098.mp4",
    "OpenTalker+SadTalker__examples__ref_video__WDA_KatieHill_000.mp4",
]


def pin(cores: int) -> int:
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if available and len(available) > cores:
        os.sched_setaffinity(0, set(available[:cores]))
    import cv2

    cv2.setNumThreads(cores)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=shared_data_dir(), help="shared clips folder (default: ../shared/data)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="3 GRID clips, 2 s each")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.data is None or not (args.data / "clips").is_dir():
        print(f"no clips under {args.data}: nothing to benchmark", file=sys.stderr)
        return 1
    used_cores = pin(args.cores)
    from avcorr.data.manifest import ManifestRow
    from avcorr.forge.forge import DEFAULT_METHODS, ForgeOptions, run_forge

    names = FULL[:3] if args.quick else FULL
    rows = [ManifestRow(clip_id=Path(n).stem.split("__")[-1], video_path=str(args.data / "clips" / n), label=0,
                        source_id=Path(n).stem.split("__")[-1]) for n in names]
    options = ForgeOptions(methods=list(DEFAULT_METHODS), seed=args.seed, max_seconds=2.0 if args.quick else None)
    with tempfile.TemporaryDirectory() as tmp:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        report = run_forge(rows, Path(tmp) / "forged", options)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    summary = report.summary()
    result = {
        "benchmark": "forge_speed" + ("_quick" if args.quick else ""),
        "machine": machine(), "cores": used_cores,
        "note": load_note(os.getloadavg()[0]),
        "sources": [r.clip_id for r in rows], "methods": options.methods,
        "frames_written": report.frames_written, "frames_forged": report.frames_forged,
        "wall_s": round(wall, 2), "process_cpu_s": round(cpu, 2),
        "frames_per_s_wall": round(report.frames_written / wall, 1),
        "forged_frames_per_s_wall": round(report.frames_forged / wall, 1),
        # Most stages are single-threaded: frames per CPU second ≈ frames/s on one idle core.
        "frames_per_cpu_s": round(report.frames_written / cpu, 1) if cpu else None,
        "stage_seconds": summary["stage_seconds"], "failures": summary["failures"],
    }
    lines = [
        f"# {result['benchmark']}", "",
        f"Machine: {result['machine']['cpu']}, {used_cores} of {result['machine']['logical_cores']} cores, "
        f"torch {result['machine']['torch']}, load average {result['machine']['load_average_1_5_15']} "
        f"({result['note']}).", "",
        "| sources | methods | frames written | wall s | frames/s (wall) | forged frames/s (wall) | process CPU s | frames per CPU s (≈ one idle core) |",
        "|---|---|---|---|---|---|---|---|",
        f"| {len(rows)} | {len(options.methods)} | {report.frames_written} | {result['wall_s']} | "
        f"{result['frames_per_s_wall']} | {result['forged_frames_per_s_wall']} | {result['process_cpu_s']} | "
        f"{result['frames_per_cpu_s']} |", "",
        "Stage | wall s", "---|---",
        *[f"{k} | {v}" for k, v in result["stage_seconds"].items()], "",
    ]
    write_results(RESULTS, result["benchmark"], result, "\n".join(lines))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
