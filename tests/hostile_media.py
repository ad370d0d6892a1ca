"""A generator of hostile media files for ``detect``: broken, odd and oddly named files built from
tiny synthetic clips, each with the outcome ``detect`` must give it.

Every damage is placed by construction, not by chance, so its consequence is known: a truncated
file whose index (``moov``) sits at the end has lost its index and cannot be read at all; one whose
index is at the front (``faststart``) keeps the share of its media before the cut (judged when that
share covers at least 2 s and half the declared length, else too little to judge); a renamed
``moov`` box hides the index; bit flips and zeroed bytes inside the media data leave most packets
decodable. Clips are 64×64 (odd ones 33×17), a few seconds, a tone for audio: the whole set is about
40 files and 2 MB, written in a few seconds.

:func:`outcome` turns a verdict (its JSON dict) into one line — ``judged``, ``too little: <reason>``
or ``failed: <reason>`` — which each :class:`Hostile` matches against its ``expect`` pattern.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from avcorr.media.encode import write_video
from media_fixtures import faststart, index_frames, tone, write_media

#: Seconds of the base clips: far from both "too little" limits (2 s, half the declared length)
#: after a 10 % or 90 % cut.
BASE_SECONDS = 4.0
JUDGED = r"^judged$"
TOO_LITTLE = r"^too little: "
UNREADABLE = r"^failed: .*(not a readable media file|moov|invalid data|cannot be decoded|no video stream)"


@dataclass
class Hostile:
    """One hostile file: its ``path``, what it is (``kind``), and the regular expression its
    :func:`outcome` line must match (``expect``). ``good``: a clean clip whose score must not depend
    on the company it keeps in a batch."""

    path: Path
    kind: str
    expect: str
    good: bool = False


def outcome(verdict: dict[str, Any]) -> str:
    """``judged``, ``too little: <reason>`` or ``failed: <reason>`` for one verdict of the detect JSON."""
    error = verdict.get("error")
    band = verdict.get("band") or verdict.get("verdict")
    if error is None and band not in (None, "too little to judge") and verdict.get("score") is not None:
        return "judged"
    reason = " ".join(str(error or (verdict.get("details") or {}).get("reason") or band).split())
    if band == "too little to judge" or re.search(r"too little to judge|could be decoded \(at least", reason):
        return f"too little: {reason}"
    return f"failed: {reason}"


def _frames(seconds: float, size: tuple[int, int] = (64, 64), fps: float = 25.0) -> np.ndarray:
    return index_frames(max(1, int(round(seconds * fps))), size)


def _write_av(path: Path, fmt: str, codec: str, pix_fmt: str, frames: np.ndarray | None, audio: np.ndarray | None,
              fps: float = 25.0, rotation: int = 0, audio_codec: str = "aac", options: dict[str, str] | None = None) -> Path:
    """A clip with a chosen container, video codec and pixel format (PyAV), mono audio at 16 kHz."""
    import av

    with av.open(str(path), "w", format=fmt, options=options or {}) as out:
        video = astream = None
        if frames is not None:
            video = out.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
            video.width, video.height, video.pix_fmt = frames.shape[2], frames.shape[1], pix_fmt
            if rotation:
                video.set_display_rotation(rotation)
        if audio is not None:
            astream = out.add_stream(audio_codec, rate=16000)
            astream.layout = "mono"
        if video is not None:
            for i, image in enumerate(frames):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24").reformat(format=pix_fmt)
                frame.pts = i
                out.mux(video.encode(frame))
            out.mux(video.encode(None))
        if astream is not None:
            size = astream.codec_context.frame_size or 1024
            fmt_name = astream.codec_context.format.name
            for k, start in enumerate(range(0, len(audio), size)):
                piece = np.pad(audio[start:start + size], (0, max(0, start + size - len(audio))))
                data = (piece * 32767).astype(np.int16)[None, :] if fmt_name.startswith("s16") else piece[None, :].astype(np.float32)
                frame = av.AudioFrame.from_ndarray(data, format=fmt_name, layout="mono")
                frame.sample_rate, frame.pts = 16000, k * size
                out.mux(astream.encode(frame))
            out.mux(astream.encode(None))
    return path


def _box(data: bytes, name: bytes) -> tuple[int, int]:
    """(offset, size) of the top-level mp4 box ``name``."""
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset:offset + 4], "big")
        if data[offset + 4:offset + 8] == name:
            return offset, size
        if size < 8:
            break
        offset += size
    raise ValueError(f"no {name!r} box")


def _flip_bits(data: bytes, start: int, end: int, count: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    out = bytearray(data)
    for position in rng.integers(start, end, count):
        out[position] ^= 1 << int(rng.integers(0, 8))
    return bytes(out)


def build_hostile_set(folder: Path) -> list[Hostile]:
    """Write the hostile files into ``folder`` (created); returns them with their expected outcomes."""
    folder.mkdir(parents=True, exist_ok=True)
    items: list[Hostile] = []

    def add(name: str, kind: str, expect: str, good: bool = False) -> Path:
        items.append(Hostile(folder / name, kind, expect, good))
        return folder / name

    audio = tone(BASE_SECONDS)
    work = folder / ".work"
    work.mkdir(exist_ok=True)
    moov_end = write_video(work / "base.mp4", _frames(BASE_SECONDS), audio)  # PyAV's mp4: index at the end
    fast = faststart(moov_end, work / "fast.mp4")
    end_bytes, fast_bytes = moov_end.read_bytes(), fast.read_bytes()
    assert _box(end_bytes, b"moov")[0] > _box(end_bytes, b"mdat")[0] and _box(fast_bytes, b"moov")[0] < _box(fast_bytes, b"mdat")[0]

    # clean clips in four containers, the index at either end
    add("good_moov_end.mp4", "clean", JUDGED, good=True).write_bytes(end_bytes)
    add("good_faststart.mp4", "clean", JUDGED, good=True).write_bytes(fast_bytes)
    for suffix in (".mkv", ".webm", ".avi", ".mov"):
        write_media(add(f"good{suffix}", "container", JUDGED, good=suffix == ".mkv"), _frames(BASE_SECONDS), audio)

    # truncations: the index at the end is lost with any cut; at the front, the share before the cut stays
    for share in (0.1, 0.5, 0.9):
        add(f"cut{int(share * 100)}_moov_end.mp4", "truncated", UNREADABLE).write_bytes(end_bytes[: int(len(end_bytes) * share)])
    mdat_at, mdat_size = _box(fast_bytes, b"mdat")
    for share, expect in ((0.1, TOO_LITTLE), (0.4, TOO_LITTLE), (0.95, JUDGED)):
        cut = mdat_at + 8 + int((mdat_size - 8) * share)
        add(f"cut{int(share * 100)}_faststart.mp4", "truncated", expect).write_bytes(fast_bytes[:cut])
    mkv = write_media(work / "base.mkv", _frames(BASE_SECONDS), audio).read_bytes()
    add("cut15.mkv", "truncated", TOO_LITTLE).write_bytes(mkv[: int(len(mkv) * 0.15)])
    add("cut2percent.mkv", "truncated", r"^(too little|failed): ").write_bytes(mkv[: int(len(mkv) * 0.02)])
    add("cut_in_header.mp4", "truncated", UNREADABLE).write_bytes(fast_bytes[:200])

    # headers: the index renamed or zeroed (unreadable); bit flips in the media data (most packets survive)
    moov_at, moov_size = _box(fast_bytes, b"moov")
    renamed = bytearray(fast_bytes)
    renamed[moov_at + 4:moov_at + 8] = b"mxov"
    add("moov_renamed.mp4", "header", UNREADABLE).write_bytes(bytes(renamed))
    zeroed = bytearray(fast_bytes)
    zeroed[moov_at:moov_at + moov_size] = bytes(moov_size)
    add("moov_zeroed.mp4", "header", UNREADABLE).write_bytes(bytes(zeroed))
    add("bitflips_header.mp4", "header", r"^(judged|failed: .+)$").write_bytes(
        _flip_bits(fast_bytes, moov_at + 8, moov_at + moov_size, 8, seed=1))
    add("bitflips_media.mp4", "media data", JUDGED).write_bytes(
        _flip_bits(fast_bytes, mdat_at + 8 + (mdat_size - 8) // 4, mdat_at + mdat_size, 20, seed=2))
    holes = bytearray(fast_bytes)
    hole = mdat_at + 8 + (mdat_size - 8) // 2
    holes[hole:hole + (mdat_size - 8) // 20] = bytes((mdat_size - 8) // 20)
    add("zeroed_media.mp4", "media data", JUDGED).write_bytes(bytes(holes))
    add("zeroed_start.mkv", "header", UNREADABLE).write_bytes(bytes(4096) + mkv[4096:])

    # wrong extensions: the content decides, not the name
    add("really_mp4.avi", "extension", JUDGED).write_bytes(fast_bytes)
    add("really_mkv.mp4", "extension", JUDGED).write_bytes(mkv)
    add("not_a_video.mp4", "extension", r"^failed: .*not a readable media file").write_text("hello, not a video\n" * 40)
    add("empty.mp4", "extension", r"^failed: .*empty").write_bytes(b"")

    # streams missing, and too little of them
    write_media(add("audio_only.mkv", "streams", r"^failed: .*no video stream"), None, audio)
    write_media(add("video_only.mkv", "streams", r"^failed: .*no audio"), _frames(BASE_SECONDS), None)
    write_media(add("one_frame.mkv", "streams", r"^(too little|failed): .*(frame|could be decoded)"), _frames(0.04), audio)
    write_video(add("one_second.mp4", "streams", TOO_LITTLE), _frames(1.0), tone(1.0))

    # odd rates, sizes, pixel formats, rotation
    _write_av(add("fps1.mkv", "rate", JUDGED), "matroska", "mpeg4", "yuv420p", _frames(BASE_SECONDS, fps=1.0), audio, fps=1.0)
    _write_av(add("fps120.mp4", "rate", JUDGED), "mp4", "libx264", "yuv420p", _frames(BASE_SECONDS, (32, 32), fps=120.0), audio, fps=120.0)
    frames = _frames(BASE_SECONDS)
    stamps = np.cumsum(np.r_[0.0, np.where(np.arange(len(frames) - 1) % 3 == 0, 0.06, 0.03)])
    write_media(add("vfr.mkv", "rate", JUDGED), frames, audio, timestamps_s=list(stamps * BASE_SECONDS / stamps[-1] * 0.99))
    _write_av(add("odd_33x17.mkv", "size", JUDGED), "matroska", "libx264", "yuv444p", _frames(BASE_SECONDS, (17, 33)), audio)
    _write_av(add("yuv444.mp4", "pixel format", JUDGED), "mp4", "libx264", "yuv444p", _frames(BASE_SECONDS), audio)
    _write_av(add("gray.mkv", "pixel format", JUDGED), "matroska", "ffv1", "gray", _frames(BASE_SECONDS), audio)
    _write_av(add("rotated90.mp4", "rotation", JUDGED), "mp4", "libx264", "yuv420p", _frames(BASE_SECONDS, (48, 64)), audio, rotation=90)

    # hostile names (the content is a clean clip)
    for name in ("L" * 240 + ".mp4", "vidéo 日本語 🙂.mp4", "a b  c.mp4", "-rf --help.mp4", "semi;colon$(x)`y`.mp4"):
        add(name, "name", JUDGED).write_bytes(fast_bytes)
    try:
        add("new\nline.mp4", "name", JUDGED).write_bytes(fast_bytes)
    except OSError:  # a file system without newlines in names
        items.pop()

    # not files at all
    loop = add("loop.mp4", "special", r"^failed: .*link loop")
    loop.symlink_to(loop.name)
    add("dangling.mp4", "special", r"^failed: .*(broken symbolic link|not found)").symlink_to("nowhere.mp4")
    if hasattr(os, "mkfifo"):
        os.mkfifo(add("fifo.mp4", "special", r"^failed: .*named pipe"))
    return items
