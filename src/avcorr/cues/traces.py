"""Visual traces of generation, measured inside the cached face and mouth crops.

A lip-sync generator repaints the lower face and pastes it back; an animator re-renders the whole
face. What that leaves behind: a mouth sharper or blurrier than the rest of the
face, teeth without detail, frame-to-frame flicker in the mouth that the cheeks do not share, a
seam along the jaw, landmarks that tremble more (or less) than a filmed face's. Every measure is
a ratio or is normalised by the inter-ocular distance inside the fixed-size crop, so the source's
resolution reaches the numbers as little as possible (docs/design.md §8–9: resolution is a shortcut).

Regions come from the clip's median landmark positions (the crop follows the face, so a region
stays on its part of the face), except the inner-mouth polygon, which follows the lips per frame.
Landmark indices are MediaPipe face-mesh ones, taken from the modules that already name them.
"""
from __future__ import annotations

import numpy as np

from avcorr.cues import stats
from avcorr.cues.stats import NAN
from avcorr.media.crops import MOUTH_SCALE
from avcorr.media.landmarks import (
    EYE_CORNERS, EYE_OUTER, FACE_OVAL, FOREHEAD, INNER_CORNERS, LIPS_INNER, LIPS_OUTER, MOUTH_LEFT, MOUTH_RIGHT, NOSE, NOSE_TIP,
)
from avcorr.teachers.phonetic.lips import FEATURE_NAMES as LIP_FEATURE_NAMES, lip_geometry

#: The lower face contour (ear to ear around the chin), where a pasted lower face is blended.
JAW = FACE_OVAL[FACE_OVAL.index(454) : FACE_OVAL.index(234) + 1]
LIP_POINTS = sorted(set(LIPS_OUTER + LIPS_INNER))
EYE_NOSE_POINTS = sorted(set(EYE_CORNERS) | set(NOSE))
#: Inner-lip opening / inner-lip width above which the mouth counts as open (teeth may show).
OPEN_RATIO = 0.15

#: Stable names, in order, of :func:`trace_features`' output.
FEATURE_NAMES: tuple[str, ...] = (
    "mouth_hf_log_ratio",
    "inner_mouth_std", "inner_mouth_brightness_rel", "inner_mouth_detail", "mouth_open_fraction",
    "flicker_mouth", "flicker_ref", "flicker_log_ratio",
    "blend_grad_log_ratio", "blend_ring_grad_cv",
    "jitter_lips", "jitter_eyes_nose", "jitter_log_ratio",
    "lip_jerk_ratio", "lip_hf_fraction", "lip_speed", "lip_open_std",
)

Box = tuple[int, int, int, int]  # y0, y1, x0, x1 (half-open), pixels of the face crop


def trace_features(
    frames: np.ndarray,
    landmarks: np.ndarray | None,
    mouth: np.ndarray | None = None,
    face_boxes: np.ndarray | None = None,
    face_found: np.ndarray | None = None,
    fps: float = 25.0,
) -> dict[str, float]:
    """Visual-trace cues of one clip (names in :data:`FEATURE_NAMES`; NaN where not measurable).

    ``frames`` (T, H, H) uint8 gray face crops; ``landmarks`` (T, 478, 3) in face-crop pixels;
    ``mouth`` (T, M, M) uint8 mouth crops (used for the inner mouth when given, with
    ``face_boxes`` (T, 4) to place the lips in them); ``face_found`` (T,) bool; ``fps`` of the
    crops. Units:

    - ``mouth_hf_log_ratio``: log of the mean squared 3×3 Laplacian in the mouth box over that in
      the eye/brow box (both inside the same crop, so the source's resolution cancels).
    - ``inner_mouth_*`` over frames with the mouth open: gray-level std inside the inner-lip
      polygon (gray levels), its mean brightness over the crop's, and its mean |Laplacian| over the
      crop's; ``mouth_open_fraction`` the share of open frames.
    - ``flicker_*``: mean |frame difference| (gray levels per frame) after removing each frame's
      mean brightness, in the mouth box and in the cheek and forehead boxes; their log ratio.
    - ``blend_grad_log_ratio``: log of the mean gradient magnitude on a band along the jaw contour
      over that of the lower-face skin inside it; ``blend_ring_grad_cv``: the band's per-frame
      gradient, std over mean.
    - ``jitter_*``: RMS second difference of landmark positions (inter-ocular distances per
      frame²) for the lips and for the eye corners and nose, over frames whose neighbours were
      seen; their log ratio.
    - ``lip_jerk_ratio``: RMS second over RMS first difference of the inner-lip opening (0 for a
      straight ramp, about 1.7 for white noise); ``lip_hf_fraction``: share of the opening's
      variance above 6 Hz; ``lip_speed``: mean |opening change| in inter-ocular distances per
      second; ``lip_open_std``: its std (inter-ocular distances).
    """
    out = dict.fromkeys(FEATURE_NAMES, NAN)
    frames = np.asarray(frames)
    if frames.ndim != 3 or len(frames) < 2 or landmarks is None:
        return out
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim != 3 or lm.shape[0] != len(frames) or lm.shape[1] <= max(LIP_POINTS + EYE_NOSE_POINTS + JAW):
        return out
    with np.errstate(all="ignore"):
        regions = _regions(lm, frames.shape[1:])
        if regions is not None:
            out.update(_high_frequency(frames, regions))
            out.update(_flicker(frames, regions))
            out.update(_blending(frames, lm, regions))
        out.update(_inner_mouth(frames, lm, mouth, face_boxes))
        out.update(_jitter(lm, face_found))
        out.update(_lip_smoothness(lm, fps))
    return {name: float(out[name]) for name in FEATURE_NAMES}


# ----------------------------------------------------------------------------- regions


def interocular(landmarks: np.ndarray) -> np.ndarray:
    """(T,) distance between the outer eye corners, in the landmarks' pixels."""
    return np.linalg.norm(landmarks[:, EYE_OUTER[0], :2] - landmarks[:, EYE_OUTER[1], :2], axis=1)


def _box(centre: np.ndarray, half_w: float, half_h: float, shape: tuple[int, int]) -> Box | None:
    y0 = int(np.clip(np.floor(centre[1] - half_h), 0, shape[0]))
    y1 = int(np.clip(np.ceil(centre[1] + half_h), 0, shape[0]))
    x0 = int(np.clip(np.floor(centre[0] - half_w), 0, shape[1]))
    x1 = int(np.clip(np.ceil(centre[0] + half_w), 0, shape[1]))
    return (y0, y1, x0, x1) if y1 - y0 >= 3 and x1 - x0 >= 3 else None


def _bbox(points: np.ndarray, margin: float, shape: tuple[int, int]) -> Box | None:
    lo, hi = points.min(axis=0), points.max(axis=0)
    return _box((lo + hi) / 2, (hi[0] - lo[0]) / 2 + margin, (hi[1] - lo[1]) / 2 + margin, shape)


def _regions(lm: np.ndarray, shape: tuple[int, int]) -> dict | None:
    """Face regions (boxes in crop pixels) from the clip's median landmarks; None if unusable."""
    p = np.nanmedian(lm[:, :, :2], axis=0)
    if not np.all(np.isfinite(p[LIP_POINTS + EYE_NOSE_POINTS + JAW + [FOREHEAD]])):
        return None
    d = float(np.linalg.norm(p[EYE_OUTER[0]] - p[EYE_OUTER[1]]))
    if not d > 2.0:
        return None
    eyes = p[list(EYE_OUTER)]
    eye_mid = eyes.mean(axis=0)
    upper = _box(np.array([eye_mid[0], eye_mid[1] - 0.12 * d]), 0.6 * d, 0.27 * d, shape)
    cheeks = [_box((p[EYE_OUTER[i]] + p[corner]) / 2, 0.15 * d, 0.15 * d, shape)
              for i, corner in enumerate((MOUTH_LEFT, MOUTH_RIGHT))]
    forehead = _box(0.6 * p[FOREHEAD] + 0.4 * eye_mid, 0.3 * d, 0.1 * d, shape)
    mouth = _bbox(p[LIPS_OUTER], 0.1 * d, shape)
    reference = [b for b in cheeks + [forehead] if b is not None]
    if mouth is None or upper is None or not reference:
        return None
    return {"points": p, "iod": d, "mouth": mouth, "upper": upper, "reference": reference}


def _cut(stack: np.ndarray, box: Box) -> np.ndarray:
    y0, y1, x0, x1 = box
    return stack[:, y0:y1, x0:x1]


# ----------------------------------------------------------------------------- cues


def _laplacian(stack: np.ndarray) -> np.ndarray:
    """3×3 Laplacian of a (T, H, W) stack, zero on the border, float32."""
    x = stack.astype(np.float32)
    out = np.zeros_like(x)
    out[:, 1:-1, 1:-1] = 4 * x[:, 1:-1, 1:-1] - x[:, :-2, 1:-1] - x[:, 2:, 1:-1] - x[:, 1:-1, :-2] - x[:, 1:-1, 2:]
    return out


def _high_frequency(frames: np.ndarray, regions: dict) -> dict[str, float]:
    lap = _laplacian(frames)
    energy = {k: float(np.mean(_cut(lap, regions[k]) ** 2)) for k in ("mouth", "upper")}
    return {"mouth_hf_log_ratio": stats.log_ratio(energy["mouth"], energy["upper"], eps=1e-3)}


def _flicker(frames: np.ndarray, regions: dict) -> dict[str, float]:
    g = frames.astype(np.float32)
    g -= g.mean(axis=(1, 2), keepdims=True)  # global brightness (exposure, lighting) removed

    def region_flicker(box: Box) -> float:
        r = _cut(g, box)
        return float(np.mean(np.abs(r[1:] - r[:-1])))

    mouth = region_flicker(regions["mouth"])
    ref_boxes = regions["reference"]
    sizes = np.array([(b[1] - b[0]) * (b[3] - b[2]) for b in ref_boxes], dtype=np.float64)
    ref = float(np.sum([region_flicker(b) * s for b, s in zip(ref_boxes, sizes)]) / sizes.sum())
    return {"flicker_mouth": mouth, "flicker_ref": ref, "flicker_log_ratio": stats.log_ratio(mouth, ref, eps=0.05)}


def _blending(frames: np.ndarray, lm: np.ndarray, regions: dict) -> dict[str, float]:
    import cv2

    p, d = regions["points"], regions["iod"]
    shape = frames.shape[1:]
    width = max(2, int(round(0.08 * d)))
    ring = np.zeros(shape, np.uint8)
    cv2.polylines(ring, [np.round(p[JAW]).astype(np.int32)], False, 1, thickness=width)
    face = np.zeros(shape, np.uint8)
    cv2.fillPoly(face, [np.round(p[FACE_OVAL]).astype(np.int32)], 1)
    inside = cv2.erode(face, np.ones((2 * width + 1, 2 * width + 1), np.uint8)).astype(bool)
    inside &= ~cv2.dilate(ring, np.ones((3, 3), np.uint8)).astype(bool)
    inside[: int(np.clip(np.ceil(p[NOSE_TIP, 1]), 0, shape[0]))] = False  # lower face only
    y0, y1, x0, x1 = regions["mouth"]
    inside[y0:y1, x0:x1] = False  # lips are edges of their own
    ring_mask = ring.astype(bool)
    if ring_mask.sum() < 8 or inside.sum() < 8:
        return {}
    x = frames.astype(np.float32)
    grad = np.zeros_like(x)
    grad[:, 1:-1, 1:-1] = np.hypot(x[:, 1:-1, 2:] - x[:, 1:-1, :-2], x[:, 2:, 1:-1] - x[:, :-2, 1:-1]) / 2
    ring_t = grad[:, ring_mask].mean(axis=1)
    inside_t = grad[:, inside].mean(axis=1)
    ring_mean = float(ring_t.mean())
    return {
        "blend_grad_log_ratio": stats.log_ratio(ring_mean, float(inside_t.mean()), eps=1e-2),
        "blend_ring_grad_cv": stats.ratio(stats.std(ring_t), ring_mean),
    }


def landmarks_in_mouth_crop(landmarks: np.ndarray, face_boxes: np.ndarray | None, face_size: int, mouth_size: int) -> np.ndarray:
    """(T, 478, 2) lip positions in mouth-crop pixels, from face-crop landmarks.

    Rebuilds the mouth box the way :func:`avcorr.media.crops.mouth_boxes` does (a square of
    ``MOUTH_SCALE`` × the mouth width, centred on the outer lips, smoothed over 1 and 3 frames) in
    source pixels via ``face_boxes``; without them, in face-crop pixels (close, as the crop box is
    itself smooth).
    """
    from scipy.ndimage import gaussian_filter1d

    pts = landmarks[:, :, :2].astype(np.float64)
    if face_boxes is not None and len(face_boxes) == len(pts):
        boxes = np.asarray(face_boxes, dtype=np.float64)
        scale = np.maximum(boxes[:, 2] - boxes[:, 0], 1e-6) / face_size  # source pixels per crop pixel
        pts = pts * scale[:, None, None] + boxes[:, None, :2]
    lips = pts[:, LIPS_OUTER]
    centre = (lips.min(axis=1) + lips.max(axis=1)) / 2
    width = np.linalg.norm(pts[:, MOUTH_LEFT] - pts[:, MOUTH_RIGHT], axis=1)
    if len(pts) > 1:
        centre = gaussian_filter1d(centre, 1.0, axis=0, mode="nearest")
        width = gaussian_filter1d(width, 3.0, mode="nearest")
    side = np.maximum(width * MOUTH_SCALE, 4.0)
    origin = centre - side[:, None] / 2
    return (pts - origin[:, None, :]) * (mouth_size / side)[:, None, None]


def _inner_mouth(frames: np.ndarray, lm: np.ndarray, mouth: np.ndarray | None, face_boxes: np.ndarray | None) -> dict[str, float]:
    import cv2

    opening = np.linalg.norm(lm[:, 13, :2] - lm[:, 14, :2], axis=1)
    width = np.linalg.norm(lm[:, INNER_CORNERS[0], :2] - lm[:, INNER_CORNERS[1], :2], axis=1)
    is_open = np.isfinite(opening) & (width > 1e-6) & (opening > OPEN_RATIO * width)
    out: dict[str, float] = {"mouth_open_fraction": float(is_open.mean())}
    if mouth is not None and np.asarray(mouth).ndim == 3 and len(mouth) == len(frames):
        images = np.asarray(mouth)
        points = landmarks_in_mouth_crop(lm, face_boxes, frames.shape[1], images.shape[1])
    else:
        images, points = frames, lm[:, :, :2]
    stds, brightness, detail = [], [], []
    mask = np.zeros(images.shape[1:], np.uint8)
    for t in np.flatnonzero(is_open):
        poly = points[t, LIPS_INNER]
        if not np.all(np.isfinite(poly)):
            continue
        mask[:] = 0
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
        inside = mask.astype(bool)
        if inside.sum() < 6:
            continue
        image = images[t].astype(np.float32)
        lap = np.abs(cv2.Laplacian(image, cv2.CV_32F, ksize=1))
        stds.append(float(image[inside].std()))
        brightness.append(stats.ratio(float(image[inside].mean()), float(image.mean())))
        detail.append(stats.ratio(float(lap[inside].mean()), float(lap.mean())))
    out.update({
        "inner_mouth_std": stats.mean(np.array(stds)),
        "inner_mouth_brightness_rel": stats.mean(np.array(brightness)),
        "inner_mouth_detail": stats.mean(np.array(detail)),
    })
    return out


def _second_difference_rms(points: np.ndarray, valid: np.ndarray) -> float:
    """RMS over valid frames and points of |p[t+1] − 2 p[t] + p[t−1]| for (T, P, 2) positions."""
    acc = points[2:] - 2 * points[1:-1] + points[:-2]
    norms = np.linalg.norm(acc, axis=-1)[valid]
    return stats.rms(norms)


def _jitter(lm: np.ndarray, face_found: np.ndarray | None) -> dict[str, float]:
    t = len(lm)
    if t < 3:
        return {}
    found = np.ones(t, bool) if face_found is None or len(face_found) != t else np.asarray(face_found, bool)
    valid = found[:-2] & found[1:-1] & found[2:]  # interpolated frames move in straight lines
    iod = stats.median(interocular(lm))
    if not valid.any() or not iod > 0:
        return {}
    lips = _second_difference_rms(lm[:, LIP_POINTS, :2], valid) / iod
    rigid = _second_difference_rms(lm[:, EYE_NOSE_POINTS, :2], valid) / iod
    return {"jitter_lips": lips, "jitter_eyes_nose": rigid, "jitter_log_ratio": stats.log_ratio(lips, rigid, eps=1e-4)}


def _lip_smoothness(lm: np.ndarray, fps: float) -> dict[str, float]:
    if len(lm) < 4:
        return {}
    opening = lip_geometry(lm)[:, LIP_FEATURE_NAMES.index("inner_open_mid")].astype(np.float64)
    if not np.all(np.isfinite(opening)):
        return {}
    first, second = np.diff(opening), np.diff(opening, n=2)
    centred = opening - opening.mean()
    power = np.abs(np.fft.rfft(centred)) ** 2
    freqs = np.fft.rfftfreq(len(opening), d=1.0 / fps)
    total = float(power[1:].sum())
    return {
        "lip_jerk_ratio": stats.ratio(stats.rms(second), stats.rms(first)),
        "lip_hf_fraction": stats.ratio(float(power[freqs > 6.0].sum()), total),
        "lip_speed": float(np.mean(np.abs(first)) * fps),
        "lip_open_std": float(opening.std()),
    }
