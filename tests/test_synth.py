"""synth: face renderer, articulation, and whole clips (decode, audio length, face found, determinism)."""
from __future__ import annotations

import json

import av
import numpy as np
import pytest

from avcorr.data.manifest import read_manifest
from avcorr.forge.articulation import VISEME_TARGETS, head_track, mouth_track
from avcorr.forge.face_render import FaceIdentity, FaceRenderer
from avcorr.forge.synth import SynthOptions, place_speech, render_clip, synthesize_dataset
from avcorr.forge.tts import TimedPhone, synthesize
from avcorr.teachers.visemes import VISEMES

REST_HEAD = dict(dx=0.0, dy=0.0, roll_deg=0.0, scale=1.0, yaw=0.0, pitch=0.0, blink=0.0, gaze_x=0.0, gaze_y=0.0, brow=0.0)


def _pose(viseme: str) -> dict[str, float]:
    keys = ("open", "width", "round", "closure", "lip_teeth", "teeth", "tongue_up", "tongue_out")
    return dict(zip(keys, VISEME_TARGETS[viseme]))


def test_every_viseme_has_a_target():
    assert set(VISEME_TARGETS) == set(VISEMES)


def test_mouth_track_closes_for_bilabials_and_anticipates_vowels():
    phones = [TimedPhone(0.0, 0.4, "SIL", "sil"), TimedPhone(0.4, 0.5, "M", "PP"), TimedPhone(0.5, 0.8, "AA", "aa"),
              TimedPhone(0.8, 1.2, "SIL", "sil")]
    track = mouth_track(phones, 30, fps=25.0, lead_s=0.0)
    assert track.open.shape == (30,)
    frame = lambda s: int(s * 25)  # noqa: E731
    assert track.closure[frame(0.45)] > 0.7 and track.open[frame(0.45)] < 0.1    # lips pressed for M
    assert track.open[frame(0.66)] > 0.6                                          # open for AA
    assert track.open[frame(0.66)] > track.open[frame(1.1)] + 0.4                 # closes after speech
    # anticipation: the jaw is already opening in the last frame of the M
    assert track.open[frame(0.48)] > track.open[frame(0.30)]


def test_head_track_is_seeded_bounded_and_blinks():
    a = head_track(150, 25.0, np.random.default_rng(1))
    b = head_track(150, 25.0, np.random.default_rng(1))
    np.testing.assert_array_equal(a.roll_deg, b.roll_deg)
    np.testing.assert_array_equal(a.blink, b.blink)
    assert 0.0 <= a.blink.min() and a.blink.max() <= 1.0 and a.blink.max() > 0.8  # at least one blink in 6 s
    assert np.abs(a.roll_deg).max() < 6.0 and np.abs(a.dx).max() < 0.05


def test_identities_vary_and_the_mouth_moves():
    ids = [FaceIdentity.sample(np.random.default_rng(s), f"id{s}") for s in range(40)]
    luminance = [np.mean(i.skin) for i in ids]
    assert max(luminance) - min(luminance) > 80          # light to dark skin
    assert len({i.hair_style for i in ids}) >= 4
    renderer = FaceRenderer(ids[0], size=128, seed=0)
    closed = renderer.render(_pose("PP"), REST_HEAD, noise_sigma=0.0).astype(int)
    opened = renderer.render(_pose("aa"), REST_HEAD, noise_sigma=0.0).astype(int)
    assert closed.shape == (128, 128, 3) and closed.dtype == np.int64
    diff = np.abs(closed - opened).sum(axis=2)
    ys, xs = np.nonzero(diff > 30)
    # only the lower face changes: below the eyes, around the centre
    assert len(ys) > 40 and ys.min() > renderer.eye_y and abs(np.median(xs) - renderer.cx) < 8


def test_place_speech_pads_into_whole_frames():
    speech = synthesize("bin blue at A one now.")
    audio, phones, num_frames, lead = place_speech(speech, np.random.default_rng(0), 25.0)
    assert 2.0 <= num_frames / 25 <= 6.0
    assert len(audio) == round(num_frames / 25 * 16000)
    assert phones[0].start_s == 0.0 and phones[-1].end_s == pytest.approx(len(audio) / 16000)
    assert all(a.end_s == pytest.approx(b.start_s) for a, b in zip(phones, phones[1:]))
    start = int(lead * 16000)
    np.testing.assert_allclose(audio[start:start + 1000], speech.audio[:1000])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    options = SynthOptions(clips=2, seed=11, size=192)
    return out, options, synthesize_dataset(out, options)


def test_manifest_lists_real_clips(dataset):
    out, _, result = dataset
    assert not result.failures
    rows = read_manifest(out / "manifest.csv")
    assert [r.clip_id for r in rows] == ["synth_00000", "synth_00001"]
    for row in rows:
        assert row.label == 0 and row.method == "real" and row.dataset == "synth"
        assert row.source_id.startswith("synth_id") and row.audio_source_id == row.source_id


def test_clip_decodes_with_audio_of_the_right_length(dataset):
    out, _, result = dataset
    clip = result.clips[0]
    meta = json.loads(clip.phones_path.read_text())
    with av.open(str(clip.video_path)) as container:
        video = container.streams.video[0]
        assert float(video.average_rate) == 25.0 and video.codec_context.name == "h264"
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with av.open(str(clip.video_path)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "aac" and stream.rate == 16000
        audio_s = float(stream.duration * stream.time_base)
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    assert len(frames) == meta["num_frames"] == clip.num_frames
    assert frames[0].shape == (192, 192, 3)
    assert 2.0 <= clip.duration_s <= 6.0
    assert audio_s == pytest.approx(len(frames) / 25.0, abs=1e-3)
    speech = pcm[int(meta["speech_start_s"] * 16000):]
    assert np.sqrt(np.mean(speech ** 2)) > 0.02  # audible speech after the lead-in
    phones = meta["phones"]
    assert phones[-1]["end_s"] == pytest.approx(clip.duration_s, abs=1e-3)
    assert len(meta["mouth_open"]) == clip.num_frames


def test_face_is_found_and_lips_follow_the_rendered_mouth(dataset):
    from avcorr.media.decode import read_media
    from avcorr.media.face import FaceTracker
    from avcorr.media.landmarks import CHIN, FOREHEAD, LIP_LOWER_INNER, LIP_UPPER_INNER

    _, _, result = dataset
    clip = result.clips[1]
    media = read_media(clip.video_path)
    track = FaceTracker().track(media.frames)
    assert track.found_fraction >= 0.95
    lm = track.landmarks
    gap = (lm[:, LIP_LOWER_INNER, 1] - lm[:, LIP_UPPER_INNER, 1]) / (lm[:, CHIN, 1] - lm[:, FOREHEAD, 1])
    opening = np.array(json.loads(clip.phones_path.read_text())["mouth_open"])
    assert np.corrcoef(gap, opening)[0, 1] > 0.6


def test_same_seed_gives_identical_files(dataset, tmp_path):
    out, options, _ = dataset
    again = render_clip(1, tmp_path, options)
    assert again.video_path.read_bytes() == (out / "synth_00001.mp4").read_bytes()
    assert again.phones_path.read_text() == (out / "synth_00001.phones.json").read_text()


def test_cli_with_workers_writes_the_same_clips(dataset, tmp_path):
    from avcorr.cli.main import main

    out, options, _ = dataset
    code = main(["synth", "--out", str(tmp_path), "--clips", str(options.clips), "--seed", str(options.seed),
                 "--size", str(options.size), "--workers", "2", "--json"])
    assert code == 0
    for name in ("synth_00000.mp4", "synth_00001.mp4", "manifest.csv"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes()


def test_room_reverberates_and_adds_noise_but_keeps_length_and_peak():
    from avcorr.forge.room import add_room

    sr = 16000
    audio = np.zeros(sr, np.float32)
    audio[1000] = 0.5  # a click
    wet = add_room(audio, np.random.default_rng(0), sr, noise=False)
    assert wet.shape == audio.shape and np.abs(wet).max() == pytest.approx(0.5, rel=1e-5)
    assert np.abs(wet[:1000]).max() < 1e-9                      # nothing before the sound (causal)
    assert np.sqrt(np.mean(wet[1000 + sr // 50:1000 + sr // 10] ** 2)) > 1e-4  # a tail after it
    noisy = add_room(np.zeros(sr, np.float32), np.random.default_rng(0), sr, reverb=False)
    rms_db = 20 * np.log10(np.sqrt(np.mean(noisy.astype(np.float64) ** 2)))
    assert -64 < rms_db < -44
    np.testing.assert_array_equal(add_room(audio, np.random.default_rng(3), sr), add_room(audio, np.random.default_rng(3), sr))
