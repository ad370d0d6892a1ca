"""``synth``: real-looking talking-face clips rendered from scratch, so tests and demos need no data.

Each clip is one synthetic person (:class:`~avcorr.forge.face_render.FaceIdentity`, with a voice
of their own) saying one or two GRID sentences with eSpeak NG; the mouth follows the phone
timings of the speech with coarticulation, the head moves, the eyes blink, and the frames get
optical blur, sensor noise and H.264 compression. Clips of one identity share face and voice
(``_self`` forgeries need that); several clips per identity differ in sentence, motion and noise.

Determinism: identity ``i`` is drawn from ``SeedSequence([seed, 0, i])`` and clip ``j`` from
``SeedSequence([seed, 1, j])``; the same seed gives byte-identical mp4 files, phone files and
manifest, whatever the number of workers.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from avcorr.data.manifest import ManifestRow, write_manifest
from avcorr.forge.articulation import head_track, loudness_envelope, mouth_track
from avcorr.forge.face_render import FaceIdentity, FaceRenderer
from avcorr.forge.grammar import sample_utterance
from avcorr.forge.room import add_room
from avcorr.forge.tts import Speech, TimedPhone, VoiceSpec, synthesize
from avcorr.media.encode import write_video

MIN_DURATION_S = 2.0
MAX_DURATION_S = 6.0


@dataclass
class SynthOptions:
    """Knobs of :func:`synthesize_dataset`. ``size`` in pixels (square frames), ``fps`` frames/s."""

    clips: int = 8
    seed: int = 0
    size: int = 256
    fps: float = 25.0
    sample_rate: int = 16000
    identities: int | None = None  # default: one identity per two clips
    workers: int = 1
    crf_range: tuple[int, int] = (20, 28)


@dataclass
class SynthIdentity:
    """A synthetic person: face and voice."""

    face: FaceIdentity
    voice: VoiceSpec


@dataclass
class SynthClip:
    """What :func:`render_clip` made: the paths and the clip's facts."""

    clip_id: str
    video_path: Path
    phones_path: Path
    identity_id: str
    num_frames: int
    duration_s: float
    transcript: str


@dataclass
class SynthResult:
    clips: list[SynthClip] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    manifest_path: Path | None = None


def sample_identity(seed: int, index: int) -> SynthIdentity:
    """Identity ``index`` of a dataset drawn with ``seed`` (face, then a voice of matching gender)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0, int(index)]))
    face = FaceIdentity.sample(rng, identity_id=f"synth_id{index:04d}")
    feminine = face.hair_style in ("long", "bun", "bob") and face.beard == 0
    gender = "female" if (feminine if rng.random() < 0.8 else not feminine) else "male"
    return SynthIdentity(face=face, voice=VoiceSpec.sample(rng, gender=gender))


def clip_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), 1, int(index)]))


def speak_clip(identity: SynthIdentity, rng: np.random.Generator, sample_rate: int = 16000) -> tuple[Speech, list[str], str]:
    """Speech of 1–2 GRID sentences that fits in the clip length limits, with this clip's rate."""
    voice = identity.voice
    for attempt in range(4):
        sentences = sample_utterance(rng, 1 if attempt >= 2 or rng.random() < 0.55 else 2)
        rate = int(np.clip(voice.rate_wpm + rng.integers(-10, 11) + 15 * attempt, 80, 300))
        clip_voice = VoiceSpec(voice.voice, voice.variant, rate, voice.pitch, voice.pitch_range, voice.word_gap_10ms)
        text = " ".join(s.spoken for s in sentences)
        speech = synthesize(text, clip_voice, sample_rate=sample_rate, peak=float(rng.uniform(0.45, 0.85)))
        if speech.duration_s <= MAX_DURATION_S - 0.4:
            return speech, [s.transcript for s in sentences], text
    return speech, [s.transcript for s in sentences], text


def place_speech(speech: Speech, rng: np.random.Generator, fps: float) -> tuple[np.ndarray, list[TimedPhone], int, float]:
    """Pad the speech with silence into a 2–6 s clip of whole frames; shift the phones to match.

    Returns (audio, phones, num_frames, lead_s).
    """
    sr = speech.sample_rate
    lead = float(rng.uniform(0.1, 0.45))
    tail = float(rng.uniform(0.15, 0.5))
    duration = float(np.clip(speech.duration_s + lead + tail, MIN_DURATION_S, MAX_DURATION_S))
    if speech.duration_s + lead > duration:
        lead = max(0.0, duration - speech.duration_s)
    num_frames = int(math.floor(duration * fps))
    total = int(round(num_frames / fps * sr))
    audio = np.zeros(total, np.float32)
    start = int(round(lead * sr))
    piece = speech.audio[: max(0, total - start)]
    audio[start:start + len(piece)] = piece
    lead = start / sr
    end_s = total / sr
    phones: list[TimedPhone] = []
    if lead > 0:
        phones.append(TimedPhone(0.0, lead, "SIL", "sil"))
    for p in speech.phones:
        a, b = p.start_s + lead, min(p.end_s + lead, end_s)
        if a >= end_s:
            break
        if phones and phones[-1].phone == p.phone:  # merge a leading SIL with the lead-in
            prev = phones.pop()
            a = prev.start_s
        phones.append(TimedPhone(round(a, 6), round(b, 6), p.phone, p.viseme, p.espeak))
    if phones[-1].end_s < end_s:
        if phones[-1].phone == "SIL":
            last = phones.pop()
            phones.append(TimedPhone(last.start_s, end_s, "SIL", "sil", last.espeak))
        else:
            phones.append(TimedPhone(phones[-1].end_s, end_s, "SIL", "sil"))
    return audio, phones, num_frames, lead


def render_clip(index: int, out_dir: Path, options: SynthOptions) -> SynthClip:
    """Render clip ``index`` of the dataset into ``out_dir`` (mp4 + phones JSON)."""
    identities = options.identities or max(1, math.ceil(options.clips / 2))
    identity_index = index % identities
    identity = sample_identity(options.seed, identity_index)
    rng = clip_rng(options.seed, index)
    clip_id = f"synth_{index:05d}"

    speech, transcripts, spoken = speak_clip(identity, rng, options.sample_rate)
    audio, phones, num_frames, lead = place_speech(speech, rng, options.fps)
    audio = add_room(audio, rng, options.sample_rate)

    envelope = loudness_envelope(audio, options.sample_rate, num_frames, options.fps)
    mouth = mouth_track(phones, num_frames, options.fps, strength=identity.face.articulation,
                        lead_s=float(rng.uniform(0.0, 0.04)), envelope=envelope)
    head = head_track(num_frames, options.fps, rng, phones, liveliness=float(rng.uniform(0.6, 1.3)))

    renderer = FaceRenderer(identity.face, options.size, seed=int(rng.integers(2**31)))
    noise_sigma = float(rng.uniform(1.0, 3.5))
    blur_sigma = float(rng.uniform(0.3, 0.8))
    flicker = 1.0 + 0.01 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * np.arange(num_frames) / options.fps + rng.uniform(0, 6.3))
    exposure = float(rng.uniform(0.92, 1.06))
    noise_rng = np.random.default_rng(int(rng.integers(2**31)))
    frames = np.empty((num_frames, options.size, options.size, 3), np.uint8)
    for t in range(num_frames):
        frames[t] = renderer.render(mouth.frame(t), head.frame(t), noise_sigma=noise_sigma, blur_sigma=blur_sigma,
                                    gain=exposure * float(flicker[t]), noise_rng=noise_rng)

    crf = int(rng.integers(options.crf_range[0], options.crf_range[1] + 1))
    video_path = write_video(out_dir / f"{clip_id}.mp4", frames, audio, fps=options.fps,
                             sample_rate=options.sample_rate, crf=crf)
    duration = num_frames / options.fps
    phones_path = out_dir / f"{clip_id}.phones.json"
    record = {
        "clip_id": clip_id,
        "identity_id": identity.face.identity_id,
        "transcript": " ".join(transcripts),
        "sentences": transcripts,
        "spoken_text": spoken,
        "voice": asdict(speech.voice),
        "fps": options.fps,
        "num_frames": num_frames,
        "duration_s": duration,
        "sample_rate": options.sample_rate,
        "speech_start_s": lead,
        "crf": crf,
        "phones": [asdict(p) for p in phones],
        "mouth_open": [round(float(v), 4) for v in mouth.open],
        "blink": [round(float(v), 3) for v in head.blink],
    }
    phones_path.write_text(json.dumps(record, indent=1))
    return SynthClip(clip_id, video_path, phones_path, identity.face.identity_id, num_frames, duration, record["transcript"])


def _render_job(args: tuple[int, str, SynthOptions]) -> tuple[int, SynthClip | None, str]:
    index, out_dir, options = args
    try:
        return index, render_clip(index, Path(out_dir), options), ""
    except Exception as exc:  # noqa: BLE001 - a batch goes on past a bad clip
        return index, None, f"{exc.__class__.__name__}: {exc}"


def synthesize_dataset(out_dir: str | Path, options: SynthOptions,
                       on_clip: Callable[[int], None] | None = None) -> SynthResult:
    """Render ``options.clips`` clips into ``out_dir`` and write ``out_dir/manifest.csv`` (all real)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(i, str(out_dir), options) for i in range(options.clips)]
    results: dict[int, SynthClip] = {}
    failures: list[tuple[str, str]] = []

    def collect(item: tuple[int, SynthClip | None, str]) -> None:
        index, clip, error = item
        if clip is None:
            failures.append((f"synth_{index:05d}", error))
        else:
            results[index] = clip
        if on_clip is not None:
            on_clip(index)

    if options.workers > 1 and options.clips > 1:
        import multiprocessing as mp

        # fork: workers inherit the imports; eSpeak is never initialised in the parent
        with mp.get_context("fork").Pool(min(options.workers, options.clips)) as pool:
            for item in pool.imap_unordered(_render_job, jobs):
                collect(item)
    else:
        for job in jobs:
            collect(_render_job(job))

    rows = [
        ManifestRow(clip_id=clip.clip_id, video_path=str(clip.video_path), label=0, audio_label=0, video_label=0,
                    sync_label=0, method="real", source_id=clip.identity_id, audio_source_id=clip.identity_id,
                    dataset="synth")
        for _, clip in sorted(results.items())
    ]
    manifest = write_manifest(out_dir / "manifest.csv", rows, relative_to=out_dir)
    return SynthResult(clips=[results[i] for i in sorted(results)], failures=sorted(failures), manifest_path=manifest)
