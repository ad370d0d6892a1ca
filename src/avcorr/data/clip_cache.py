"""The clip cache: one ``.npz`` file per prepared clip, plus the cache's manifest.

``prepare`` writes it, training, evaluation and the teachers read it. The schema is documented
in ``docs/clip_cache.md``; :data:`SCHEMA_VERSION` is bumped on any incompatible change.
Files are plain ``np.savez`` archives read with ``allow_pickle=False``: nothing in a cache can
run code. Writes are atomic (temporary file, then rename), so a killed ``prepare`` never leaves a
half-written clip behind and a restart simply skips the clips already present.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from avcorr.errors import InputError

SCHEMA_VERSION = 1
CLIPS_DIR = "clips"
MANIFEST_NAME = "manifest.csv"
FAILURES_NAME = "failures.csv"

#: Arrays a clip file may hold, with their documented shapes (T = video frames at 25 fps).
ARRAY_FIELDS: dict[str, str] = {
    "frames": "(T, H, H) uint8 grayscale face crops",
    "mouth": "(T, M, M) uint8 grayscale mouth crops",
    "mfcc": "(4T, 13) float32 student MFCC",
    "stft": "(4T, 321) float16 teacher STFT magnitudes",
    "face_found": "(T,) bool, face detected in that frame (else interpolated)",
    "face_boxes": "(T, 4) float32 x0, y0, x1, y1 of the face crop in source pixels",
    "landmarks": "(T, 478, 3) float32 face-mesh landmarks in face-crop pixels (z scaled like x)",
    "frame_labels": "(T,) uint8, 1 where the frame is manipulated",
    "audio_posteriors": "(T, V) float32 audio teacher's per-frame distribution",
    "visual_posteriors": "(T, V) float32 visual teacher's per-frame distribution",
    "soft_label": "(T,) float32 soft correlation label y_t in [0, 1]",
}


@dataclass
class ClipMeta:
    """What a clip is: identity, labels, provenance. Stored as JSON inside the clip file."""

    clip_id: str
    label: int
    method: str = "real"
    audio_label: int | None = None
    video_label: int | None = None
    sync_label: int | None = None
    source_id: str = ""
    audio_source_id: str = ""
    split: str = ""
    dataset: str = ""
    video_path: str = ""
    audio_path: str = ""
    fps: float = 25.0
    source_fps: float | None = None
    num_frames: int = 0
    duration_s: float = 0.0
    fake_window: list[float] | None = None
    teacher: str = "none"
    vocabulary: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION


@dataclass
class ClipRecord:
    """One prepared clip: arrays keyed as in :data:`ARRAY_FIELDS` plus its metadata."""

    meta: ClipMeta
    arrays: dict[str, np.ndarray]

    @property
    def num_frames(self) -> int:
        return int(self.arrays["frames"].shape[0]) if "frames" in self.arrays else self.meta.num_frames

    def validate(self) -> None:
        """Check the cross-array invariants every reader relies on."""
        t = self.num_frames
        a = self.arrays
        if "mfcc" in a and a["mfcc"].shape != (4 * t, 13):
            raise ValueError(f"{self.meta.clip_id}: mfcc shape {a['mfcc'].shape} != {(4 * t, 13)}")
        if "stft" in a and a["stft"].shape != (4 * t, 321):
            raise ValueError(f"{self.meta.clip_id}: stft shape {a['stft'].shape} != {(4 * t, 321)}")
        for name in ("face_found", "face_boxes", "landmarks", "frame_labels", "soft_label",
                     "audio_posteriors", "visual_posteriors", "mouth"):
            if name in a and a[name].shape[0] != t:
                raise ValueError(f"{self.meta.clip_id}: {name} has {a[name].shape[0]} frames, expected {t}")
        if "frames" in a and a["frames"].dtype != np.uint8:
            raise ValueError(f"{self.meta.clip_id}: frames must be uint8")


#: Longest file name most file systems take (ext4, XFS, btrfs, tmpfs: 255 bytes of UTF-8).
NAME_MAX_BYTES = 255
_HASHED_STEM_BYTES = 200  # room for "~" + hash + ".npz" and a margin


def clip_file(root: str | Path, clip_id: str) -> Path:
    return Path(root) / CLIPS_DIR / f"{file_stem(clip_id)}.npz"


def safe_name(clip_id: str) -> str:
    """A file-system-safe version of a clip id (ids may contain slashes)."""
    return "".join(c if c.isalnum() or c in "-_.+" else "_" for c in clip_id)


def file_stem(clip_id: str, suffix: str = ".npz") -> str:
    """The file name (without ``suffix``) that stores ``clip_id``: unique per id, at most
    :data:`NAME_MAX_BYTES` bytes with the suffix.

    An id that is already safe (:func:`safe_name` changes nothing, no leading dot) and short
    enough is its own name, so caches written before names were hashed stay valid. Any other id
    (slashes, spaces, a leading dot, too long) gets its safe name, cut to fit, plus ``~`` and 12
    hex digits of its BLAKE2b hash: ``~`` never survives :func:`safe_name`, so such a name cannot
    equal a plain one, and two ids that differ only in replaced characters differ in their hash.
    """
    safe = safe_name(clip_id)
    if safe == clip_id and clip_id and not clip_id.startswith(".") and len((clip_id + suffix).encode()) <= NAME_MAX_BYTES:
        return clip_id
    digest = hashlib.blake2b(clip_id.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()
    stem = safe.lstrip(".").encode()[:_HASHED_STEM_BYTES].decode("utf-8", "ignore")  # whole characters only
    return f"{stem}~{digest}"


def save_clip(path: str | Path, record: ClipRecord) -> Path:
    """Write ``record`` atomically to ``path`` (an ``.npz`` file)."""
    record.meta.num_frames = record.num_frames
    record.validate()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {k: np.ascontiguousarray(v) for k, v in record.arrays.items()}
    payload["meta"] = np.array(json.dumps(asdict(record.meta)))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_meta(path: str | Path) -> ClipMeta:
    with _open(path) as archive:
        return _meta_from(archive, path)


def load_clip(path: str | Path, arrays: Iterable[str] | None = None) -> ClipRecord:
    """Read a clip file; ``arrays`` limits which arrays are read (the archive is lazy)."""
    with _open(path) as archive:
        meta = _meta_from(archive, path)
        names = [n for n in archive.files if n != "meta"] if arrays is None else [n for n in arrays if n in archive.files]
        return ClipRecord(meta=meta, arrays={n: archive[n] for n in names})


def _open(path: str | Path) -> Any:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(path, f"not a readable clip file ({exc.__class__.__name__})", stage="cache") from None


def _meta_from(archive: Any, path: str | Path) -> ClipMeta:
    if "meta" not in archive.files:
        raise InputError(path, "clip file has no metadata", stage="cache")
    values = json.loads(str(archive["meta"]))
    if values.get("schema_version") != SCHEMA_VERSION:
        raise InputError(path, f"clip cache schema {values.get('schema_version')} != {SCHEMA_VERSION}; re-run prepare", stage="cache")
    known = ClipMeta.__dataclass_fields__
    return ClipMeta(**{k: v for k, v in values.items() if k in known})


MANIFEST_COLUMNS = [
    "clip_id", "file", "label", "method", "audio_label", "video_label", "sync_label",
    "source_id", "audio_source_id", "split", "dataset", "num_frames", "teacher",
]
FAILURE_COLUMNS = ["clip_id", "path", "stage", "reason"]


class ClipCache:
    """A folder of prepared clips: ``clips/*.npz``, ``manifest.csv``, ``failures.csv``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path_for(self, clip_id: str) -> Path:
        return clip_file(self.root, clip_id)

    def has(self, clip_id: str) -> bool:
        path = self.path_for(clip_id)
        return path.exists() or self._adopt_legacy(clip_id, path)

    def _adopt_legacy(self, clip_id: str, path: Path) -> bool:
        """A clip of an older cache stored as ``safe_name(id).npz`` (before ids that need it got a
        hash in their name) is renamed to its name now, when its metadata says it is ``clip_id``:
        the clip is kept, not prepared again beside its old file."""
        name = f"{safe_name(clip_id)}.npz"
        legacy = self.root / CLIPS_DIR / name
        if legacy == path or len(name.encode()) > NAME_MAX_BYTES or not legacy.exists():
            return False  # (a name over the limit could never have been written)
        try:
            if load_meta(legacy).clip_id != clip_id:
                return False  # another id that safe_name maps to the same name
        except InputError:
            return False
        os.replace(legacy, path)
        return True

    def write(self, record: ClipRecord) -> Path:
        return save_clip(self.path_for(record.meta.clip_id), record)

    def clip_files(self) -> list[Path]:
        # not the ".tmp-*" files a write killed mid-way leaves behind (pathlib's * matches dot-files)
        return sorted(p for p in (self.root / CLIPS_DIR).glob("*.npz") if not p.name.startswith("."))

    def __iter__(self) -> Iterator[ClipMeta]:
        for path in self.clip_files():
            yield load_meta(path)

    def __len__(self) -> int:
        return len(self.clip_files())

    def rebuild_manifest(self) -> Path:
        """Write ``manifest.csv`` from the clip files present (the files are the truth)."""
        rows = []
        for path in self.clip_files():
            meta = load_meta(path)
            row = {c: getattr(meta, c, "") for c in MANIFEST_COLUMNS if c != "file"}
            row["file"] = str(path.relative_to(self.root))
            rows.append({c: ("" if row.get(c) is None else row.get(c)) for c in MANIFEST_COLUMNS})
        return write_csv(self.root / MANIFEST_NAME, MANIFEST_COLUMNS, rows)

    def read_manifest(self) -> list[dict[str, str]]:
        path = self.root / MANIFEST_NAME
        if not path.exists():
            self.rebuild_manifest()
        with path.open(newline="") as handle:
            return list(csv.DictReader(handle))

    def write_failures(self, failures: list[dict[str, str]]) -> Path:
        return write_csv(self.root / FAILURES_NAME, FAILURE_COLUMNS, failures)


def write_csv(path: Path, columns: list[str], rows: Iterable[dict[str, Any]]) -> Path:
    """Write a CSV atomically (temporary file beside it, then rename): a reader, or a run killed
    mid-write, sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{path.stem}-", suffix=".csv", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
