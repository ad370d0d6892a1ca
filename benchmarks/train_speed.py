"""How many video frames per second does the student detector train on and run inference over?

For each config (paper.yaml, cpu.yaml) and device (CPU, and CUDA when a GPU is visible) it times
full training steps (forward, the three losses, backward, Adam) and inference passes (eval mode,
no gradients) on synthetic in-memory batches: B clips of T frames, B·T = the config's
``data.max_batch_frames`` (capped on CPU by ``--cpu-batch-frames``, since a 2000-frame 112 px
batch takes minutes there; frames/s barely depends on the batch once it is a few hundred frames).
CUDA runs use the precision training would use (``auto`` → float16 autocast + gradient scaling).
Data loading is not timed: it overlaps with compute in training. Results:
benchmarks/results/train_speed[_TAG].{json,md}.

    .venv/bin/python benchmarks/train_speed.py           # 2 warm-up + 5 timed steps each
    .venv/bin/python benchmarks/train_speed.py --quick   # 1 warm-up + 2 timed steps each
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from avcorr.bench.machine import machine_description as machine

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "src"))


def synthetic_batch(num_clips: int, num_frames: int, frame_size: int, device: "torch.device") -> dict:
    import torch

    generator = torch.Generator().manual_seed(0)
    return {
        "mfcc": torch.randn(num_clips, 4 * num_frames, 13, generator=generator).to(device),
        "frames": torch.randint(0, 256, (num_clips, num_frames, frame_size, frame_size), dtype=torch.uint8,
                                generator=generator).to(device),
        "frame_labels": torch.randint(0, 2, (num_clips, num_frames), generator=generator).to(device),
        "soft_label": torch.rand(num_clips, num_frames, generator=generator).to(device),
        "clip_label": torch.randint(0, 2, (num_clips,), generator=generator).float().to(device),
    }


def _sync(device: "torch.device") -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_one(config_name: str, device_name: str, warmup: int, steps: int, cpu_batch_frames: int,
              clip_frames: int) -> dict:
    import torch

    from avcorr.config import load_experiment_config
    from avcorr.losses import compute_losses
    from avcorr.models.detector import build_detector
    from avcorr.train.fit import resolve_precision

    config = load_experiment_config(config_name)
    device = torch.device(device_name)
    torch.manual_seed(0)
    model = build_detector(config.model)
    model.to(device)
    precision = resolve_precision(config.trainer, "cuda" if device.type == "cuda" else "cpu")
    amp = precision.startswith("16")
    budget = config.data.max_batch_frames if device.type == "cuda" else min(config.data.max_batch_frames, cpu_batch_frames)
    num_frames = min(clip_frames, budget)
    num_clips = max(1, budget // num_frames)
    batch = synthetic_batch(num_clips, num_frames, config.model.visual.frame_size, device)
    frames_per_batch = num_clips * num_frames
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.optim.lr)
    scaler = torch.amp.GradScaler("cuda", enabled=amp and device.type == "cuda")

    def train_step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
            output = model(batch["mfcc"], batch["frames"])
        terms = compute_losses(output, batch["frame_labels"], batch["soft_label"], batch["clip_label"], config.loss)
        scaler.scale(terms.total).backward()
        scaler.step(optimizer)
        scaler.update()

    @torch.no_grad()
    def infer_step() -> None:
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
            model(batch["mfcc"], batch["frames"]).fake_probability.sum().item()

    def timed(step, training: bool) -> list[float]:
        model.train(training)
        for _ in range(warmup):
            step()
        _sync(device)
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            step()
            _sync(device)
            times.append(time.perf_counter() - start)
        return times

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    train_times = timed(train_step, True)
    infer_times = timed(infer_step, False)
    result = {
        "config": config_name, "device": device_name, "precision": precision,
        "parameters_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
        "frame_size": config.model.visual.frame_size, "batch_clips": num_clips, "clip_frames": num_frames,
        "batch_frames": frames_per_batch, "steps": steps,
        "train_step_s": round(statistics.median(train_times), 4),
        "train_frames_per_s": round(frames_per_batch / statistics.median(train_times), 1),
        "infer_step_s": round(statistics.median(infer_times), 4),
        "infer_frames_per_s": round(frames_per_batch / statistics.median(infer_times), 1),
    }
    if device.type == "cuda":
        result["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
    return result


def write_results(payload: dict, tag: str) -> tuple[Path, Path]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = "train_speed" + (f"_{tag}" if tag else "")
    json_path, md_path = RESULTS / f"{stem}.json", RESULTS / f"{stem}.md"
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    m = payload["machine"]
    lines = [
        f"# Student detector training / inference speed ({stem})", "",
        f"Machine: {m['cpu']}, {m['logical_cores']} logical cores, torch {m['torch']} ({m['torch_threads']} threads)"
        + (f", GPU {m['gpu']} (CUDA {m['cuda']})" if m.get("gpu") else "") + f"; load average (1, 5, 15 min) {m.get('load_average_before')} before, {m['load_average_1_5_15']} after.",
        f"Command: `{payload['command']}`. {payload['note']}", "",
        "| config | device | precision | params (M) | batch (clips × frames) | train frames/s | train step (s) | inference frames/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in payload["results"]:
        lines.append(f"| {r['config']} | {r['device']} | {r['precision']} | {r['parameters_m']} | "
                     f"{r['batch_clips']} × {r['clip_frames']} | {r['train_frames_per_s']} | {r['train_step_s']} | "
                     f"{r['infer_frames_per_s']} |")
    md_path.write_text("\n".join(lines) + "\n")
    return json_path, md_path


def main(argv: list[str] | None = None) -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 warm-up + 2 timed steps per case")
    parser.add_argument("--configs", nargs="+", default=["paper", "cpu"])
    parser.add_argument("--devices", nargs="+", default=None, help="default: cpu, plus cuda when available")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--cpu-batch-frames", type=int, default=200)
    parser.add_argument("--clip-frames", type=int, default=100, help="frames per clip in the batch (4 s)")
    parser.add_argument("--tag", default=None, help="results file suffix (default: quick when --quick)")
    args = parser.parse_args(argv)
    devices = args.devices or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    steps = args.steps or (2 if args.quick else 5)
    warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    load_before = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    results = []
    for device in devices:
        for config in args.configs:
            result = bench_one(config, device, warmup, steps, args.cpu_batch_frames, args.clip_frames)
            print(json.dumps(result), flush=True)
            results.append(result)
    payload = {
        "machine": {**machine(), "load_average_before": load_before},
        "command": "python benchmarks/train_speed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "note": ("Synthetic batches; median of the timed steps. CPU timings on a machine shared with other "
                 "jobs are pessimistic: see the load average."),
        "results": results,
    }
    tag = args.tag if args.tag is not None else ("quick" if args.quick else "")
    for path in write_results(payload, tag):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
