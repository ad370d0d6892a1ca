"""What a benchmark invocation will do, and what it has done: the sizes and options, the order of
the (seed, held-out family, variant) runs, a rough up-front estimate, and what a resumption must
not change (the work folder's state itself is :class:`avcorr.bench.state.StageClock`).

Kept apart from the stages and runs so that the protocol (which folds, seeds and variants; what a
resumption must not change) reads in one place and is checked before any data is built.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from avcorr.bench.results import shared_data_dir
from avcorr.errors import ConfigError, InputError
from avcorr.bench.generalization.protocols import VARIANTS, families
from avcorr.runtime import plain_json

RESULT_NAME = "result.json"
BASE_METHODS = ["audio-swap", "tts-dub", "lip-rewrite", "still-talk", "face-swap"]
ALL_METHODS = ["audio-swap", "audio-swap-self", "tts-dub", "lip-rewrite", "lip-rewrite-self",
               "still-talk", "still-talk-self", "face-swap"]


@dataclass
class BenchSize:
    """Everything a size fixes. ``max_seconds``: each source is cut to this (None: whole clip,
    up to prepare's 1000 frames); ``face_size`` the cached crop side in pixels; ``config`` the
    experiment config (a bundled name or a path) with ``overrides``; ``epochs`` per training run."""

    name: str
    synth_clips: int
    synth_size: int
    max_seconds: float | None
    face_size: int
    config: str
    overrides: list[str]
    epochs: int
    methods: list[str]
    folds: int = 3
    use_shared: bool = True


SIZES: dict[str, BenchSize] = {
    # 2 CPU cores, about an hour: ~45 identities × 6 clips of 3 s, cpu.yaml (64 px) for 6 epochs of 50-frame crops.
    "cpu": BenchSize("cpu", synth_clips=24, synth_size=192, max_seconds=3.0, face_size=64, config="cpu",
                     overrides=["data.max_batch_frames=400", "data.train_crop_frames=50"], epochs=6,
                     methods=list(BASE_METHODS)),
    # One GPU: more and longer clips, every method with its -self variant, the paper's network.
    "paper": BenchSize("paper", synth_clips=240, synth_size=256, max_seconds=None, face_size=112, config="paper",
                       overrides=["data.train_crop_frames=100"], epochs=30, methods=list(ALL_METHODS)),
    # Checks that the pipeline runs end to end (a few minutes); its numbers mean nothing.
    "quick": BenchSize("quick", synth_clips=12, synth_size=128, max_seconds=2.0, face_size=32, config="tiny",
                       overrides=["data.train_crop_frames=25"], epochs=2, methods=["audio-swap", "tts-dub", "face-swap"],
                       use_shared=False),
}


@dataclass
class BenchOptions:
    """One benchmark invocation. ``None`` fields take the size's value."""

    size: str = "cpu"
    work_dir: Path = Path("runs/bench-generalization")
    out_dir: Path | None = None
    clips: int | None = None
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    methods: list[str] | None = None
    variants: list[str] = field(default_factory=lambda: list(VARIANTS))
    epochs: int | None = None
    shared_data: Path | None = None
    use_shared: bool = True
    resume: bool = False
    report_only: bool = False
    workers: int | None = None
    device: str = "auto"
    fold_seed: int = 0
    forge_seed: int = 0
    command: str = ""

    def resolved_size(self) -> BenchSize:
        if self.size not in SIZES:
            raise ConfigError(f"unknown size {self.size!r} (choose from {', '.join(SIZES)})")
        size = SIZES[self.size]
        return replace(size, synth_clips=self.clips if self.clips is not None else size.synth_clips,
                       methods=list(self.methods) if self.methods else list(size.methods),
                       epochs=self.epochs if self.epochs is not None else size.epochs)

    def results_dir(self) -> Path:
        """Where the tables go: ``out_dir``, else ``work_dir/results``."""
        return Path(self.out_dir) if self.out_dir else Path(self.work_dir) / "results"


def shared_data(options: BenchOptions, size: BenchSize) -> Path | None:
    """The folder whose real clips join the sources, or None (not wanted, or none found)."""
    if not (options.use_shared and size.use_shared):
        return None
    shared = options.shared_data if options.shared_data is not None else shared_data_dir()
    if shared is not None and not (Path(shared) / "catalog.csv").exists():
        raise InputError(shared, "no catalog.csv in this folder", stage="bench")
    return shared


def check_options(options: BenchOptions) -> BenchSize:
    """The resolved size, after checking the variants and seeds (before any work is done)."""
    size = options.resolved_size()
    unknown = [v for v in options.variants if v not in VARIANTS]
    if unknown:
        raise ConfigError(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    if not options.seeds:
        raise ConfigError("give at least one seed")
    return size


def run_order(seeds: Sequence[int], fams: Sequence[str], variants: Sequence[str]) -> list[tuple[int, int, str, str]]:
    """(seed index, seed, held-out family, variant) in the order they run: the zero-shot teacher
    first (no training), then the full model and detection-only for every seed, then the other
    trained variants, so that a benchmark stopped early still holds the main comparison."""
    groups = [[v for v in variants if not VARIANTS[v].trained], [v for v in variants if v in ("full", "detection-only")],
              [v for v in variants if VARIANTS[v].trained and v not in ("full", "detection-only")]]
    return [(index, seed, held, variant) for group in groups for index, seed in enumerate(seeds)
            for held in fams for variant in group]


def estimate(size: BenchSize, num_sources: int, seeds: int, trained_variants: int, frames_per_s: float) -> dict[str, Any]:
    """A rough up-front estimate of the wall time (seconds), from sizes and a measured training rate.

    Data stages use rates measured on 2 loaded cores (synth ~100 frames/s, forge ~60 source
    frames/s per method, prepare with the phonetic teacher ~100 frames/s); each run trains
    ``epochs`` passes over the training folds' clips minus the held-out family's, one crop each,
    and scores the test fold (inference ~3× faster than training); ~8 s overhead a run.
    """
    clip_frames = 25 * (size.max_seconds or 6.0)
    clips = num_sources * (1 + len(size.methods))
    fams = len(families(size.methods))
    crop = clip_frames
    for item in size.overrides:
        match = re.match(r"data\.train_crop_frames=(\d+)", item)
        if match:
            crop = min(crop, int(match.group(1)))
    kept = (1 + len(size.methods) * (fams - 1) / max(fams, 1)) / (1 + len(size.methods))
    train_clips = clips * (size.folds - 1) / size.folds * kept
    runs = seeds * fams * trained_variants
    train_s = runs * size.epochs * train_clips * crop / frames_per_s
    score_s = runs * (clips / size.folds) * clip_frames / (3 * frames_per_s)
    data_s = size.synth_clips * 4 * 25 / 100 + num_sources * clip_frames * len(size.methods) / 60 + clips * clip_frames / 100
    return {"runs": runs, "train_frames_per_s": round(frames_per_s, 1), "data_s": round(data_s),
            "train_s": round(train_s), "score_s": round(score_s), "total_s": round(data_s + train_s + score_s + 8 * runs)}


def fingerprint(size: BenchSize, options: BenchOptions) -> dict[str, Any]:
    """What must not change between a run and its resumption (the data and the protocol)."""
    return {"size": plain_json(asdict(size)), "fold_seed": options.fold_seed, "forge_seed": options.forge_seed}


def fingerprint_diff(a: dict[str, Any], b: dict[str, Any]) -> str:
    """The top-level keys where two fingerprints differ, for the error message."""
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return ", ".join(keys) or "?"
