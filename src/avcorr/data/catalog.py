"""The wild corpus: ``catalog.csv`` and the clips it names, as :class:`CatalogClip` records.

The columns are those of ``../shared/data/catalog.csv``. ``file``, ``label`` (real|fake, or 1/0),
``generator``, ``manipulation`` and ``source_group`` are required; the other columns may be absent
or empty (text → "", numbers → 0 / NaN). A generator is reduced to its model family
(:func:`generator_family`) because variants of one model (JoyHallo of Hallo, Wav2Lip-HQ of
Wav2Lip) share its artefacts and must be held out together.
"""
from __future__ import annotations

import csv
import math
import re
import zlib
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Sequence

from avcorr.data.clip_cache import safe_name
from avcorr.errors import AvcorrError, InputError

CATALOG_NAME = "catalog.csv"
REQUIRED_COLUMNS = ("file", "label", "generator", "manipulation", "source_group")
REAL_FAMILY = "real"

# Normalized spelling (lower case, no spaces, dashes or underscores) → model family.
FAMILY_ALIASES: dict[str, str] = {
    "hallo": "Hallo", "joyhallo": "Hallo", "hallo2": "Hallo", "hallo3": "Hallo",
    "wav2lip": "Wav2Lip", "wav2liphq": "Wav2Lip", "wav2liphd": "Wav2Lip", "wav2lipv2": "Wav2Lip",
    "wav2lipgan": "Wav2Lip",
    "dreamtalk": "DreamTalk", "sadtalker": "SadTalker", "fantasytalking": "FantasyTalking", "float": "FLOAT",
    "sonic": "Sonic", "joyvasa": "JoyVASA", "joygen": "JoyGen", "musetalk": "MuseTalk",
    "styletalk": "StyleTalk", "latentsync": "LatentSync", "videoretalking": "VideoReTalking",
    "liveportrait": "LivePortrait", "echomimic": "EchoMimic", "aniportrait": "AniPortrait",
    "pcavs": "PC-AVS", "makeittalk": "MakeItTalk", "faceswap": "FaceSwap", "fsgan": "FSGAN",
    "simswap": "SimSwap", "deepfacelab": "DeepFaceLab",
}
_UNKNOWN = {"", "unknown", "not stated", "unstated", "none", "n/a", "na", "?"}
_VARIANT_SUFFIX = re.compile(r"(hq|hd|v\d+|gan|\+\+)$")
_PAIRS_WITH = re.compile(r"\bpairs with (?:the )?(real |fake )?(?:clip |video |recording )?([^\s;,]+)", re.IGNORECASE)


@dataclass(frozen=True)
class CatalogClip:
    """One clip of the corpus. ``label`` 1 = fake; ``family`` is ``real`` for real clips; sizes in pixels, seconds, frames/s."""

    clip_id: str
    path: Path
    label: int
    generator: str
    family: str
    manipulation: str
    source_group: str
    repo: str
    path_in_repo: str
    notes: str
    width: int
    height: int
    fps: float
    duration_s: float
    license: str


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.lower())


def generator_family(generator: str, manipulation: str = "") -> str:
    """The model family of a generator name, case-insensitively.

    Parenthetical suffixes are dropped ("DreamTalk (+super-resolution)" → DreamTalk), FAMILY_ALIASES
    maps variants to their family, a known family with a variant suffix (-HQ, -HD, _v2, …) maps to
    that family, an unknown or unstated generator becomes ``unknown <manipulation>``, and any other
    name is kept as written.
    """
    name = re.sub(r"\s*\([^)]*\)", "", generator or "").strip()
    key = _key(name)
    if key in _UNKNOWN or name.lower() in _UNKNOWN:
        return f"unknown {manipulation.strip()}".strip()
    if key in FAMILY_ALIASES:
        return FAMILY_ALIASES[key]
    stem = _VARIANT_SUFFIX.sub("", key)
    if stem in FAMILY_ALIASES:
        return FAMILY_ALIASES[stem]
    return name


def read_catalog(folder: str | Path, catalog: str | Path | None = None, check_files: bool = True) -> list[CatalogClip]:
    """The clips of ``folder/catalog.csv`` (or ``catalog``), paths made absolute under ``folder``.

    ``check_files`` requires every named file to exist. Families differing only in case are merged
    under their first spelling.
    """
    folder = Path(folder).resolve()
    path = Path(catalog) if catalog is not None else folder / CATALOG_NAME
    if not path.is_file():
        raise InputError(path, "catalog not found", stage="catalog")
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise InputError(path, f"missing column(s) {', '.join(missing)}", stage="catalog")
        clips = [_clip(row, folder, path, line) for line, row in enumerate(reader, start=2)]
    if not clips:
        raise InputError(path, "no clips listed", stage="catalog")
    seen: dict[str, int] = {}
    spelling: dict[str, str] = {}
    merged = []
    for index, clip in enumerate(clips):
        if clip.clip_id in seen:
            raise InputError(path, f"line {index + 2}: clip id {clip.clip_id!r} also on line {seen[clip.clip_id] + 2} "
                                   "(file names must differ)", stage="catalog")
        seen[clip.clip_id] = index
        family = spelling.setdefault(clip.family.lower(), clip.family)
        merged.append(clip if family == clip.family else replace(clip, family=family))
    if check_files:
        for index, clip in enumerate(merged):
            if not clip.path.is_file():
                raise InputError(clip.path, f"named on line {index + 2} of {path.name} but absent", stage="catalog")
    return merged


def _clip(row: dict[str, str | None], folder: Path, path: Path, line: int) -> CatalogClip:
    def text(name: str) -> str:
        return (row.get(name) or "").strip()

    def number(name: str, cast: type, default: float) -> float:
        raw = text(name)
        if raw == "":
            return default
        try:
            return cast(float(raw))
        except ValueError:
            raise InputError(path, f"line {line}: {name} {raw!r} is not a number", stage="catalog") from None

    file = text("file")
    if not file:
        raise InputError(path, f"line {line}: empty file cell", stage="catalog")
    label_text = text("label").lower()
    labels = {"real": 0, "0": 0, "fake": 1, "1": 1}
    if label_text not in labels:
        raise InputError(path, f"line {line}: label {text('label')!r} is neither real nor fake", stage="catalog")
    label = labels[label_text]
    group = text("source_group") or text("repo")
    if not group:
        raise InputError(path, f"line {line}: no source_group (nor repo) for {file}", stage="catalog")
    return CatalogClip(
        clip_id=safe_name(PurePosixPath(file).stem),
        path=folder / file,
        label=label,
        generator=text("generator"),
        family=generator_family(text("generator"), text("manipulation")) if label else REAL_FAMILY,
        manipulation=text("manipulation"),
        source_group=group,
        repo=text("repo"),
        path_in_repo=text("path_in_repo"),
        notes=text("notes"),
        width=int(number("width", int, 0)),
        height=int(number("height", int, 0)),
        fps=float(number("fps", float, math.nan)),
        duration_s=float(number("duration_s", float, math.nan)),
        license=text("license"),
    )


def paired_real(fake: CatalogClip, clips: Sequence[CatalogClip]) -> CatalogClip | None:
    """The real clip ``fake``'s notes name ("pairs with [real] X"), by path_in_repo within the same repo, else None.

    A full path matches path_in_repo; otherwise X's basename matches the basename of path_in_repo.
    """
    if fake.label != 1:
        return None
    match = _PAIRS_WITH.search(fake.notes)
    if match is None or (match.group(1) or "").strip().lower() == "fake":
        return None
    named = match.group(2).rstrip(".;,)")
    same_repo = [c for c in clips if c.label == 0 and c.repo == fake.repo]
    for clip in same_repo:
        if clip.path_in_repo == named:
            return clip
    base = PurePosixPath(named).name
    for clip in same_repo:
        if PurePosixPath(clip.path_in_repo).name == base:
            return clip
    return None


def cap_real_groups(clips: Sequence[CatalogClip], max_per_group: int | None) -> list[CatalogClip]:
    """``clips`` with at most ``max_per_group`` reals per source group (None: all). Reals a fake
    names as its pair are kept first; the rest by CRC-32 of the clip id (stable, order-free)."""
    if max_per_group is None:
        return list(clips)
    if max_per_group < 1:
        raise AvcorrError(f"need at least 1 real per source group, got {max_per_group}")
    paired = {p.clip_id for p in (paired_real(c, clips) for c in clips if c.label == 1) if p is not None}
    by_group: dict[str, list[CatalogClip]] = defaultdict(list)
    for clip in clips:
        if clip.label == 0:
            by_group[clip.source_group].append(clip)
    kept: set[str] = set()
    for reals in by_group.values():
        order = sorted(reals, key=lambda c: (c.clip_id not in paired, zlib.crc32(c.clip_id.encode())))
        kept |= {c.clip_id for c in order[:max_per_group]}
    return [c for c in clips if c.label == 1 or c.clip_id in kept]
