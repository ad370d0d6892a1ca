"""Canonical resolution (avcorr.media.normalise and prepare's ``normalise`` option), on synthetic faces.

One rendered talking face, written at 384 px (face ≈ 173 px high) and, downscaled, at 128 px
(face ≈ 58 px): the shortcut a detector must not learn is the sharpness gap between the two.
"""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from avcorr.data.clip_cache import load_clip
from avcorr.data.manifest import ManifestRow, write_manifest
from avcorr.errors import ConfigError
from avcorr.forge.articulation import VISEME_TARGETS
from avcorr.forge.face_render import FaceIdentity, FaceRenderer
from avcorr.media import normalise as canon
from avcorr.media.encode import write_video
from avcorr.media.face import FaceTracker
from avcorr.media.normalise import NormaliseOptions
from avcorr.prepare.pipeline import PrepareOptions, prepare_clip
from media_fixtures import tone

FACE_PX = 64  # above the small clip's face, well below the large one's
REST = dict(dx=0.0, dy=0.0, roll_deg=0.0, scale=1.0, yaw=0.0, pitch=0.0, blink=0.0, gaze_x=0.0, gaze_y=0.0, brow=0.0)
MOUTH_KEYS = ("open", "width", "round", "closure", "lip_teeth", "teeth", "tongue_up", "tongue_out")


def _talking_frames(count: int = 30, size: int = 384) -> np.ndarray:
    renderer = FaceRenderer(FaceIdentity.sample(np.random.default_rng(3), "id3"), size=size, seed=0)
    frames = []
    for i in range(count):
        mouth = dict(zip(MOUTH_KEYS, VISEME_TARGETS["aa"]))
        mouth["open"] *= 0.5 + 0.5 * np.sin(i / 3)
        head = dict(REST, dx=0.01 * np.sin(i / 5))
        frames.append(renderer.render(mouth, head, noise_sigma=2.0, noise_rng=np.random.default_rng(i)))
    return np.stack(frames)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """The same clip as frames and mp4 files at 384 px and 128 px."""
    out = tmp_path_factory.mktemp("normalise")
    big = _talking_frames()
    small = np.stack([cv2.resize(f, (128, 128), interpolation=cv2.INTER_AREA) for f in big])
    audio = tone(len(big) / 25)
    return {"big": (big, write_video(out / "big.mp4", big, audio)),
            "small": (small, write_video(out / "small.mp4", small, audio))}


@pytest.fixture(scope="module")
def tracker():
    t = FaceTracker()
    yield t
    t.close()


def _sharpness(crops: np.ndarray) -> float:
    """Mean variance of the Laplacian of the face crops (gray levels²)."""
    return float(np.mean([cv2.Laplacian(c.astype(np.float64), cv2.CV_64F).var() for c in crops]))


def test_options_round_trip_and_validate():
    options = NormaliseOptions(face_px=80, jpeg_quality=60, blur_sigma=0.5)
    assert options.to_dict() == {"face_px": 80, "jpeg_quality": 60, "blur_sigma": 0.5, "samples": 5, "window_frames": 250}
    assert NormaliseOptions.from_dict(json.loads(json.dumps(options.to_dict()))) == options
    assert NormaliseOptions.from_dict(None) is None
    with pytest.raises(ConfigError, match="unknown key"):
        NormaliseOptions.from_dict({"face_px": 96, "quality": 75})
    for bad in ({"face_px": 4}, {"jpeg_quality": 0}, {"jpeg_quality": 101}, {"blur_sigma": -1.0}, {"samples": 0}):
        with pytest.raises(ConfigError):
            NormaliseOptions(**bad)


def test_sampling_scale_and_sizes():
    options = NormaliseOptions()
    assert canon.sample_indices(3, options) == [0, 1, 2]
    picked = canon.sample_indices(1000, options)  # only the first 250 frames are read
    assert len(picked) == 5 and picked[0] == 0 and picked[-1] == 249
    assert canon.sample_indices(100, options) == [0, 25, 50, 74, 99]
    assert canon.scale_for(200.0, 96) == pytest.approx(0.48)
    assert canon.scale_for(50.0, 96) == 1.0  # never upscaled
    assert canon.scale_for(None, 96) == 1.0
    assert canon.scaled_size(640, 360, 0.5) == (320, 180)
    assert canon.scaled_size(3, 3, 0.01) == (2, 2)


def test_jpeg_round_trip_is_deterministic_and_lossy(clips):
    frame = clips["big"][0][0]
    a = canon.jpeg_round_trip(frame, 75)
    b = canon.jpeg_round_trip(frame.copy(), 75)
    np.testing.assert_array_equal(a, b)
    assert a.shape == frame.shape and a.dtype == np.uint8
    err = lambda q: np.abs(canon.jpeg_round_trip(frame, q).astype(int) - frame).mean()  # noqa: E731
    assert 0 < err(95) < err(75) < err(20)
    # at scale 1 and no blur, normalising a frame is the JPEG round trip alone
    np.testing.assert_array_equal(canon.normalise_frame(frame, 1.0, NormaliseOptions(jpeg_quality=75)), a)


def test_large_face_comes_down_to_face_px_small_face_keeps_its_size(clips, tracker):
    options = NormaliseOptions(face_px=FACE_PX)
    for name in ("big", "small"):
        frames = clips[name][0]
        measured = canon.measure_face_height(frames[::6][:5], tracker)
        scale = canon.scale_for(measured, options.face_px)
        normalised = np.stack([canon.normalise_frame(f, scale, options) for f in frames])
        after = canon.measure_face_height(normalised[::6][:5], tracker)
        if name == "big":
            assert measured > 2.5 * FACE_PX and scale < 0.4
            assert after == pytest.approx(FACE_PX, rel=0.15)
        else:
            assert measured < FACE_PX and scale == 1.0
            assert normalised.shape == frames.shape
            assert after == pytest.approx(measured, rel=0.05)
    assert tracker.options.detect_every == 5  # the tracker's own options are restored


def test_sample_frames_are_the_frames_decode_gives(clips):
    from avcorr.media.decode import iter_frames

    path = clips["small"][1]
    picked = canon.read_sample_frames(path, [0, 10, 29])
    every = list(iter_frames(path))
    assert len(picked) == 3
    for frame, index in zip(picked, (0, 10, 29)):
        np.testing.assert_array_equal(frame, every[index])  # a 25 fps source: same frames
    assert len(canon.read_sample_frames(path, [0, 500])) == 1  # past the end: what there is
    assert canon.read_sample_frames(path, []) == []


def test_no_face_measures_none(tracker):
    gray = np.full((4, 96, 96, 3), 128, np.uint8)
    assert canon.measure_face_height(gray, tracker) is None
    assert canon.measure_face_height([], tracker) is None


def test_prepare_with_normalise_closes_the_sharpness_gap(clips, tracker):
    plain, norm = PrepareOptions(store_stft=False), PrepareOptions(store_stft=False, normalise=NormaliseOptions(face_px=FACE_PX))
    out = {(name, k): prepare_clip(clips[name][1], options=o, tracker=tracker)
           for name in ("big", "small") for k, o in (("plain", plain), ("norm", norm))}
    sharp = {key: _sharpness(p.record.arrays["frames"]) for key, p in out.items()}
    before = sharp["big", "plain"] / sharp["small", "plain"]
    after = sharp["big", "norm"] / sharp["small", "norm"]
    # measured here: before ≈ 4.2 (the 384-px face is much sharper), after ≈ 1.2
    assert before > 3.0
    assert abs(np.log(after)) < 0.4 * abs(np.log(before))

    assert "normalise" not in out["big", "plain"].record.meta.extra  # off by default
    extra = out["big", "norm"].record.meta.extra
    record = extra["normalise"]
    assert record["face_px"] == FACE_PX and record["jpeg_quality"] == 75 and record["blur_sigma"] == 0.0
    assert 0.3 < record["scale"] < 0.4 and record["measured_face_px"] > 150
    assert record["size"] == [round(384 * record["scale"])] * 2
    assert extra["source_size"] == [384, 384]
    assert out["small", "norm"].record.meta.extra["normalise"]["scale"] == 1.0
    # face boxes and the track stay in source pixels: they match the plain run's
    a, b = out["big", "plain"].record.arrays["face_boxes"], out["big", "norm"].record.arrays["face_boxes"]
    side = float(np.median(a[:, 2] - a[:, 0]))
    assert np.abs(np.median(a - b, axis=0)).max() < 0.06 * side
    assert out["big", "norm"].track.frame_size == (384, 384)
    np.testing.assert_allclose(out["big", "norm"].track.boxes, b)
    assert out["big", "norm"].timings["normalise"] > 0 and out["big", "plain"].timings["normalise"] == 0


def test_cli_prepare_records_normalise(clips, tmp_path):
    from avcorr.cli.main import main

    write_manifest(tmp_path / "m.csv", [ManifestRow(clip_id="big", video_path=str(clips["big"][1]), label=1)])
    code = main(["prepare", str(tmp_path / "m.csv"), "--out", str(tmp_path / "cache"), "--workers", "1", "--json",
                 "--normalise-face-px", str(FACE_PX), "--normalise-jpeg-quality", "60"])
    assert code in (0, None)
    record = load_clip(tmp_path / "cache" / "clips" / "big.npz", arrays=[])
    assert record.meta.extra["normalise"]["face_px"] == FACE_PX
    assert record.meta.extra["normalise"]["jpeg_quality"] == 60
