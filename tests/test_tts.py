"""forge.tts (eSpeak NG with phone events) and forge.grammar."""
from __future__ import annotations

import numpy as np
import pytest

from avcorr.forge.grammar import LETTERS, sample_sentence, sample_utterance
from avcorr.forge.tts import (
    FEMALE_VARIANTS, MALE_VARIANTS, Speech, VoiceSpec, espeak_to_arpabet, frame_visemes, synthesize,
)
from avcorr.teachers.visemes import VISEME_INDEX, VISEMES, phone_to_viseme


def test_espeak_mnemonics_map_to_arpabet():
    assert espeak_to_arpabet("p") == ("P",)
    assert espeak_to_arpabet("'u:") == ("UW",)          # stress mark stripped
    assert espeak_to_arpabet(",aI2") == ("AY",)         # variant digit
    assert espeak_to_arpabet("tS") == ("CH",)
    assert espeak_to_arpabet("e@") == ("EH", "R")       # r-coloured diphthong → two phones
    assert espeak_to_arpabet("_:") == ("SIL",)
    assert espeak_to_arpabet(";") == ()                 # modifier of the phone before
    assert espeak_to_arpabet("t#") == ("T",)


@pytest.fixture(scope="module")
def speech() -> Speech:
    return synthesize("place blue at F two now.", VoiceSpec("en-us", "m3", 160, 50, 50, 0))


def test_speech_is_audible_and_phones_tile_the_audio(speech):
    assert speech.sample_rate == 16000 and speech.audio.dtype == np.float32
    assert 0.8 < speech.duration_s < 3.0
    assert np.abs(speech.audio).max() == pytest.approx(0.7, abs=1e-3)
    assert np.sqrt(np.mean(speech.audio ** 2)) > 0.03
    phones = speech.phones
    assert phones[0].start_s == 0.0 and phones[-1].end_s == pytest.approx(speech.duration_s)
    for a, b in zip(phones, phones[1:]):
        assert a.end_s == b.start_s and a.start_s < a.end_s
        assert a.phone != b.phone  # consecutive duplicates merged
    for p in phones:
        assert p.viseme == phone_to_viseme(p.phone) and p.viseme in VISEMES


def test_phones_spell_the_sentence(speech):
    spoken = [p.phone for p in speech.phones if p.phone != "SIL"]
    # place blue at F two now
    assert spoken[:4] == ["P", "L", "EY", "S"]
    assert spoken[4:7] == ["B", "L", "UW"]
    assert "F" in spoken and spoken[-2:] == ["N", "AW"]
    # the speech is loud where phones are and quiet in the lead-in
    lead = speech.phones[0]
    assert lead.phone == "SIL"
    quiet = speech.audio[: int(lead.end_s * 16000)]
    assert np.abs(quiet).max() < 0.1


def test_same_voice_gives_same_samples_and_voices_differ(speech):
    again = synthesize("place blue at F two now.", speech.voice)
    np.testing.assert_array_equal(again.audio, speech.audio)
    assert again.phones == speech.phones
    other = synthesize("place blue at F two now.", VoiceSpec("en-us", "f4", 180, 70, 60, 0))
    assert other.duration_s < speech.duration_s  # faster rate


def test_voice_sampling_is_seeded_and_varied():
    a = [VoiceSpec.sample(np.random.default_rng(s)) for s in range(30)]
    b = [VoiceSpec.sample(np.random.default_rng(s)) for s in range(30)]
    assert a == b
    assert len({v.variant for v in a}) > 8 and len({v.voice for v in a}) > 3
    assert all(v.variant in MALE_VARIANTS + FEMALE_VARIANTS for v in a)
    assert all(135 <= v.rate_wpm < 195 and 0 <= v.pitch <= 99 for v in a)


def test_frame_visemes_follow_phones(speech):
    frames = frame_visemes(speech.phones, 50, fps=25.0)
    assert frames.shape == (50,)
    for f in (0, 10, 20, 30):
        centre = (f + 0.5) / 25
        phone = next(p for p in speech.phones if p.start_s <= centre < p.end_s) if centre < speech.duration_s else None
        expected = VISEME_INDEX[phone.viseme] if phone else VISEME_INDEX["sil"]
        assert frames[f] == expected


def test_grammar_is_seeded_and_grid_shaped():
    s = sample_sentence(np.random.default_rng(3))
    assert s == sample_sentence(np.random.default_rng(3))
    assert len(s.words) == 6 and s.words[3] in LETTERS
    assert s.transcript == s.transcript.lower() and s.spoken.endswith(".")
    assert len(sample_utterance(np.random.default_rng(0), 3)) == 3
