"""Manifests: one CSV row per clip, the input of ``prepare`` and the output of ``synth``/``forge``.

Columns (docs/design.md §3): ``clip_id, video_path, audio_path, label, audio_label, video_label,
sync_label, method, source_id, audio_source_id, split, dataset`` and, for partial forgeries,
``fake_start_s, fake_end_s``. ``audio_path`` empty means "use the video's own track". Relative
paths are resolved against the manifest's folder.
"""
from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Iterable

from avcorr.errors import InputError

MANIFEST_COLUMNS = [
    "clip_id", "video_path", "audio_path", "label", "audio_label", "video_label", "sync_label",
    "method", "source_id", "audio_source_id", "split", "dataset", "fake_start_s", "fake_end_s",
]


@dataclass
class ManifestRow:
    """One clip to prepare. Labels: 0 real, 1 fake; ``None`` where unknown."""

    clip_id: str
    video_path: str
    label: int
    audio_path: str = ""
    audio_label: int | None = None
    video_label: int | None = None
    sync_label: int | None = None
    method: str = "real"
    source_id: str = ""
    audio_source_id: str = ""
    split: str = ""
    dataset: str = ""
    fake_start_s: float | None = None
    fake_end_s: float | None = None

    @property
    def fake_window(self) -> list[float] | None:
        if self.fake_start_s is None or self.fake_end_s is None:
            return None
        return [self.fake_start_s, self.fake_end_s]


_INT_FIELDS = {"label", "audio_label", "video_label", "sync_label"}
_FLOAT_FIELDS = {"fake_start_s", "fake_end_s"}


def parse_binary_label(raw: str | None, path: str | Path, line: int, column: str) -> int | None:
    """A 0/1 label cell of a CSV ("1", "0.0", …); empty → None; anything else is a one-line error."""
    raw = (raw or "").strip()
    if raw == "":
        return None
    try:
        value = int(float(raw))
    except ValueError:
        raise InputError(path, f"line {line}: {column} {raw!r} is not 0 or 1", stage="manifest") from None
    if value not in (0, 1):
        raise InputError(path, f"line {line}: {column} {raw!r} is not 0 or 1", stage="manifest")
    return value


def _parse(name: str, raw: str | None, path: Path, line: int) -> object:
    raw = (raw or "").strip()
    if name in _INT_FIELDS:
        value = parse_binary_label(raw, path, line, name)
        if value is None and name == "label":
            raise InputError(path, f"line {line}: label is empty", stage="manifest")
        return value
    if name in _FLOAT_FIELDS:
        return float(raw) if raw else None
    return raw


def read_manifest(path: str | Path, resolve_paths: bool = True) -> list[ManifestRow]:
    """Read a manifest CSV; relative media paths become absolute (relative to the CSV)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "manifest not found", stage="manifest")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [c for c in ("clip_id", "video_path", "label") if c not in header]
        if missing:
            raise InputError(path, f"manifest lacks column(s) {', '.join(missing)}", stage="manifest")
        rows = []
        for line, raw in enumerate(reader, start=2):
            values = {f.name: _parse(f.name, raw.get(f.name), path, line) for f in fields(ManifestRow) if f.name in raw}
            row = ManifestRow(**values)  # type: ignore[arg-type]
            if resolve_paths:
                row.video_path = _resolve(row.video_path, path.parent)
                row.audio_path = _resolve(row.audio_path, path.parent) if row.audio_path else ""
            rows.append(row)
    ids = [r.clip_id for r in rows]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise InputError(path, f"clip_id {dup!r} appears more than once", stage="manifest")
    return rows


def _resolve(value: str, base: Path) -> str:
    p = Path(value)
    return str(p if p.is_absolute() else (base / p).resolve())


def write_manifest(path: str | Path, rows: Iterable[ManifestRow], relative_to: str | Path | None = None) -> Path:
    """Write rows as CSV; with ``relative_to`` media paths are written relative to that folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        for row in rows:
            values = asdict(row)
            if relative_to is not None:
                for key in ("video_path", "audio_path"):
                    if values[key]:
                        values[key] = _relative(values[key], Path(relative_to))
            writer.writerow({k: ("" if values.get(k) is None else values.get(k)) for k in MANIFEST_COLUMNS})
    return path


def _relative(value: str, base: Path) -> str:
    try:
        return str(Path(value).resolve().relative_to(base.resolve()))
    except ValueError:
        return value
