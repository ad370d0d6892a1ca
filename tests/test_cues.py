"""avcorr.cues: container, visual-trace, animation and background-motion features on synthetic clips."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from avcorr.cues import animation, container, traces
from avcorr.cues.animation import animation_features, background_motion, blinks, eye_aspect_ratio
from avcorr.cues.container import container_features
from avcorr.cues.features import CUE_GROUPS, clip_cue_features, cue_feature_names
from avcorr.cues.traces import landmarks_in_mouth_crop, trace_features
from avcorr.data.clip_cache import ClipMeta, ClipRecord
from avcorr.errors import InputError
from avcorr.media.encode import write_video
from avcorr.media.landmarks import (
    EYE_CORNERS, FACE_OVAL, LEFT_EYE_LOWER, LEFT_EYE_UPPER, LIPS_INNER, LIPS_OUTER, NOSE, NOSE_TIP, RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
)

H = 112  # face-crop size


# ----------------------------------------------------------------------------- synthetic faces


def face_landmarks(eye_open: float = 4.0, mouth_open: float = 1.0, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """(478, 3) landmarks of a frontal face in a 112-px crop; eyes 52 px apart (outer corners)."""
    lm = np.zeros((478, 3), np.float32)
    lm[:, :2] = (56, 60)
    phi = np.arange(len(FACE_OVAL)) * 2 * np.pi / len(FACE_OVAL)  # from the top, through the image's right
    lm[FACE_OVAL, 0], lm[FACE_OVAL, 1] = 56 + 40 * np.sin(phi), 58 - 48 * np.cos(phi)
    for upper, lower, (a, b) in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, EYE_CORNERS[:2]), (LEFT_EYE_UPPER, LEFT_EYE_LOWER, EYE_CORNERS[2:])):
        x0, x1 = (30.0, 48.0) if a == 33 else (64.0, 82.0)
        xs = np.linspace(x0, x1, len(upper) + 2)[1:-1]
        bulge = np.sin(np.linspace(0, np.pi, len(upper) + 2)[1:-1])
        lm[upper, 0], lm[upper, 1] = xs, 45 - eye_open * bulge
        lm[lower, 0], lm[lower, 1] = xs, 45 + eye_open * bulge
        lm[a, :2], lm[b, :2] = (x0, 45) if a == 33 else (x1, 45), (x1, 45) if a == 33 else (x0, 45)
    lm[NOSE, 0] = 56 + np.linspace(-6, 6, len(NOSE))
    lm[NOSE, 1] = np.linspace(50, 68, len(NOSE))
    lm[NOSE_TIP, :2] = (56, 66)
    theta = np.pi - np.arange(20) * 2 * np.pi / 20  # left corner, over the upper lip, back below
    lm[LIPS_OUTER, 0], lm[LIPS_OUTER, 1] = 56 + 16 * np.cos(theta), 84 - (3 + mouth_open) * np.sin(theta)
    lm[LIPS_INNER, 0], lm[LIPS_INNER, 1] = 56 + 12 * np.cos(theta), 84 - mouth_open * np.sin(theta)
    lm[:, :2] += shift
    return lm


def render_face(lm: np.ndarray, texture: np.ndarray, mouth_open: float) -> np.ndarray:
    """A (112, 112) uint8 face: a textured oval, dark eyes, a dark mouth with a bright teeth strip."""
    image = texture.copy()
    cv2.ellipse(image, (56, 45), (9, 3), 0, 0, 360, 40, -1)
    cv2.ellipse(image, (73, 45), (9, 3), 0, 0, 360, 40, -1)
    cv2.ellipse(image, (56, 84), (14, max(1, int(round(mouth_open)))), 0, 0, 360, 30, -1)
    if mouth_open >= 3:
        image[82:84, 48:65] = 230
    return image


def textured_face(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.full((H, H), 60.0, np.float32)
    cv2.ellipse(base, (56, 58), (40, 48), 0, 0, 360, 170, -1)
    base += rng.normal(0, 18, (H, H))
    return np.clip(base, 0, 255).astype(np.uint8)


def make_record(frames: np.ndarray, lm: np.ndarray, boxes: np.ndarray | None = None) -> ClipRecord:
    t = len(frames)
    arrays = {"frames": frames, "landmarks": lm.astype(np.float32), "face_found": np.ones(t, bool)}
    if boxes is not None:
        arrays["face_boxes"] = boxes.astype(np.float32)
    return ClipRecord(meta=ClipMeta(clip_id="c", label=0, num_frames=t, duration_s=t / 25), arrays=arrays)


def static_clip(t: int = 50) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lm = face_landmarks(mouth_open=4.0)
    frame = render_face(lm, textured_face(), 4.0)
    boxes = np.tile(np.array([100, 50, 324, 274], np.float32), (t, 1))
    return np.repeat(frame[None], t, axis=0), np.repeat(lm[None], t, axis=0), boxes


# ----------------------------------------------------------------------------- traces and animation


def test_a_static_face_has_no_flicker_jitter_motion_or_blink():
    frames, lm, boxes = static_clip()
    tr = trace_features(frames, lm, face_boxes=boxes)
    an = animation_features(frames, lm, boxes)
    assert set(tr) == set(traces.FEATURE_NAMES) and set(an) == set(animation.FEATURE_NAMES)
    assert tr["flicker_mouth"] == pytest.approx(0.0, abs=1e-6)
    assert tr["flicker_ref"] == pytest.approx(0.0, abs=1e-6)
    assert tr["flicker_log_ratio"] == pytest.approx(0.0, abs=1e-6)
    assert tr["jitter_lips"] == 0.0 and tr["jitter_eyes_nose"] == 0.0
    assert tr["mouth_open_fraction"] == 1.0 and tr["inner_mouth_std"] > 10  # teeth strip in a dark mouth
    assert math.isnan(tr["lip_jerk_ratio"])  # a mouth that never moves has no motion to judge
    assert an["blink_count"] == 0 and an["blink_rate_per_min"] == 0.0
    assert math.isnan(an["blink_duration_s"])
    assert an["head_speed"] == 0.0 and an["yaw_std"] == pytest.approx(0.0, abs=1e-9)
    assert an["ear_std"] == pytest.approx(0.0, abs=1e-9)
    assert an["ncc_mean"] == pytest.approx(1.0, abs=1e-9) and an["ncc_slope_per_s"] == pytest.approx(0.0, abs=1e-9)


def test_one_synthetic_blink_is_counted_with_its_duration():
    t = 100
    lm = np.stack([face_landmarks(eye_open=0.6 if 40 <= i < 44 else 4.0) for i in range(t)])
    ear = eye_aspect_ratio(lm)
    assert ear[0, 0] == pytest.approx(ear[0, 1]) and ear[41, 0] < 0.3 * ear[0, 0]
    assert blinks(ear.mean(axis=1)) == [(40, 4)]
    an = animation_features(None, lm)
    assert an["blink_count"] == 1
    assert an["blink_duration_s"] == pytest.approx(4 / 25)
    assert an["blink_rate_per_min"] == pytest.approx(1 / (t / 25 / 60))
    assert an["ear_lr_corr"] == pytest.approx(1.0)


def test_eyes_kept_shut_for_seconds_are_not_a_blink():
    lm = np.stack([face_landmarks(eye_open=0.5 if 10 <= i < 40 else 4.0) for i in range(100)])
    assert animation_features(None, lm)["blink_count"] == 0


def test_a_blurred_mouth_lowers_the_mouth_to_face_detail_ratio():
    frames, lm, boxes = static_clip(20)
    blurred = frames.copy()
    blurred[:, 74:95, 36:77] = np.stack([cv2.GaussianBlur(f, (0, 0), 2.0) for f in frames])[:, 74:95, 36:77]
    sharp_f = trace_features(frames, lm)
    blur_f = trace_features(blurred, lm)
    assert blur_f["mouth_hf_log_ratio"] < sharp_f["mouth_hf_log_ratio"] - 1.0
    assert blur_f["inner_mouth_detail"] < sharp_f["inner_mouth_detail"]


def test_mouth_flicker_and_lip_jitter_are_measured_where_they_happen():
    frames, lm, _ = static_clip(40)
    rng = np.random.default_rng(1)
    noisy = frames.astype(np.int16)
    noisy[:, 76:92, 42:70] += rng.integers(-20, 21, size=(40, 16, 28)).astype(np.int16)  # mouth-only flicker
    trembling = lm.copy()
    trembling[:, LIPS_OUTER + LIPS_INNER, :2] += rng.normal(0, 0.5, size=(40, 40, 2))
    f = trace_features(np.clip(noisy, 0, 255).astype(np.uint8), trembling)
    assert f["flicker_mouth"] > 5 and f["flicker_ref"] < 0.5 and f["flicker_log_ratio"] > 2
    assert f["jitter_lips"] > 0.01 and f["jitter_eyes_nose"] == 0.0 and f["jitter_log_ratio"] > 3


def test_head_motion_and_drift_follow_the_face_box_and_texture():
    t = 50
    frames, lm, boxes = static_clip(t)
    moving = boxes.copy()
    moving[:, [0, 2]] += np.arange(t)[:, None] * 2.24  # box 224 px wide: 0.01 widths/frame
    an = animation_features(frames, lm, moving)
    assert an["head_speed"] == pytest.approx(0.01 * 25)
    assert an["head_scale_speed"] == pytest.approx(0.0, abs=1e-5)  # float32 boxes
    fading = np.stack([cv2.GaussianBlur(frames[0], (0, 0), 0.3 + 0.05 * i) for i in range(t)])
    drift = animation_features(fading, lm, boxes)
    assert drift["texture_std_slope"] < -0.1  # detail fades by over 10% a second
    assert drift["ncc_min"] <= drift["ncc_mean"] <= 1.0


def test_lip_landmarks_map_into_the_mouth_crop():
    lm = np.repeat(face_landmarks()[None], 5, axis=0)
    boxes = np.tile(np.array([0, 0, H, H], np.float32), (5, 1))  # crop pixels == source pixels
    pts = landmarks_in_mouth_crop(lm, boxes, H, 96)
    # mouth corners 32 px apart; the mouth crop is 2 × that wide, centred on the lips
    assert pts[0, 61] == pytest.approx([24.0, 48.0], abs=1e-4)
    assert pts[0, 291] == pytest.approx([72.0, 48.0], abs=1e-4)


def test_cue_features_are_fixed_length_and_nan_safe():
    frames, lm, boxes = static_clip(30)
    record = make_record(frames, lm, boxes)
    names = cue_feature_names()
    out = clip_cue_features(record)
    assert list(out) == names and len(set(names)) == len(names)
    assert {n.split(".")[0] for n in names} == set(CUE_GROUPS)
    assert all(math.isnan(out[n]) for n in names if n.startswith("bg."))  # no video given
    assert list(clip_cue_features(record, groups=("trace",))) == cue_feature_names(("trace",))
    with pytest.raises(ValueError):
        clip_cue_features(record, groups=("sound",))
    # frames only (no landmarks, no boxes), or a single frame: NaN, never an exception
    bare = ClipRecord(meta=ClipMeta(clip_id="b", label=0), arrays={"frames": frames})
    out = clip_cue_features(bare)
    assert list(out) == names and math.isnan(out["trace.mouth_hf_log_ratio"]) and out["anim.ncc_mean"] == pytest.approx(1.0)
    one = clip_cue_features(make_record(frames[:1], lm[:1], boxes[:1]))
    assert list(one) == names and all(math.isnan(v) for k, v in one.items() if k != "trace.mouth_open_fraction")


# ----------------------------------------------------------------------------- files


def test_container_features_read_what_was_written(tmp_path):
    t, h, w = 30, 64, 96
    rng = np.random.default_rng(0)
    frames = np.clip(120 + rng.normal(0, 10, (t, h, w, 1)), 0, 255).astype(np.uint8).repeat(3, axis=3)
    audio = (0.2 * np.sin(np.arange(int(1.2 * 16000)) * 2 * np.pi * 220 / 16000)).astype(np.float32)
    path = write_video(tmp_path / "clip.mp4", frames, audio, fps=25.0, crf=18)
    f = container_features(path)
    assert list(f) == list(container.FEATURE_NAMES)
    assert (f["width"], f["height"], f["fps"]) == (96, 64, 25)
    assert f["duration_s"] == pytest.approx(1.2, abs=0.05) and f["frame_count"] == 30
    assert f["codec_h264"] == 1 and f["codec_other"] == 0 and f["pix_yuv420p"] == 1
    assert (f["has_audio"], f["audio_sample_rate"], f["audio_channels"]) == (1, 16000, 1)
    assert f["frames_measured"] == 16 and f["video_bitrate_bps"] > 0
    assert f["brightness_mean"] == pytest.approx(120, abs=3)
    flat = container_features(write_video(tmp_path / "flat.mp4", np.full((t, h, w, 3), 120, np.uint8), None))
    assert flat["noise_mad"] < 0.5 < f["noise_mad"] and flat["sharpness_laplacian_var"] < f["sharpness_laplacian_var"]
    assert flat["has_audio"] == 0 and math.isnan(flat["audio_sample_rate"])


def test_container_features_name_the_unreadable_file(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 10)
    for path in (junk, tmp_path / "missing.mp4"):
        with pytest.raises(InputError, match=path.name):
            container_features(path)


def _scene(t: int, background_step: int) -> np.ndarray:
    """(t, 120, 160, 3) frames: a textured background shifting ``background_step`` px a frame
    and a textured face square (box 60..100 × 30..70) whose texture changes every frame."""
    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur(rng.integers(0, 256, (120, 400)).astype(np.uint8), (0, 0), 1.5)
    out = np.empty((t, 120, 160, 3), np.uint8)
    for i in range(t):
        image = background[:, i * background_step : i * background_step + 160].copy()
        image[30:70, 60:100] = cv2.GaussianBlur(rng.integers(0, 256, (40, 40)).astype(np.uint8), (0, 0), 1.5)
        out[i] = image[..., None]
    return out


def test_background_motion_orders_moving_and_static_backgrounds(tmp_path):
    t = 40
    boxes = np.tile(np.array([60, 30, 100, 70], np.float32), (t, 1))
    static = background_motion(write_video(tmp_path / "static.mp4", _scene(t, 0), None), boxes, max_frames=t)
    moving = background_motion(write_video(tmp_path / "moving.mp4", _scene(t, 3), None), boxes, max_frames=t)
    assert list(static) == list(animation.BACKGROUND_NAMES)
    assert moving["bg_motion"] > 5 * max(static["bg_motion"], 0.1)
    assert moving["motion_log_ratio"] > static["motion_log_ratio"] + 1
    assert static["bg_static_fraction"] > 0.9 and moving["bg_static_fraction"] < 0.1
    assert static["face_motion"] > 5  # the face changes in both
    # through clip_cue_features, with the clip starting 0.4 s into the file
    record = make_record(np.zeros((t - 10, 32, 32), np.uint8), np.zeros((t - 10, 478, 3)), boxes[10:])
    record.meta.extra["start_s"] = 0.4
    out = clip_cue_features(record, tmp_path / "moving.mp4", groups=("bg",))
    assert out["bg.bg_motion"] == pytest.approx(moving["bg_motion"], rel=0.2)


def test_long_files_are_sampled_by_seeking_at_the_right_times(tmp_path):
    n = 25 * 80  # 80 s whose brightness steps every second
    values = (np.arange(n) // 25 * 3 % 240 + 8).astype(np.uint8)
    path = write_video(tmp_path / "long.mp4", np.broadcast_to(values[:, None, None, None], (n, 16, 16, 3)).copy(), None)
    f = container_features(path)
    targets = ((np.arange(16) + 0.5) * 80 / 16 * 25).round().astype(int)  # 16 spans' centres, in frames
    assert f["duration_s"] == pytest.approx(80) and f["frames_measured"] == 16
    assert f["brightness_mean"] == pytest.approx(values[targets].mean(), abs=1.0)
    gray, source_height = animation.small_gray_frames(path, 40.4, 30, 25.0, 16)  # seeks: 40.4 s in
    assert source_height == 16 and gray.shape == (30, 16, 16)
    assert np.abs(gray[:, 8, 8].astype(int) - values[1010:1040]).max() <= 2
