"""Pseudo-fake generators on a drawn talking face (tests/pseudo_fixtures.py)."""
from __future__ import annotations

import numpy as np
import pytest

from avcorr.errors import ConfigError
from avcorr.media.landmarks import EYE_OUTER
from avcorr.pseudo.av_splice import av_splice
from avcorr.pseudo.clip import SourceClip
from avcorr.pseudo.degrade import DegradeOptions, degrade, plain_resize
from avcorr.pseudo.lower_face import lower_face, shifted_indices
from avcorr.pseudo.masks import MARGIN, face_size, hull_mask
from avcorr.pseudo.registry import PSEUDO_TYPES, PseudoMix, make_pseudo_fake
from avcorr.pseudo.self_blend import self_blend
from avcorr.pseudo.still_image import border_anchors, piecewise_affine, still_image
from pseudo_fixtures import drawn_source

SPAN = (6, 30)


@pytest.fixture(scope="module")
def clip() -> SourceClip:
    return drawn_source(num_frames=40, size=64)


def forgeries(clip, generator, seeds=range(12)):
    return [generator(clip, SPAN, np.random.default_rng(seed)) for seed in seeds]


def face_region(clip: SourceClip, t: int) -> np.ndarray:
    """The face hull of frame t grown by the masks' margin (+1 px for rounding): where a mask may be on."""
    marks = clip.landmarks[t]
    return hull_mask(marks, clip.frames.shape[1:3], MARGIN * face_size(marks) + 1) > 0


@pytest.mark.parametrize("generator", [lower_face, self_blend, still_image, av_splice])
def test_pair_shares_its_clip_and_is_identical_outside_the_mask(clip, generator):
    start, stop = SPAN
    for fake in forgeries(clip, generator):
        real = clip.frames[start:stop]
        assert fake.frames.shape == real.shape and fake.frames.dtype == np.uint8
        assert fake.mask.shape == real.shape and fake.mask.dtype == np.float32
        assert fake.mfcc.shape == (4 * (stop - start), 13)
        assert fake.label == 1 and fake.span == SPAN and fake.kind in PSEUDO_TYPES
        assert 0.0 <= fake.mask.min() and fake.mask.max() <= 1.0
        outside = fake.mask == 0
        np.testing.assert_array_equal(fake.frames[outside], real[outside])
        # frames the mask or the audio touched are flagged, and a touched frame really changed
        touched = fake.mask.reshape(len(real), -1).max(axis=1) > 0
        assert np.all(fake.frame_mask[touched])
        changed = np.any(fake.frames != real, axis=(1, 2))
        assert np.all(touched[changed])


@pytest.mark.parametrize("generator", [lower_face, self_blend])
def test_masks_stay_inside_the_face(clip, generator):
    for fake in forgeries(clip, generator):
        assert fake.visual
        for i, t in enumerate(range(*SPAN)):
            assert not np.any(fake.mask[i][~face_region(clip, t)])


def test_lower_face_mask_stays_below_the_eyes(clip):
    for fake in forgeries(clip, lower_face):
        for i, t in enumerate(range(*SPAN)):
            eye_line = int(np.floor(clip.landmarks[t][list(EYE_OUTER), 1].min()))
            assert not np.any(fake.mask[i][:eye_line])


def test_still_image_paste_stays_inside_the_face_and_other_modes_replace_the_frame(clip):
    modes = set()
    for fake in forgeries(clip, still_image, range(20)):
        modes.add(fake.params["mode"])
        if fake.params["mode"] == "paste":
            for i, t in enumerate(range(*SPAN)):
                assert not np.any(fake.mask[i][~face_region(clip, t)])
        else:
            assert np.all(fake.mask == 1.0)
    assert modes == {"paste", "frozen", "rigid"}


def test_piecewise_affine_identity_and_translation():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (48, 48), dtype=np.uint8)
    src = np.concatenate([rng.uniform(12, 36, (10, 2)), border_anchors(48, 48)])
    from scipy.spatial import Delaunay

    triangles = Delaunay(src).simplices
    same = piecewise_affine(image, src, src, triangles)
    assert np.abs(same.astype(int) - image).max() <= 1
    # every point moved 3 px right: the output at x is the input at x - 3 (away from the borders)
    moved = piecewise_affine(image, src, src + [3.0, 0.0], triangles)
    assert np.abs(moved[5:-5, 8:-5].astype(int) - image[5:-5, 5:-8]).max() <= 1


def test_still_image_texture_comes_from_one_reference_frame(clip):
    # frozen mode at the reference frame itself: the warp is the identity (up to the smoothing of
    # the track, which barely moves this smoothly moving face)
    for seed in range(80):
        fake = still_image(clip, (0, 40), np.random.default_rng(seed))
        if fake.params["mode"] == "frozen" and fake.params["smooth"] < 0.3 and not fake.params["denoise"] \
                and not fake.params["sharpen"]:
            ref = fake.params["reference"]
            difference = np.abs(fake.frames.astype(int) - clip.frames[ref]).mean(axis=(1, 2))
            assert difference[ref] < 1.0 and np.argmin(difference) == ref
            return
    pytest.fail("no frozen, unsmoothed, undenoised still among 80 seeds")


def test_shifted_windows_move_frames_by_at_most_three():
    index = shifted_indices(10, 110, 200, np.random.default_rng(1))
    shift = index - np.arange(10, 110)
    assert np.all(np.abs(shift) <= 3) and np.any(shift != 0)
    assert np.all((index >= 0) & (index < 200))


def test_av_splice_modes(clip):
    start, stop = SPAN
    real_mfcc = clip.mfcc_rows(start, stop)
    seen = set()
    for fake in forgeries(clip, av_splice, range(30)):
        mode = fake.params["mode"]
        seen.add(mode)
        rows_changed = np.any(fake.mfcc != real_mfcc, axis=1).reshape(-1, 4).any(axis=1)
        assert np.all(fake.frame_mask[rows_changed])
        if mode == "frame_splice":
            for i, donor in zip(fake.params["frames"], fake.params["donors"]):
                assert 12 <= abs(donor - (start + i)) <= 25
                np.testing.assert_array_equal(fake.frames[i], clip.frames[donor])
                np.testing.assert_array_equal(fake.mfcc[4 * i:4 * i + 4], clip.mfcc[4 * donor:4 * donor + 4])
        else:  # audio only: the picture is the real one
            np.testing.assert_array_equal(fake.frames, clip.frames[start:stop])
            assert not fake.visual and rows_changed.any()
    assert seen == {"audio_shift", "frame_splice", "audio_swap"}


@pytest.mark.parametrize("generator", [lower_face, self_blend, still_image, av_splice])
def test_deterministic_under_a_seed(clip, generator):
    a = generator(clip, SPAN, np.random.default_rng(7))
    b = generator(clip, SPAN, np.random.default_rng(7))
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_array_equal(a.mask, b.mask)
    np.testing.assert_array_equal(a.mfcc, b.mfcc)
    assert a.params == b.params


def test_real_side_is_the_untouched_span(clip):
    real = clip.real(SPAN)
    assert real.label == 0 and not real.visual and not real.frame_mask.any()
    np.testing.assert_array_equal(real.frames, clip.frames[SPAN[0]:SPAN[1]])
    with pytest.raises(ValueError):
        clip.real((30, 50))


def test_mix_switches_types_on_and_off(clip):
    mix = PseudoMix.only(["self_blend"])
    kinds = {make_pseudo_fake(clip, SPAN, np.random.default_rng(s), mix).kind for s in range(5)}
    assert kinds == {"self_blend"}
    assert mix.enabled == ["self_blend"]
    both = PseudoMix({"still": 1.0, "lower_face": 1.0, "av_splice": 0.0})
    draws = {both.draw(np.random.default_rng(s)) for s in range(40)}
    assert draws == {"still", "lower_face"}
    with pytest.raises(ConfigError):
        PseudoMix.only(["nerf"])
    with pytest.raises(ConfigError):
        PseudoMix({"still": 0.0})


def test_degrade_shape_seed_and_identity_when_off(clip):
    frames = clip.frames[:8]
    a = degrade(frames, np.random.default_rng(3), DegradeOptions(size=32))
    b = degrade(frames, np.random.default_rng(3), DegradeOptions(size=32))
    assert a.shape == (8, 32, 32) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    off = DegradeOptions(size=32, jitter=0.0, scale_probability=0.0, jpeg_probability=0.0)
    np.testing.assert_array_equal(degrade(frames, np.random.default_rng(3), off), plain_resize(frames, 32))
