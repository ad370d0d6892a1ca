"""How fast is ``avcorr synth`` (TTS → articulation → rendering → H.264/AAC), and do its faces track?

Throughput = frames written per second of wall-clock time, for ``--clips`` clips rendered with
``--cores`` worker processes pinned to that many CPU cores (OpenCV's threads too). The target is
≥ 50 frames/s on 2 cores. CPU seconds (this process and its workers) are recorded beside wall
seconds: on a shared, loaded machine wall time overstates the cost. After timing, each clip is
decoded and tracked with MediaPipe (:class:`avcorr.media.face.FaceTracker`) to record the
fraction of frames in which the face was found (target ≥ 95 %) and the correlation between the
rendered mouth opening and the inner-lip gap of the face mesh. Results:
benchmarks/results/synth_speed{,_quick}.{json,md}.

    .venv/bin/python benchmarks/synth_speed.py            # 16 clips, 16 identities
    .venv/bin/python benchmarks/synth_speed.py --quick    # 4 clips
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from avcorr.bench.machine import load_note, machine_description as machine
from avcorr.bench.results import write_results

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def pin(cores: int) -> int:
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if available and len(available) > cores:
        os.sched_setaffinity(0, set(available[:cores]))
    import cv2

    cv2.setNumThreads(1)  # one render per worker; the workers are the parallelism
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def check_faces(clips) -> list[dict]:
    from avcorr.media.decode import read_media
    from avcorr.media.face import CHIN, FOREHEAD, LIP_LOWER_INNER, LIP_UPPER_INNER, FaceTracker

    rows = []
    for clip in clips:
        media = read_media(clip.video_path)
        track = FaceTracker().track(media.frames)
        lm = track.landmarks
        gap = (lm[:, LIP_LOWER_INNER, 1] - lm[:, LIP_UPPER_INNER, 1]) / (lm[:, CHIN, 1] - lm[:, FOREHEAD, 1])
        opening = np.array(json.loads(Path(clip.phones_path).read_text())["mouth_open"])
        n = min(len(gap), len(opening))
        rows.append({"clip_id": clip.clip_id, "frames": int(len(media.frames)),
                     "found_fraction": round(float(track.found_fraction), 4),
                     "lip_gap_vs_rendered_opening_r": round(float(np.corrcoef(gap[:n], opening[:n])[0, 1]), 3)})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="4 clips")
    parser.add_argument("--no-faces", action="store_true", help="skip the MediaPipe check")
    args = parser.parse_args()
    clips = 4 if args.quick else args.clips
    used_cores = pin(args.cores)

    from avcorr.forge.synth import SynthOptions, synthesize_dataset

    options = SynthOptions(clips=clips, seed=args.seed, size=args.size, identities=clips, workers=used_cores)
    with tempfile.TemporaryDirectory() as tmp:
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        result = synthesize_dataset(Path(tmp) / "synth", options)
        wall = time.perf_counter() - wall0
        cpu = cpu_seconds() - cpu0
        frames = sum(c.num_frames for c in result.clips)
        faces = [] if args.no_faces else check_faces(result.clips)

    report = {
        "benchmark": "synth_speed" + ("_quick" if args.quick else ""),
        "machine": machine(),
        "note": "timed on a shared machine while other engineers ran jobs; see load_average",
        "cores": used_cores,
        "clips": len(result.clips),
        "size_px": args.size,
        "frames": frames,
        "seconds_wall": round(wall, 2),
        "seconds_cpu": round(cpu, 2),
        "frames_per_second_wall": round(frames / wall, 1),
        "frames_per_cpu_second": round(frames / cpu, 1) if cpu > 0 else None,
        "failures": result.failures,
        "faces": faces,
        "found_fraction_min": min((f["found_fraction"] for f in faces), default=None),
        "lip_r_median": round(float(np.median([f["lip_gap_vs_rendered_opening_r"] for f in faces])), 3) if faces else None,
    }
    name = report["benchmark"]
    m = report["machine"]
    lines = [
        f"# {name}", "",
        f"Machine: {m['cpu']}, {m['logical_cores']} logical cores (pinned to {used_cores}), torch {m['torch']}, "
        f"load average {m['load_average_1_5_15']}: {load_note(m['load_average_1_5_15'][0] if m['load_average_1_5_15'] else None)}", "",
        "| clips | size | frames | wall s | CPU s | frames/s (wall) | frames/CPU s | face found (min) | lip r (median) |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {report['clips']} | {args.size} | {frames} | {report['seconds_wall']} | {report['seconds_cpu']} | "
        f"{report['frames_per_second_wall']} | {report['frames_per_cpu_second']} | {report['found_fraction_min']} | "
        f"{report['lip_r_median']} |", "",
        "Face found: fraction of frames in which MediaPipe's face mesh found the face (FaceTracker). "
        "Lip r: Pearson correlation between the rendered mouth opening and the mesh's inner-lip gap "
        "(normalised by face height), per clip.", "",
    ]
    write_results(RESULTS, name, report, "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
