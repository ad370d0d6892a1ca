"""Forgery building blocks on small synthetic inputs: warps, blending, speech fitting, frame selection."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from avcorr.forge.methods import get_method, method_names
from avcorr.forge.methods import landmarks as lm
from avcorr.forge.methods.blend import BlendStyle, paste, region_mask, transfer_color
from avcorr.forge.methods.lip_rewrite import _select_frames
from avcorr.forge.methods.speech import fit_audio, mouth_trajectory, splice_window, visemes_from_phones
from avcorr.forge.methods.still_talk import deform_face
from avcorr.forge.methods.warp import TriangleMesh, apply_affine, fit_similarity, warp_region
from avcorr.media import landmarks as facemesh
from avcorr.teachers.visemes import VISEME_INDEX


def _textured(h: int = 96, w: int = 128, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, size=(h // 8, w // 8, 3)).astype(np.uint8)
    return cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)


def _face_points(seed: int = 0) -> np.ndarray:
    """478 plausible-enough landmarks: a face box with eyes and a closed mouth where they belong."""
    rng = np.random.default_rng(seed)
    pts = np.column_stack([rng.uniform(40, 88, 478), rng.uniform(20, 80, 478)])
    pts[33], pts[133], pts[362], pts[263] = (44, 40), (56, 40), (72, 40), (84, 40)
    pts[facemesh.RIGHT_EYE_UPPER] = np.column_stack([np.linspace(45, 55, 7), np.full(7, 37.0)])
    pts[facemesh.RIGHT_EYE_LOWER] = np.column_stack([np.linspace(45, 55, 7), np.full(7, 43.0)])
    pts[facemesh.LEFT_EYE_UPPER] = np.column_stack([np.linspace(83, 73, 7), np.full(7, 37.0)])
    pts[facemesh.LEFT_EYE_LOWER] = np.column_stack([np.linspace(83, 73, 7), np.full(7, 43.0)])
    pts[1] = (64, 52)
    pts[61], pts[291] = (52, 66), (76, 66)
    pts[facemesh.UPPER_LIP] = np.column_stack([np.linspace(53, 75, len(facemesh.UPPER_LIP)), np.full(len(facemesh.UPPER_LIP), 65.0)])
    pts[facemesh.LOWER_LIP] = np.column_stack([np.linspace(53, 75, len(facemesh.LOWER_LIP)), np.full(len(facemesh.LOWER_LIP), 67.0)])
    pts[13], pts[14] = (64, 65.8), (64, 66.2)
    pts[facemesh.CHIN] = (64, 82)
    return pts


def test_similarity_fit_recovers_a_known_transform():
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 100, size=(20, 2))
    angle, scale, shift = np.deg2rad(7.0), 1.3, np.array([5.0, -3.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = src @ rot.T + shift
    matrix = fit_similarity(src, dst)
    np.testing.assert_allclose(matrix[:, :2], rot, atol=1e-9)
    np.testing.assert_allclose(apply_affine(matrix, src), dst, atol=1e-9)


def test_mesh_warp_is_identity_without_motion_and_a_shift_with_uniform_motion():
    image = _textured()
    points = _face_points()[facemesh.WARP_POINTS]
    mesh = TriangleMesh.build(points, (20, 10, 108, 90))
    same = warp_region(image, mesh, points, points)
    assert np.abs(same.astype(int) - image.astype(int)).max() <= 1
    # Move every landmark 3 px right: the inside of the face moves 3 px right.
    moved = warp_region(image, mesh, points, points + (3.0, 0.0))
    inner = (slice(45, 60), slice(55, 70))
    shifted = np.roll(image, 3, axis=1)
    assert np.abs(moved[inner].astype(int) - shifted[inner].astype(int)).mean() < 2.0
    outside = np.ones(image.shape[:2], bool)
    outside[10:90, 20:108] = False
    assert np.array_equal(moved[outside], image[outside])


def test_color_transfer_matches_lab_statistics_inside_the_mask():
    patch = _textured(seed=1)
    target = np.clip(_textured(seed=2).astype(int) // 2 + 100, 0, 255).astype(np.uint8)
    mask = np.ones(patch.shape[:2], np.float32)
    out = transfer_color(patch, target, mask, strength=1.0)
    lab_out = cv2.cvtColor(out, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(float)
    lab_tgt = cv2.cvtColor(target, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(float)
    np.testing.assert_allclose(lab_out.mean(0), lab_tgt.mean(0), atol=2.5)
    assert transfer_color(patch, target, mask, strength=0.0) is patch


def test_region_mask_is_soft_inside_and_zero_far_away():
    polygon = np.array([[40, 30], [80, 30], [80, 60], [40, 60]], float)
    for shape in ("hull", "ellipse"):
        style = BlendStyle(mask_shape=shape, grow=0.05, feather=0.08, color_strength=0.5, mode="alpha", texture=0.0)
        mask = region_mask((96, 128), polygon, style)
        assert mask.min() >= 0 and mask.max() <= 1
        assert mask[45, 60] > 0.95 and mask[5, 5] < 1e-3
        assert ((mask > 0.05) & (mask < 0.95)).sum() > 50  # a feathered edge, not a hard seam


def test_paste_keeps_pixels_outside_the_box_exact():
    frame, patch = _textured(seed=3), _textured(seed=4)
    style = BlendStyle("hull", 0.0, 0.05, 0.7, "poisson", -0.8)
    box = (30, 20, 90, 70)
    mask = region_mask((50, 60), np.array([[10, 10], [50, 10], [50, 40], [10, 40]], float), style)
    out = paste(frame, patch[20:70, 30:90], mask, style, box)
    outside = np.ones(frame.shape[:2], bool)
    outside[20:70, 30:90] = False
    assert np.array_equal(out[outside], frame[outside])
    assert np.abs(out[40:55, 45:75].astype(int) - frame[40:55, 45:75].astype(int)).mean() > 10


def test_fit_audio_cuts_or_loops_to_the_exact_length_reproducibly():
    audio = np.sin(np.arange(8000) / 10.0).astype(np.float32)
    cut, offset = fit_audio(audio, 3000, np.random.default_rng(0))
    assert len(cut) == 3000 and np.array_equal(cut, audio[offset:offset + 3000])
    again, _ = fit_audio(audio, 3000, np.random.default_rng(0))
    assert np.array_equal(cut, again)
    looped, offset = fit_audio(audio, 20000, np.random.default_rng(0))
    assert len(looped) == 20000 and offset == 0 and np.abs(looped).max() <= 1.0 + 1e-6


def test_splice_window_leaves_the_outside_exact():
    base = np.zeros(1000, np.float32)
    new = np.ones(1000, np.float32)
    out = splice_window(base, new, 300, 700, fade=20)
    assert np.array_equal(out[:300], base[:300]) and np.array_equal(out[700:], base[700:])
    assert np.all(out[320:680] == 1.0) and 0 < out[305] < 1 and 0 < out[695] < 1


class _Phone:
    def __init__(self, start_s, end_s, phone):
        self.start_s, self.end_s, self.phone = start_s, end_s, phone


def test_visemes_from_phones_by_frame_centre():
    phones = [_Phone(0.0, 0.1, "SIL"), _Phone(0.1, 0.2, "M"), _Phone(0.2, 0.3, "AA")]
    visemes = visemes_from_phones(phones, 10, fps=25.0)  # centres at 0.02, 0.06, ...
    expected = ["sil"] * 2 + ["PP"] * 3 + ["aa"] * 2 + ["sil"] * 3
    assert visemes.tolist() == [VISEME_INDEX[v] for v in expected]
    shifted = visemes_from_phones(phones, 10, fps=25.0, offset_s=-0.1)
    assert shifted[0] == VISEME_INDEX["PP"]


def test_mouth_trajectory_closes_on_bilabials_and_opens_on_vowels():
    visemes = np.array([VISEME_INDEX[v] for v in ["aa"] * 6 + ["PP"] * 2 + ["aa"] * 6])
    opening, spread, params = mouth_trajectory(visemes, np.random.default_rng(0))
    assert opening[6] <= 0.02 and opening[7] <= 0.02
    assert opening[2] > 0.2 and opening[11] > 0.2
    assert set(params) == {"articulation_gain", "coarticulation_sigma_frames"}


def test_deform_face_reaches_the_requested_opening_and_closes_eyes():
    ref = _face_points()
    for target in (0.1, 0.3):
        moved = deform_face(ref, target, 1.0, 0.0)
        assert abs(lm.mouth_opening(moved) - target) < 0.01
        assert moved[facemesh.CHIN, 1] > ref[facemesh.CHIN, 1]  # the jaw drops
    blink = deform_face(ref, 0.0, 1.0, 1.0)
    gap_before = ref[facemesh.RIGHT_EYE_LOWER, 1] - ref[facemesh.RIGHT_EYE_UPPER, 1]
    gap_after = blink[facemesh.RIGHT_EYE_LOWER, 1] - blink[facemesh.RIGHT_EYE_UPPER, 1]
    assert np.all(gap_after < 0.2 * gap_before)


def test_frame_selection_follows_the_source_when_the_target_is_the_source():
    t = np.arange(60)
    opening = 0.2 + 0.15 * np.sin(t / 3.0)
    spread = np.full(60, 0.8)
    pose = np.zeros((60, 2))
    path = _select_frames(opening, spread, pose, np.ones(60, bool), opening, spread, 10, 50, jump_cost=0.5)
    assert len(path) == 40
    assert np.mean(np.abs(opening[path] - opening[10:50])) < 0.01


def test_registry_names_and_labels():
    names = method_names()
    for base in ("audio-swap", "tts-dub", "lip-rewrite", "still-talk", "face-swap"):
        assert base in names
    for name in ("audio-swap-self", "lip-rewrite-self", "still-talk-self"):
        assert name in names and get_method(name).audio_donor == "self"
        assert get_method(name).labels.audio_label == 0
    assert get_method("audio-swap").labels.sync_label == 1 and get_method("audio-swap").labels.video_label == 0
    assert get_method("lip-rewrite").labels.sync_label == 0 and get_method("lip-rewrite").labels.video_label == 1
    assert get_method("face-swap").labels.audio_label == 0 and get_method("face-swap").needs_face_donor
    with pytest.raises(KeyError):
        get_method("deepfake-9000")


def test_mask_box_holds_the_whole_soft_mask_for_any_drawn_style():
    from avcorr.forge.methods.blend import mask_box, sample_blend_style

    polygon = np.array([[100, 90], [160, 85], [170, 130], [105, 140]], float)
    for seed in range(20):
        style = sample_blend_style(np.random.default_rng(seed))
        x0, y0, x1, y1 = mask_box(polygon, style, (400, 400))
        mask = region_mask((y1 - y0, x1 - x0), polygon - (x0, y0), style)
        edge = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
        assert edge.max() < 0.02, style  # no straight seam where the box cuts the mask
