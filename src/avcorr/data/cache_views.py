"""Derived clip caches: a subset view (links, no copies) and a fixed-length crop of every clip.

Benchmarks train on exactly a split's clips by pointing ``fit`` at a view; they make every clip
the same length first, so that a clip's duration or frame count cannot reach a model or a
score (docs/design.md §8).
"""
from __future__ import annotations

import csv
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable, Sequence, TypeVar

import numpy as np

from avcorr.data.clip_cache import CLIPS_DIR, MANIFEST_COLUMNS, MANIFEST_NAME, ClipCache, ClipRecord, load_clip
from avcorr.data.windows import centre_window
from avcorr.errors import InputError

T = TypeVar("T")
Progress = Callable[[Iterable[T], str], Iterable[T]]

#: per-frame arrays are cut like ``frames``; audio features have 4 rows per frame
_PER_FRAME = ("frames", "mouth", "landmarks", "face_boxes", "face_found", "frame_labels", "soft_label",
              "audio_posteriors", "visual_posteriors")
_PER_AUDIO_ROW = ("mfcc", "stft")


def subset_view(cache_dir: str | Path, clip_ids: Sequence[str], view_dir: str | Path) -> Path:
    """A clip cache holding only ``clip_ids``, as symbolic links to ``cache_dir``'s files (the
    view folder is made anew)."""
    cache_dir, view_dir = Path(cache_dir), Path(view_dir)
    if view_dir.exists():
        shutil.rmtree(view_dir)
    (view_dir / CLIPS_DIR).mkdir(parents=True)
    wanted = set(clip_ids)
    rows = [r for r in ClipCache(cache_dir).read_manifest() if r["clip_id"] in wanted]
    if len(rows) != len(wanted):
        missing = sorted(wanted - {r["clip_id"] for r in rows})
        raise InputError(cache_dir, f"{len(missing)} clip(s) missing from the cache (e.g. {missing[0]})", stage="view")
    for row in rows:
        (view_dir / row["file"]).symlink_to((cache_dir / row["file"]).resolve())
    with (view_dir / MANIFEST_NAME).open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return view_dir


def crop_record(record: ClipRecord, length: int, start: int | None = None) -> ClipRecord:
    """``record`` cut to ``length`` frames (every per-frame array, MFCC/STFT 4 rows a frame): its
    centre ones, or those from frame ``start`` (fewer where the clip ends sooner).
    ``extra.start_s`` moves to the window's first frame, ``extra.crop`` says where it was cut."""
    if start is None:
        window = centre_window(record.num_frames, length)
    elif not 0 <= start < record.num_frames or length < 1:
        raise ValueError(f"window of {length} frames from frame {start} is outside a clip of {record.num_frames}")
    else:
        window = slice(start, min(start + length, record.num_frames))
    arrays: dict[str, np.ndarray] = {}
    for name, value in record.arrays.items():
        if name in _PER_FRAME:
            arrays[name] = value[window]
        elif name in _PER_AUDIO_ROW:
            arrays[name] = value[4 * window.start:4 * window.stop]
        else:
            arrays[name] = value
    kept = window.stop - window.start
    extra = dict(record.meta.extra)
    extra["crop"] = {"start_frame": window.start, "frames": kept, "source_frames": record.num_frames}
    extra["start_s"] = float(extra.get("start_s", 0.0)) + window.start / (record.meta.fps or 25.0)
    meta = replace(record.meta, num_frames=kept, duration_s=kept / (record.meta.fps or 25.0), extra=extra)
    return ClipRecord(meta=meta, arrays=arrays)


def crop_cache(cache_dir: str | Path, out_dir: str | Path, length: int, progress: Progress | None = None) -> Path:
    """A copy of ``cache_dir`` with every clip cut to its centre ``length`` frames; clips already
    cropped in ``out_dir`` are kept (resumable)."""
    source, target = ClipCache(cache_dir), ClipCache(out_dir)
    files = source.clip_files()
    for path in (progress(files, "cropping") if progress else files):
        out = target.root / CLIPS_DIR / path.name
        if not out.exists():
            target.write(crop_record(load_clip(path), length))
    target.rebuild_manifest()
    return target.root
