"""Dataset adapters: build a manifest (:class:`~avcorr.data.manifest.ManifestRow` list) from a
dataset as it is laid out on disk.

Labels follow docs/design.md §3 (0 real, 1 fake; ``None`` where a dataset does not say):
``audio_label`` 1 = the speech is synthetic, ``video_label`` 1 = the face is generated or
altered, ``sync_label`` 1 = the lips do not follow this audio (mismatched or unsynchronized).
Method names are the datasets' own.

- :func:`fakeavceleb_rows` — FakeAVCeleb v1.2 (``RealVideo-RealAudio``, ``RealVideo-FakeAudio``,
  ``FakeVideo-RealAudio``, ``FakeVideo-FakeAudio``, each ``<race>/<gender>/<id>/*.mp4``), with
  methods from ``meta_data.csv`` when present, else from the file names.
- :func:`cmdfd_rows` — CMDFD: one folder per generation method (Wav2Lip, MakeItTalk, Audio2Head,
  VideoReTalking, each also ``_Self``) and a real folder; a video without its own sound track
  gets the audio file of the same name beside it (or in an ``audio``/``wav`` folder).
- :func:`folder_rows` — any folder with ``real/`` and ``fake/`` subfolders, any depth below;
  the first folder under ``fake/`` (if any) names the method.
- :func:`paper_csv_rows` — the original repository's CSV (``ID_Name, Audio_Path, Video_Path,
  ENtire_Label, ...``) imported as it is, paths remapped with ``root``.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterable

from avcorr.errors import InputError
from avcorr.data.manifest import ManifestRow, parse_binary_label
from avcorr.media.decode import VIDEO_EXTENSIONS, find_videos

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg")
AUDIO_FOLDERS = ("audio", "audios", "wav", "wavs")

FAKEAVCELEB_CATEGORIES = {
    # folder: (label, audio_label, video_label, sync_label)
    "RealVideo-RealAudio": (0, 0, 0, 0),
    "RealVideo-FakeAudio": (1, 1, 0, 1),
    "FakeVideo-RealAudio": (1, 0, 1, 0),
    "FakeVideo-FakeAudio": (1, 1, 1, 0),
}
CMDFD_METHODS = ("Wav2Lip", "MakeItTalk", "Audio2Head", "VideoReTalking")
REAL_FOLDER_NAMES = ("real", "reals", "original", "originals", "realvideo", "realvideo-realaudio", "real_videos", "realvideos")


def _require_dir(root: str | Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "dataset folder not found", stage="manifest")
    return root


def _clip_id(path: Path, root: Path, prefix: str = "") -> str:
    rel = path.relative_to(root).with_suffix("").as_posix()
    return f"{prefix}{rel}"


def sidecar_audio(video: Path, stop_at: Path | None = None) -> str:
    """An audio file with the video's stem beside it, or in an ``audio``-like folder nearby."""
    folders = [video.parent] + [video.parent / f for f in AUDIO_FOLDERS] + [video.parent.parent / f for f in AUDIO_FOLDERS]
    for folder in folders:
        if stop_at is not None and not folder.resolve().is_relative_to(stop_at.resolve()):
            continue
        for ext in AUDIO_EXTENSIONS:
            candidate = folder / f"{video.stem}{ext}"
            if candidate.is_file():
                return str(candidate)
    return ""


# ------------------------------------------------------------------------------ FakeAVCeleb


def _fakeavceleb_method(category: str, name: str) -> str:
    """Method from a FakeAVCeleb file name (used when meta_data.csv is absent)."""
    lower = name.lower()
    lipsync = "wavtolip" in lower or "wav2lip" in lower
    swap = "faceswap" if "faceswap" in lower else "fsgan" if "fsgan" in lower else ""
    if category == "RealVideo-RealAudio":
        return "real"
    if category == "RealVideo-FakeAudio":
        return "rtvc"
    if swap and lipsync:
        return f"{swap}-wav2lip"
    return swap or ("wav2lip" if lipsync else "unknown")


def _fakeavceleb_metadata(root: Path) -> dict[str, dict[str, str]]:
    """``meta_data.csv`` rows keyed by the video's path relative to the category folders' parent."""
    found = list(root.glob("meta_data.csv")) + list(root.glob("*/meta_data.csv"))
    if not found:
        return {}
    table: dict[str, dict[str, str]] = {}
    with found[0].open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        header = [h.strip().lower() for h in next(reader, [])]
        for row in reader:
            if not row:
                continue
            cells = [c.strip() for c in row]
            named = {header[i]: cells[i] for i in range(min(len(header), len(cells))) if header[i]}
            filename = next((c for c in cells if c.lower().endswith(VIDEO_EXTENSIONS)), "")
            # the folder column holds a category as one of its path parts (the "type" column holds it alone)
            folder = max((c for c in cells if any(cat in Path(c).parts for cat in FAKEAVCELEB_CATEGORIES)), key=len, default="")
            if not filename or not folder:
                continue
            parts = Path(folder).parts
            start = next(i for i, p in enumerate(parts) if p in FAKEAVCELEB_CATEGORIES)
            key = Path(*parts[start:], filename).as_posix()
            table[key] = named
    return table


def fakeavceleb_rows(root: str | Path) -> list[ManifestRow]:
    """Rows for every video under FakeAVCeleb's four category folders (found at any depth)."""
    root = _require_dir(root)
    metadata = _fakeavceleb_metadata(root)
    rows = []
    category_dirs = sorted(p for p in root.rglob("*") if p.is_dir() and p.name in FAKEAVCELEB_CATEGORIES)
    if not category_dirs:
        raise InputError(root, f"no FakeAVCeleb category folder ({', '.join(FAKEAVCELEB_CATEGORIES)}) found", stage="manifest")
    for category_dir in category_dirs:
        category = category_dir.name
        label, audio_label, video_label, sync_label = FAKEAVCELEB_CATEGORIES[category]
        base = category_dir.parent
        for video in find_videos(category_dir):
            rel = video.relative_to(base).as_posix()
            meta = metadata.get(rel, {})
            method = meta.get("method") or _fakeavceleb_method(category, video.name)
            identity = next((p for p in reversed(video.relative_to(category_dir).parts[:-1]) if p.startswith("id")), "")
            rows.append(ManifestRow(
                clip_id=video.relative_to(base).with_suffix("").as_posix(), video_path=str(video), label=label,
                audio_label=audio_label, video_label=video_label, sync_label=sync_label, method=method,
                source_id=meta.get("source") or identity, audio_source_id=identity if category == "RealVideo-RealAudio" else "",
                dataset="FakeAVCeleb",
            ))
    return rows


# ------------------------------------------------------------------------------ CMDFD


def _cmdfd_method(folder: str) -> str | None:
    """Canonical CMDFD method name for a folder name (case and separators ignored), or None."""
    key = folder.lower().replace("-", "").replace(" ", "")
    self_variant = key.endswith("_self") or key.endswith("self")
    stem = key.removesuffix("_self").removesuffix("self").rstrip("_")
    for method in CMDFD_METHODS:
        if stem == method.lower():
            return f"{method}_Self" if self_variant else method
    return None


def cmdfd_rows(root: str | Path) -> list[ManifestRow]:
    """Rows for CMDFD: method folders (any depth) and a real folder; sidecar audio where present."""
    root = _require_dir(root)
    rows: list[ManifestRow] = []
    seen: set[Path] = set()
    for folder in sorted(p for p in [root, *root.rglob("*")] if p.is_dir()):
        method = _cmdfd_method(folder.name)
        real = folder.name.lower() in REAL_FOLDER_NAMES
        if method is None and not real:
            continue
        for video in find_videos(folder):
            if video in seen or any(part.lower() in AUDIO_FOLDERS for part in video.relative_to(folder).parts[:-1]):
                continue
            seen.add(video)
            rows.append(ManifestRow(
                clip_id=_clip_id(video, root), video_path=str(video), audio_path=sidecar_audio(video, root),
                label=0 if real else 1, audio_label=0, video_label=0 if real else 1, sync_label=0,
                method="real" if real else method or "unknown", source_id=video.stem.split("_")[0], dataset="CMDFD",
            ))
    if not rows:
        raise InputError(root, f"no CMDFD method folder ({', '.join(CMDFD_METHODS)}, or *_Self) or real folder with videos found", stage="manifest")
    return rows


# ------------------------------------------------------------------------------ real/ fake/


def folder_rows(root: str | Path, dataset: str | None = None) -> list[ManifestRow]:
    """Rows for ``ROOT/real/**`` (label 0) and ``ROOT/fake/**`` (label 1) videos."""
    root = _require_dir(root)
    dataset = dataset or root.name
    rows = []
    for name, label in (("real", 0), ("fake", 1)):
        top = next((p for p in root.iterdir() if p.is_dir() and p.name.lower() == name), None)
        if top is None:
            continue
        for video in find_videos(top):
            inner = video.relative_to(top).parts
            method = "real" if label == 0 else (inner[0] if len(inner) > 1 else "unknown")
            known = 0 if label == 0 else None
            rows.append(ManifestRow(
                clip_id=_clip_id(video, root), video_path=str(video), audio_path=sidecar_audio(video, top), label=label,
                audio_label=known, video_label=known, sync_label=known, method=method, dataset=dataset,
            ))
    if not rows:
        raise InputError(root, "no videos under real/ or fake/ (expected ROOT/real/... and ROOT/fake/...)", stage="manifest")
    return rows


# ------------------------------------------------------------------------------ the paper's CSV

PAPER_COLUMNS = ["ID_Name", "Audio_Path", "Video_Path", "ENtire_Label", "Audio_Label", "Video_Label",
                 "Identi_Label", "Sync_Label", "Frame_Len", "Audio_Len", "FPS", "AudioSamRate"]


def _remap(path: str, root: Path | None, strip: str | None) -> str:
    if not path:
        return ""
    if strip and path.startswith(strip):
        path = path[len(strip):].lstrip("/\\")
    p = Path(path.replace("\\", "/"))
    if root is not None and not p.is_absolute():
        return str(root / p)
    if root is not None and p.is_absolute() and not p.exists():
        return str(root / p.name) if strip is None else str(root / p)
    return str(p)


def _label(value: str, path: Path, line: int, column: str, invert: bool = False) -> int | None:
    number = parse_binary_label(value, path, line, column)
    return None if number is None else (1 - number if invert else number)


def paper_csv_rows(csv_path: str | Path, root: str | Path | None = None, strip_prefix: str | None = None,
                   invert_labels: bool = False, dataset: str = "") -> list[ManifestRow]:
    """Import the original repository's CSV. Labels are taken as 1 = fake (``invert_labels`` flips).

    ``root``: relative paths are joined to it; absolute paths that do not exist here have
    ``strip_prefix`` removed (or, without one, only their file name kept) and are joined to it.
    ``Identi_Label``, ``Frame_Len``, ``Audio_Len``, ``FPS`` and ``AudioSamRate`` are not needed
    (prepare measures them) and are dropped.
    """
    csv_path = Path(csv_path)
    if not csv_path.exists():
        raise InputError(csv_path, "CSV not found", stage="manifest")
    base = Path(root) if root is not None else None
    rows = []
    with csv_path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in ("ID_Name", "Video_Path", "ENtire_Label") if c not in header]
        if missing:
            raise InputError(csv_path, f"not the paper's CSV format: lacks {', '.join(missing)}", stage="manifest")
        for line, raw in enumerate(reader, start=2):
            raw = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
            label = _label(raw.get("ENtire_Label", ""), csv_path, line, "ENtire_Label", invert_labels)
            if label is None:
                raise InputError(csv_path, f"line {line}: ENtire_Label is empty", stage="manifest")
            video = _remap(raw.get("Video_Path", ""), base, strip_prefix)
            audio = _remap(raw.get("Audio_Path", ""), base, strip_prefix)
            rows.append(ManifestRow(
                clip_id=raw["ID_Name"], video_path=video, audio_path="" if audio == video else audio, label=label,
                audio_label=_label(raw.get("Audio_Label", ""), csv_path, line, "Audio_Label", invert_labels),
                video_label=_label(raw.get("Video_Label", ""), csv_path, line, "Video_Label", invert_labels),
                sync_label=_label(raw.get("Sync_Label", ""), csv_path, line, "Sync_Label", invert_labels),
                method="real" if label == 0 else "unknown", dataset=dataset,
            ))
    return rows


def unique_ids(rows: Iterable[ManifestRow]) -> list[ManifestRow]:
    """Rows with duplicate clip ids disambiguated by a numeric suffix (``id~2``)."""
    seen: dict[str, int] = {}
    out = []
    for row in rows:
        count = seen.get(row.clip_id, 0) + 1
        seen[row.clip_id] = count
        if count > 1:
            row.clip_id = f"{row.clip_id}~{count}"
        out.append(row)
    return out
