"""avcorr.cues.dynamics and avcorr.cues.real_reference on synthetic clips with known answers."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from avcorr.cues import dynamics
from avcorr.cues.animation import blinks, eye_aspect_ratio
from avcorr.cues.dynamics import (
    dynamics_features, eyelid_dynamics, landmark_acceleration, motion_coupling, pixel_acceleration, pulse_agreement,
    rigid_normalise, skin_pulse, temporal_noise,
)
from avcorr.cues.real_reference import (
    KNOWN_COLUMNS, RealReference, fisher_score, fit_reference, reference_columns, tail_p_value,
)
from avcorr.errors import ConfigError
from avcorr.media.encode import write_video
from avcorr.media.landmarks import (
    EYE_CORNERS, FOREHEAD, LEFT_EYE_LOWER, LEFT_EYE_UPPER, MOUTH_LEFT, MOUTH_RIGHT, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER,
)

H = 112  # face-crop size of the synthetic landmarks


def texture(shape: tuple[int, int], seed: int, sigma: float = 2.0) -> np.ndarray:
    """A smooth random texture (float32, mean 128, std about 40)."""
    noise = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), sigma)
    return 128 + 40 * smooth / smooth.std()


def shifted(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    return cv2.warpAffine(image, np.float32([[1, 0, dx], [0, 1, dy]]), image.shape[::-1], flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)


def face_landmarks(eye_open: float = 4.0) -> np.ndarray:
    """(478, 3) landmarks of a frontal face in a 112-px crop: a fixed random mesh with eyes
    (outer corners 52 px apart), forehead and mouth corners where a face has them."""
    rng = np.random.default_rng(0)
    lm = np.zeros((478, 3))
    lm[:, 0], lm[:, 1] = rng.uniform(24, 88, 478), rng.uniform(16, 100, 478)
    for upper, lower, (a, b), (x0, x1) in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, EYE_CORNERS[:2], (30.0, 48.0)),
                                           (LEFT_EYE_UPPER, LEFT_EYE_LOWER, EYE_CORNERS[2:], (82.0, 64.0))):
        xs = np.linspace(x0, x1, len(upper) + 2)[1:-1]
        bulge = np.sin(np.linspace(0, np.pi, len(upper) + 2)[1:-1])
        lm[upper, 0], lm[upper, 1] = xs, 45 - eye_open * bulge
        lm[lower, 0], lm[lower, 1] = xs, 45 + eye_open * bulge
        lm[a, :2], lm[b, :2] = (x0, 45), (x1, 45)
    lm[FOREHEAD, :2] = (56, 14)
    lm[MOUTH_LEFT, :2], lm[MOUTH_RIGHT, :2] = (40, 84), (72, 84)
    return lm


def rigid(lm: np.ndarray, angle: float, scale: float, dx: float, dy: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    out = lm.copy()
    xy = lm[:, :2] - 56
    out[:, 0] = scale * (c * xy[:, 0] - s * xy[:, 1]) + 56 + dx
    out[:, 1] = scale * (s * xy[:, 0] + c * xy[:, 1]) + 56 + dy
    return out


# ----------------------------------------------------------------------------- noise


def pasted_and_camera(n: int = 30, seed: int = 1, noise: float = 3.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gray frames (n, 96, 160) of a face over a background: pasted (background bit-identical in
    every frame, the face re-rendered) and filmed (sensor noise of std ``noise`` everywhere); the boxes."""
    rng = np.random.default_rng(seed)
    bg = texture((96, 160), seed)
    boxes = np.tile([60.0, 24.0, 100.0, 64.0], (n, 1))
    pasted, camera = [], []
    for t in range(n):
        face = texture((40, 40), 100 + t)  # a face that changes every frame
        a = bg.copy()
        a[24:64, 60:100] = face
        pasted.append(a)
        camera.append(a + rng.normal(0, noise, a.shape))
    as_u8 = lambda x: np.clip(np.round(np.stack(x)), 0, 255).astype(np.uint8)  # noqa: E731
    return as_u8(pasted), as_u8(camera), boxes


def test_frozen_background_scores_as_frozen_against_noisy_cameras():
    pasted, camera, boxes = pasted_and_camera()
    frozen, filmed = temporal_noise(pasted, boxes), temporal_noise(camera, boxes)
    assert frozen["bg_noise"] == 0.0 and frozen["bg_zero_fraction"] == 1.0
    assert 2.0 < filmed["bg_noise"] < 4.0  # std 3 white noise, quantised to gray levels
    assert filmed["bg_zero_fraction"] < 0.25
    assert frozen["noise_log_ratio"] < filmed["noise_log_ratio"] - 1.0
    # against reals that are all noisy cameras, the frozen clip is the most extreme possible
    reals = [{f"dyn.{k}": v for k, v in temporal_noise(c, boxes).items()}
             for c in (pasted_and_camera(seed=s)[1] for s in range(2, 11))]
    reference = fit_reference(reals, ["dyn.bg_noise", "dyn.bg_zero_fraction"])
    p = reference.p_values([{f"dyn.{k}": v for k, v in frozen.items()}])[0]
    assert p[0] == pytest.approx(2 / 10) and p[1] == pytest.approx(1 / 10)


def test_encoded_pasted_still_keeps_a_frozen_background(tmp_path):
    # H.264 wipes out faint sensor noise on a still background (std 3 at crf 18 mostly repeats
    # bit-identically, as the pasted one does): a visibly noisy camera, std 6, survives it
    pasted, camera, boxes = pasted_and_camera(n=20, noise=6.0)
    values = {}
    for name, gray in (("pasted", pasted), ("camera", camera)):
        path = write_video(tmp_path / f"{name}.mp4", np.repeat(gray[..., None], 3, axis=3), None, crf=18)
        values[name] = dynamics_features(None, None, boxes, path, cues=("noise",))
    assert values["pasted"]["bg_zero_fraction"] > 0.9
    assert values["camera"]["bg_zero_fraction"] < values["pasted"]["bg_zero_fraction"] - 0.5
    assert values["pasted"]["bg_noise"] < 0.5 * values["camera"]["bg_noise"]
    assert math.isnan(values["pasted"]["lm_accel"])  # a cue switched off stays NaN


# ----------------------------------------------------------------------------- coupling


def shaking(n: int = 40, handheld: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A head swaying on a smooth path; handheld: the whole image moves with it (camera shake);
    otherwise the face is pasted over a still background."""
    rng = np.random.default_rng(3)
    path = cv2.GaussianBlur(np.cumsum(rng.normal(0, 1.0, (n, 2)), axis=0).astype(np.float32), (1, 0), 3).reshape(n, 2)
    path = 3 * path / np.abs(path).max()
    bg, face = texture((120, 160), 4), texture((40, 40), 5)
    frames, boxes = [], []
    for dx, dy in path:
        image = bg.copy()
        image[40:80, 60:100] = face
        if handheld:
            image = shifted(image, dx, dy)
        else:
            layer, mask = np.zeros_like(bg), np.zeros_like(bg)
            layer[40:80, 60:100], mask[40:80, 60:100] = face, 1
            layer, mask = shifted(layer, dx, dy), shifted(mask, dx, dy)
            image = bg * (1 - mask) + layer * mask
        frames.append(image)
        boxes.append([60 + dx, 40 + dy, 100 + dx, 80 + dy])
    return np.clip(np.round(np.stack(frames)), 0, 255).astype(np.uint8), np.array(boxes)


def test_pasted_face_moves_alone_where_camera_shake_moves_both():
    handheld = motion_coupling(*shaking(handheld=True))
    pasted = motion_coupling(*shaking(handheld=False))
    assert pasted["bg_shift"] < 0.05 < handheld["bg_shift"]
    assert pasted["head_alone"] > 0.9 and handheld["head_alone"] < 0.3
    assert handheld["head_bg_corr"] > 0.8


# ----------------------------------------------------------------------------- acceleration


def test_rigid_normalise_removes_a_rigid_motion_and_reports_it():
    t = np.arange(30)
    angle, scale = 0.1 * np.sin(t / 5), 1 + 0.05 * np.cos(t / 7)
    base = face_landmarks()
    track = np.stack([rigid(base, a, s, 2 * np.sin(t_ / 4), 0) for t_, a, s in zip(t, angle, scale)])
    aligned, pose = rigid_normalise(track)
    assert np.abs(aligned - aligned[0]).max() < 1e-9
    assert np.allclose(np.diff(pose[:, 3]), np.diff(angle), atol=1e-9)  # roll
    assert np.allclose(np.diff(pose[:, 2]), np.diff(np.log(scale)), atol=1e-9)


def test_pasted_still_has_flatter_acceleration_than_a_natural_clip():
    rng = np.random.default_rng(7)
    t = np.arange(50)
    base = face_landmarks()
    pose = [(0.05 * np.sin(k / 6), 1.0, 3 * np.sin(k / 9), np.cos(k / 11)) for k in t]
    still = np.stack([rigid(base, *p) for p in pose])
    # natural: the same head motion, plus articulation that starts and stops, plus tracker noise
    moves = np.repeat(rng.normal(0, 1.0, (10, 478, 3)), 5, axis=0)
    natural = np.stack([rigid(base + moves[k] * [1, 1, 0], *p) for k, p in enumerate(pose)])
    natural[:, :, :2] += rng.normal(0, 0.3, (50, 478, 2))
    a_still, a_natural = landmark_acceleration(still), landmark_acceleration(natural)
    assert a_still["lm_accel"] < 1e-6 < a_natural["lm_accel"]
    # pixels: one textured frame warped smoothly vs frames with their own noise and jitter
    image = texture((H, H), 8)
    smooth = np.stack([shifted(image, 2 * np.sin(k / 8), np.cos(k / 10)) for k in t])
    filmed = np.stack([shifted(image, 2 * np.sin(k / 8) + rng.normal(0, 0.3), np.cos(k / 10)) + rng.normal(0, 2, image.shape)
                       for k in t])
    as_u8 = lambda x: np.clip(np.round(x), 0, 255).astype(np.uint8)  # noqa: E731
    p_still, p_natural = pixel_acceleration(as_u8(smooth)), pixel_acceleration(as_u8(filmed))
    assert p_still["pix_accel"] < p_natural["pix_accel"]
    assert p_still["pix_accel_ratio"] < 0.8 < 1.2 < p_natural["pix_accel_ratio"]
    assert p_still["flow_accel_ratio"] < p_natural["flow_accel_ratio"]


# ----------------------------------------------------------------------------- eyes


def test_blink_sequence_gives_its_blinks_and_their_shape():
    # open 4 px; each blink closes in two frames, opens in three: 4 → 2.0 → 0.5 → 1.5 → 2.5 → 3.5 → 4
    gaps = [4.0] * 100
    for start in (10, 45, 80):
        gaps[start:start + 5] = [2.0, 0.5, 1.5, 2.5, 3.5]
    track = np.stack([face_landmarks(g) for g in gaps])
    ear = eye_aspect_ratio(track).mean(axis=1)
    assert [s for s, _ in blinks(ear)] == [10, 45, 80]  # 2.5 < 0.65 · 4: four frames closed each
    eyes = eyelid_dynamics(track)
    assert eyes["blink_depth"] == pytest.approx(0.5 / 4.0)
    # last open frame → lowest: 2 frames; lowest → first open again: 3 frames (+0.5 each)
    assert eyes["blink_close_open"] == pytest.approx(2.5 / 3.5)
    assert eyes["ear_accel"] == pytest.approx(0.0, abs=1e-12)  # lids still between blinks
    assert math.isnan(eyelid_dynamics(np.stack([face_landmarks()] * 30))["blink_depth"])


# ----------------------------------------------------------------------------- pulse


def test_shared_pulse_correlates_and_independent_noise_does_not():
    rng = np.random.default_rng(9)
    t = np.arange(250) / 25.0
    pulse = 0.5 * np.sin(2 * np.pi * 1.2 * t)
    shared = 100 + pulse[:, None] + rng.normal(0, 0.05, (250, 3))
    independent = 100 + rng.normal(0, 0.5, (250, 3))
    assert pulse_agreement(shared)["pulse_corr"] > 0.9
    assert abs(pulse_agreement(independent)["pulse_corr"]) < 0.35
    assert pulse_agreement(shared)["pulse_amp"] == pytest.approx(0.5 / 100 / math.sqrt(2) * 1000, rel=0.1)
    assert math.isnan(pulse_agreement(shared[:40])["pulse_corr"])  # under two seconds


def test_skin_pulse_reads_the_patches_where_the_landmarks_put_them():
    rng = np.random.default_rng(10)
    n, size = 100, 64  # the face box is 64 px: landmarks scale by 64 / 112
    box = np.array([48.0, 16.0, 48.0 + size, 16.0 + size])
    k = size / H
    lm = face_landmarks()
    pulse = 3.0 * np.sin(2 * np.pi * 1.5 * np.arange(n) / 25.0)
    frames = np.full((n, 96, 160, 3), 120.0) + rng.normal(0, 1.0, (n, 96, 160, 1))
    for centre in ((0.6 * lm[FOREHEAD, :2] + 0.4 * (lm[33, :2] + lm[263, :2]) / 2),
                   (lm[33, :2] + lm[MOUTH_LEFT, :2]) / 2, (lm[263, :2] + lm[MOUTH_RIGHT, :2]) / 2):
        cx, cy = box[:2] + centre * k
        frames[:, int(cy) - 4:int(cy) + 4, int(cx) - 4:int(cx) + 4, 1] += pulse[:, None, None]
    rgb = np.clip(np.round(frames), 0, 255).astype(np.uint8)
    out = skin_pulse(rgb, np.tile(box, (n, 1)), np.stack([lm] * n), H)
    assert out["pulse_corr"] > 0.8
    assert abs(out["pulse_bg_corr"]) < 0.5  # the background does not share it


# ----------------------------------------------------------------------------- reference


def test_two_sided_p_value_against_a_hand_computed_reference():
    reals = np.arange(1.0, 20.0)  # 1 … 19
    assert tail_p_value(reals, 0.0, "two") == pytest.approx(2 * 1 / 20)
    assert tail_p_value(reals, 0.0, "low") == pytest.approx(1 / 20)
    assert tail_p_value(reals, 0.0, "high") == pytest.approx(1.0)
    assert tail_p_value(reals, 25.0, "high") == pytest.approx(1 / 20)
    assert tail_p_value(reals, 19.0, "two") == pytest.approx(2 * 2 / 20)  # the value itself counts as a tie
    assert tail_p_value(reals, 10.0, "two") == 1.0  # 2 · 11 / 20 capped at 1
    assert math.isnan(tail_p_value(reals, math.nan, "two")) and math.isnan(tail_p_value(np.array([]), 1.0, "two"))
    with pytest.raises(ValueError):
        tail_p_value(reals, 1.0, "both")


def test_each_source_group_weighs_one_clip():
    # nine clips of one big source at 1, one clip each of two small sources at 2 and 3
    rows = [{"zs.mean_correlation": v} for v in [1.0] * 9 + [2.0, 3.0]]
    groups = ["big"] * 9 + ["b", "c"]
    weighted = fit_reference(rows, ["zs.mean_correlation"], groups)
    plain = fit_reference(rows, ["zs.mean_correlation"])
    probe = [{"zs.mean_correlation": v} for v in (0.0, 1.5, 2.5)]
    # three groups of weight 1, the new clip one more: low(0) = 1 / 4, low(1.5) = (1 + 1) / 4 (the big
    # source counts once), high(2.5) = (1 + 1) / 4; unweighted the big source is 9 of 11 clips
    assert weighted.p_values(probe)[:, 0] == pytest.approx([2 * 1 / 4, 1.0, 1.0])
    assert plain.p_values(probe)[:, 0] == pytest.approx([2 * 1 / 12, 2 * 3 / 12, 2 * 2 / 12])
    assert tail_p_value(np.array([1.0, 2.0]), 1.5, "low", np.array([0.5, 0.5])) == pytest.approx(1.5 / 2)


def test_fisher_score_by_hand():
    # X/2 = −ln 0.25 = ln 4, four degrees of freedom: sf = 0.25 (1 + ln 4)
    assert fisher_score([0.5, 0.5]) == pytest.approx(-math.log10(0.25 * (1 + math.log(4))))
    assert fisher_score([0.01]) == pytest.approx(2.0)
    assert fisher_score([math.nan]) == 0.0 and fisher_score([1.0, 1.0]) == 0.0
    assert fisher_score([1e-300] * 3) > 290  # finite, no underflow


def reals(n: int = 40, seed: int = 11) -> tuple[list[dict[str, float]], list[str]]:
    rng = np.random.default_rng(seed)
    names = reference_columns(("noise", "consistency"))
    rows = [{name: float(rng.normal()) for name in names} for _ in range(n)]
    return rows, [f"group{i % 20}" for i in range(n)]


def test_reference_scores_an_outlier_above_typical_clips_and_nothing_measured_as_zero():
    rows, groups = reals()
    reference = fit_reference(rows, reference_columns(("noise", "consistency")), groups)
    typical = {name: 0.0 for name in reference.names}
    outlier = dict(typical, **{"zs.mean_correlation": 5.0})  # over-consistent: above every real
    low = dict(typical, **{"zs.mean_correlation": -5.0})      # under-consistent: below every real
    scores = reference.score([typical, outlier, low, {}])
    assert scores[1] > scores[0] + 0.1 and scores[2] == pytest.approx(scores[1])
    # beyond every real of 20 equally weighted groups: two-sided 2 · 1 / 21
    assert reference.cue_p_values([outlier])["consistency"][0] == pytest.approx(2 / 21)
    assert scores[3] == 0.0
    assert len(reference.real_scores) == 40 and np.isfinite(reference.real_scores).all()
    assert reference.folds.startswith("5 parts by source group")
    with pytest.raises(ValueError):
        fit_reference(rows, ["dyn.no_such_feature"])
    with pytest.raises(ValueError):
        reference_columns(("telepathy",))


def test_reference_save_load_round_trip(tmp_path):
    rows, groups = reals()
    reference = fit_reference(rows, reference_columns(("noise", "consistency")), groups)
    loaded = RealReference.load(reference.save(tmp_path / "ref.json"))
    assert loaded.names == reference.names and loaded.real_scores == reference.real_scores
    assert [c.side for c in loaded.columns] == [KNOWN_COLUMNS[n].side for n in reference.names]
    probe = reals(5, seed=12)[0]
    assert np.array_equal(loaded.score(probe), reference.score(probe))
    assert all(np.array_equal(loaded.weights[k], reference.weights[k]) for k in reference.names)
    (tmp_path / "bad.json").write_text('{"format": "something else"}')
    with pytest.raises(ConfigError, match="bad.json"):
        RealReference.load(tmp_path / "bad.json")


def test_every_feature_states_its_side_and_why():
    assert all(f.side in ("low", "high", "two") and f.why for cue in dynamics.CUES for f in dynamics.FEATURES[cue])
    assert set(reference_columns()) == set(KNOWN_COLUMNS)
    with pytest.raises(ValueError):
        dynamics_features(None, None, None, cues=("noise", "telepathy"))
