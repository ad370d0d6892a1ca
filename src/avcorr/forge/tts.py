"""Text to speech with phone timings: eSpeak NG (from the espeakng-loader wheel) through ctypes.

``synth`` voices its talking faces with it and ``forge tts-dub`` dubs real clips. eSpeak reports
a phoneme event with the sample index at which each phoneme starts; those events become
:class:`TimedPhone` records in ARPAbet and, through :func:`avcorr.teachers.visemes.phone_to_viseme`,
in the shared viseme vocabulary. Audio is resampled from eSpeak's 22 050 Hz to 16 kHz.

eSpeak keeps its state in the process and carries waveform state from one utterance to the
next, so each utterance is spoken in a freshly forked child (about 5–20 ms): the same text and
voice then give the same samples, in any process, at any time.
"""
from __future__ import annotations

import ctypes
import os
import pickle
import threading
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from avcorr.errors import AvcorrError
from avcorr.teachers.visemes import VISEME_INDEX, phone_to_viseme

#: English voices of the bundled eSpeak data (accents), and voice variants (timbre) that sound
#: like adult speakers. Left out: robotic and whispering variants, and those whose output
#: varies from run to run (f2, f3, f5, Alicia, sandro, victor: their breath noise).
ENGLISH_VOICES: tuple[str, ...] = ("en-us", "en-us", "en-us", "en", "en-gb-x-rp", "en-029", "en-gb-scotland", "en-us-nyc")
MALE_VARIANTS: tuple[str, ...] = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "adam", "Andy", "david", "john", "max", "paul", "rob", "ian", "norbert", "travis")
FEMALE_VARIANTS: tuple[str, ...] = ("f1", "f4", "Annie", "anika", "belinda", "linda", "steph", "steph2", "aunty")


class TTSError(AvcorrError):
    """eSpeak NG could not be loaded or refused a voice or a text."""


@dataclass(frozen=True)
class VoiceSpec:
    """One speaker: eSpeak voice (accent), variant (timbre), rate (words/min), pitch and range (0–99)."""

    voice: str = "en-us"
    variant: str = "m3"
    rate_wpm: int = 165
    pitch: int = 50
    pitch_range: int = 50
    word_gap_10ms: int = 0

    @property
    def name(self) -> str:
        return f"{self.voice}+{self.variant}" if self.variant else self.voice

    @staticmethod
    def sample(rng: np.random.Generator, gender: str | None = None) -> "VoiceSpec":
        """A random speaker; ``gender`` 'male'/'female' picks the variant set (else either)."""
        if gender is None:
            gender = "female" if rng.random() < 0.5 else "male"
        variants = FEMALE_VARIANTS if gender == "female" else MALE_VARIANTS
        base_pitch = 60 if gender == "female" else 40
        return VoiceSpec(
            voice=str(rng.choice(ENGLISH_VOICES)),
            variant=str(rng.choice(variants)),
            rate_wpm=int(rng.integers(135, 195)),
            pitch=int(np.clip(base_pitch + rng.integers(-15, 16), 5, 95)),
            pitch_range=int(rng.integers(30, 80)),
            word_gap_10ms=int(rng.integers(0, 3)),
        )


@dataclass(frozen=True)
class TimedPhone:
    """One phone: [start_s, end_s) in seconds of the speech audio, ARPAbet ``phone``, its viseme."""

    start_s: float
    end_s: float
    phone: str
    viseme: str
    espeak: str = ""


@dataclass
class Speech:
    """Synthesized speech: ``audio`` (N,) float32 in [-1, 1] at ``sample_rate`` Hz and its phones.

    ``phones`` are contiguous and cover [0, duration_s] (silence included as ``SIL``).
    """

    audio: np.ndarray
    sample_rate: int
    phones: list[TimedPhone]
    text: str = ""
    voice: VoiceSpec = field(default_factory=VoiceSpec)

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.sample_rate


# eSpeak's English phoneme mnemonics (stress marks removed) → ARPAbet. A few diphthongs with a
# following r-colouring become two phones; the event's time is split evenly between them.
ESPEAK_TO_ARPABET: dict[str, tuple[str, ...]] = {
    # vowels
    "@": ("AH",), "@-": ("AH",), "@2": ("AH",), "@5": ("AH",), "@L": ("AH", "L"), "@r": ("ER",),
    "3": ("ER",), "3:": ("ER",), "a": ("AE",), "a#": ("AH",), "aa": ("AE",), "A:": ("AA",), "A": ("AA",),
    "A#": ("AA",), "A@": ("AA", "R"), "aI": ("AY",), "aI2": ("AY",), "aI@": ("AY", "ER"), "aI3": ("AY", "ER"),
    "aU": ("AW",), "aU@": ("AW", "ER"), "E": ("EH",), "e": ("EH",), "E2": ("EH",), "e@": ("EH", "R"),
    "eI": ("EY",), "i": ("IY",), "i:": ("IY",), "I": ("IH",), "I#": ("IH",), "I2": ("IH",), "i@": ("IH",),
    "i@3": ("IH", "ER"), "0": ("AA",), "O": ("AO",), "O:": ("AO",), "O2": ("AO",), "O@": ("AO", "R"),
    "o@": ("AO", "R"), "OI": ("OY",), "oU": ("OW",), "oU#": ("OW",), "o": ("OW",), "u:": ("UW",), "u": ("UW",),
    "U": ("UH",), "U@": ("UH", "R"), "u@": ("UH", "R"), "V": ("AH",), "y": ("UW",),
    # consonants
    "p": ("P",), "b": ("B",), "t": ("T",), "d": ("D",), "k": ("K",), "g": ("G",), "f": ("F",), "v": ("V",),
    "T": ("TH",), "D": ("DH",), "s": ("S",), "z": ("Z",), "S": ("SH",), "Z": ("ZH",), "tS": ("CH",),
    "dZ": ("JH",), "h": ("HH",), "x": ("HH",), "C": ("HH",), "m": ("M",), "n": ("N",), "N": ("NG",),
    "l": ("L",), "r": ("R",), "w": ("W",), "hw": ("W",), "j": ("Y",), "t#": ("T",), "d#": ("D",),
    "z#": ("Z",), "r-": ("R",), "l-": ("L",), "n-": ("N",), "m-": ("M",), "w#": ("W",), "t[": ("T",),
    "d[": ("D",), "?": ("T",), "r/": ("R",), "l/": ("L",),
}
_STRESS = "',%=\""
_MODIFIERS = set(";#-[/:")  # marks that only modify the phoneme before them


def espeak_to_arpabet(mnemonic: str) -> tuple[str, ...]:
    """ARPAbet phones of one eSpeak phoneme mnemonic; ``()`` for a pure modifier; pauses → SIL."""
    name = mnemonic.strip().lstrip(_STRESS)
    if not name or all(ch in _MODIFIERS for ch in name):
        return ()
    if name.startswith("_"):
        return ("SIL",)
    if name in ESPEAK_TO_ARPABET:
        return ESPEAK_TO_ARPABET[name]
    trimmed = name.rstrip("0123456789#-[/;")
    if trimmed in ESPEAK_TO_ARPABET:
        return ESPEAK_TO_ARPABET[trimmed]
    for length in (2, 1):
        if name[:length] in ESPEAK_TO_ARPABET:
            return ESPEAK_TO_ARPABET[name[:length]]
    return ("SIL",)


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
        ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p), ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))
_EVENT_END_OF_LIST = 0
_EVENT_PHONEME = 7
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE, _PITCH, _RANGE, _WORDGAP = 1, 3, 4, 7
_RAND_SEED = 20240419


@lru_cache(maxsize=1)
def _load_library() -> tuple[ctypes.CDLL, str]:
    """The eSpeak NG library (loaded, never initialised in the parent) and its data folder.

    Loading happens before any fork, so children never run the dynamic loader.
    """
    try:
        import espeakng_loader

        return ctypes.CDLL(espeakng_loader.get_library_path()), espeakng_loader.get_data_path()
    except (ImportError, OSError, RuntimeError) as exc:
        raise TTSError(f"eSpeak NG is not available (espeakng-loader): {exc}") from None


class _Espeak:
    """The process's eSpeak NG instance (synchronous mode, phoneme events on)."""

    def __init__(self) -> None:
        self.lib, data = _load_library()
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
            ctypes.c_void_p, ctypes.c_void_p,
        ]
        self.sample_rate = int(self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(), _INIT_PHONEME_EVENTS | _INIT_DONT_EXIT))
        if self.sample_rate <= 0:
            raise TTSError(f"eSpeak NG failed to initialise with data at {data}")
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, str]] = []
        self._callback = _CALLBACK(self._on_audio)  # kept referenced for the C side
        self.lib.espeak_SetSynthCallback(self._callback)
        self.lock = threading.Lock()

    def _on_audio(self, wav, num_samples, events) -> int:
        if num_samples > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, (num_samples,)).copy())
        i = 0
        while events[i].type != _EVENT_END_OF_LIST:
            event = events[i]
            if event.type == _EVENT_PHONEME:
                self._events.append((int(event.sample), event.id.string.decode("ascii", "replace")))
            i += 1
        return 0

    def reseed(self, seed: int) -> None:
        """Seed libc's ``rand``, eSpeak's source of noise."""
        ctypes.CDLL(None).srand(ctypes.c_uint(seed))

    def speak(self, text: str, voice: VoiceSpec) -> tuple[np.ndarray, list[tuple[int, str]], int]:
        """int16 samples, (start sample, mnemonic) phoneme events, and the sample rate (Hz)."""
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.name.encode()) != 0:
                raise TTSError(f"eSpeak NG has no voice {voice.name!r}")
            for parameter, value in ((_RATE, voice.rate_wpm), (_PITCH, voice.pitch), (_RANGE, voice.pitch_range),
                                     (_WORDGAP, voice.word_gap_10ms)):
                self.lib.espeak_SetParameter(parameter, int(value), 0)
            self._chunks, self._events = [], []
            data = text.encode("utf-8") + b"\0"
            status = self.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            self.lib.espeak_Synchronize()
            if status != 0:
                raise TTSError(f"eSpeak NG could not speak {text[:40]!r} (status {status})")
            audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
            return audio, list(self._events), self.sample_rate


def _speak_fresh(text: str, voice: VoiceSpec) -> tuple[np.ndarray, list[tuple[int, str]], int]:
    """Speak in a forked child whose eSpeak state is new, so the same input gives the same samples.

    eSpeak carries waveform state (pitch flutter, noise) from one utterance to the next and
    offers no way to reset it; a child forked from a process that never initialised eSpeak
    starts from the same state every time. Where ``fork`` is missing, one in-process engine is
    used (same phones and timings, samples that differ slightly between calls).
    """
    if not hasattr(os, "fork"):
        return _in_process_engine().speak(text, voice)
    _load_library()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: speak, send, leave without running the parent's cleanup
        status = 0
        try:
            os.close(read_end)
            engine = _Espeak()
            engine.reseed(_RAND_SEED)
            payload = pickle.dumps(("ok", engine.speak(text, voice)))
        except BaseException as exc:  # noqa: BLE001 - everything must reach the parent
            payload = pickle.dumps(("error", f"{exc.__class__.__name__}: {exc}"))
            status = 1
        try:
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(payload)
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        payload = pipe.read()
    os.waitpid(pid, 0)
    if not payload:
        raise TTSError(f"eSpeak NG died while speaking {text[:40]!r}")
    kind, value = pickle.loads(payload)
    if kind != "ok":
        raise TTSError(f"eSpeak NG failed on {text[:40]!r}: {value}")
    return value


@lru_cache(maxsize=1)
def _in_process_engine() -> _Espeak:
    return _Espeak()


def synthesize(text: str, voice: VoiceSpec | None = None, sample_rate: int = 16000, peak: float = 0.7) -> Speech:
    """Speak ``text`` with ``voice``; audio at ``sample_rate`` Hz scaled to ``peak``, phones in ARPAbet.

    The phones tile [0, duration]: the lead-in before eSpeak's first phoneme and every pause are
    ``SIL``; consecutive identical phones are merged.
    """
    from scipy.signal import resample_poly

    voice = voice or VoiceSpec()
    raw, events, source_rate = _speak_fresh(text, voice)
    if raw.size == 0:
        raise TTSError(f"eSpeak NG produced no audio for {text[:40]!r}")
    ratio = np.gcd(int(sample_rate), source_rate)
    audio = resample_poly(raw.astype(np.float64) / 32768.0, sample_rate // ratio, source_rate // ratio)
    top = float(np.abs(audio).max())
    if top > 0:
        audio = audio * (peak / top)
    audio = audio.astype(np.float32)
    duration = len(audio) / sample_rate
    phones = _timed_phones(events, source_rate, duration)
    return Speech(audio=audio, sample_rate=int(sample_rate), phones=phones, text=text, voice=voice)


def _timed_phones(events: list[tuple[int, str]], source_rate: int, duration_s: float) -> list[TimedPhone]:
    """Turn (start sample, mnemonic) events into contiguous ARPAbet phones over [0, duration_s]."""
    spans: list[tuple[float, float, str, str]] = []  # start, end, arpabet, mnemonic
    starts = [min(max(s / source_rate, 0.0), duration_s) for s, _ in events] + [duration_s]
    cursor = 0.0
    for (sample, mnemonic), start, end in zip(events, starts[:-1], starts[1:]):
        start = max(start, cursor)
        end = max(end, start)
        phones = espeak_to_arpabet(mnemonic)
        if not phones:  # modifier: extends the phone before it
            continue
        if not spans and start > 0:
            spans.append((0.0, start, "SIL", ""))
        elif spans and spans[-1][1] < start:
            previous = spans[-1]
            spans[-1] = (previous[0], start, previous[2], previous[3])
        step = (end - start) / len(phones)
        for k, phone in enumerate(phones):
            spans.append((start + k * step, start + (k + 1) * step, phone, mnemonic))
        cursor = end
    if not spans:
        spans.append((0.0, duration_s, "SIL", ""))
    last = spans[-1]
    if last[1] < duration_s:
        if last[2] == "SIL":
            spans[-1] = (last[0], duration_s, "SIL", last[3])
        else:
            spans.append((last[1], duration_s, "SIL", ""))
    merged: list[TimedPhone] = []
    for start, end, phone, mnemonic in spans:
        if end <= start:
            continue
        if merged and merged[-1].phone == phone:
            prev = merged[-1]
            merged[-1] = TimedPhone(prev.start_s, end, phone, prev.viseme, prev.espeak)
            continue
        merged.append(TimedPhone(round(start, 6), round(end, 6), phone, phone_to_viseme(phone), mnemonic))
    # make the tiling exact after rounding
    fixed = []
    for i, phone in enumerate(merged):
        end = merged[i + 1].start_s if i + 1 < len(merged) else duration_s
        fixed.append(TimedPhone(phone.start_s if i else 0.0, end, phone.phone, phone.viseme, phone.espeak))
    return fixed


def frame_visemes(phones: list[TimedPhone], num_frames: int, fps: float = 25.0) -> np.ndarray:
    """(num_frames,) int viseme index (``VISEMES`` order) of the phone at each frame's centre."""
    centres = (np.arange(num_frames) + 0.5) / fps
    starts = np.array([p.start_s for p in phones])
    index = np.clip(np.searchsorted(starts, centres, side="right") - 1, 0, max(len(phones) - 1, 0))
    out = np.zeros(num_frames, np.int64)
    for f, i in enumerate(index):
        if phones and centres[f] < phones[-1].end_s:
            out[f] = VISEME_INDEX[phones[i].viseme]
    return out
