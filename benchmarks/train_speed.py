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

``--compare-precision`` instead measures float32 against bf16-mixed (Lightning's CPU autocast),
optionally with the visual 2-D convs in channels-last layout, side by side in one run at one
config (paper by default): one model per variant from the same initial weights, the same batch,
the variants' steps interleaved (the order reversed every round, so a change of machine load
hits them all alike). The result is added to train_speed.{json,md} as a section of its own; the
per-config table there is kept:

    .venv/bin/python benchmarks/train_speed.py --compare-precision --warmup 1 --steps 3
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

from avcorr.bench.machine import machine_description as machine
from avcorr.bench.results import write_results as write_documents

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


#: Variants of --compare-precision: name → (Lightning precision, visual 2-D convs channels-last).
PRECISION_VARIANTS = {"fp32": ("32-true", False), "bf16": ("bf16-mixed", False),
                      "fp32-cl": ("32-true", True), "bf16-cl": ("bf16-mixed", True)}


def _load_average() -> list[float] | None:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def bench_precisions(config_name: str, variants: list[str], warmup: int, steps: int, batch_frames: int,
                     clip_frames: int) -> dict:
    """Training and inference frames/s of each variant (see PRECISION_VARIANTS) on the CPU,
    interleaved step by step on one shared batch; medians of ``steps`` timed steps each."""
    import torch
    from lightning.pytorch.plugins.precision import MixedPrecision

    from avcorr.config import load_experiment_config
    from avcorr.losses import compute_losses
    from avcorr.models.detector import build_detector
    from avcorr.train.task import use_channels_last

    config = load_experiment_config(config_name)
    device = torch.device("cpu")
    num_frames = min(clip_frames, batch_frames)
    num_clips = max(1, batch_frames // num_frames)
    batch = synthetic_batch(num_clips, num_frames, config.model.visual.frame_size, device)
    cases = {}
    for name in variants:
        precision, channels_last = PRECISION_VARIANTS[name]
        torch.manual_seed(0)  # the same initial weights for every variant
        model = build_detector(config.model)
        if channels_last:
            use_channels_last(model)
        optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.optim.lr)
        # Lightning's own autocast context for the precision (what a training step runs in)
        context = MixedPrecision("bf16-mixed", "cpu").forward_context if precision == "bf16-mixed" else None
        cases[name] = (model, optimizer, context)

    def train_step(name: str) -> None:
        model, optimizer, context = cases[name]
        optimizer.zero_grad(set_to_none=True)
        with context() if context else contextlib.nullcontext():
            output = model(batch["mfcc"], batch["frames"])
            terms = compute_losses(output, batch["frame_labels"], batch["soft_label"], batch["clip_label"], config.loss)
        terms.total.backward()
        optimizer.step()

    @torch.no_grad()
    def infer_step(name: str) -> None:
        model, _, context = cases[name]
        with context() if context else contextlib.nullcontext():
            model(batch["mfcc"], batch["frames"]).fake_probability.sum().item()

    def interleaved(step, training: bool) -> dict[str, list[float]]:
        for model, _, _ in cases.values():
            model.train(training)
        for _ in range(warmup):
            for name in variants:
                step(name)
        times: dict[str, list[float]] = {name: [] for name in variants}
        for round_index in range(steps):
            for name in (variants if round_index % 2 == 0 else variants[::-1]):
                start = time.perf_counter()
                step(name)
                times[name].append(time.perf_counter() - start)
        return times

    load_before = _load_average()
    started = time.perf_counter()
    train_times = interleaved(train_step, True)
    infer_times = interleaved(infer_step, False)
    frames = num_clips * num_frames
    rows = []
    for name in variants:
        precision, channels_last = PRECISION_VARIANTS[name]
        train_s, infer_s = statistics.median(train_times[name]), statistics.median(infer_times[name])
        rows.append({"variant": name, "precision": precision, "channels_last": channels_last,
                     "train_step_s": round(train_s, 4), "train_frames_per_s": round(frames / train_s, 1),
                     "train_steps_s": [round(t, 3) for t in train_times[name]],
                     "infer_step_s": round(infer_s, 4), "infer_frames_per_s": round(frames / infer_s, 1),
                     "infer_steps_s": [round(t, 3) for t in infer_times[name]]})
    add_speedups(rows, frames)
    return {"config": config_name, "device": "cpu", "frame_size": config.model.visual.frame_size,
            "parameters_m": round(sum(p.numel() for p in cases[variants[0]][0].parameters()) / 1e6, 2),
            "batch_clips": num_clips, "clip_frames": num_frames, "batch_frames": frames,
            "warmup": warmup, "steps": steps, "torch_threads": torch.get_num_threads(),
            "load_average_before": load_before, "load_average_after": _load_average(),
            "wall_s": round(time.perf_counter() - started, 1), "variants": rows}


def add_speedups(rows: list[dict], frames: int) -> None:
    """Each variant's frames/s relative to fp32, from the medians and from the fastest step (the
    least disturbed by other jobs on a shared machine: the better estimate when the load moves)."""
    base = next((r for r in rows if r["variant"] == "fp32"), rows[0])
    for row in rows:
        row["train_best_step_s"] = min(row["train_steps_s"])
        row["train_best_frames_per_s"] = round(frames / row["train_best_step_s"], 1)
        row["infer_best_step_s"] = min(row["infer_steps_s"])
        row["infer_best_frames_per_s"] = round(frames / row["infer_best_step_s"], 1)
    for row in rows:
        for key in ("train", "infer", "train_best", "infer_best"):
            row[f"{key}_speedup"] = round(row[f"{key}_frames_per_s"] / base[f"{key}_frames_per_s"], 2)


def precision_section(comparison: dict) -> list[str]:
    """The markdown section of a --compare-precision result."""
    c = comparison
    lines = [
        "", f"## float32 vs bf16-mixed on the CPU ({c['config']} config)", "",
        (f"Machine: {c['machine']['cpu']}, {c['machine']['logical_cores']} logical cores, torch "
         f"{c['machine']['torch']}. " if c.get("machine") else "") +
        f"{c['parameters_m']} M parameters, {c['frame_size']} px, batch {c['batch_clips']} × {c['clip_frames']} frames, "
        f"{c['torch_threads']} torch threads; {c['warmup']} warm-up + {c['steps']} timed steps per variant, interleaved "
        f"(median); load average (1, 5, 15 min) {c['load_average_before']} before, {c['load_average_after']} after; "
        f"{c['wall_s']} s in all. Command: `{c.get('command', '')}`.", "",
        "Median and fastest step of each variant; × fp32 is the ratio of frames/s to the fp32 row's.", "",
        "| variant | precision | channels-last | train frames/s (median) | × fp32 | train frames/s (fastest) | × fp32 | "
        "inference frames/s (median) | × fp32 | inference frames/s (fastest) | × fp32 | train steps (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in c["variants"]:
        lines.append(f"| {r['variant']} | {r['precision']} | {'yes' if r['channels_last'] else 'no'} | "
                     f"{r['train_frames_per_s']} | {r['train_speedup']} | {r['train_best_frames_per_s']} | "
                     f"{r['train_best_speedup']} | {r['infer_frames_per_s']} | {r['infer_speedup']} | "
                     f"{r['infer_best_frames_per_s']} | {r['infer_best_speedup']} | "
                     f"{', '.join(map(str, r['train_steps_s']))} |")
    if c.get("note"):
        lines += ["", c["note"]]
    return lines


def write_results(payload: dict, tag: str) -> tuple[Path, Path]:
    stem = "train_speed" + (f"_{tag}" if tag else "")
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
    if payload.get("precision_comparison"):
        lines += precision_section(payload["precision_comparison"])
    return write_documents(RESULTS, stem, payload, "\n".join(lines))


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
    parser.add_argument("--compare-precision", action="store_true",
                        help="measure fp32 vs bf16-mixed side by side on the CPU and add it to the results")
    parser.add_argument("--compare-config", default="paper")
    parser.add_argument("--compare-variants", nargs="+", default=["fp32", "bf16", "bf16-cl"],
                        choices=sorted(PRECISION_VARIANTS))
    parser.add_argument("--compare-batch-frames", type=int, default=100)
    args = parser.parse_args(argv)
    command = "python benchmarks/train_speed.py " + " ".join(argv if argv is not None else sys.argv[1:])
    tag = args.tag if args.tag is not None else ("quick" if args.quick else "")
    existing_path = RESULTS / ("train_speed" + (f"_{tag}" if tag else "") + ".json")
    existing = json.loads(existing_path.read_text()) if existing_path.exists() else None
    if args.compare_precision:
        steps = args.steps or (2 if args.quick else 3)
        warmup = args.warmup if args.warmup is not None else 1
        comparison = bench_precisions(args.compare_config, args.compare_variants, warmup, steps,
                                      args.compare_batch_frames, args.clip_frames)
        comparison["command"] = command.strip()
        comparison["machine"] = machine()
        print(json.dumps(comparison), flush=True)
        if existing is None:
            existing = {"machine": machine(), "command": "", "note": "", "results": []}
        existing["precision_comparison"] = comparison
        for path in write_results(existing, tag):
            print(f"wrote {path}")
        return 0
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
        "command": command,
        "note": ("Synthetic batches; median of the timed steps. CPU timings on a machine shared with other "
                 "jobs are pessimistic: see the load average."),
        "results": results,
    }
    if existing and existing.get("precision_comparison"):  # measured by another run: kept
        payload["precision_comparison"] = existing["precision_comparison"]
    for path in write_results(payload, tag):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
