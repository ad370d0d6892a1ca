"""The audio side of the phonetic teacher: speech → phones with times → visemes per video frame.

pocketsphinx's en-US acoustic model (shipped in its wheel) decodes phones either with a phone
loop (no transcript needed; noisy but language-model free) or by forced alignment when the
transcript is known (accurate timings). Phones become the 15 visemes of
:mod:`avcorr.teachers.visemes`; each video frame gets the share of its time each viseme
occupies, then a light temporal smoothing and a little uniform mass, because phone boundaries
are uncertain by a frame or two and lips anticipate and trail the sound (coarticulation).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avcorr.errors import MissingModelError
from avcorr.teachers.visemes import VISEME_INDEX, VISEMES, phone_to_viseme

SAMPLE_RATE = 16000
#: pocketsphinx analyses audio at 100 frames per second.
DECODER_FRAME_RATE = 100.0


@dataclass(frozen=True)
class PhoneSegment:
    """One recognised phone (ARPAbet, stress digits stripped) from ``start_s`` to ``end_s`` seconds."""

    phone: str
    start_s: float
    end_s: float


def _model_dir() -> Path:
    try:
        import pocketsphinx
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise MissingModelError("pocketsphinx is not installed (pip install pocketsphinx)") from exc
    root = Path(pocketsphinx.get_model_path()) / "en-us"
    if not (root / "en-us").is_dir():
        raise MissingModelError(f"pocketsphinx's en-US model is missing under {root}")
    return root


def _pcm16(audio: np.ndarray) -> bytes:
    audio = np.asarray(audio, dtype=np.float32).ravel()
    return (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()


class PhoneRecognizer:
    """pocketsphinx en-US phone recognition and forced alignment on 16 kHz mono float audio.

    A fresh decoder is built for every utterance (~0.1 s): pocketsphinx's live cepstral mean
    normalisation carries its estimate from one utterance to the next, so a reused decoder made a
    clip's phones depend on the clips decoded before it. One instance is not thread-safe.
    """

    def __init__(self, phone_lm_weight: float = 2.0) -> None:
        self.phone_lm_weight = phone_lm_weight

    def _phone_loop_decoder(self):
        from pocketsphinx import Decoder

        root = _model_dir()
        return Decoder(hmm=str(root / "en-us"), allphone=str(root / "en-us-phone.lm.bin"),
                       lw=self.phone_lm_weight, beam=1e-20, pbeam=1e-20, loglevel="FATAL")

    def _align_decoder(self):
        from pocketsphinx import Decoder

        root = _model_dir()
        return Decoder(hmm=str(root / "en-us"), dict=str(root / "cmudict-en-us.dict"), lm=None, loglevel="FATAL")

    def phone_loop(self, audio: np.ndarray) -> list[PhoneSegment]:
        """Phones of ``audio`` (16 kHz mono float in [-1, 1]) decoded with a phone n-gram, no words."""
        if len(audio) < SAMPLE_RATE // 10:
            return []
        decoder = self._phone_loop_decoder()
        decoder.start_utt()
        decoder.process_raw(_pcm16(audio), full_utt=True)
        decoder.end_utt()
        return [
            PhoneSegment(_clean(seg.word), seg.start_frame / DECODER_FRAME_RATE, (seg.end_frame + 1) / DECODER_FRAME_RATE)
            for seg in decoder.seg()
        ]

    def align(self, audio: np.ndarray, transcript: str) -> list[PhoneSegment] | None:
        """Phones of ``transcript`` aligned to ``audio``; None when alignment fails (unknown word, no path)."""
        words = normalize_transcript(transcript)
        if not words or len(audio) < SAMPLE_RATE // 10:
            return None
        decoder = self._align_decoder()
        if any(decoder.lookup_word(w) is None for w in words.split()):
            return None
        pcm = _pcm16(audio)
        try:
            decoder.set_align_text(words)
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            decoder.set_alignment()
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            alignment = decoder.get_alignment()
        except RuntimeError:
            return None
        if alignment is None:
            return None
        segments = []
        for word in alignment:
            for phone in word:
                start = phone.start / DECODER_FRAME_RATE
                segments.append(PhoneSegment(_clean(phone.name), start, start + phone.duration / DECODER_FRAME_RATE))
        return segments or None

    def phones(self, audio: np.ndarray, transcript: str | None = None) -> tuple[list[PhoneSegment], str]:
        """Forced alignment when a transcript is given and aligns, else the phone loop; also says which."""
        if transcript:
            aligned = self.align(audio, transcript)
            if aligned is not None:
                return aligned, "aligned"
        return self.phone_loop(audio), "phone_loop"


def _clean(phone: str) -> str:
    return phone.strip().upper().rstrip("012")


def normalize_transcript(text: str) -> str:
    """Lower-case words, digits spelt out, punctuation dropped (the aligner's dictionary form)."""
    digits = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    text = re.sub(r"\d", lambda m: f" {digits[int(m.group())]} ", text.lower())
    return " ".join(re.sub(r"[^a-z' ]+", " ", text).split())


_GRID_WORDS = (
    {"b": "bin", "l": "lay", "p": "place", "s": "set"},
    {"b": "blue", "g": "green", "r": "red", "w": "white"},
    {"a": "at", "b": "by", "i": "in", "w": "with"},
    None,  # the letter itself
    {"z": "zero", **{str(d): w for d, w in zip(range(1, 10), ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])}},
    {"a": "again", "n": "now", "p": "please", "s": "soon"},
)
_GRID_NAME = re.compile(r"(?:^|[_\W])([blps][bgrw][abiw][a-z][1-9z][anps])$")


def grid_transcript(name: str) -> str | None:
    """The sentence a GRID corpus file name spells (``bbaf2n`` → "bin blue at f two now"), else None."""
    match = _GRID_NAME.search(Path(name).stem.lower())
    if not match:
        return None
    code = match.group(1)
    words = [code[3] if table is None else table[ch] for table, ch in zip(_GRID_WORDS, code)]
    return " ".join(words)


def viseme_occupancy(segments: list[PhoneSegment], num_frames: int, fps: float = 25.0) -> np.ndarray:
    """(T, V) share of each video frame's interval [t/fps, (t+1)/fps) that each viseme occupies.

    Time no phone covers counts as silence, so every row sums to 1.
    """
    occupancy = np.zeros((num_frames, len(VISEMES)), dtype=np.float64)
    edges = np.arange(num_frames + 1) / fps
    for seg in segments:
        v = VISEME_INDEX[phone_to_viseme(seg.phone)]
        first = max(int(np.floor(seg.start_s * fps)), 0)
        last = min(int(np.ceil(seg.end_s * fps)), num_frames)
        for t in range(first, last):
            overlap = min(seg.end_s, edges[t + 1]) - max(seg.start_s, edges[t])
            if overlap > 0:
                occupancy[t, v] += overlap * fps
    covered = occupancy.sum(axis=1)
    occupancy[:, VISEME_INDEX["sil"]] += np.clip(1.0 - covered, 0.0, None)
    return (occupancy / occupancy.sum(axis=1, keepdims=True)).astype(np.float32)


def smooth_frames(x: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Gaussian smoothing along time (axis 0) with edge padding; sigma in video frames."""
    if sigma_frames <= 0 or len(x) < 2:
        return x
    radius = max(1, int(np.ceil(3 * sigma_frames)))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma_frames) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(x, [(radius, radius)] + [(0, 0)] * (x.ndim - 1), mode="edge")
    out = np.stack([np.convolve(padded[:, j], kernel, mode="valid") for j in range(x.shape[1])], axis=1)
    return out.astype(x.dtype)


def mix_uniform(p: np.ndarray, weight: float) -> np.ndarray:
    """(1 − weight)·p + weight/V: keeps divergences finite and tempers over-confident frames."""
    p = p / p.sum(axis=-1, keepdims=True)
    return ((1.0 - weight) * p + weight / p.shape[-1]).astype(np.float32)


def audio_viseme_posteriors(segments: list[PhoneSegment], num_frames: int, fps: float = 25.0,
                            sigma_frames: float = 1.0, uniform: float = 0.02) -> np.ndarray:
    """(T, V) audio-side viseme distribution per video frame from recognised phones."""
    occupancy = viseme_occupancy(segments, num_frames, fps)
    return mix_uniform(smooth_frames(occupancy, sigma_frames), uniform)
