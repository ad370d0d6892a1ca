"""Video augmentation: one draw per clip, reproducible, shape-preserving."""
from __future__ import annotations

import numpy as np

from avcorr.config import AugmentConfig
from avcorr.data.augment import AugmentDraw, VideoAugment, apply_draw


def _clip(num_frames: int = 6, size: int = 24, same: bool = False) -> np.ndarray:
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (size, size), dtype=np.uint8)
    if same:
        return np.repeat(frame[None], num_frames, axis=0)
    return rng.integers(0, 256, (num_frames, size, size), dtype=np.uint8)


def test_disabled_is_identity() -> None:
    clip = _clip()
    out = VideoAugment(AugmentConfig(enabled=False))(clip, seed=3)
    assert np.array_equal(out, clip)


def test_flip_only_mirrors_every_frame() -> None:
    cfg = AugmentConfig(flip_prob=1.0, crop_prob=0.0, rotation_prob=0.0)
    clip = _clip()
    out = VideoAugment(cfg)(clip, seed=0)
    assert np.array_equal(out, clip[:, :, ::-1])


def test_same_seed_same_output_and_shape_kept() -> None:
    cfg = AugmentConfig(flip_prob=0.5, crop_prob=1.0, rotation_prob=1.0)
    augment = VideoAugment(cfg)
    clip = _clip()
    a, b = augment(clip, seed=42), augment(clip, seed=42)
    assert a.shape == clip.shape and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, augment(clip, seed=43))


def test_one_draw_per_clip_identical_frames_stay_identical() -> None:
    cfg = AugmentConfig(flip_prob=1.0, crop_prob=1.0, rotation_prob=1.0)
    out = VideoAugment(cfg)(_clip(same=True), seed=5)
    assert all(np.array_equal(out[0], out[t]) for t in range(1, len(out)))


def test_draw_respects_limits() -> None:
    cfg = AugmentConfig(crop_prob=1.0, rotation_prob=1.0, crop_fraction=0.8, max_rotation_deg=15.0)
    augment = VideoAugment(cfg)
    for seed in range(50):
        draw = augment.draw((40, 40), seed)
        assert abs(draw.rotation_deg) <= 15.0
        x0, y0, side = draw.crop
        assert side == 32.0 and 0 <= x0 <= 8 and 0 <= y0 <= 8


def test_crop_zooms_into_the_box() -> None:
    # A crop of the top-left quadrant resized back: the output's centre shows the quadrant's centre.
    frame = np.zeros((40, 40), dtype=np.uint8)
    frame[5:15, 5:15] = 255
    out = apply_draw(frame[None], AugmentDraw(flip=False, crop=(0.0, 0.0, 20.0), rotation_deg=0.0))[0]
    assert out[18:22, 18:22].min() == 255 and out[0:6, 0:6].max() == 0 and out[34:, 34:].max() == 0
