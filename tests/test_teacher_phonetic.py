"""The phonetic teacher: phones → visemes per frame, lip geometry, the lip model, the teacher."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avcorr.data.clip_cache import ClipMeta, ClipRecord
from avcorr.errors import ConfigError
from avcorr.teachers.phonetic.audio import (
    PhoneRecognizer,
    PhoneSegment,
    audio_viseme_posteriors,
    grid_transcript,
    mix_uniform,
    normalize_transcript,
    smooth_frames,
    viseme_occupancy,
)
from avcorr.teachers.phonetic.lips import FEATURE_NAMES, lip_geometry, normalize_to_eye_line, with_context, zscore_per_clip
from avcorr.teachers.phonetic.visual_model import LipVisemeModel, fit_lip_viseme_model
from avcorr.teachers.registry import get_teacher
from avcorr.teachers.visemes import VISEME_INDEX, VISEMES

V = len(VISEMES)


def test_grid_names_spell_their_sentences() -> None:
    assert grid_transcript("bbaf2n.mpg") == "bin blue at f two now"
    assert grid_transcript("clips/rizkiarm+LipNet__GRID__swiz3n.mpg") == "set white in z three now"
    assert grid_transcript("lwbsza") == "lay white by s zero again"
    assert grid_transcript("interview_0001.mp4") is None
    assert normalize_transcript("Place RED at C, 7 now!") == "place red at c seven now"


def test_viseme_occupancy_shares_frame_time() -> None:
    # At 25 fps a frame lasts 40 ms: M covers frame 0 and half of frame 1, AA the rest.
    segments = [PhoneSegment("M", 0.0, 0.06), PhoneSegment("AA1", 0.06, 0.12)]
    occ = viseme_occupancy(segments, num_frames=4, fps=25.0)
    pp, aa, sil = VISEME_INDEX["PP"], VISEME_INDEX["aa"], VISEME_INDEX["sil"]
    np.testing.assert_allclose(occ[0, pp], 1.0, atol=1e-6)
    np.testing.assert_allclose(occ[1, [pp, aa]], [0.5, 0.5], atol=1e-6)
    np.testing.assert_allclose(occ[2, aa], 1.0, atol=1e-6)
    np.testing.assert_allclose(occ[3, sil], 1.0, atol=1e-6)  # nothing spoken: silence
    np.testing.assert_allclose(occ.sum(1), 1.0, atol=1e-6)


def test_smoothing_and_uniform_mix_keep_distributions() -> None:
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(V), size=30).astype(np.float32)
    s = smooth_frames(p, 1.0)
    np.testing.assert_allclose(s.sum(1), 1.0, atol=1e-5)
    assert np.abs(np.diff(s, axis=0)).mean() < np.abs(np.diff(p, axis=0)).mean()
    m = mix_uniform(np.eye(V)[[0, 3]], 0.02)
    np.testing.assert_allclose(m.min(), 0.02 / V, rtol=1e-5)
    np.testing.assert_allclose(m.max(), 0.98 + 0.02 / V, rtol=1e-5)
    post = audio_viseme_posteriors([PhoneSegment("P", 0.0, 0.2)], 10)
    assert post.shape == (10, V) and post[0].argmax() == VISEME_INDEX["PP"] and post[9].argmax() == VISEME_INDEX["sil"]


def _face(num_frames: int, rng: np.random.Generator) -> np.ndarray:
    """A random but smooth 'face mesh' of 478 points, in pixels."""
    base = rng.uniform(0, 100, size=(478, 3))
    wobble = np.cumsum(rng.normal(0, 0.3, size=(num_frames, 478, 3)), axis=0)
    return (base + wobble).astype(np.float32)


def test_lip_geometry_ignores_position_roll_and_scale() -> None:
    rng = np.random.default_rng(1)
    lm = _face(20, rng)
    angle = 0.4
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    moved = (lm @ rot.T) * 2.5 + np.array([40.0, -7.0, 3.0])
    np.testing.assert_allclose(lip_geometry(moved), lip_geometry(lm), rtol=1e-4, atol=1e-4)
    n = normalize_to_eye_line(lm)
    np.testing.assert_allclose(n[:, 263, 0] - n[:, 33, 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(n[:, 263, 1], n[:, 33, 1], atol=1e-6)


def test_context_features_layout() -> None:
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    c = with_context(x, context=1)
    assert c.shape == (6, 4 * 2)
    np.testing.assert_array_equal(c[2], [2, 3, 4, 5, 6, 7, 8 - 4, 9 - 5])  # t-1, t, t+1, x[t+1]-x[t-1]
    np.testing.assert_array_equal(c[0, :2], x[0])  # edge padded
    z = zscore_per_clip(np.random.default_rng(0).normal(5, 3, size=(50, 4)))
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(0), 1, atol=1e-4)


def test_lip_model_learns_and_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    d = 6 * len(FEATURE_NAMES)
    centres = rng.normal(0, 3, size=(3, d))
    labels = rng.integers(0, 3, size=300)
    feats = centres[labels] + rng.normal(0, 1, size=(300, d))
    model = fit_lip_viseme_model([feats[:150], feats[150:]], [labels[:150], labels[150:]], regularization=1.0)
    logits = feats @ model.weight.T + model.bias
    assert (logits.argmax(1) == labels).mean() > 0.95
    assert np.all(model.bias[3:] < -10)  # visemes never seen stay improbable
    path = model.save(tmp_path / "lips.npz")
    again = LipVisemeModel.load(path)
    np.testing.assert_array_equal(again.weight, model.weight.astype(np.float32))
    assert again.provenance["frames"] == 300


def test_shipped_lip_model_loads_and_predicts() -> None:
    model = LipVisemeModel.load()
    assert model.provenance.get("command", "").startswith("avcorr teacher fit-lips")
    q = model.predict_proba(_face(30, np.random.default_rng(3)))
    assert q.shape == (30, V)
    np.testing.assert_allclose(q.sum(1), 1.0, atol=1e-5)


def test_registry() -> None:
    assert get_teacher("none") is None
    teacher = get_teacher("phonetic")
    assert teacher.name == "phonetic" and teacher.vocabulary == VISEMES
    with pytest.raises(ConfigError):
        get_teacher("whisper")


def test_forced_alignment_matches_espeak_timings() -> None:
    """eSpeak knows when it spoke each phone; the aligner must find nearly the same visemes."""
    from avcorr.forge.tts import frame_visemes, synthesize

    speech = synthesize("bin blue at f two now")
    recognizer = PhoneRecognizer()
    aligned = recognizer.align(speech.audio, "bin blue at f two now")
    assert aligned is not None and aligned[0].phone == "B"
    t = int(speech.duration_s * 25)
    ours = viseme_occupancy(aligned, t).argmax(1)
    truth = frame_visemes(speech.phones, t)
    agreement = (ours == truth).mean()
    assert agreement > 0.6, agreement
    assert recognizer.align(speech.audio, "qzxv wibble") is None  # not in the dictionary
    assert recognizer.phone_loop(np.zeros(800, np.float32)) == []


def test_teacher_posteriors_on_a_record() -> None:
    from avcorr.forge.tts import synthesize
    from avcorr.media.decode import MediaClip

    speech = synthesize("place red at c seven now")
    t = int(speech.duration_s * 25)
    audio = speech.audio[: int(t * 16000 / 25)]
    media = MediaClip(frames=np.zeros((0, 4, 4, 3), np.uint8), audio=audio, sample_rate=16000, fps=25.0,
                      source_fps=25.0, path="synthetic.mp4", duration_s=t / 25)
    record = ClipRecord(ClipMeta(clip_id="x", label=0, extra={"transcript": "place red at c seven now"}),
                        {"landmarks": _face(t, np.random.default_rng(4))})
    teacher = get_teacher("phonetic")
    out = teacher.posteriors(media, record)
    assert out.audio.shape == out.visual.shape == (t, V)
    assert out.info["audio_mode"] == "aligned"
    np.testing.assert_allclose(out.audio.sum(1), 1.0, atol=1e-5)
    y = out.soft_label()
    assert y.shape == (t,) and np.all((y >= 0) & (y <= 1))
    assert set(out.cache_arrays()) == {"audio_posteriors", "visual_posteriors", "soft_label"}


@pytest.mark.shared
def test_prepare_caches_phonetic_labels(shared_data: Path) -> None:
    """prepare_clip with the phonetic teacher: the GRID name's sentence is force-aligned and the
    posteriors and y_t land in the record."""
    from avcorr.prepare.pipeline import PrepareOptions, prepare_clip

    clip = sorted((shared_data / "clips").glob("*GRID*bbaf2n*"))[0]
    teacher = get_teacher("phonetic")
    prepared = prepare_clip(clip, None, PrepareOptions(store_stft=False, store_mouth=False), teacher=teacher)
    arrays, t = prepared.record.arrays, prepared.record.num_frames
    assert arrays["audio_posteriors"].shape == arrays["visual_posteriors"].shape == (t, V)
    assert arrays["soft_label"].shape == (t,) and prepared.record.meta.teacher == "phonetic"
    assert teacher.transcript_for(prepared.media, prepared.record) == "bin blue at f two now"
    heard = [VISEMES[i] for i in arrays["audio_posteriors"].argmax(1)]
    # "bin blue": the aligned speech starts with a bilabial after the leading silence
    first_speech = next(v for v in heard if v != "sil")
    assert first_speech == "PP"
