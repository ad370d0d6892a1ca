"""How fast ``prepare`` turns real clips into the clip cache, per stage and in total.

Per stage (decode, track, crop, features; frames/s of that stage alone on one core) comes from
``prepare_clip``'s own stage timings, run in this process. The total is a real ``prepare`` run
(``prepare_manifest``: process pool, cache writes, no teacher) on ``--workers`` cores, timed
on the wall clock. Frames are output frames at 25 fps.

    .venv/bin/python benchmarks/prepare_speed.py            # all shared clips
    .venv/bin/python benchmarks/prepare_speed.py --quick    # 12 clips

Results go to benchmarks/results/prepare_speed[_quick].{json,md}.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

from avcorr.bench.machine import load_note, machine_description as machine
from avcorr.bench.results import shared_data_dir, write_results

REPO = Path(__file__).resolve().parents[1]
STAGES = ("decode", "track", "crop", "features", "audio", "write")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=shared_data_dir(), help="shared clips folder (default: ../shared/data)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="12 clips instead of all")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)

    from avcorr.data.manifest import ManifestRow
    from avcorr.prepare.pipeline import PrepareOptions, prepare_clip, prepare_manifest
    from avcorr.media.face import FaceTracker, TrackerOptions

    if args.data is None or not (args.data / "catalog.csv").exists():
        print(f"no clips: no catalog.csv in {args.data} (give --data)", file=sys.stderr)
        return 2
    with (args.data / "catalog.csv").open() as handle:
        files = [r["file"] for r in csv.DictReader(handle)]
    if args.quick:
        files = files[:: max(1, len(files) // 12)][:12]
    rows = [ManifestRow(clip_id=f, video_path=str(args.data / f), label=0) for f in files]
    info = machine()

    # 1. per stage, one core, in this process
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    tracker = FaceTracker(TrackerOptions(keep_regions=True))
    prepare_clip(rows[0].video_path, options=PrepareOptions(max_frames=10), tracker=tracker)  # warm-up: first imports
    totals = {s: 0.0 for s in STAGES}
    frames = 0
    for row in rows:
        prepared = prepare_clip(row.video_path, options=PrepareOptions(), tracker=tracker)
        frames += prepared.record.num_frames
        for stage in STAGES:
            totals[stage] += prepared.timings.get(stage, 0.0)
    tracker.close()
    per_stage = {s: {"seconds": round(totals[s], 3), "frames_per_s": round(frames / totals[s], 1) if totals[s] > 0 else None}
                 for s in ("decode", "track", "crop", "features")}
    single = sum(totals[s] for s in STAGES)

    # 2. the whole prepare, --workers processes, on the wall clock
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = prepare_manifest(rows, Path(tmp) / "cache", PrepareOptions(), workers=args.workers)
        wall = time.perf_counter() - start
        cache_bytes = sum(p.stat().st_size for p in (Path(tmp) / "cache" / "clips").glob("*.npz"))
    total_frames = sum(o.frames for o in summary.outcomes if o.status == "done")
    result = {
        "benchmark": "prepare_speed", "quick": args.quick, "clips": len(rows), "frames": frames,
        "per_stage_one_core": per_stage, "one_core_frames_per_s": round(frames / single, 1),
        "total": {"workers": args.workers, "wall_s": round(wall, 2), "frames": total_frames, "frames_per_s": round(total_frames / wall, 1),
                  "failed": summary.failed, "cache_bytes_per_frame": round(cache_bytes / max(total_frames, 1))},
        "target_frames_per_s": 100, "machine": info, "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "command": "python benchmarks/prepare_speed.py" + (" --quick" if args.quick else ""),
    }
    name = "prepare_speed_quick" if args.quick else "prepare_speed"
    write_results(args.out, name, result, markdown)
    print(markdown(result))
    return 0


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [
        f"# prepare speed{' (quick)' if r['quick'] else ''}", "",
        f"Machine: {m['cpu']}, {m['logical_cores']} logical cores, torch {m['torch']}, Python {m['python']}. "
        f"Load average before/after: {m['load_average_1_5_15']} / {r['load_average_after']} — "
        f"{load_note((m['load_average_1_5_15'] or [None])[0])}", "",
        f"Clips: {r['clips']} real clips of ../shared/data ({r['frames']} frames at 25 fps, 224 px to 1080p sources). No teacher.", "",
        "| stage (one core) | seconds | frames/s |", "|---|---|---|",
    ]
    for stage, v in r["per_stage_one_core"].items():
        lines.append(f"| {stage} | {v['seconds']} | {v['frames_per_s']} |")
    lines.append(f"| all stages, one core | {round(r['frames'] / r['one_core_frames_per_s'], 2)} | {r['one_core_frames_per_s']} |")
    t = r["total"]
    lines += ["", f"**Whole prepare on {t['workers']} workers: {t['frames_per_s']} frames/s** "
              f"({t['frames']} frames in {t['wall_s']} s wall, pool start-up and cache writes included; "
              f"{t['failed']} failed; {t['cache_bytes_per_frame']} bytes of cache per frame). Target: ≥ {r['target_frames_per_s']} frames/s.",
              "", f"Command: `{r['command']}`", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
