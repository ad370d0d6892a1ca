"""The generalization benchmark: forge, prepare, train and test every (variant, held-out family,
seed) of :mod:`avcorr.eval.protocols`, and write the table.

Stages, each timed and each resumable from the work folder:

1. ``sources`` — ``synth`` clips (plus the real clips of ``../shared/data`` when present), dealt
   into folds by identity; the fold is the manifest's ``split``, so forge picks donors inside it.
2. ``forge`` — every method on every source (the real rows are re-encoded the same way).
3. ``prepare`` — the clip cache, with the phonetic teacher's posteriors and soft labels.
4. ``zero_shot`` — the teacher's zero-shot score of every clip, from the cached posteriors.
5. ``runs`` — per seed (test fold = seed index mod folds), per held-out family, per trained
   variant: train on a view of the cache holding only the training clips, score every test-fold
   clip once, and compute metrics on unseen real + held-out fakes (and, as a diagnostic, on
   unseen real + test-fold fakes of the trained families).

The sources, forgeries and cache are built once and shared by every split, variant and seed.
Results (JSON + markdown) are rewritten after every finished run, so a stopped benchmark leaves a
table marked partial. No hyper-parameter depends on the held-out family.
"""
from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from avcorr.errors import ConfigError, InputError
from avcorr.eval.protocols import (
    VARIANTS,
    BenchClip,
    HoldOutSplit,
    RunResult,
    aggregate,
    assign_folds,
    families,
    fold_name,
    fold_of,
    leave_one_out,
    replicate_fold,
)

SCHEMA_VERSION = 1
STATE_NAME = "state.json"
RESULT_NAME = "result.json"
NOTES_NAME = "generalization_notes.md"
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


def default_shared_data() -> Path | None:
    """``$AVCORR_SHARED/data`` or ``../shared/data`` (beside the working directory or the checkout)."""
    candidates = []
    if os.environ.get("AVCORR_SHARED"):
        candidates.append(Path(os.environ["AVCORR_SHARED"]) / "data")
    candidates += [Path.cwd().parent / "shared" / "data", Path(__file__).resolve().parents[3].parent / "shared" / "data"]
    return next((c for c in candidates if (c / "catalog.csv").exists()), None)


def machine_description() -> dict[str, Any]:
    """The shared machine description, its load average named for when it is taken (the start)."""
    from avcorr.bench.machine import machine_description as describe

    info = describe()
    info["load_average_at_start"] = info.pop("load_average_1_5_15")
    return info


class StageClock:
    """Wall seconds per stage, persisted in the work folder's ``state.json`` with done markers."""

    def __init__(self, work_dir: Path) -> None:
        self.path = work_dir / STATE_NAME
        self.state: dict[str, Any] = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.state.setdefault("stages", {})

    def done(self, stage: str) -> bool:
        return bool(self.state["stages"].get(stage, {}).get("done"))

    def record(self, stage: str, seconds: float, **info: Any) -> None:
        entry = self.state["stages"].setdefault(stage, {"seconds": 0.0})
        entry["seconds"] = round(entry.get("seconds", 0.0) + seconds, 2)
        entry.update(info, done=True)
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1) + "\n")
        os.replace(tmp, self.path)

    def seconds(self) -> dict[str, float]:
        return {k: v.get("seconds", 0.0) for k, v in self.state["stages"].items()}


# ---------------------------------------------------------------------------------------------
# Stages 1–4: data


def shared_real_rows(data_dir: Path) -> list:
    """The real clips of a ``catalog.csv`` folder as source rows, one identity each. Ids are
    ``shared-NN`` (never a GRID file name, so no clip gets a transcript that its forgeries lack)."""
    from avcorr.data.manifest import ManifestRow

    with (data_dir / "catalog.csv").open(newline="") as handle:
        files = sorted(r["file"] for r in csv.DictReader(handle) if r.get("label", "").strip() == "real")
    rows = []
    for index, name in enumerate(files):
        clip_id = f"shared-{index:02d}"
        rows.append(ManifestRow(clip_id=clip_id, video_path=str((data_dir / name).resolve()), label=0, audio_label=0,
                                video_label=0, sync_label=0, method="real", source_id=clip_id,
                                audio_source_id=clip_id, dataset="shared"))
    return rows


def build_sources(work: Path, size: BenchSize, shared: Path | None, fold_seed: int, workers: int,
                  log: Callable[[str], None]) -> dict[str, Any]:
    """Synth clips + shared real clips, dealt into folds by identity → ``work/sources.csv``."""
    from avcorr.data.manifest import read_manifest, write_manifest
    from avcorr.forge.synth import SynthOptions, synthesize_dataset

    rows = []
    if size.synth_clips > 0:
        synth_dir = work / "synth"
        manifest = synth_dir / "manifest.csv"
        if not manifest.exists() or len(read_manifest(manifest)) < size.synth_clips:
            log(f"synth: rendering {size.synth_clips} clips")
            result = synthesize_dataset(synth_dir, SynthOptions(clips=size.synth_clips, seed=0, size=size.synth_size,
                                                                workers=max(1, workers)))
            for clip_id, reason in result.failures:
                log(f"synth: failed {clip_id}: {reason}")
        rows += read_manifest(manifest)
    if shared is not None and size.use_shared:
        rows += shared_real_rows(shared)
    if not rows:
        raise InputError(work, "no sources (no synth clips and no shared data)", stage="bench")
    strata = {r.source_id: r.dataset for r in rows}
    folds = assign_folds([r.source_id for r in rows], size.folds, fold_seed, strata)
    for row in rows:
        row.split = fold_name(folds[row.source_id])
    write_manifest(work / "sources.csv", rows)
    per_fold = {fold_name(k): sorted({r.source_id for r in rows if folds[r.source_id] == k}) for k in range(size.folds)}
    return {"sources": len(rows), "identities": len(folds), "synth": sum(r.dataset == "synth" for r in rows),
            "shared": sum(r.dataset == "shared" for r in rows), "identities_per_fold": per_fold}


def forge_sources(work: Path, size: BenchSize, forge_seed: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Every method on every source → ``work/forged`` (redone from scratch if a run was cut)."""
    from avcorr.data.manifest import read_manifest
    from avcorr.forge.forge import ForgeOptions, run_forge

    out = work / "forged"
    if out.exists():
        shutil.rmtree(out)
    rows = read_manifest(work / "sources.csv")
    log(f"forge: {len(rows)} sources × {len(size.methods)} methods")
    report = run_forge(rows, out, ForgeOptions(methods=list(size.methods), seed=forge_seed, max_seconds=size.max_seconds))
    for failure in report.failures:
        log(f"forge: failed {failure.clip_id} [{failure.method}] at {failure.stage}: {failure.reason}")
    summary = report.summary()
    return {"clips": summary["clips"], "failures": summary["failures"]}


def prepare_forged(work: Path, size: BenchSize, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    """The clip cache with the phonetic teacher → ``work/cache`` (prepare skips what is done)."""
    from avcorr.data.manifest import read_manifest
    from avcorr.prepare.pipeline import PrepareOptions, prepare_manifest

    rows = read_manifest(work / "forged" / "manifest.csv")
    log(f"prepare: {len(rows)} clips with the phonetic teacher on {workers} worker(s)")
    max_frames = int(round(size.max_seconds * 25)) if size.max_seconds else 1000
    options = PrepareOptions(face_size=size.face_size, mouth_size=max(16, size.face_size // 2), max_frames=max_frames)
    summary = prepare_manifest(rows, work / "cache", options, workers=workers, teacher="phonetic")
    failed = [{"clip_id": o.clip_id, "stage": o.stage, "reason": o.reason} for o in summary.outcomes if o.status == "failed"]
    for item in failed:
        log(f"prepare: failed {item['clip_id']} at {item['stage']}: {item['reason']}")
    return {"done": summary.done, "skipped": summary.skipped, "failed": failed}


def bench_clips(cache_dir: Path, forged_dir: Path | None = None) -> list[BenchClip]:
    """The cache's clips with their folds (from the ``foldK`` split they carry) and, when forge's
    ``forgeries.jsonl`` is at hand, the identities of their face donors."""
    from avcorr.data.clip_cache import ClipCache

    donors = face_donors(forged_dir) if forged_dir is not None else {}
    rows = ClipCache(cache_dir).read_manifest()
    return [BenchClip(clip_id=r["clip_id"], label=int(r["label"]), method=r.get("method") or "real",
                      source_id=r.get("source_id") or r["clip_id"], audio_source_id=r.get("audio_source_id") or "",
                      fold=fold_of(r.get("split") or ""), donors=donors.get(r["clip_id"], ())) for r in rows]


def face_donors(forged_dir: Path) -> dict[str, tuple[str, ...]]:
    """Fake clip id → identities of the other clips it took a face from (forge records clip ids)."""
    from avcorr.data.manifest import read_manifest

    log_path, manifest = forged_dir / "forgeries.jsonl", forged_dir / "manifest.csv"
    if not log_path.exists() or not manifest.exists():
        return {}
    identity = {r.clip_id: r.source_id or r.clip_id for r in read_manifest(manifest, resolve_paths=False)}
    out: dict[str, tuple[str, ...]] = {}
    for line in log_path.read_text().splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        donor = entry.get("face_donor")
        if donor:
            out[entry["clip_id"]] = (identity.get(donor, donor),)
    return out


def zero_shot_scores(cache_dir: Path, out_csv: Path) -> dict[str, tuple[float, float]]:
    """The phonetic teacher's zero-shot (score, mean correlation) of every cached clip; the score
    is a probability of fake."""
    from avcorr.data.clip_cache import ClipCache, load_clip
    from avcorr.teachers.zero_shot import zero_shot

    if out_csv.exists():
        return read_scores(out_csv)
    cache = ClipCache(cache_dir)
    scores: dict[str, tuple[float, float]] = {}
    for row in cache.read_manifest():
        record = load_clip(cache.root / row["file"], arrays=["audio_posteriors", "visual_posteriors"])
        arrays = record.arrays
        scores[row["clip_id"]] = (math.nan, math.nan)
        if "audio_posteriors" in arrays and "visual_posteriors" in arrays:
            try:
                result = zero_shot(arrays["audio_posteriors"], arrays["visual_posteriors"])
                scores[row["clip_id"]] = (result.score, result.mean_correlation)
            except ValueError:
                pass
    write_scores(out_csv, scores)
    return scores


def write_scores(path: Path, scores: dict[str, tuple[float, float]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["clip_id", "score", "mean_correlation"])
        writer.writerows([[k, f"{s:.6f}", f"{c:.6f}"] for k, (s, c) in scores.items()])


def read_scores(path: Path) -> dict[str, tuple[float, float]]:
    with path.open(newline="") as handle:
        return {r["clip_id"]: (float(r["score"]), float(r.get("mean_correlation") or "nan")) for r in csv.DictReader(handle)}


# ---------------------------------------------------------------------------------------------
# Stage 5: runs


def training_view(cache_dir: Path, clip_ids: Sequence[str], view_dir: Path) -> Path:
    """A clip cache holding only ``clip_ids`` (symbolic links to the shared cache's files), so
    that ``fit`` trains on exactly the split's training clips."""
    from avcorr.data.clip_cache import CLIPS_DIR, MANIFEST_NAME, ClipCache, MANIFEST_COLUMNS

    if view_dir.exists():
        shutil.rmtree(view_dir)
    (view_dir / CLIPS_DIR).mkdir(parents=True)
    wanted = set(clip_ids)
    rows = [r for r in ClipCache(cache_dir).read_manifest() if r["clip_id"] in wanted]
    if len(rows) != len(wanted):
        raise InputError(cache_dir, f"{len(wanted) - len(rows)} training clip(s) missing from the cache", stage="bench")
    for row in rows:
        (view_dir / row["file"]).symlink_to((cache_dir / row["file"]).resolve())
    with (view_dir / MANIFEST_NAME).open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return view_dir


def run_config(size: BenchSize, variant: str, seed: int, device: str) -> Any:
    """The experiment config of one trained run: the size's config, its overrides, the variant's
    loss weights, the seed, the epochs; no validation split (no checkpoint is selected: the last
    epoch's weights are tested). One device: CPU, or the first GPU with the config's precision."""
    from avcorr.config import load_experiment_config

    overrides = list(size.overrides) + VARIANTS[variant].overrides() + [
        f"trainer.seed={seed}", f"trainer.max_epochs={size.epochs}", "data.val_fraction=0.0", "trainer.devices=1"]
    if device == "cpu" or (device == "auto" and not _cuda()):
        overrides += ["trainer.accelerator=cpu", "trainer.precision='32'"]
    else:
        overrides += ["trainer.accelerator=cuda"]
    return load_experiment_config(size.config, overrides)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def score_test_fold(run_dir: Path, cache_dir: Path, clip_ids: Sequence[str], device: str) -> dict[str, tuple[float, float]]:
    """(score, mean student correlation) of the test fold's clips by a trained run; the score is
    the mean frame probability of fake."""
    from avcorr.data.clip_cache import ClipCache
    from avcorr.data.dataset import list_clips
    from avcorr.eval.evaluate import load_run, resolve_device, score_clips

    wanted = set(clip_ids)
    entries = [e for e in list_clips(ClipCache(cache_dir)) if e.clip_id in wanted]
    model, config = load_run(run_dir, device=resolve_device(device))
    clips, _ = score_clips(model, entries, config.model.visual.frame_size, config.data.max_clip_frames)
    return {c.clip_id: (c.score, c.mean_correlation) for c in clips}


def split_metrics(split: HoldOutSplit, clips: Sequence[BenchClip], scores: dict[str, tuple[float, float]],
                  variant: str, seed: int, wall_s: float) -> RunResult:
    """ROC-AUC, AP and EER on unseen real + held-out fakes; ROC-AUC on unseen real + seen fakes;
    ROC-AUC of 1 − mean correlation on unseen real + held-out fakes."""
    from avcorr.eval.metrics import detection_metrics

    by_id = {c.clip_id: c for c in clips}

    def table(ids: Sequence[str], column: int = 0):  # noqa: ANN202
        kept = [i for i in ids if i in scores]
        values = [scores[i][column] if column == 0 else 1.0 - scores[i][column] for i in kept]
        return detection_metrics([by_id[i].label for i in kept], values)

    held = table(split.test)
    real = [i for i in split.test if by_id[i].label == 0]
    seen = table(real + list(split.seen_test)) if split.seen_test else None
    return RunResult(variant=variant, held_out=split.held_out, seed=seed, test_fold=split.test_fold,
                     roc_auc=held.roc_auc, ap=held.ap, eer=held.eer,
                     seen_roc_auc=seen.roc_auc if seen is not None else math.nan,
                     num_real=held.num_real, num_fake=held.num_fake, wall_s=round(wall_s, 2),
                     correlation_roc_auc=table(split.test, column=1).roc_auc)


def train_and_score(size: BenchSize, variant: str, seed: int, split: HoldOutSplit, cache_dir: Path, run_dir: Path,
                    device: str) -> dict[str, tuple[float, float]]:
    """Train one run on the split's training clips (resuming a cut run) and score its test fold.

    The run folder keeps ``model/`` (weights, config, logs) and ``scores.csv``; the training view
    and Lightning's ``last.ckpt`` are removed once the weights are written.
    """
    from avcorr.train.fit import LAST_CHECKPOINT, fit

    scores_path = run_dir / "scores.csv"
    if scores_path.exists():
        return read_scores(scores_path)
    model_dir = run_dir / "model"
    if not (model_dir / "model.safetensors").exists():
        view = training_view(cache_dir, split.train, run_dir / "train_cache")
        config = run_config(size, variant, seed, device)
        fit(config, view, model_dir, resume=(model_dir / LAST_CHECKPOINT).exists(), progress=False)
        shutil.rmtree(view)
        (model_dir / LAST_CHECKPOINT).unlink(missing_ok=True)
    scores = score_test_fold(model_dir, cache_dir, split.test + split.seen_test, device)
    write_scores(scores_path, scores)
    return scores


def calibrate_training(size: BenchSize, device: str) -> float:
    """Training frames per second of this size's network on this machine, now (two timed steps)."""
    import torch

    from avcorr.models.detector import build_detector

    config = run_config(size, "full", 0, device)
    model = build_detector(config.model)
    optimizer = torch.optim.Adam(model.parameters())
    frames_per_clip = config.data.train_crop_frames or 50
    batch = max(1, config.data.max_batch_frames // frames_per_clip)
    s = config.model.visual.frame_size
    video = torch.randint(0, 255, (batch, frames_per_clip, s, s), dtype=torch.uint8)
    audio = torch.randn(batch, 4 * frames_per_clip, 13)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        out = model(audio, video)
        (out.frame_logits.float().mean() + out.correlation.mean()).backward()
        optimizer.step()
        optimizer.zero_grad()
        times.append(time.perf_counter() - start)
    return batch * frames_per_clip / min(times[1:])


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


# ---------------------------------------------------------------------------------------------
# The whole benchmark


def run_benchmark(options: BenchOptions, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run (or resume) the benchmark; returns the result document also written to ``out_dir``."""
    size = options.resolved_size()
    unknown = [v for v in options.variants if v not in VARIANTS]
    if unknown:
        raise ConfigError(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    if not options.seeds:
        raise ConfigError("give at least one seed")
    work = Path(options.work_dir)
    out_dir = Path(options.out_dir) if options.out_dir else work / "results"
    if options.report_only:
        if not (work / STATE_NAME).exists():
            raise InputError(work, "no benchmark here to report on", stage="bench")
    elif (work / STATE_NAME).exists() and not options.resume:
        raise ConfigError(f"{work} already holds a benchmark; pass --resume to continue it or choose another --work")
    work.mkdir(parents=True, exist_ok=True)
    clock = StageClock(work)
    recorded = clock.state.get("config")
    fingerprint = _fingerprint(size, options)
    if recorded is not None and recorded != fingerprint:
        raise ConfigError(f"{work} was started with another configuration ({_diff(recorded, fingerprint)}); "
                          f"use another --work")
    if not options.report_only:  # a report may run beside a benchmark in progress: it writes no state
        clock.state["config"] = fingerprint
        clock.state["machine"] = machine_description()
        clock.save()
    workers = options.workers or os.cpu_count() or 1
    shared = None
    if options.use_shared and size.use_shared:
        shared = options.shared_data if options.shared_data is not None else default_shared_data()
        if shared is not None and not (Path(shared) / "catalog.csv").exists():
            raise InputError(shared, "no catalog.csv in this folder", stage="bench")
    started = time.perf_counter()
    machine = clock.state.get("machine") or (machine_description() | {"load_average_at_start": None})
    from avcorr.train.fit import quiet_lightning

    quiet_lightning()

    stages: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("sources", lambda: build_sources(work, size, shared, options.fold_seed, workers, log)),
        ("forge", lambda: forge_sources(work, size, options.forge_seed, log)),
        ("prepare", lambda: prepare_forged(work, size, workers, log)),
    ]
    for name, action in stages:
        if clock.done(name):
            continue
        if options.report_only:
            raise InputError(work, f"the {name} stage has not finished: nothing to report yet", stage="bench")
        begin = time.perf_counter()
        info = action()
        clock.record(name, time.perf_counter() - begin, info=info)
        log(f"{name}: done in {time.perf_counter() - begin:.0f} s")

    cache_dir = work / "cache"
    clips = bench_clips(cache_dir, work / "forged")
    fams = [f for f in families(size.methods) if any(c.family == f for c in clips)]
    begin = time.perf_counter()
    zero = zero_shot_scores(cache_dir, work / "zero_shot.csv")
    if not clock.done("zero_shot") and not options.report_only:
        clock.record("zero_shot", time.perf_counter() - begin)

    trained = [v for v in options.variants if VARIANTS[v].trained]
    sources = clock.state["stages"]["sources"]["info"]["sources"]
    if options.report_only:
        guess = clock.state.get("estimate") or {}
    else:
        rate = calibrate_training(size, options.device) if trained else math.inf
        guess = estimate(size, sources, len(options.seeds), len(trained), rate)
        clock.state["estimate"] = guess
        clock.save()
        log(f"plan: {len(options.seeds)} seeds × {len(fams)} held-out families × {len(trained)} trained variants = "
            f"{guess['runs']} training runs of {size.epochs} epochs (+ zero-shot); measured {guess['train_frames_per_s']} "
            f"training frames/s now; estimated total {guess['total_s'] / 60:.0f} min "
            f"(data {guess['data_s'] / 60:.0f}, training {guess['train_s'] / 60:.0f}, scoring {guess['score_s'] / 60:.0f})")

    plan = run_order(options.seeds, fams, options.variants)
    results: list[RunResult] = []
    for index, seed, held, variant in plan:
        test_fold = replicate_fold(index, size.folds)
        split = leave_one_out(clips, held, test_fold)
        run_dir = work / "runs" / f"seed{seed}" / held / variant
        result_path = run_dir / RESULT_NAME
        if result_path.exists():
            results.append(RunResult.from_dict(json.loads(result_path.read_text())))
            continue
        if options.report_only:
            continue
        begin = time.perf_counter()
        if VARIANTS[variant].trained:
            log(f"run seed {seed} (test fold {test_fold}), held out {held}, {variant}: "
                f"{len(split.train)} training clips, {len(split.test)} test clips")
            scores = train_and_score(size, variant, seed, split, cache_dir, run_dir, options.device)
        else:
            log(f"run seed {seed} (test fold {test_fold}), held out {held}, {variant}")
            scores = {i: zero[i] for i in split.test + split.seen_test if i in zero}
        result = split_metrics(split, clips, scores, variant, seed, time.perf_counter() - begin)
        run_dir.mkdir(parents=True, exist_ok=True)
        result_path.write_text(json.dumps(result.to_dict(), indent=1) + "\n")
        results.append(result)
        stage = clock.state["stages"].setdefault("runs", {"seconds": 0.0})
        stage["seconds"] = round(stage.get("seconds", 0.0) + result.wall_s, 2)
        clock.save()
        log(f"  → ROC-AUC {result.roc_auc:.3f}, AP {result.ap:.3f}, EER {result.eer:.3f} "
            f"(seen families: ROC-AUC {result.seen_roc_auc:.3f}; 1 − mean correlation: ROC-AUC "
            f"{result.correlation_roc_auc:.3f}) in {result.wall_s:.0f} s")
        write_results(out_dir, _document(options, size, fams, machine, clock, guess, results, len(plan),
                                         time.perf_counter() - started, clips))
    document = _document(options, size, fams, machine, clock, guess, results, len(plan),
                         time.perf_counter() - started, clips)
    write_results(out_dir, document)
    return document


def run_order(seeds: Sequence[int], fams: Sequence[str], variants: Sequence[str]) -> list[tuple[int, int, str, str]]:
    """(seed index, seed, held-out family, variant) in the order they run: the zero-shot teacher
    first (no training), then the full model and detection-only for every seed, then the other
    trained variants, so that a benchmark stopped early still holds the main comparison."""
    groups = [[v for v in variants if not VARIANTS[v].trained], [v for v in variants if v in ("full", "detection-only")],
              [v for v in variants if VARIANTS[v].trained and v not in ("full", "detection-only")]]
    return [(index, seed, held, variant) for group in groups for index, seed in enumerate(seeds)
            for held in fams for variant in group]



def training_losses(work: Path, results: Sequence[RunResult]) -> dict[str, dict[str, dict[str, float | None]]]:
    """Per trained variant, the mean over its runs of each training loss term in the first and
    last epoch (read from the runs' Lightning CSV logs). Every term is logged whatever its λ, so
    this shows whether a variant's student learned the teacher's correlation at all."""
    sums: dict[str, dict[str, dict[str, list[float]]]] = {}
    for result in results:
        log_dir = work / "runs" / f"seed{result.seed}" / result.held_out / result.variant / "model" / "logs"
        files = sorted(log_dir.glob("version_*/metrics.csv"))
        rows: list[dict[str, str]] = []
        for path in files:
            with path.open(newline="") as handle:
                rows += [r for r in csv.DictReader(handle) if r.get("train/loss_epoch")]
        if not rows:
            continue
        for term in ("detection", "distillation", "joint_modal"):
            key = f"train/{term}_epoch"
            values = [float(r[key]) for r in rows if r.get(key)]
            if values:
                entry = sums.setdefault(result.variant, {}).setdefault(term, {"first": [], "last": []})
                entry["first"].append(values[0])
                entry["last"].append(values[-1])
    return {v: {t: {k: (round(float(np.mean(x)), 4) if x else None) for k, x in e.items()} for t, e in terms.items()}
            for v, terms in sums.items()}


def teacher_label_summary(cache_dir: Path, clips: Sequence[BenchClip]) -> dict[str, Any]:
    """What the teacher's soft labels y_t can teach: the mean y_t of each family's clips (± std
    over clips), and the distillation loss (BCE) of three students: the floor (s_t = y_t, the mean
    binary entropy of y_t), one that knows each clip's mean y_t, and one that predicts the global
    mean. A trained student's distillation loss sits somewhere between the floor and the last."""
    from avcorr.data.clip_cache import ClipCache, load_clip

    cache = ClipCache(cache_dir)
    family = {c.clip_id: c.family for c in clips}
    per_family: dict[str, list[float]] = {}
    labels: list[np.ndarray] = []
    for row in cache.read_manifest():
        record = load_clip(cache.root / row["file"], arrays=["soft_label"])
        if "soft_label" not in record.arrays:
            continue
        y = np.clip(np.asarray(record.arrays["soft_label"], dtype=np.float64), 1e-7, 1 - 1e-7)
        labels.append(y)
        per_family.setdefault(family.get(row["clip_id"], "?"), []).append(float(y.mean()))
    if not labels:
        return {}

    def bce(y: np.ndarray, s: np.ndarray | float) -> float:
        s = np.clip(s, 1e-7, 1 - 1e-7)
        return float(np.mean(-(y * np.log(s) + (1 - y) * np.log(1 - s))))

    every = np.concatenate(labels)
    return {
        "mean_soft_label": {f: {"mean": round(float(np.mean(v)), 4), "std": round(float(np.std(v, ddof=1)), 4) if len(v) > 1 else None,
                                "clips": len(v)} for f, v in sorted(per_family.items())},
        "distillation_bce_floor": round(bce(every, every), 4),
        "distillation_bce_clip_mean": round(float(np.average([bce(y, y.mean()) for y in labels], weights=[len(y) for y in labels])), 4),
        "distillation_bce_constant": round(bce(every, float(every.mean())), 4),
    }


def _fingerprint(size: BenchSize, options: BenchOptions) -> dict[str, Any]:
    """What must not change between a run and its resumption (the data and the protocol)."""
    return {"size": json.loads(json.dumps(asdict(size))), "fold_seed": options.fold_seed,
            "forge_seed": options.forge_seed}


def _diff(a: dict[str, Any], b: dict[str, Any]) -> str:
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return ", ".join(keys) or "?"


def _document(options: BenchOptions, size: BenchSize, fams: list[str], machine: dict[str, Any], clock: StageClock,
              guess: dict[str, Any], results: list[RunResult], planned: int, wall_s: float,
              clips: Sequence[BenchClip]) -> dict[str, Any]:
    from avcorr.config import resolve_config_path

    complete = len(results) == planned
    summary = aggregate(results)
    counts: dict[str, dict[str, int]] = {}
    for clip in clips:
        counts.setdefault(fold_name(clip.fold), {}).setdefault(clip.family, 0)
        counts[fold_name(clip.fold)][clip.family] += 1
    load_now = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    return {
        "benchmark": "generalization",
        "schema_version": SCHEMA_VERSION,
        "status": "complete" if complete else f"partial ({len(results)} of {planned} runs{_missing(options, fams, results)})",
        "command": options.command,
        "config": {
            "size": size.name, "synth_clips": size.synth_clips, "synth_size_px": size.synth_size,
            "max_seconds": size.max_seconds, "face_size_px": size.face_size, "methods": size.methods,
            "held_out_families": fams, "folds": size.folds, "seeds": options.seeds,
            "variants": {v: VARIANTS[v].description for v in options.variants},
            "teacher": "phonetic", "experiment_config": str(resolve_config_path(size.config).name),
            "overrides": size.overrides, "epochs": size.epochs, "fold_seed": options.fold_seed,
            "forge_seed": options.forge_seed, "device": options.device,
        },
        "machine": machine | {"load_average_at_end": load_now},
        "data": {"clips_per_fold_and_family": counts, "stages": {k: v.get("info") for k, v in clock.state["stages"].items()
                                                                 if v.get("info") is not None}},
        "estimate_s": guess,
        "stage_seconds": clock.seconds(),
        "wall_s": round(sum(clock.seconds().values()), 1),
        "this_invocation_s": round(wall_s, 1),
        "runs": [r.to_dict() for r in results],
        "training_losses": training_losses(Path(options.work_dir), results),
        "teacher_labels": teacher_label_summary(Path(options.work_dir) / "cache", clips),
        "notes": _notes(options),
        "aggregate": summary.to_dict(),
    }


def _missing(options: BenchOptions, fams: Sequence[str], results: Sequence[RunResult]) -> str:
    """``; missing: distillation-only 14`` — runs of each variant not finished yet."""
    done: dict[str, int] = {}
    for result in results:
        done[result.variant] = done.get(result.variant, 0) + 1
    expected = len(options.seeds) * len(fams)
    parts = [f"{v} {expected - done.get(v, 0)}" for v in options.variants if done.get(v, 0) < expected]
    return "; missing: " + ", ".join(parts) if parts else ""


def _notes(options: BenchOptions) -> str:
    """Hand-written notes on a committed run (``<out>/generalization_notes.md``), if any."""
    out_dir = Path(options.out_dir) if options.out_dir else Path(options.work_dir) / "results"
    path = out_dir / NOTES_NAME
    return path.read_text() if path.exists() else ""


def write_results(out_dir: Path, document: dict[str, Any], name: str = "generalization") -> tuple[Path, Path]:
    """``out_dir/<name>.json`` and ``out_dir/<name>.md``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{name}.json"
    tmp = json_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, indent=1) + "\n")
    os.replace(tmp, json_path)
    md_path = out_dir / f"{name}.md"
    md_path.write_text(render_markdown(document))
    return json_path, md_path


def paired_verdict(stat: dict[str, Any], confidence: float = 0.95) -> str:
    """One sentence on a paired mean ROC-AUC difference: a one-sided t-test over seeds."""
    n, mean, std = stat.get("n") or 0, stat.get("mean"), stat.get("std")
    if n < 2 or mean is None or std is None:
        return "Too few seeds to tell the difference from noise."
    from scipy.stats import t as student_t

    critical = float(student_t.ppf(confidence, n - 1))
    score = mean / (std / math.sqrt(n)) if std > 0 else math.copysign(math.inf, mean) if mean else 0.0
    if score > critical:
        return f"The full model beats detection-only on unseen methods (t = {score:.2f} > {critical:.2f}, one-sided, {n - 1} dof)."
    if score < -critical:
        return f"The full model does worse than detection-only on unseen methods (t = {score:.2f} < −{critical:.2f})."
    return (f"The full model does **not** beat detection-only beyond seed-to-seed noise "
            f"(t = {score:.2f}, one-sided {confidence:.0%} needs {critical:.2f}); see the notes.")


def render_markdown(document: dict[str, Any]) -> str:
    """The tables of a result document: mean over held-out families, then per family."""
    agg = document["aggregate"]
    cfg = document["config"]
    variants = list(agg["mean_over_held_out"])
    fams = cfg["held_out_families"]
    machine = document["machine"]

    def cell(stat: dict[str, Any] | None) -> str:
        if not stat or stat.get("mean") is None:
            return "—"
        if stat.get("std") is None:
            return f"{stat['mean']:.3f}"
        return f"{stat['mean']:.3f} ± {stat['std']:.3f}"

    lines = [
        "# Generalization to unseen forgery methods",
        "",
        f"Status: **{document['status']}**. Leave-one-family-out on avcorr's own forgeries; "
        f"seeds {', '.join(map(str, cfg['seeds']))} (seed *i* tests fold *i* mod {cfg['folds']}); "
        "mean ± sample std over seeds. Protocol and how to read this: `docs/generalization.md`.",
        "",
        f"Command: `{document['command']}`",
        "",
        "## Mean over held-out families",
        "",
        "| variant | ROC-AUC (unseen) | AP (unseen) | EER (unseen) | ROC-AUC (seen families) | "
        "ROC-AUC of 1 − mean correlation (unseen) |",
        "|---|---|---|---|---|---|",
    ]
    for v in variants:
        m = agg["mean_over_held_out"][v]
        lines.append(f"| {v} | {cell(m.get('roc_auc'))} | {cell(m.get('ap'))} | {cell(m.get('eer'))} | "
                     f"{cell(m.get('seen_roc_auc'))} | {cell(m.get('correlation_roc_auc'))} |")
    paired = agg.get("full_minus_detection_only") or {}
    if paired.get("roc_auc", {}).get("n"):
        lines += ["", f"Full − detection-only, paired by seed: ROC-AUC {cell(paired['roc_auc'])}, "
                      f"AP {cell(paired.get('ap'))}, EER {cell(paired.get('eer'))} "
                      f"(n = {paired['roc_auc']['n']} seeds). {paired_verdict(paired['roc_auc'])}"]
    for metric, title in (("roc_auc", "ROC-AUC"), ("ap", "AP"), ("eer", "EER")):
        lines += ["", f"## {title} per held-out family", "", "| variant | " + " | ".join(fams) + " |",
                  "|---|" + "---|" * len(fams)]
        for v in variants:
            row = agg["per_held_out"].get(v, {})
            lines.append(f"| {v} | " + " | ".join(cell(row.get(f, {}).get(metric)) for f in fams) + " |")
    losses = document.get("training_losses") or {}
    if losses:
        lines += ["", "## Training losses (mean over runs; first → last epoch)", "",
                  "| variant | detection (CE) | distillation (BCE to y_t) | joint-modal |", "|---|---|---|---|"]
        for v, terms in losses.items():
            parts = [f"{terms[t]['first']:.3f} → {terms[t]['last']:.3f}" if t in terms and terms[t]["last"] is not None
                     else "—" for t in ("detection", "distillation", "joint_modal")]
            lines.append(f"| {v} | " + " | ".join(parts) + " |")
        lines += ["", "Every term is logged whatever its weight: detection-only's distillation column is what a "
                      "correlation head trained without that loss scores against the teacher. Balanced detection CE "
                      f"at chance is ln 2 = {math.log(2):.3f}."]
    teacher = document.get("teacher_labels") or {}
    if teacher:
        lines += ["", "## What the teacher's labels carry", "",
                  "| family | mean y_t of its clips (± std over clips) |", "|---|---|"]
        for fam, stat in teacher["mean_soft_label"].items():
            spread = f" ± {stat['std']:.3f}" if stat.get("std") is not None else ""
            lines.append(f"| {fam} | {stat['mean']:.3f}{spread} ({stat['clips']} clips) |")
        lines += ["", f"Distillation BCE of reference students: floor (s_t = y_t) {teacher['distillation_bce_floor']:.3f}; "
                      f"knowing each clip's mean y_t {teacher['distillation_bce_clip_mean']:.3f}; "
                      f"predicting the global mean {teacher['distillation_bce_constant']:.3f}."]
    if document.get("notes"):
        lines += ["", "## Notes", "", document["notes"].strip()]
    stages = document["stage_seconds"]
    lines += [
        "",
        "## Setup",
        "",
        f"- Sources: {cfg['synth_clips']} synth clips + shared real clips when present; "
        f"{cfg['max_seconds'] or 'whole'} s each; {cfg['folds']} identity-disjoint folds; methods {', '.join(cfg['methods'])}.",
        f"- Model: `{cfg['experiment_config']}` with {' '.join(cfg['overrides'])}, {cfg['epochs']} epochs, "
        f"{cfg['face_size_px']} px crops; teacher: {cfg['teacher']}.",
        "- Variants: " + "; ".join(f"**{k}**: {v}" for k, v in cfg["variants"].items()) + ".",
        f"- Machine: {machine['cpu']}, {machine['logical_cores']} logical cores, GPU {machine['gpu'] or 'none'}, "
        f"torch {machine['torch']}; load average {machine.get('load_average_at_start') or 'not recorded'} at start, "
        f"{machine.get('load_average_at_end')} when this table was written (a shared machine: timings were taken "
        "under load).",
        f"- Wall time: {document['wall_s'] / 60:.1f} min over all stages (summed over resumptions; s): "
        + ", ".join(f"{k} {v:.0f}" for k, v in stages.items()) + ".",
        "",
    ]
    return "\n".join(lines)
