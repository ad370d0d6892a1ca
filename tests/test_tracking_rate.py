"""Reduced-rate face tracking (``TrackerOptions.mesh_every``): the mesh runs on every k-th frame
and the landmarks between are interpolated, with the same per-frame outputs as full rate."""
from __future__ import annotations

import numpy as np
import pytest

from avcorr.forge.articulation import VISEME_TARGETS
from avcorr.forge.face_render import FaceIdentity, FaceRenderer
from avcorr.media.face import FaceTracker, RegionStore, Regions, interpolate_frames
from avcorr.media.landmarks import CHIN, FOREHEAD

REST = dict(dx=0.0, dy=0.0, roll_deg=0.0, scale=1.0, yaw=0.0, pitch=0.0, blink=0.0, gaze_x=0.0, gaze_y=0.0, brow=0.0)
MOUTH_KEYS = ("open", "width", "round", "closure", "lip_teeth", "teeth", "tongue_up", "tongue_out")
FRAMES = 14
STEP_PX = 2  # the face moves this many pixels right per frame: a linear path
EVERY = 3


def _sliding_face() -> np.ndarray:
    """(FRAMES, 256, 320, 3) one rendered face translated STEP_PX pixels right per frame."""
    import cv2

    renderer = FaceRenderer(FaceIdentity.sample(np.random.default_rng(3), "id3"), size=256, seed=0)
    face = renderer.render(dict(zip(MOUTH_KEYS, VISEME_TARGETS["aa"])), REST, noise_sigma=0.0,
                           noise_rng=np.random.default_rng(0))
    canvas = cv2.copyMakeBorder(face, 0, 0, 16, 48, cv2.BORDER_REPLICATE)
    return np.stack([np.roll(canvas, STEP_PX * t, axis=1) for t in range(FRAMES)])


@pytest.fixture(scope="module")
def tracks():
    frames = _sliding_face()
    out = {}
    for every in (1, EVERY):
        # detection every 6th frame: its frames are mesh frames at both rates, so the keyframes are t % 3 == 0
        tracker = FaceTracker(mesh_every=every, detect_every=6, keep_regions=True)
        try:
            out[every] = tracker.track(frames)
        finally:
            tracker.close()
    return out


def test_reduced_rate_keeps_the_per_frame_shapes(tracks):
    full, fast = tracks[1], tracks[EVERY]
    for name in ("boxes", "found", "landmarks", "regions", "region_boxes"):
        assert getattr(fast, name).shape == getattr(full, name).shape, name
    assert fast.found.all() and full.found.all()  # skipped frames between two mesh hits count as seen
    assert np.isfinite(fast.landmarks).all()


def test_keyframes_match_full_rate_and_the_frames_between_are_linear(tracks):
    full, fast = tracks[1], tracks[EVERY]
    keys = [t for t in range(FRAMES) if t % EVERY == 0] + [FRAMES - 1]  # the last frame is always meshed
    height = float(np.median(np.linalg.norm(full.landmarks[:, FOREHEAD, :2] - full.landmarks[:, CHIN, :2], axis=1)))
    error = np.linalg.norm(fast.landmarks[keys, :, :2] - full.landmarks[keys, :, :2], axis=2)
    assert error.mean() < 0.01 * height  # the mesh's own history differs a little, its answer hardly
    for a, b in zip(keys[:-1], keys[1:]):
        for t in range(a + 1, b):
            w = (t - a) / (b - a)
            expected = (1 - w) * fast.landmarks[a] + w * fast.landmarks[b]
            np.testing.assert_allclose(fast.landmarks[t], expected, atol=1e-3)


def test_interpolated_landmarks_follow_the_true_motion(tracks):
    fast = tracks[EVERY]
    shift = fast.landmarks[:, :, 0].mean(1) - fast.landmarks[0, :, 0].mean()
    np.testing.assert_allclose(shift, STEP_PX * np.arange(FRAMES), atol=1.0)


def test_interpolate_frames_is_linear_between_and_held_outside():
    known = np.array([[0.0, 10.0], [3.0, 40.0], [3.0, 40.0]], np.float32)
    out = interpolate_frames(np.array([2, 5, 6]), known, 9, chunk=4)  # chunks cut through a gap
    np.testing.assert_allclose(out[:, 0], [0, 0, 0, 1, 2, 3, 3, 3, 3], atol=1e-6)
    np.testing.assert_allclose(out[:, 1], [10, 10, 10, 20, 30, 40, 40, 40, 40], atol=1e-5)
    assert out.dtype == np.float32


def test_region_store_spills_to_a_file_and_reads_back_the_same_bytes():
    rng = np.random.default_rng(0)
    regions = [rng.integers(0, 256, (8, 8), dtype=np.uint8) for _ in range(7)]
    store = RegionStore(in_memory=3)
    for r in regions:
        store.append(r)
    assert len(store) == 7 and store._spilled == 4  # four went to the temporary file
    for i, r in enumerate(regions):
        np.testing.assert_array_equal(store.get(i), r)
    view = Regions(store, pad=2, total=11)  # track began at frame 2 and died after frame 8
    assert view.shape == (11, 8, 8)
    np.testing.assert_array_equal(view[0], regions[0])  # held before the start
    np.testing.assert_array_equal(view[5], regions[3])
    np.testing.assert_array_equal(view[10], regions[6])  # held after the end
    np.testing.assert_array_equal(view[3:][2], regions[3])
    np.testing.assert_array_equal(np.asarray(view)[4], regions[2])
