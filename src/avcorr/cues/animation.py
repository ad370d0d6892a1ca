"""Cues of still-image animation: how a head moves, how eyes blink, whether the face drifts.

Animators (SadTalker, Hallo, FantasyTalking, FLOAT, …) drive one photograph: the head sways on a
learned, often too regular or too small, motion; blinks are missing, periodic or one-eyed; the
face texture slowly drifts from the photograph, or never changes at all; the background is
frozen or warps with the head, where a filmed background moves with the camera, not the head.

Head and eye measures come from the cached face boxes (source pixels, normalised by the box size)
and landmarks (face-crop pixels, as ratios); drift from the face crops; background motion
(:func:`background_motion`) from a light decode of the video itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avcorr.cues import stats
from avcorr.cues.stats import NAN
from avcorr.media.decode import iter_frames
from avcorr.media.landmarks import (
    CHEEKS, CHIN, EYE_CORNERS, EYE_OUTER, LEFT_EYE_LOWER, LEFT_EYE_UPPER, NOSE_TIP, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER,
)
from avcorr.media.probe import probe

#: An eye counts as closing when its aspect ratio falls below this share of the clip's median.
BLINK_DROP = 0.65
#: Longest closure still counted as a blink (longer ones are eyes kept shut), seconds.
MAX_BLINK_S = 0.8

#: The face box (itself 1.25 × the face mesh) enlarged this much is kept out of the background.
BACKGROUND_MARGIN = 1.3
#: Least share of the frame left as background for background motion to be measured.
MIN_BACKGROUND = 0.03

#: Stable names, in order, of :func:`animation_features`' output.
FEATURE_NAMES: tuple[str, ...] = (
    "head_speed", "head_speed_std", "head_scale_speed",
    "yaw_std", "yaw_speed", "pitch_std", "pitch_speed", "roll_std_deg",
    "blink_count", "blink_rate_per_min", "blink_duration_s", "ear_mean", "ear_std", "ear_lr_corr",
    "ncc_mean", "ncc_min", "ncc_slope_per_s", "texture_std_slope",
)
#: Stable names, in order, of :func:`background_motion`'s output.
BACKGROUND_NAMES: tuple[str, ...] = (
    "motion_log_ratio", "bg_motion", "face_motion", "bg_head_corr", "bg_static_fraction",
)


def animation_features(
    frames: np.ndarray | None,
    landmarks: np.ndarray | None,
    face_boxes: np.ndarray | None = None,
    fps: float = 25.0,
) -> dict[str, float]:
    """Still-image animation cues of one clip (names in :data:`FEATURE_NAMES`; NaN if not measurable).

    ``frames`` (T, H, H) uint8 face crops; ``landmarks`` (T, 478, 3) face-crop pixels;
    ``face_boxes`` (T, 4) source pixels; ``fps`` of the crops. Units:

    - ``head_speed`` (± ``head_speed_std``): face-box centre speed in box widths per second;
      ``head_scale_speed``: mean |d log(box size)/dt| per second.
    - pose proxies from landmarks: yaw = nose tip's horizontal place between the face's sides
      (−1 … 1), pitch = nose tip's height between the eye line and the chin (0 … 1), roll = the eye
      line's angle (degrees); ``*_std`` over the clip, ``*_speed`` mean |change| per second.
    - eyes: eye aspect ratio (EAR: mean lid gap over corner distance, both eyes averaged);
      ``blink_count`` closures below ``BLINK_DROP`` × the median EAR lasting at most
      ``MAX_BLINK_S``; ``blink_rate_per_min``; ``blink_duration_s`` their mean length (NaN
      without a blink); ``ear_mean``, ``ear_std``; ``ear_lr_corr`` the two eyes' EAR correlation.
    - drift: normalised cross-correlation of each low-passed (16×16) face crop with the mean of the
      first second's: ``ncc_mean``, ``ncc_min``, ``ncc_slope_per_s`` (per second); and
      ``texture_std_slope``, the relative change per second of the crop's high-pass std.
    """
    out = dict.fromkeys(FEATURE_NAMES, NAN)
    with np.errstate(all="ignore"):
        if face_boxes is not None and np.asarray(face_boxes).ndim == 2 and len(face_boxes) >= 3:
            out.update(_head_motion(np.asarray(face_boxes, dtype=np.float64), fps))
        lm = None if landmarks is None else np.asarray(landmarks, dtype=np.float64)
        if lm is not None and lm.ndim == 3 and len(lm) >= 3 and lm.shape[1] > max(LEFT_EYE_LOWER + LEFT_EYE_UPPER):
            out.update(_pose(lm, fps))
            out.update(_eyes(lm, fps))
        if frames is not None and np.asarray(frames).ndim == 3 and len(frames) >= 3:
            out.update(_drift(np.asarray(frames), fps))
    return {name: float(out[name]) for name in FEATURE_NAMES}


# ----------------------------------------------------------------------------- head and pose


def head_speed_series(face_boxes: np.ndarray, fps: float = 25.0) -> np.ndarray:
    """(T − 1,) face-box centre speed between consecutive frames, box widths per second."""
    boxes = np.asarray(face_boxes, dtype=np.float64)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    size = np.maximum(boxes[:, 2] - boxes[:, 0], 1e-6)
    return np.linalg.norm(np.diff(centre, axis=0), axis=1) / ((size[1:] + size[:-1]) / 2) * fps


def _head_motion(boxes: np.ndarray, fps: float) -> dict[str, float]:
    speed = head_speed_series(boxes, fps)
    size = boxes[:, 2] - boxes[:, 0]
    log_size = np.log(np.where(size > 0, size, np.nan))
    return {
        "head_speed": stats.mean(speed), "head_speed_std": stats.std(speed),
        "head_scale_speed": stats.mean(np.abs(np.diff(log_size))) * fps,
    }


def _pose(lm: np.ndarray, fps: float) -> dict[str, float]:
    left, right = lm[:, CHEEKS[0], :2], lm[:, CHEEKS[1], :2]
    nose = lm[:, NOSE_TIP, :2]
    span = right[:, 0] - left[:, 0]
    yaw = 2 * (nose[:, 0] - left[:, 0]) / np.where(np.abs(span) > 1e-6, span, np.nan) - 1
    eye_a, eye_b = lm[:, EYE_OUTER[0], :2], lm[:, EYE_OUTER[1], :2]
    eye_y = (eye_a[:, 1] + eye_b[:, 1]) / 2
    height = lm[:, CHIN, 1] - eye_y
    pitch = (nose[:, 1] - eye_y) / np.where(np.abs(height) > 1e-6, height, np.nan)
    roll = np.degrees(np.arctan2(eye_b[:, 1] - eye_a[:, 1], eye_b[:, 0] - eye_a[:, 0]))
    return {
        "yaw_std": stats.std(yaw), "yaw_speed": stats.mean(np.abs(np.diff(yaw))) * fps,
        "pitch_std": stats.std(pitch), "pitch_speed": stats.mean(np.abs(np.diff(pitch))) * fps,
        "roll_std_deg": stats.std(roll),
    }


# ----------------------------------------------------------------------------- eyes


def eye_aspect_ratio(landmarks: np.ndarray) -> np.ndarray:
    """(T, 2) eye aspect ratio of each eye (the subject's right, then left): mean distance between
    the upper and lower lid points over the distance between the eye's corners (unitless)."""
    lm = np.asarray(landmarks, dtype=np.float64)[:, :, :2]
    out = []
    for upper, lower, corners in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, EYE_CORNERS[:2]), (LEFT_EYE_UPPER, LEFT_EYE_LOWER, EYE_CORNERS[2:])):
        gap = np.linalg.norm(lm[:, upper] - lm[:, lower], axis=2).mean(axis=1)
        width = np.linalg.norm(lm[:, corners[0]] - lm[:, corners[1]], axis=1)
        out.append(gap / np.where(width > 1e-6, width, np.nan))
    return np.stack(out, axis=1)


def blinks(ear: np.ndarray, fps: float = 25.0) -> list[tuple[int, int]]:
    """Blinks in an EAR series: (first frame, length) of each run below ``BLINK_DROP`` × median,
    runs one frame apart merged, runs longer than ``MAX_BLINK_S`` left out."""
    ear = np.asarray(ear, dtype=np.float64)
    base = stats.median(ear)
    if not base > 0:
        return []
    closed = np.nan_to_num(ear, nan=base) < BLINK_DROP * base
    runs: list[list[int]] = []
    for t in np.flatnonzero(closed):
        if runs and t - (runs[-1][0] + runs[-1][1]) <= 1:
            runs[-1][1] = t - runs[-1][0] + 1
        else:
            runs.append([int(t), 1])
    return [(s, n) for s, n in runs if n <= MAX_BLINK_S * fps]


def _eyes(lm: np.ndarray, fps: float) -> dict[str, float]:
    ear_lr = eye_aspect_ratio(lm)
    ear = ear_lr.mean(axis=1)
    found = blinks(ear, fps)
    minutes = len(ear) / fps / 60.0
    return {
        "blink_count": float(len(found)),
        "blink_rate_per_min": len(found) / minutes if minutes > 0 else NAN,
        "blink_duration_s": float(np.mean([n for _, n in found]) / fps) if found else NAN,
        "ear_mean": stats.mean(ear), "ear_std": stats.std(ear),
        "ear_lr_corr": stats.correlation(ear_lr[:, 0], ear_lr[:, 1]),
    }


# ----------------------------------------------------------------------------- drift


def _drift(frames: np.ndarray, fps: float) -> dict[str, float]:
    import cv2

    small = np.stack([cv2.resize(f, (16, 16), interpolation=cv2.INTER_AREA) for f in frames]).astype(np.float64)
    first = max(1, min(len(small), int(round(fps))))
    reference = small[:first].mean(axis=0).reshape(-1)
    reference -= reference.mean()
    flat = small.reshape(len(small), -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    denom = np.linalg.norm(flat, axis=1) * np.linalg.norm(reference)
    ncc = np.where(denom > 1e-9, flat @ reference / np.where(denom > 1e-9, denom, 1.0), np.nan)
    x = frames.astype(np.float32)
    blurred = np.stack([cv2.GaussianBlur(f, (0, 0), 2.0) for f in x])
    texture = (x - blurred).reshape(len(x), -1).std(axis=1)
    return {
        "ncc_mean": stats.mean(ncc), "ncc_min": float(np.nanmin(ncc)) if np.isfinite(ncc).any() else NAN,
        "ncc_slope_per_s": stats.slope(ncc, 1.0 / fps),
        "texture_std_slope": stats.ratio(stats.slope(texture, 1.0 / fps), stats.mean(texture)),
    }


# ----------------------------------------------------------------------------- background


def background_motion(
    path: str | Path,
    face_boxes: np.ndarray,
    start_s: float = 0.0,
    max_frames: int = 100,
    fps: float = 25.0,
    height: int = 160,
    static_level: float = 0.5,
) -> dict[str, float]:
    """Background motion against the head's, from the video file (names in :data:`BACKGROUND_NAMES`).

    Frames at ``fps`` from ``start_s`` seconds after the first frame (the clip cache's
    ``extra.start_s``), ``max_frames`` at most, are decoded straight to gray at ``height``
    pixels; frame ``t`` is paired with ``face_boxes[t]`` (source pixels). Per frame pair, the
    mean |difference| (gray levels per frame) is taken inside the face box and in the
    *background*: outside the face box enlarged ``BACKGROUND_MARGIN`` × and the column of the
    frame below it (neck and body move with the head) — NaN for a pair where that leaves under
    ``MIN_BACKGROUND`` of the frame (a face filling it).

    Features: ``motion_log_ratio`` log(background / face motion), ``bg_motion`` and
    ``face_motion`` (means, gray levels per frame), ``bg_head_corr`` the correlation of the
    per-frame background motion with the face box's speed, ``bg_static_fraction`` the share of
    pairs whose background changes by under ``static_level`` gray levels. All NaN with fewer than
    3 frames. Raises :class:`~avcorr.errors.InputError` for an unreadable file.
    """
    out = dict.fromkeys(BACKGROUND_NAMES, NAN)
    boxes = np.asarray(face_boxes, dtype=np.float64)
    if boxes.ndim != 2 or len(boxes) < 3:
        return out
    limit = min(int(max_frames), len(boxes))
    gray, source_height = small_gray_frames(path, start_s, limit, fps, height)
    if len(gray) < 3:
        return out
    boxes = boxes[: len(gray)] * (gray.shape[1] / source_height)
    diff = np.abs(np.diff(gray.astype(np.float32), axis=0))
    h, w = gray.shape[1:]
    bg_t, face_t = [], []
    for t in range(len(diff)):
        box = (boxes[t] + boxes[t + 1]) / 2
        face, background = _motion_masks(box, h, w)
        face_t.append(float(diff[t][face].mean()) if face.any() else NAN)
        bg_t.append(float(diff[t][background].mean()) if background.sum() >= MIN_BACKGROUND * h * w else NAN)
    bg_t, face_t = np.array(bg_t), np.array(face_t)
    return _motion_summary(bg_t, face_t, head_speed_series(boxes[: len(gray)], fps), static_level)


@dataclass
class MotionSeries:
    """Per-frame-pair motion of a stretch of video, for background motion of many windows from one
    decode (:func:`motion_series`, :func:`window_background_motion`).

    ``bg[t]`` and ``face[t]``: mean |difference| (gray levels per frame) between frames t and t + 1
    in the background and inside the face box, as :func:`background_motion` measures them (NaN
    where it would be); ``boxes``: (N, 4) face boxes in the small frames' pixels; ``fps`` of the frames.
    """

    bg: np.ndarray
    face: np.ndarray
    boxes: np.ndarray
    fps: float = 25.0

    @property
    def num_frames(self) -> int:
        return int(len(self.boxes))


def motion_series(gray: np.ndarray, source_height: int, face_boxes: np.ndarray, fps: float = 25.0) -> MotionSeries:
    """The motion of every consecutive pair of ``gray`` frames (as :func:`small_gray_frames`
    returns them, with the source's height), frame ``t`` paired with ``face_boxes[t]`` (source
    pixels); frames beyond either array are dropped. One pass, so that windows of a long clip
    need not decode the video again each."""
    boxes = np.asarray(face_boxes, dtype=np.float64)
    n = min(len(gray), len(boxes)) if boxes.ndim == 2 else 0
    if n == 0:
        return MotionSeries(np.zeros(0), np.zeros(0), np.zeros((0, 4)), fps)
    boxes = boxes[:n] * (gray.shape[1] / source_height)
    h, w = gray.shape[1:]
    bg_t, face_t = np.full(max(n - 1, 0), NAN), np.full(max(n - 1, 0), NAN)
    for t in range(n - 1):
        diff = np.abs(gray[t + 1].astype(np.float32) - gray[t].astype(np.float32))
        face, background = _motion_masks((boxes[t] + boxes[t + 1]) / 2, h, w)
        face_t[t] = float(diff[face].mean()) if face.any() else NAN
        bg_t[t] = float(diff[background].mean()) if background.sum() >= MIN_BACKGROUND * h * w else NAN
    return MotionSeries(bg=bg_t, face=face_t, boxes=boxes, fps=fps)


def window_background_motion(series: MotionSeries, start: int, length: int, max_frames: int = 100,
                             static_level: float = 0.5) -> dict[str, float]:
    """:func:`background_motion`'s features of frames ``start`` … ``start + length`` of a
    :func:`motion_series` — the same values it returns for that window decoded on its own (its
    first ``max_frames`` frames; all NaN with fewer than 3)."""
    out = dict.fromkeys(BACKGROUND_NAMES, NAN)
    end = min(start + min(int(max_frames), int(length)), series.num_frames)
    if end - start < 3:
        return out
    bg_t, face_t = series.bg[start:end - 1], series.face[start:end - 1]
    return _motion_summary(bg_t, face_t, head_speed_series(series.boxes[start:end], series.fps), static_level)


def _motion_summary(bg_t: np.ndarray, face_t: np.ndarray, speed: np.ndarray, static_level: float) -> dict[str, float]:
    """The ``bg.*`` features from per-frame-pair background and face motion and the head speed."""
    with np.errstate(all="ignore"):
        finite_bg = bg_t[np.isfinite(bg_t)]
        out = {
            "motion_log_ratio": stats.log_ratio(stats.mean(bg_t), stats.mean(face_t), eps=0.05),
            "bg_motion": stats.mean(bg_t), "face_motion": stats.mean(face_t),
            "bg_head_corr": stats.correlation(bg_t, speed),
            "bg_static_fraction": float(np.mean(finite_bg < static_level)) if finite_bg.size else NAN,
        }
    return {name: float(out[name]) for name in BACKGROUND_NAMES}

def _motion_masks(box: np.ndarray, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(face, background) boolean masks for one face box in the downscaled frame's pixels."""
    x0, y0, x1, y1 = box
    face = np.zeros((h, w), bool)
    face[int(np.clip(y0, 0, h)) : int(np.clip(np.ceil(y1), 0, h)), int(np.clip(x0, 0, w)) : int(np.clip(np.ceil(x1), 0, w))] = True
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, BACKGROUND_MARGIN / 2 * (x1 - x0)
    keep_out = np.zeros((h, w), bool)
    top, left, right = int(np.clip(cy - half, 0, h)), int(np.clip(cx - half, 0, w)), int(np.clip(np.ceil(cx + half), 0, w))
    keep_out[top:, left:right] = True  # the enlarged box and everything below it
    return face, ~keep_out


def small_gray_frames(path: str | Path, start_s: float, count: int, fps: float = 25.0, height: int = 160) -> tuple[np.ndarray, int]:
    """Up to ``count`` gray frames (N, height, W) uint8 at ``fps`` from ``start_s``, and the source height.

    Output frame k is the latest source frame shown at ``start_s + k / fps`` (half a frame period of
    tolerance), upright, as :func:`avcorr.media.decode.iter_frames` times them (it decodes them:
    straight to the small gray size, without deblocking, which motion at 160 px does not need).
    The source height is the displayed one (rotation applied), in the pixels of the face boxes.
    """
    info = probe(path)
    frames = list(iter_frames(path, fps, count, start_s=start_s, height=height, pixel_format="gray", fast=True))
    if not frames:
        return np.zeros((0, height, 2), np.uint8), max(info.height, 1)
    return np.stack(frames), max(info.height, 1)
