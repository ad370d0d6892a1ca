"""Fuzz the media reader with mutated container bytes: it must return a clip or refuse the file.

    .venv/bin/python benchmarks/fuzz_media.py --minutes 10        # results: benchmarks/results/fuzz_media.{json,md}

The target is :func:`avcorr.media.decode.read_media` (the reader every path goes through): for any
bytes it must return a :class:`~avcorr.media.decode.MediaClip` that keeps its invariants, or raise
:class:`~avcorr.errors.InputError`. Anything else is a crash: another exception, a broken invariant,
a hang (no progress for ``--hang-s`` seconds) or the process dying by a signal.

Inputs: tiny valid clips made at the start of a run (:func:`make_seeds`: mp4 with the index at the end and at the front,
mkv, webm, avi; 32×32, 1.2 s) and inputs that earlier mutations made interesting, each with 1-4
:class:`Mutation` s (bit flips, bytes set, ranges zeroed, deleted or duplicated, random bytes
inserted, truncation, 32-bit size fields set to edge values). An input is kept in the corpus when
its *outcome signature* is new (the refusal reason with numbers removed, or for a clip: frames,
skipped packets, coverage bucket) — a cheap guidance by behaviour, not by code coverage. Code
coverage of ``avcorr/media`` is measured with the ``coverage`` module where it is installed.

The inputs run in a worker process that the driver restarts when it dies or hangs; the input in
flight is then saved as the crash. Crash inputs under 256 kB go to tests/data/fuzz_regressions/,
which ``tests/test_fuzz_media.py`` replays on every run.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[1]
#: The seed clips every run starts from, made anew by :func:`make_seeds` (30 frames, 32×32, 1.2 s of tone).
SEED_NAMES = ("seed_moov_end.mp4", "seed_faststart.mp4", "seed.mkv", "seed.webm", "seed.avi")
REGRESSIONS = REPO / "tests" / "data" / "fuzz_regressions"
MAX_FRAMES = 60  # frames read per input: enough to cross the first packets of every stream
KINDS = ("flip", "set", "zero", "delete", "duplicate", "insert", "truncate", "size")
EDGE_SIZES = (0, 1, 7, 8, 0x7FFFFFFF, 0xFFFFFFFF)


@dataclass(frozen=True)
class Mutation:
    """One change to an input: ``kind`` (:data:`KINDS`) at ``at`` (a share of the length, [0, 1)),
    over ``size`` bytes, with ``value`` (a bit index, a byte, an edge size index or a random seed)."""

    kind: str
    at: float
    size: int = 1
    value: int = 0


def mutate(data: bytes, mutations: Sequence[Mutation]) -> bytes:
    """``data`` with each mutation applied in turn."""
    out = bytearray(data)
    for m in mutations:
        if not out:
            break
        i = min(int(m.at * len(out)), len(out) - 1)
        size = max(1, m.size)
        if m.kind == "flip":
            out[i] ^= 1 << (m.value % 8)
        elif m.kind == "set":
            out[i] = m.value % 256
        elif m.kind == "zero":
            out[i:i + size] = bytes(len(out[i:i + size]))
        elif m.kind == "delete":
            del out[i:i + size]
        elif m.kind == "duplicate":
            out[i:i] = out[i:i + size]
        elif m.kind == "insert":
            out[i:i] = np.random.default_rng(m.value).integers(0, 256, size, dtype=np.uint8).tobytes()
        elif m.kind == "truncate":
            del out[i:]
        elif m.kind == "size":
            out[i:i + 4] = EDGE_SIZES[m.value % len(EDGE_SIZES)].to_bytes(4, "big")
        else:
            raise ValueError(f"unknown mutation {m.kind!r}")
    return bytes(out)


def random_mutations(rng: np.random.Generator) -> list[Mutation]:
    """1-4 mutations drawn at random (sizes mostly small, sometimes up to 4 kB)."""
    return [Mutation(str(rng.choice(KINDS)), float(rng.random()), int(rng.choice([1, 4, 16, 64, 512, 4096])),
                     int(rng.integers(0, 2**31))) for _ in range(int(rng.integers(1, 5)))]


def read_or_refuse(path: str | Path) -> str:
    """Run the reader on ``path``: ``clip: <summary>`` or ``refused: <reason>``. Any other exception
    propagates, and a clip that breaks its invariants raises ``AssertionError``: both are crashes."""
    from avcorr.errors import InputError
    from avcorr.media import decode

    try:
        clip = decode.read_media(path, max_frames=MAX_FRAMES)
    except InputError as exc:
        return f"refused: {exc.reason}"
    frames, audio = clip.frames, clip.audio
    assert frames.ndim == 4 and frames.shape[-1] == 3 and frames.dtype == np.uint8, frames.shape
    assert decode.MIN_FRAMES <= frames.shape[0] <= MAX_FRAMES, frames.shape
    assert audio.ndim == 1 and audio.dtype == np.float32 and audio.size == round(frames.shape[0] * clip.sample_rate / clip.fps)
    assert np.isfinite(audio).all() and np.abs(audio).max(initial=0.0) <= 1.0
    assert 0.0 <= clip.coverage <= 1.0 + 1e-6 and clip.video_packets_skipped >= 0 and clip.audio_packets_skipped >= 0
    return (f"clip: {frames.shape[0]} frames {frames.shape[1]}x{frames.shape[2]}, skipped {clip.video_packets_skipped}+"
            f"{clip.audio_packets_skipped}, coverage {clip.coverage:.1f}")


def signature(result: str) -> str:
    """The outcome with file-specific numbers blurred: what makes an input interesting."""
    return re.sub(r"\d+(\.\d+)?", "#", result.split(": ", 1)[0] + ": " + result.split(": ", 1)[-1][:120]) if result.startswith("refused") else result


def make_seeds(folder: Path) -> list[Path]:
    """Write the seed clips (:data:`SEED_NAMES`) into ``folder``; returns their paths. A crash found
    from them is kept as its own bytes (tests/data/fuzz_regressions/), so a replay never needs them."""
    sys.path.insert(0, str(REPO / "tests"))
    from media_fixtures import faststart, index_frames, tone, write_media

    from avcorr.media.encode import write_video

    folder.mkdir(parents=True, exist_ok=True)
    frames, audio = index_frames(30, (32, 32)), tone(1.2)
    with tempfile.TemporaryDirectory() as tmp:
        end = write_video(Path(tmp) / "end.mp4", frames, audio)
        (folder / "seed_moov_end.mp4").write_bytes(end.read_bytes())
        (folder / "seed_faststart.mp4").write_bytes(faststart(end, Path(tmp) / "fast.mp4").read_bytes())
        for suffix in (".mkv", ".webm", ".avi"):
            (folder / f"seed{suffix}").write_bytes(write_media(Path(tmp) / f"s{suffix}", frames, audio).read_bytes())
    return [folder / name for name in SEED_NAMES]


# ------------------------------------------------------------------------------------ worker


def worker(state: Path, seed: int, deadline: float) -> None:
    """Fuzz until ``deadline`` (a time.time()), writing each input to ``state/current`` first and the
    counts to ``state/stats-<pid>.json`` now and then."""
    cov = None
    try:
        import coverage

        cov = coverage.Coverage(data_file=str(state / ".coverage"), data_suffix=True,
                                source=[str(REPO / "src" / "avcorr" / "media")])
        cov.start()
    except ImportError:
        pass
    rng = np.random.default_rng(seed)
    seed_dir = state / "seeds"
    paths = [seed_dir / name for name in SEED_NAMES]
    if not all(p.exists() for p in paths):  # the first worker of a run makes them; a restarted one reuses them
        paths = make_seeds(seed_dir)
    corpus = [(p.name, p.read_bytes()) for p in paths]
    seen: set[str] = set()
    stats: dict[str, Any] = {"inputs": 0, "clips": 0, "refused": 0, "crashes": [], "signatures": 0, "corpus": len(corpus)}
    current = state / "current"
    target = state / f"input-{os.getpid()}"
    last_save = time.time()
    while time.time() < deadline:
        name, parent = corpus[int(rng.integers(len(corpus)))]
        data = mutate(parent, random_mutations(rng))
        current.write_bytes(data)
        target.write_bytes(data)
        try:
            result = read_or_refuse(target)
        except Exception as exc:  # noqa: BLE001 (every escape is a finding)
            stats["crashes"].append(save_crash(data, f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}", name))
            result = f"crash: {type(exc).__name__}"
        stats["inputs"] += 1
        if not result.startswith("crash"):
            stats["clips" if result.startswith("clip") else "refused"] += 1
        key = signature(result)
        if key not in seen:
            seen.add(key)
            corpus.append((f"{name}+", data))
        stats["signatures"], stats["corpus"] = len(seen), len(corpus)
        if time.time() - last_save > 10:
            _write_stats(state, stats, seen)
            last_save = time.time()
    current.unlink(missing_ok=True)
    _write_stats(state, stats, seen)
    if cov is not None:
        cov.stop()
        cov.save()


def _write_stats(state: Path, stats: dict[str, Any], seen: set[str]) -> None:
    tmp = state / f".stats-{os.getpid()}.tmp"
    tmp.write_text(json.dumps({**stats, "outcomes": sorted(seen)}))
    os.replace(tmp, state / f"stats-{os.getpid()}.json")


def save_crash(data: bytes, what: str, parent: str) -> dict[str, Any]:
    """Keep a crash input (under 256 kB) as a regression file, the first of each kind of crash
    (its message with numbers blurred) only; returns its record."""
    digest = hashlib.sha1(data).hexdigest()[:16]
    record = {"input": f"crash-{digest}.bin", "what": what, "from": parent, "bytes": len(data)}
    kind = re.sub(r"\d+", "#", what)
    known = {re.sub(r"\d+", "#", p.read_text().splitlines()[0]) for p in REGRESSIONS.glob("crash-*.txt")} if REGRESSIONS.exists() else set()
    if len(data) < 256 * 1024 and kind not in known:
        REGRESSIONS.mkdir(parents=True, exist_ok=True)
        (REGRESSIONS / record["input"]).write_bytes(data)
        (REGRESSIONS / f"crash-{digest}.txt").write_text(f"{what}\nfrom {parent}\n")
    return record


# ------------------------------------------------------------------------------------ driver


def drive(minutes: float, seed: int, hang_s: float) -> dict[str, Any]:
    """Run workers until ``minutes`` are over, restarting one that dies or hangs."""
    deadline = time.time() + 60 * minutes
    totals: dict[str, Any] = {"inputs": 0, "clips": 0, "refused": 0, "crashes": [], "worker_restarts": 0, "outcomes": set()}
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="avcorr-fuzz-") as tmp:
        state = Path(tmp)
        run = 0
        while time.time() < deadline - 1:
            run += 1
            process = subprocess.Popen([sys.executable, __file__, "--worker", str(state), "--seed", str(seed * 1000 + run),
                                        "--deadline", str(deadline)])
            while process.poll() is None:
                time.sleep(1.0)
                current = state / "current"
                if current.exists() and time.time() - current.stat().st_mtime > hang_s:
                    process.kill()
                    process.wait()
                    totals["crashes"].append(save_crash(current.read_bytes(), f"hang: no progress for {hang_s:.0f} s", "?"))
            if process.returncode != 0:
                totals["worker_restarts"] += 1
                current = state / "current"
                if process.returncode < 0 and current.exists():
                    totals["crashes"].append(save_crash(current.read_bytes(), f"worker killed by {signal.Signals(-process.returncode).name}", "?"))
                current.unlink(missing_ok=True)
        for path in state.glob("stats-*.json"):
            stats = json.loads(path.read_text())
            for key in ("inputs", "clips", "refused"):
                totals[key] += stats.get(key, 0)
            totals["crashes"] += stats["crashes"]
            totals["outcomes"] |= set(stats["outcomes"])
        totals["coverage"] = _coverage(state)
    totals["outcomes"] = sorted(totals["outcomes"])
    totals["distinct_outcomes"] = len(totals["outcomes"])
    totals["seconds"] = round(time.time() - started, 1)
    totals["inputs_per_s"] = round(totals["inputs"] / max(totals["seconds"], 1e-9), 2)
    return totals


def _coverage(state: Path) -> dict[str, Any] | None:
    try:
        import coverage
    except ImportError:
        return None
    cov = coverage.Coverage(data_file=str(state / ".coverage"))
    cov.combine([str(state)])
    files = {}
    data = cov.get_data()
    for name in sorted(data.measured_files()):
        _, statements, _, missing, _ = cov.analysis2(name)
        files[Path(name).name] = {"statements": len(statements), "covered": len(statements) - len(missing)}
    total = sum(f["statements"] for f in files.values())
    covered = sum(f["covered"] for f in files.values())
    return {"files": files, "percent": round(100 * covered / max(total, 1), 1)}


def markdown(doc: dict[str, Any]) -> str:
    lines = ["# Fuzzing the media reader", "",
             f"{doc['minutes']} min, seed {doc['seed']}: **{doc['inputs']} inputs** ({doc['inputs_per_s']}/s) — "
             f"{doc['clips']} returned a clip, {doc['refused']} were refused with a reason, "
             f"**{len(doc['crashes'])} crashes**; {doc['distinct_outcomes']} distinct outcomes; "
             f"{doc['worker_restarts']} worker restarts.", ""]
    if doc.get("coverage"):
        lines += [f"Line coverage of `avcorr/media` during the run: **{doc['coverage']['percent']}%**", "",
                  "| file | statements | covered |", "| --- | ---: | ---: |"]
        lines += [f"| {k} | {v['statements']} | {v['covered']} |" for k, v in doc["coverage"]["files"].items()]
        lines.append("")
    if doc["crashes"]:
        kinds: dict[str, list[dict[str, Any]]] = {}
        for crash in doc["crashes"]:
            kinds.setdefault(re.sub(r"\d+", "#", crash["what"]), []).append(crash)
        kept = {re.sub(r"\d+", "#", p.read_text().splitlines()[0]): p.with_suffix(".bin").name for p in REGRESSIONS.glob("crash-*.txt")}
        lines += ["| crash | inputs | regression input |", "| --- | ---: | --- |"]
        lines += [f"| {kind} | {len(found)} | {kept.get(kind, '(not kept: over 256 kB)')} |"
                  for kind, found in sorted(kinds.items(), key=lambda kv: -len(kv[1]))]
        lines += ["", "One input of each kind is kept in tests/data/fuzz_regressions/ and replayed by tests/test_fuzz_media.py.", ""]
    lines += ["Outcomes seen (numbers blurred):", ""] + [f"- {o}" for o in doc["outcomes"][:60]]
    run = doc.get("run", {})
    if run:
        lines += ["", f"Run: {json.dumps(run)}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to fuzz (wall clock)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hang-s", type=float, default=60.0, help="an input making no progress this long is a hang")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        worker(args.worker, args.seed, args.deadline)
        return 0
    from avcorr.bench.results import write_results

    doc = {"minutes": args.minutes, "seed": args.seed, "target": "avcorr.media.decode.read_media", "max_frames": MAX_FRAMES,
           **drive(args.minutes, args.seed, args.hang_s)}
    json_path, _ = write_results(args.out, "fuzz_media", doc, markdown)
    print(f"{doc['inputs']} inputs, {len(doc['crashes'])} crashes -> {json_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
