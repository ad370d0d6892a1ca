"""A catalogued corpus → a fixed-length clip cache → one table of named features per clip.

Shared by the wild benchmark and by the command that fits the bundled detector, so that both see
exactly the same clips, crops and features. Feature names are ``group.name``; the groups:
``container`` (file metadata and global frame statistics — the shortcut baseline, never part of
a detector), ``trace``/``anim``/``bg`` (visual cues, :mod:`avcorr.cues.features`) and ``zs``
(the phonetic teacher's zero-shot consistency).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence, TypeVar

from avcorr.data.catalog import CatalogClip
from avcorr.errors import InputError
from avcorr.media.normalise import NormaliseOptions

T = TypeVar("T")
Progress = Callable[[Iterable[T], str], Iterable[T]]

CONTAINER, TRACE, ANIMATION, BACKGROUND, CONSISTENCY = "container", "trace", "anim", "bg", "zs"
FEATURE_GROUPS = (CONTAINER, TRACE, ANIMATION, BACKGROUND, CONSISTENCY)


def prepare_corpus(clips: Sequence[CatalogClip], cache_dir: Path, max_frames: int, workers: int,
                   normalise: NormaliseOptions | None = None) -> list[str]:
    """Prepare every clip once with the phonetic teacher (phone loop only, as ``detect`` runs it) (clips already there are skipped), brought
    to one canonical face resolution and codec when ``normalise`` is given; returns the failures
    as ``clip_id (stage: reason)``."""
    from avcorr.data.manifest import ManifestRow
    from avcorr.prepare.pipeline import PrepareOptions, prepare_manifest

    rows = [ManifestRow(clip_id=c.clip_id, video_path=str(c.path), label=c.label, method=c.family,
                        source_id=c.source_group, dataset="corpus") for c in clips]
    summary = prepare_manifest(rows, cache_dir, PrepareOptions(max_frames=max_frames, store_stft=False,
                                                                    normalise=normalise),
                               # as detect does: never a transcript from a file name (GRID's spell
                               # their sentence, which would give those reals a perfect audio side)
                               workers=workers, teacher="phonetic", teacher_options={"use_transcripts": False})
    return [f"{f['clip_id']} ({f['stage']}: {f['reason']})" for f in getattr(summary, "failures", [])]


def crop_corpus(cache_dir: Path, out_dir: Path, frames: int, progress: Progress | None = None) -> Path:
    """Every prepared clip cut to its centre ``frames`` frames (so duration cannot leak)."""
    from avcorr.data.cache_views import crop_cache

    return crop_cache(cache_dir, out_dir, frames, progress=progress)


def clip_features(clip_path: Path | None, record: object | None) -> tuple[dict[str, float], list[str]]:
    """All feature groups of one clip: container features from the file, cues and consistency from
    its cropped record. A group that fails is left out (the classifiers impute it) and named."""
    from avcorr.cues.container import container_features
    from avcorr.cues.features import clip_cue_features
    from avcorr.teachers.zero_shot import zero_shot

    table: dict[str, float] = {}
    failures: list[str] = []
    if clip_path is not None:
        try:
            table.update({f"{CONTAINER}.{k}": v for k, v in container_features(clip_path).items()})
        except InputError as exc:
            failures.append(f"container: {exc}")
    if record is not None:
        try:
            table.update(clip_cue_features(record, video_path=clip_path))
        except InputError as exc:
            failures.append(f"cues: {exc}")
        arrays = record.arrays  # type: ignore[attr-defined]
        if "audio_posteriors" in arrays and "visual_posteriors" in arrays:
            try:
                table[f"{CONSISTENCY}.mean_correlation"] = zero_shot(arrays["audio_posteriors"],
                                                                     arrays["visual_posteriors"]).mean_correlation
            except ValueError as exc:
                failures.append(f"zero-shot: {exc}")
    return table, failures


def corpus_features(clips: Sequence[CatalogClip], cache_dir: Path,
                    progress: Progress | None = None) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Feature tables of every clip (a clip missing from the cache keeps its container features)."""
    from avcorr.data.clip_cache import ClipCache, load_clip

    files = {p.stem: p for p in ClipCache(cache_dir).clip_files()}
    tables: dict[str, dict[str, float]] = {}
    failures: list[str] = []
    ordered = sorted(clips, key=lambda c: c.clip_id)
    for clip in (progress(ordered, "features") if progress else ordered):
        record = load_clip(files[clip.clip_id]) if clip.clip_id in files else None
        tables[clip.clip_id], failed = clip_features(clip.path, record)
        failures += [f"{clip.clip_id} ({reason})" for reason in failed]
    return tables, failures


def feature_names(tables: Mapping[str, Mapping[str, float]], groups: Sequence[str]) -> list[str]:
    """The sorted feature names of ``groups`` present in any clip's table."""
    return sorted({n for row in tables.values() for n in row if n.split(".", 1)[0] in groups})
