"""The benchmark's data stages, each built once under the work folder and shared by every split,
variant and seed: the sources (synth + shared real clips, dealt into identity folds), their
forgeries, the prepared clip cache and the teacher's zero-shot scores.

Each stage reads the previous one's files and writes its own, so a stopped benchmark resumes at
the first stage not marked done (see :class:`avcorr.bench.state.StageClock`).
"""
from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path
from typing import Any, Callable

from avcorr.bench.generalization.plan import BenchSize
from avcorr.bench.generalization.protocols import BenchClip, assign_folds, fold_name, fold_of
from avcorr.data.clip_cache import ClipCache, load_clip
from avcorr.data.manifest import ManifestRow, read_manifest, write_manifest
from avcorr.errors import InputError
from avcorr.forge.forge import ForgeOptions, run_forge
from avcorr.prepare.pipeline import PrepareOptions, prepare_manifest


def shared_real_rows(data_dir: Path) -> list:
    """The real clips of a ``catalog.csv`` folder as source rows, one identity each. Ids are
    ``shared-NN`` (never a GRID file name, so no clip gets a transcript that its forgeries lack)."""
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
    """Synth clips + shared real clips, dealt into folds by identity → ``work/sources.csv``. The
    fold is the manifest's ``split``, so forge picks donors inside it."""
    from avcorr.forge.synth import SynthOptions, synthesize_dataset  # lazy: cv2

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
    """Every method on every source → ``work/forged`` (redone from scratch if a run was cut; the
    real rows are re-encoded the same way)."""
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
    """The clip cache with the phonetic teacher's posteriors and soft labels → ``work/cache``
    (prepare skips what is done)."""
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
    donors = face_donors(forged_dir) if forged_dir is not None else {}
    rows = ClipCache(cache_dir).read_manifest()
    return [BenchClip(clip_id=r["clip_id"], label=int(r["label"]), method=r.get("method") or "real",
                      source_id=r.get("source_id") or r["clip_id"], audio_source_id=r.get("audio_source_id") or "",
                      fold=fold_of(r.get("split") or ""), donors=donors.get(r["clip_id"], ())) for r in rows]


def face_donors(forged_dir: Path) -> dict[str, tuple[str, ...]]:
    """Fake clip id → identities of the other clips it took a face from (forge records clip ids)."""
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
    """The phonetic teacher's zero-shot (score, mean correlation) of every cached clip, from the
    cached posteriors; the score is a probability of fake. Read back from ``out_csv`` when there."""
    from avcorr.teachers.zero_shot import zero_shot  # lazy: torch

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
    """``clip_id, score, mean_correlation`` rows, six decimals (the zero-shot and per-run scores)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["clip_id", "score", "mean_correlation"])
        writer.writerows([[k, f"{s:.6f}", f"{c:.6f}"] for k, (s, c) in scores.items()])


def read_scores(path: Path) -> dict[str, tuple[float, float]]:
    """What :func:`write_scores` wrote."""
    with path.open(newline="") as handle:
        return {r["clip_id"]: (float(r["score"]), float(r.get("mean_correlation") or "nan")) for r in csv.DictReader(handle)}
