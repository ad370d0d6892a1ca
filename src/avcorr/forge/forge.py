"""``avcorr forge``: cross-modal deepfakes made from real talking-face clips (docs/design.md §4).

For every real row of a sources manifest: decode it once, re-encode it as the real row of the
output (through the same encoder as the fakes, so compression is no cue), then make ``per_source``
forgeries with each method. Donors are paired deterministically from the seed: replacement speech
of another identity (or of the same identity for ``-self`` variants), TTS speech, or another
identity's face, preferring donors from the same split so that no clip leaks across splits.
With ``partial`` a random window [start, end) frames is manipulated, frame-exact: outside it the
frames are the source's and so is the audio (the replacement audio is cross-faded in over 15 ms
inside the window). Every fake keeps the source's frame count, size and audio length.

Output folder: ``videos/*.mp4``, ``manifest.csv`` (real rows and fakes, docs/design.md §3 columns plus
``fake_start_s``/``fake_end_s``), ``forgeries.jsonl`` (each fake's donors and drawn parameters),
``failures.csv`` and, with ``preview``, ``preview/<method>.png`` contact sheets.
"""
from __future__ import annotations

import csv
import json
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np

from avcorr.data.manifest import ManifestRow, read_manifest, write_manifest
from avcorr.errors import AvcorrError, ConfigError, InputError
from avcorr.forge.grammar import sample_sentence
from avcorr.forge.methods import (
    AudioDonor, FaceDonor, ForgeRequest, SourceClip, get_method, landmarks as lm, method_names,
)
from avcorr.forge.methods.speech import fit_audio, splice_window, visemes_from_phones
from avcorr.forge.tts import VoiceSpec, synthesize
from avcorr.media.decode import find_videos, read_audio, read_media
from avcorr.media.encode import write_video
from avcorr.media.face import FaceTracker
from avcorr.runtime import StageTimer, plain_json
from avcorr.teachers.phonetic.audio import PhoneRecognizer, grid_transcript

T = TypeVar("T")

DEFAULT_METHODS = ["audio-swap", "audio-swap-self", "tts-dub", "lip-rewrite", "lip-rewrite-self",
                   "still-talk", "still-talk-self", "face-swap"]
FACE_BANK_SIZE = 24  # donor frames kept per identity for face-swap
AUDIO_FADE_S = 0.015


@dataclass
class ForgeOptions:
    """What to forge. ``max_seconds`` caps each source (and its real row) for quick runs."""

    methods: list[str] = field(default_factory=lambda: list(DEFAULT_METHODS))
    per_source: int = 1
    seed: int = 0
    partial: bool = False
    preview: bool = False
    fps: float = 25.0
    max_seconds: float | None = None
    include_real: bool = True

    def validate(self) -> None:
        known = method_names()
        unknown = [m for m in self.methods if m not in known]
        if unknown:
            raise ConfigError(f"unknown forgery method(s) {', '.join(unknown)}; known: {', '.join(known)}")
        if self.per_source < 1:
            raise ConfigError("per_source must be at least 1")


@dataclass
class ForgeFailure:
    clip_id: str
    method: str
    stage: str
    reason: str


@dataclass
class ForgeReport:
    """What a run wrote: manifest rows (real and fake), failures, previews, frames and seconds."""

    out_dir: Path
    manifest_path: Path
    rows: list[ManifestRow]
    failures: list[ForgeFailure]
    previews: list[Path]
    frames_forged: int
    frames_written: int
    seconds: float
    stage_seconds: dict[str, float] = field(default_factory=dict)  # decode, track, phones, tts, forge:<method>, encode

    def summary(self) -> dict[str, Any]:
        by_method: dict[str, int] = {}
        for row in self.rows:
            by_method[row.method] = by_method.get(row.method, 0) + 1
        return {
            "out_dir": str(self.out_dir), "manifest": str(self.manifest_path), "clips": by_method,
            "failures": [f.__dict__ for f in self.failures], "previews": [str(p) for p in self.previews],
            "frames_written": self.frames_written, "seconds": round(self.seconds, 3),
            "frames_per_second": round(self.frames_written / self.seconds, 2) if self.seconds > 0 else None,
            "stage_seconds": {k: round(v, 3) for k, v in sorted(self.stage_seconds.items())},
        }


def sources_from_path(path: str | Path) -> list[ManifestRow]:
    """Real rows of a manifest CSV, or every video file of a folder (identity = file stem)."""
    path = Path(path)
    if path.is_dir():
        files = find_videos(path)
        if not files:
            raise InputError(path, "no video files in this folder", stage="manifest")
        return [ManifestRow(clip_id=p.stem, video_path=str(p.resolve()), label=0, source_id=p.stem) for p in files]
    rows = [r for r in read_manifest(path) if r.label == 0]
    if not rows:
        raise InputError(path, "the manifest has no real rows (label 0) to forge from", stage="manifest")
    return rows


def identity_of(row: ManifestRow) -> str:
    return row.source_id or row.clip_id


def forge_rng(seed: int, *keys: str | int) -> np.random.Generator:
    """A generator for one (source, method, k): stable across runs, platforms and method order."""
    words = [int(seed) & 0xFFFFFFFF] + [zlib.crc32(str(k).encode()) for k in keys]
    return np.random.default_rng(words)


class SourceStore:
    """Decoded clips, face tracks, phones and face banks of the sources, computed once and cached.

    Decoded frames are kept for the two most recent clips only (bounded memory); audio, tracks,
    phones and donor face banks are small and kept for all.
    """

    def __init__(self, rows: list[ManifestRow], fps: float, max_seconds: float | None,
                 timer: StageTimer | None = None) -> None:
        self.rows = {r.clip_id: r for r in rows}
        self.timer = timer or StageTimer()
        self.fps = fps
        self.max_frames = int(round(max_seconds * fps)) if max_seconds else None
        self._media: OrderedDict[str, Any] = OrderedDict()
        self._audio: dict[str, np.ndarray] = {}
        self._tracks: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._phones: dict[str, list] = {}
        self._banks: dict[str, FaceDonor] = {}
        self._tracker = None
        self._recognizer = None
        self.bad: dict[str, InputError] = {}

    def _timed(self, clip_id: str, stage: str, work: Callable[[], T]) -> T:
        """``work()``, its wall time added to ``stage``; an InputError is kept for the clip, so a
        bad clip fails at once the next time any stage asks for it."""
        started = time.perf_counter()
        try:
            return work()
        except InputError as exc:
            self.bad[clip_id] = exc
            raise
        finally:
            self.timer.add(stage, started)

    def media(self, clip_id: str) -> Any:
        if clip_id in self.bad:
            raise self.bad[clip_id]
        if clip_id in self._media:
            self._media.move_to_end(clip_id)
            return self._media[clip_id]

        row = self.rows[clip_id]
        clip = self._timed(clip_id, "decode", lambda: read_media(row.video_path, row.audio_path or None, fps=self.fps,
                                                                 max_frames=self.max_frames))
        self._media[clip_id] = clip
        self._audio.setdefault(clip_id, clip.audio)
        while len(self._media) > 2:
            self._media.popitem(last=False)
        return clip

    def audio(self, clip_id: str) -> np.ndarray:
        """The clip's 16 kHz audio; a donor's is decoded alone (no frames), a source's comes with its frames."""
        if clip_id in self.bad:
            raise self.bad[clip_id]
        if clip_id not in self._audio:
            row = self.rows[clip_id]
            limit = self.max_frames / self.fps if self.max_frames else None
            self._audio[clip_id] = self._timed(clip_id, "decode", lambda: (
                read_audio(row.audio_path, max_duration_s=limit, align_to_video=False) if row.audio_path
                else read_audio(row.video_path, max_duration_s=limit)))
        return self._audio[clip_id]

    def track(self, clip_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(landmarks (T, 478, 3), found (T,)) of the clip's main face; InputError(stage="track") if none."""
        if clip_id in self.bad:
            raise self.bad[clip_id]
        if clip_id not in self._tracks:
            clip = self.media(clip_id)
            if self._tracker is None:
                self._tracker = FaceTracker()
            track = self._timed(clip_id, "track", lambda: self._tracker.track(clip.frames, path=clip.path))
            self._tracks[clip_id] = (track.landmarks, track.found)
        return self._tracks[clip_id]

    def tracked_landmarks(self, clip_id: str) -> np.ndarray | None:
        """Landmarks if the clip was already tracked (no tracking is started for this)."""
        return self._tracks[clip_id][0] if clip_id in self._tracks else None

    def phones(self, clip_id: str) -> list:
        """Phones of the clip's whole audio: forced alignment when its name spells a GRID sentence."""
        if clip_id not in self._phones:
            audio = self.audio(clip_id)
            started = time.perf_counter()
            segments, _ = self._phone_recognizer().phones(audio, transcript=self._transcript(clip_id))
            self.timer.add("phones", started)
            self._phones[clip_id] = segments
        return self._phones[clip_id]

    def recognise(self, audio: np.ndarray) -> list:
        started = time.perf_counter()
        segments = self._phone_recognizer().phone_loop(audio)
        self.timer.add("phones", started)
        return segments

    def face_bank(self, clip_id: str) -> FaceDonor:
        """Up to FACE_BANK_SIZE frames of the clip spanning its lip openings, with their landmarks."""
        if clip_id not in self._banks:
            landmarks, found = self.track(clip_id)
            frames = self.media(clip_id).frames
            usable = np.flatnonzero(found) if found.any() else np.arange(len(found))
            opening = lm.mouth_opening(landmarks[usable])
            order = usable[np.argsort(opening, kind="stable")]
            picks = order[np.unique(np.linspace(0, len(order) - 1, min(FACE_BANK_SIZE, len(order))).round().astype(int))]
            self._banks[clip_id] = FaceDonor(frames=frames[picks].copy(), landmarks=landmarks[picks].copy(),
                                             source_id=identity_of(self.rows[clip_id]), clip_id=clip_id)
        return self._banks[clip_id]

    def _transcript(self, clip_id: str) -> str | None:
        return grid_transcript(self.rows[clip_id].video_path)

    def _phone_recognizer(self):
        if self._recognizer is None:
            self._recognizer = PhoneRecognizer()
        return self._recognizer


def run_forge(sources: str | Path | list[ManifestRow], out_dir: str | Path, options: ForgeOptions | None = None,
              on_step: Callable[[str], None] | None = None) -> ForgeReport:
    """Forge from every real source; a bad source or a failed forgery is recorded, never fatal."""
    options = options or ForgeOptions()
    options.validate()
    started = time.perf_counter()
    rows = sources if isinstance(sources, list) else sources_from_path(sources)
    out_dir = Path(out_dir)
    (out_dir / "videos").mkdir(parents=True, exist_ok=True)
    timer = StageTimer()
    store = SourceStore(rows, options.fps, options.max_seconds, timer)
    methods = [get_method(name) for name in options.methods]
    writer = _Writer(out_dir, timer)
    failures: list[ForgeFailure] = []
    previews: dict[str, list] = {}
    frames_forged = 0

    for row in rows:
        try:
            clip = store.media(row.clip_id)
        except InputError as exc:
            failures.append(ForgeFailure(row.clip_id, "real", exc.stage, exc.reason))
            _step(on_step, len(methods) * options.per_source)
            continue
        if options.include_real:
            writer.write(_real_row(row), clip.frames, clip.audio, clip.fps, clip.sample_rate, params=None)
        for method in methods:
            for k in range(options.per_source):
                clip_id = f"{row.clip_id}__{method.name}_{k}" if options.per_source > 1 else f"{row.clip_id}__{method.name}"
                try:
                    forged, window, meta = _forge_one(store, row, method, k, options)
                except (AvcorrError, ValueError) as exc:
                    stage = getattr(exc, "stage", "forge")
                    failures.append(ForgeFailure(clip_id, method.name, stage, getattr(exc, "reason", str(exc))))
                    _step(on_step, 1)
                    continue
                fake = _fake_row(row, clip_id, method, window, meta["audio_source_id"], options.fps)
                writer.write(fake, forged.frames, forged.audio, clip.fps, clip.sample_rate, params=meta)
                frames_forged += len(forged.frames)
                if options.preview and len(previews.setdefault(method.name, [])) < 3:
                    landmarks = store.tracked_landmarks(row.clip_id)
                    previews[method.name].append(_preview_pick(clip.frames, forged.frames, landmarks, window, fake.clip_id))
                _step(on_step, 1)

    writer.close()
    manifest_path = write_manifest(out_dir / "manifest.csv", writer.rows, relative_to=out_dir)
    _write_failures(out_dir / "failures.csv", failures)
    written: list[Path] = []
    if options.preview:
        from avcorr.forge.preview import write_contact_sheet  # lazy: cv2, for previews only

        for name, picks in previews.items():
            written.append(write_contact_sheet(out_dir / "preview" / f"{name}.png", name, picks))
    return ForgeReport(out_dir=out_dir, manifest_path=manifest_path, rows=writer.rows, failures=failures,
                       previews=written, frames_forged=frames_forged, frames_written=writer.frames,
                       seconds=time.perf_counter() - started, stage_seconds=dict(timer.seconds))


def _forge_one(store: SourceStore, row: ManifestRow, method, k: int, options: ForgeOptions):
    """Make one forgery; returns (ForgedClip with window applied, window or None, audit record)."""
    rng = forge_rng(options.seed, row.clip_id, method.name, k)
    clip = store.media(row.clip_id)
    num_frames, sample_rate = clip.num_frames, clip.sample_rate
    landmarks = found = None
    if method.needs_face:
        landmarks, found = store.track(row.clip_id)
    window = _draw_window(num_frames, options.fps, rng) if options.partial else None
    audio_donor = _audio_donor(store, row, method, rng, num_frames, sample_rate, options.fps)
    face_donor = None
    if method.needs_face_donor:
        donor_id = _pick_donor(store, row, rng, same_identity=False, need_face=True)
        face_donor = store.face_bank(donor_id)
    clip = store.media(row.clip_id)  # donors may have pushed the source out of the frame cache
    source = SourceClip(clip_id=row.clip_id, identity=identity_of(row), frames=clip.frames, audio=clip.audio,
                        fps=clip.fps, sample_rate=sample_rate, landmarks=landmarks, found=found)
    started = time.perf_counter()
    forged = method.forge(ForgeRequest(source=source, rng=rng, audio_donor=audio_donor, face_donor=face_donor, window=window))
    store.timer.add(f"forge:{method.name}", started)
    frames, audio = forged.frames, np.asarray(forged.audio, dtype=np.float32)
    if len(audio) != len(clip.audio) or frames.shape != clip.frames.shape:
        raise ValueError(f"{method.name} changed the clip's length or size")
    if window is not None:
        start, end = window
        kept = clip.frames.copy()
        kept[start:end] = frames[start:end]
        frames = kept
        a, b = int(round(start * sample_rate / options.fps)), int(round(end * sample_rate / options.fps))
        audio = splice_window(clip.audio, audio, a, b, int(AUDIO_FADE_S * sample_rate))
    forged.frames, forged.audio = frames, audio
    meta = {
        "method": method.name, "source": row.clip_id, "k": k, "seed": options.seed,
        "window_frames": list(window) if window else None,
        "audio_source_id": audio_donor.source_id if audio_donor else identity_of(row),
        "audio_donor": _donor_record(audio_donor), "face_donor": face_donor.clip_id if face_donor else None,
        "params": forged.params,
    }
    return forged, window, meta


def _audio_donor(store: SourceStore, row: ManifestRow, method, rng: np.random.Generator,
                 num_frames: int, sample_rate: int, fps: float) -> AudioDonor | None:
    kind = method.audio_donor
    if kind == "none":
        return None
    n = int(round(num_frames * sample_rate / fps))
    if kind == "tts":
        source_audio = store.media(row.clip_id).audio
        started = time.perf_counter()
        donor = _tts_donor(source_audio, n, num_frames, sample_rate, fps, rng, method.needs_visemes)
        store.timer.add("tts", started)
        return donor
    donor_id = _pick_donor(store, row, rng, same_identity=kind == "self", need_face=False)
    if donor_id == row.clip_id:
        # The same recording, another stretch: rotate by ≥ 1 s (at least a third of the clip), fade the seam.
        source_audio = store.media(row.clip_id).audio  # exactly N samples, fitted to the frames
        shift = int(rng.integers(max(sample_rate, len(source_audio) // 3), max(sample_rate + 1, len(source_audio) - sample_rate)))
        audio = _rotate_with_fade(source_audio, shift, int(0.03 * sample_rate))
        visemes = None
        if method.needs_visemes:
            visemes = visemes_from_phones(store.recognise(audio), num_frames, fps)
        return AudioDonor(audio=audio, source_id=identity_of(row), clip_id=row.clip_id, kind="self",
                          visemes=visemes, viseme_origin="phone_loop", text="")
    donor_audio = store.audio(donor_id)
    audio, offset = fit_audio(donor_audio, n, rng, sample_rate)
    visemes = None
    if method.needs_visemes:
        if len(donor_audio) >= n:
            visemes = visemes_from_phones(store.phones(donor_id), num_frames, fps, offset_s=-offset / sample_rate)
        else:
            visemes = visemes_from_phones(store.recognise(audio), num_frames, fps)
    return AudioDonor(audio=audio, source_id=identity_of(store.rows[donor_id]), clip_id=donor_id, kind=kind,
                      visemes=visemes, viseme_origin="pocketsphinx")


def _pick_donor(store: SourceStore, row: ManifestRow, rng: np.random.Generator, same_identity: bool, need_face: bool) -> str:
    """Another clip (same or other identity), same split first; the source itself for self without a twin.

    Face donors are drawn among the third of candidates whose typical head pose is closest to the
    source's: a 2-D warp across very different poses bends the face beyond what a swap would show.
    """
    me = identity_of(row)
    pool = [r for r in store.rows.values() if r.clip_id != row.clip_id and (identity_of(r) == me) == same_identity
            and r.clip_id not in store.bad]
    same_split = [r for r in pool if r.split == row.split]
    pool = same_split or pool
    order = [pool[i] for i in rng.permutation(len(pool))]
    if need_face:
        usable = []
        for candidate in order:
            try:
                usable.append((candidate.clip_id, _typical_pose(store.track(candidate.clip_id)[0])))
            except InputError:
                continue
        if usable:
            mine = _typical_pose(store.track(row.clip_id)[0])
            ranked = sorted(usable, key=lambda item: float(np.linalg.norm(item[1] - mine)))
            closest = ranked[:max(1, int(np.ceil(len(ranked) / 3)))]
            return closest[int(rng.integers(len(closest)))][0]
    else:
        for candidate in order:
            try:
                store.audio(candidate.clip_id)
                return candidate.clip_id
            except InputError:
                continue
    if same_identity:
        return row.clip_id
    raise InputError(row.video_path, "no usable donor of another identity among the sources", stage="pair")


def _typical_pose(landmarks: np.ndarray) -> np.ndarray:
    return np.median(lm.head_pose_proxy(landmarks[..., :2]), axis=0)


def _tts_donor(source_audio: np.ndarray, n: int, num_frames: int, sample_rate: int, fps: float,
               rng: np.random.Generator, with_visemes: bool) -> AudioDonor:
    """TTS speech of random sentences (one random voice) filling exactly n samples, with phones, at the
    source's background-noise level so that digital silence is no cue."""
    voice = VoiceSpec.sample(rng)
    pieces: list[np.ndarray] = []
    phones: list = []
    texts: list[str] = []
    cursor = int(rng.uniform(0.05, 0.4) * sample_rate)
    pieces.append(np.zeros(cursor, dtype=np.float32))
    while cursor < n:
        sentence = sample_sentence(rng)
        speech = synthesize(sentence.spoken, voice, sample_rate=sample_rate, peak=float(rng.uniform(0.4, 0.8)))
        text = sentence.transcript
        offset = cursor / sample_rate
        phones.extend(_shifted(p, offset) for p in speech.phones)
        pieces.append(speech.audio)
        texts.append(text)
        cursor += len(speech.audio)
        pause = int(rng.uniform(0.15, 0.6) * sample_rate)
        pieces.append(np.zeros(pause, dtype=np.float32))
        cursor += pause
    audio = np.concatenate(pieces)[:n]
    floor = _noise_floor(source_audio, sample_rate)
    audio = audio + rng.normal(scale=floor * rng.uniform(0.3, 1.0), size=len(audio)).astype(np.float32)
    visemes = visemes_from_phones(phones, num_frames, fps) if with_visemes else None
    return AudioDonor(audio=audio.astype(np.float32), source_id=f"tts:{voice.name}", clip_id="", kind="tts",
                      visemes=visemes, viseme_origin="tts", text=" | ".join(texts))


def _shifted(phone, offset_s: float):
    from dataclasses import replace

    return replace(phone, start_s=phone.start_s + offset_s, end_s=phone.end_s + offset_s)


def _noise_floor(audio: np.ndarray, sample_rate: int) -> float:
    """RMS of the quietest 10% of 20 ms frames: the recording's background level."""
    hop = max(1, int(0.02 * sample_rate))
    frames = audio[: len(audio) // hop * hop].reshape(-1, hop)
    if len(frames) == 0:
        return 0.0
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    return float(np.percentile(rms, 10))


def _rotate_with_fade(audio: np.ndarray, shift: int, fade: int) -> np.ndarray:
    rotated = np.roll(np.asarray(audio, dtype=np.float32), -shift)
    seam = len(audio) - shift
    fade = min(fade, seam, shift)
    if fade > 0:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, fade, dtype=np.float32))
        rotated[seam - fade:seam] *= ramp[::-1]
        rotated[seam:seam + fade] *= ramp[: len(rotated[seam:seam + fade])]
    return rotated


def _draw_window(num_frames: int, fps: float, rng: np.random.Generator) -> tuple[int, int]:
    """A random [start, end) frames covering 25–60% of the clip, at least 1 s (or the whole clip)."""
    shortest = min(num_frames, max(int(round(fps)), int(0.25 * num_frames)))
    longest = min(num_frames, max(shortest, int(0.6 * num_frames)))
    length = int(rng.integers(shortest, longest + 1))
    start = int(rng.integers(0, num_frames - length + 1))
    return start, start + length


def _real_row(row: ManifestRow) -> ManifestRow:
    ident = identity_of(row)
    return ManifestRow(clip_id=row.clip_id, video_path="", label=0, audio_label=0, video_label=0, sync_label=0,
                       method="real", source_id=ident, audio_source_id=ident, split=row.split,
                       dataset=row.dataset or "avcorr-forge")


def _fake_row(row: ManifestRow, clip_id: str, method, window: tuple[int, int] | None, audio_source_id: str,
              fps: float) -> ManifestRow:
    labels = method.labels
    return ManifestRow(
        clip_id=clip_id, video_path="", label=1, audio_label=labels.audio_label, video_label=labels.video_label,
        sync_label=labels.sync_label, method=method.name, source_id=identity_of(row), audio_source_id=audio_source_id,
        split=row.split, dataset=row.dataset or "avcorr-forge",
        fake_start_s=round(window[0] / fps, 6) if window else None, fake_end_s=round(window[1] / fps, 6) if window else None,
    )


def _donor_record(donor: AudioDonor | None) -> dict[str, Any] | None:
    if donor is None:
        return None
    return {"clip_id": donor.clip_id, "source_id": donor.source_id, "kind": donor.kind,
            "viseme_origin": donor.viseme_origin, "text": donor.text}


class _Writer:
    """Encodes clips into ``videos/`` and collects their manifest rows and audit records."""

    def __init__(self, out_dir: Path, timer: StageTimer) -> None:
        self.out_dir = out_dir
        self.timer = timer
        self.rows: list[ManifestRow] = []
        self.frames = 0
        self._audit = (out_dir / "forgeries.jsonl").open("w")

    def write(self, row: ManifestRow, frames: np.ndarray, audio: np.ndarray, fps: float, sample_rate: int,
              params: dict[str, Any] | None) -> None:
        path = self.out_dir / "videos" / f"{row.clip_id}.mp4"
        started = time.perf_counter()
        write_video(path, frames, audio, fps=fps, sample_rate=sample_rate)
        self.timer.add("encode", started)
        row.video_path = str(path)
        self.rows.append(row)
        self.frames += len(frames)
        if params is not None:
            self._audit.write(json.dumps(plain_json({"clip_id": row.clip_id, **params}), default=str) + "\n")
            self._audit.flush()


    def close(self) -> None:
        self._audit.close()


def _write_failures(path: Path, failures: list[ForgeFailure]) -> None:
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["clip_id", "method", "stage", "reason"])
        for f in failures:
            out.writerow([f.clip_id, f.method, f.stage, f.reason])


def _preview_pick(source: np.ndarray, forged: np.ndarray, landmarks: np.ndarray | None,
                  window: tuple[int, int] | None, clip_id: str):
    """The frame (inside the window) where the forgery differs most from the source, for the sheet."""
    from avcorr.forge.preview import PreviewFrame  # lazy: cv2, for previews only

    start, end = window if window else (0, len(source))
    diffs = [float(np.mean(np.abs(forged[t].astype(np.int16) - source[t].astype(np.int16)))) for t in range(start, end)]
    t = start + int(np.argmax(diffs)) if diffs else start
    box = lm.mouth_box(landmarks[t], scale=1.8) if landmarks is not None else None
    return PreviewFrame(clip_id=clip_id, frame_index=t, source=source[t].copy(), forged=forged[t].copy(), mouth_box=box)


def _step(on_step: Callable[[str], None] | None, count: int) -> None:
    if on_step is not None:
        for _ in range(count):
            on_step("")
