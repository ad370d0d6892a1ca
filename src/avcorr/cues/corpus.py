"""A catalogued corpus → a fixed-length clip cache → one table of named features per clip.

Shared by the wild benchmark and by the command that fits the bundled detector, so that both see
exactly the same clips, crops and features. Feature names are ``group.name``; the groups:
``container`` (file metadata and global frame statistics — the shortcut baseline, never part of
a detector), ``trace``/``anim``/``bg`` (visual cues, :mod:`avcorr.cues.features`), ``zs``
(the phonetic teacher's zero-shot consistency) and ``dyn`` (still-image-animation dynamics,
:mod:`avcorr.cues.dynamics`, for scoring against real clips only: :mod:`avcorr.cues.real_reference`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence, TypeVar

from avcorr.cues.classifier import load_rows, save_rows
from avcorr.cues.container import container_features
from avcorr.cues.dynamics import clip_dynamics
from avcorr.cues.features import clip_cue_features
from avcorr.data.cache_views import crop_cache
from avcorr.data.catalog import CatalogClip
from avcorr.data.clip_cache import ClipCache, load_clip, load_meta
from avcorr.data.corpus_options import DEFAULT_CORPUS
from avcorr.data.manifest import ManifestRow
from avcorr.errors import ConfigError, InputError
from avcorr.media.normalise import NormaliseOptions
from avcorr.prepare.pipeline import PrepareOptions, prepare_manifest
from avcorr.runtime import StageTimer

T = TypeVar("T")
Progress = Callable[[Iterable[T], str], Iterable[T]]

CONTAINER, TRACE, ANIMATION, BACKGROUND, CONSISTENCY = "container", "trace", "anim", "bg", "zs"
FEATURE_GROUPS = (CONTAINER, TRACE, ANIMATION, BACKGROUND, CONSISTENCY)
#: Training-free dynamics of still-image animation (:mod:`avcorr.cues.dynamics`): in every clip's table, but
#: scored against real clips only (:mod:`avcorr.cues.real_reference`), so not a group of the learned
#: detectors (FEATURE_GROUPS), whose detect-time windows do not measure it.
DYNAMICS = "dyn"


def prepare_corpus(clips: Sequence[CatalogClip], cache_dir: Path, max_frames: int, workers: int,
                   normalise: NormaliseOptions | None = None) -> list[str]:
    """Prepare every clip once with the phonetic teacher (phone loop only, as ``detect`` runs it) (clips already there are skipped), brought
    to one canonical face resolution and codec when ``normalise`` is given; returns the failures
    as ``clip_id (stage: reason)``."""
    rows = [ManifestRow(clip_id=c.clip_id, video_path=str(c.path), label=c.label, method=c.family,
                        source_id=c.source_group, dataset="corpus") for c in clips]
    summary = prepare_manifest(rows, cache_dir, PrepareOptions(max_frames=max_frames, store_stft=False,
                                                                    normalise=normalise),
                               # as detect does: never a transcript from a file name (GRID's spell
                               # their sentence, which would give those reals a perfect audio side)
                               workers=workers, teacher="phonetic", teacher_options={"use_transcripts": False})
    return [f"{o.clip_id} ({o.stage}: {o.reason})" for o in summary.outcomes if o.status == "failed"]


def crop_corpus(cache_dir: Path, out_dir: Path, frames: int, progress: Progress | None = None) -> Path:
    """Every prepared clip cut to its centre ``frames`` frames (so duration cannot leak)."""
    return crop_cache(cache_dir, out_dir, frames, progress=progress)


def clip_features(clip_path: Path | None, record: object | None) -> tuple[dict[str, float], list[str]]:
    """All feature groups of one clip: container features from the file, cues and consistency from
    its cropped record. A group that fails is left out (the classifiers impute it) and named."""
    from avcorr.teachers.zero_shot import zero_shot  # lazy: torch (via soft_label), kept out of the numpy-only cues

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
        try:
            table.update({f"{DYNAMICS}.{k}": v for k, v in clip_dynamics(record, video_path=clip_path).items()})
        except InputError as exc:
            failures.append(f"dynamics: {exc}")
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


def check_prepared(cache_dir: Path, normalise: NormaliseOptions | None) -> None:
    """A :class:`ConfigError` when the clips of ``cache_dir`` (one is read) were prepared with
    another canonical resolution than ``normalise`` (an earlier run's work folder)."""
    files = ClipCache(cache_dir).clip_files()
    if not files:
        return
    stored = load_meta(files[0]).extra.get("normalise")
    wanted = None if normalise is None else normalise.to_dict()
    keys = ("face_px", "jpeg_quality", "blur_sigma")
    have = None if stored is None else {k: stored.get(k) for k in keys}
    want = None if wanted is None else {k: wanted[k] for k in keys}
    if have != want:
        raise ConfigError(f"{cache_dir}: its clips were prepared with normalise {have}, not {want}; "
                          "pass that run's --normalise-face-px or another --work")


@dataclass
class CorpusTables:
    """A corpus's feature tables and what it took: ``prepare_failures`` / ``feature_failures``
    are ``clip_id (reason)`` lines; ``reused`` counts tables read back from ``features.json``."""

    tables: dict[str, dict[str, float]]
    prepare_failures: list[str] = field(default_factory=list)
    feature_failures: list[str] = field(default_factory=list)
    reused: int = 0


def corpus_tables(clips: Sequence[CatalogClip], work: Path, prepare_frames: int = DEFAULT_CORPUS.prepare_frames,
                  crop_frames: int = DEFAULT_CORPUS.crop_frames, workers: int = DEFAULT_CORPUS.workers,
                  normalise: NormaliseOptions | None = None, progress: Progress | None = None,
                  log: Callable[[str], None] | None = None, timer: StageTimer | None = None) -> CorpusTables:
    """Feature tables of every clip, through the wild benchmark's work layout under ``work``:
    ``cache_full/`` (prepared with the phonetic teacher to ``prepare_frames``; clips already there
    are skipped; brought to ``normalise``'s canonical resolution when given), ``cache/`` (cut to the centre ``crop_frames``; kept crops are reused) and
    ``features.json`` (tables already there are reused; missing clips are added). So
    ``work = runs/bench-wild`` reuses what ``avcorr bench wild`` prepared. ``timer`` gets the wall
    seconds of the ``prepare``, ``crop`` and ``features`` stages."""
    say = log or (lambda message: None)
    timer = timer or StageTimer()
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    full, cropped, features = work / "cache_full", work / "cache", work / "features.json"
    say(f"prepare: {len(clips)} clips into {full} (prepared ones are skipped)")
    with timer("prepare"):
        prepare_failures = prepare_corpus(list(clips), full, prepare_frames, workers, normalise)
    check_prepared(full, normalise)
    say(f"crop: centre {crop_frames} frames into {cropped}")
    with timer("crop"):
        crop_corpus(full, cropped, crop_frames, progress=progress)
    longer = [r["clip_id"] for r in ClipCache(cropped).read_manifest() if int(r.get("num_frames") or 0) > crop_frames]
    if longer:
        raise ConfigError(f"{cropped}: {len(longer)} clip(s) were cut to more than {crop_frames} frames (e.g. "
                          f"{longer[0]}) by an earlier run; pass that run's --crop-frames or another --work")
    tables = load_rows(features) if features.exists() else {}
    reused = sum(1 for clip in clips if clip.clip_id in tables)
    missing = [clip for clip in clips if clip.clip_id not in tables]
    feature_failures: list[str] = []
    if missing:
        say(f"features: {len(missing)} clip(s) ({reused} reused from {features})")
        with timer("features"):
            new, feature_failures = corpus_features(missing, cropped, progress=progress)
        tables.update(new)
        save_rows(features, tables)
    wanted = {clip.clip_id for clip in clips}
    return CorpusTables(tables={k: dict(v) for k, v in tables.items() if k in wanted},
                        prepare_failures=prepare_failures, feature_failures=feature_failures, reused=reused)
