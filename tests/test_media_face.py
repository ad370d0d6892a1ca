"""Face tracking and crops on the shared real clips (skipped where ../shared is absent)."""
from __future__ import annotations

import numpy as np
import pytest

from avcorr.errors import InputError
from avcorr.media import crops
from avcorr.media.decode import read_media
from avcorr.media.face import FaceTracker
from avcorr.media.landmarks import LIPS_OUTER

GRID = "clips/rizkiarm+LipNet__evaluation__samples__GRID__bbaf2n.mpg"
PORTRAIT = "clips/OpenTalker+SadTalker__examples__ref_video__WDA_KatieHill_000.mp4"


@pytest.fixture(scope="module")
def tracker():
    t = FaceTracker(keep_regions=True)
    yield t
    t.close()


@pytest.mark.shared
def test_track_finds_the_face_and_crops_are_centred(shared_data, tracker):
    clip = read_media(shared_data / GRID)
    track = tracker.track(clip.frames)
    t = clip.num_frames
    assert track.boxes.shape == (t, 4) and track.landmarks.shape == (t, 478, 3)
    assert track.found_fraction >= 0.95 and track.num_faces == 1
    assert np.isfinite(track.landmarks).all()
    sides = track.boxes[:, 2] - track.boxes[:, 0]
    np.testing.assert_allclose(sides, track.boxes[:, 3] - track.boxes[:, 1], rtol=1e-5)  # square
    local = crops.landmarks_in_crop(track, 112)
    lips = local[:, LIPS_OUTER, :2]
    assert (lips[..., 1] > 56).all() and (lips[..., 1] < 112).all()  # lower half of the crop
    assert (np.abs(lips[..., 0].mean(1) - 56) < 14).all()  # horizontally near the centre
    faces = crops.crop_faces(clip.frames, track, 112)
    assert faces.shape == (t, 112, 112) and faces.dtype == np.uint8
    # crops cut from the tracker's kept regions match crops from the full frames
    from_regions = crops.crop_faces(None, track, 112)
    assert np.abs(faces.astype(int) - from_regions).mean() < 4
    mouths = crops.crop_mouths(clip.frames, track, 96)
    assert mouths.shape == (t, 96, 96)


@pytest.mark.shared
def test_main_face_is_the_large_one_when_two_appear(shared_data, tracker):
    clip = read_media(shared_data / PORTRAIT, max_frames=30)
    frames = clip.frames  # 512 x 512
    small = frames[:, ::3, ::3]  # a second, smaller face
    canvas = np.full((frames.shape[0], 512, 512 + 200, 3), 40, np.uint8)
    canvas[:, :, :512] = frames
    canvas[:, 100:100 + small.shape[1], 520:520 + small.shape[2]] = small[:, :, : 180]
    track = tracker.track(canvas)
    assert track.num_faces == 2
    centre_x = (track.boxes[:, 0] + track.boxes[:, 2]) / 2
    assert (centre_x < 512).all()
    assert track.found_fraction >= 0.95


@pytest.mark.shared
def test_main_face_is_the_talking_one_among_equals(shared_data, tracker):
    clip = read_media(shared_data / PORTRAIT, max_frames=50)
    frames = clip.frames[:, ::2, ::2]  # 256 x 256
    still = np.repeat(frames[:1], len(frames), axis=0)  # the same face, not talking
    canvas = np.concatenate([still, frames], axis=2)
    track = tracker.track(canvas)
    assert track.num_faces == 2
    centre_x = (track.boxes[:, 0] + track.boxes[:, 2]) / 2
    assert (centre_x > 256).all()


@pytest.mark.shared
def test_4k_frames_track(shared_data, tracker):
    import cv2

    clip = read_media(shared_data / PORTRAIT, max_frames=6)
    big = np.stack([cv2.resize(f, (2160, 2160)) for f in clip.frames])
    frames = np.zeros((len(big), 2160, 3840, 3), np.uint8)
    frames[:, :, 840:3000] = big
    track = tracker.track(frames)
    assert track.found.all()
    assert track.regions.shape[1:] == (256, 256)  # the mesh ran on a small region, not the 4K frame
    centre_x = (track.boxes[:, 0] + track.boxes[:, 2]) / 2
    assert (np.abs(centre_x - 1920) < 400).all()


def test_no_face_raises_track_error(tracker):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (10, 120, 160, 3), dtype=np.uint8)
    with pytest.raises(InputError) as err:
        tracker.track(frames)
    assert err.value.stage == "track" and "no face" in err.value.reason
