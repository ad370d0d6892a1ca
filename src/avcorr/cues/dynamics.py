"""Training-free dynamics of still-image animation: one statistic per clip, judged against real clips only.

Animators (SadTalker, Hallo, EchoMimic, Sonic, …) drive one photograph. What their output does
unlike a filmed face, and the cue that measures it:

- ``noise``: one-shot animators paste the face back into a still photograph, so the background
  has no sensor noise at all (H.264 keeps it bit-identical); full-frame diffusion generators
  flicker instead. Temporal noise outside vs inside the face — two-sided.
- ``coupling``: a handheld camera moves background and head together; a pasted face moves alone
  over a frozen background, a whole-image warp drags the background along exactly.
- ``accel``: generated motion is too smooth, too "flat" in second-order temporal differences
  (D3, ICCV 2025, arXiv 2508.00701) — of the rigid-pose-normalised landmarks, of the head pose,
  of the face's intensities and optical flow.
- ``eyes``: blinks missing, half-closed, symmetric in time (real lids close faster than they
  open), or eyelids that never move between blinks.
- ``pulse``: the skin of a filmed face carries the heartbeat (rPPG): band-passed (0.7–3 Hz) green
  traces of forehead and cheeks agree with each other and not with the background; a rendered
  texture has no pulse, a flickering generator makes every patch and the background move together.

Every feature is NaN when it cannot be measured. Each has a :class:`Feature` entry saying which
tail of the real clips' distribution is evidence of manipulation (``side``) and why; scoring
against the reals is :mod:`avcorr.cues.real_reference`. Landmarks and face crops come from the
clip record; ``noise``, ``coupling`` and ``pulse`` decode the video itself (colour, around the
face, brought to one face size so the source's resolution reaches the numbers as little as
possible).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from avcorr.cues import stats
from avcorr.cues.animation import _motion_masks, blinks, eye_aspect_ratio
from avcorr.cues.stats import NAN
from avcorr.media.decode import iter_frames
from avcorr.media.landmarks import EYE_OUTER, FOREHEAD, MOUTH_LEFT, MOUTH_RIGHT, RIGID

LOW, HIGH, TWO = "low", "high", "two"


@dataclass(frozen=True)
class Feature:
    """One per-clip statistic: its ``name``, which tail of the reals is evidence (``side``:
    ``low``, ``high`` or ``two``) and ``why`` that tail, in words."""

    name: str
    side: str
    why: str


#: The dynamics cues, each a part that can be switched off on its own.
CUES: tuple[str, ...] = ("noise", "coupling", "accel", "eyes", "pulse")
#: Cues that need the video decoded (the others read the clip record only).
VIDEO_CUES: tuple[str, ...] = ("noise", "coupling", "pulse")

FEATURES: dict[str, tuple[Feature, ...]] = {
    "noise": (
        Feature("bg_noise", TWO, "a pasted still background has no temporal noise; diffusion flicker has too much"),
        Feature("face_noise", TWO, "a re-rendered face is noise-free, or flickers frame to frame"),
        Feature("noise_log_ratio", TWO, "background quieter than the face (pasted face) or louder (full-frame flicker)"),
        Feature("bg_zero_fraction", HIGH, "only a frozen background repeats bit-identically; a low share is every camera's"),
    ),
    "coupling": (
        Feature("bg_shift", LOW, "generators add no camera shake: a still background is evidence, a moving one is not"),
        Feature("head_bg_corr", TWO, "low: the head moves alone over a pasted background; high: the whole image is "
                                     "warped with the head"),
        Feature("head_alone", HIGH, "share of head motion the background does not share: a pasted face moves alone"),
    ),
    "accel": (
        Feature("lm_accel", TWO, "landmark acceleration too flat (smooth animation) or too jerky (per-frame repaint)"),
        Feature("lm_accel_ratio", LOW, "acceleration over speed, scale-free like D3's measure: generated motion is too flat"),
        Feature("lm_accel_cv", LOW, "acceleration that never bursts (D3: generated motion is flat)"),
        Feature("pose_accel_ratio", LOW, "synthesised head pose is smooth; only animators synthesise pose"),
        Feature("pix_accel", TWO, "intensity acceleration inside the face too flat (one texture warped) or too jerky"),
        Feature("pix_accel_ratio", LOW, "intensity acceleration over change (D3): a warped texture changes too smoothly"),
        Feature("flow_accel_ratio", LOW, "optical-flow acceleration over flow (D3): generated motion is too flat"),
    ),
    "eyes": (
        Feature("blink_depth", TWO, "half-closed (shallow) blinks, or lids that shut further than real ones"),
        Feature("blink_close_open", TWO, "real lids close faster than they open; a generated blink is symmetric or reversed"),
        Feature("ear_accel", LOW, "eyelids that never move between blinks (a frozen eye region)"),
    ),
    "pulse": (
        Feature("pulse_corr", TWO, "low: no shared pulse in the skin (rendered texture); high: patches flicker together"),
        Feature("pulse_amp", TWO, "no colour pulse at all (a still texture), or flicker far above a pulse"),
        Feature("pulse_bg_corr", HIGH, "a face 'pulse' the background shares is global flicker, not blood flow"),
    ),
}
#: Stable names, in order, of :func:`dynamics_features`' output.
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for cue in CUES for f in FEATURES[cue])

#: Face-box width (source face box = 1.25 × the face mesh) the decoded frames are brought to, pixels
#: (only ever reduced: a smaller face stays as it is).
FACE_PX = 96
#: Decoded region around the face: the union of face boxes widened by this many box widths each side.
CONTEXT = 1.0
#: Inner share of the face box whose pixels count as face (the rest may be background).
FACE_INNER = 0.6
#: Least share of the decoded region left as background for ``noise``/``coupling``/``pulse_bg_corr``.
MIN_BACKGROUND = 0.05
#: Least background corners tracked for a frame pair's background shift.
MIN_POINTS = 6
#: rPPG pass band, Hz (42–180 beats per minute).
PULSE_BAND = (0.7, 3.0)


def dynamics_features(
    frames: np.ndarray | None,
    landmarks: np.ndarray | None,
    face_boxes: np.ndarray | None,
    video_path: str | Path | None = None,
    start_s: float = 0.0,
    fps: float = 25.0,
    cues: Sequence[str] = CUES,
    region: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, float]:
    """The dynamics cues of one clip (names in :data:`FEATURE_NAMES`; NaN where not measured or switched off).

    ``frames`` (T, H, H) uint8 gray face crops, ``landmarks`` (T, 478, 3) in crop pixels and
    ``face_boxes`` (T, 4) in source pixels, as a prepared clip holds them (frame ``t`` of the
    record is frame ``round(start_s · fps) + t`` of ``video_path`` at ``fps``). ``cues`` picks the
    parts (:data:`CUES`); ``noise``, ``coupling`` and ``pulse`` need ``video_path`` and decode
    ``start_s · fps + T`` frames of it (:class:`~avcorr.errors.InputError` when unreadable), unless
    ``region`` holds :func:`face_region_frames`' result for these boxes already (one decode for many
    windows: :func:`face_region_windows`).
    """
    unknown = sorted(set(cues) - set(CUES))
    if unknown:
        raise ValueError(f"unknown dynamics cue(s) {unknown}; known: {list(CUES)}")
    out = dict.fromkeys(FEATURE_NAMES, NAN)
    lm = None if landmarks is None else np.asarray(landmarks, dtype=np.float64)
    lm_ok = lm is not None and lm.ndim == 3 and len(lm) >= 4 and lm.shape[1] >= 468
    boxes = None if face_boxes is None else np.asarray(face_boxes, dtype=np.float64)
    with np.errstate(all="ignore"):
        if "accel" in cues:
            if lm_ok:
                out.update(landmark_acceleration(lm, fps))
            if frames is not None and np.asarray(frames).ndim == 3 and len(frames) >= 4:
                out.update(pixel_acceleration(np.asarray(frames)))
        if "eyes" in cues and lm_ok:
            out.update(eyelid_dynamics(lm, fps))
        wanted = [c for c in VIDEO_CUES if c in cues]
        if wanted and video_path is not None and boxes is not None and boxes.ndim == 2 and len(boxes) >= 4:
            rgb, roi_boxes = region if region is not None else face_region_frames(video_path, boxes, start_s, fps)
            n = len(rgb)
            if n >= 4:
                gray = np.stack([_gray(f) for f in rgb])
                if "noise" in cues:
                    out.update(temporal_noise(gray, roi_boxes[:n]))
                if "coupling" in cues:
                    out.update(motion_coupling(gray, roi_boxes[:n], fps))
                if "pulse" in cues and lm_ok and frames is not None:  # the crop's size places the landmarks
                    out.update(skin_pulse(rgb, roi_boxes[:n], lm[:n], np.asarray(frames).shape[1], fps))
    return {name: float(out[name]) for name in FEATURE_NAMES}


def clip_dynamics(record: object, video_path: str | Path | None = None, cues: Sequence[str] = CUES,
                  region: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, float]:
    """:func:`dynamics_features` of a prepared clip record (``frames``, ``landmarks``, ``face_boxes``,
    its ``meta.fps`` and ``meta.extra.start_s``) and its source video (or its face ``region``, decoded)."""
    arrays = record.arrays  # type: ignore[attr-defined]
    meta = record.meta  # type: ignore[attr-defined]
    start_s = float((meta.extra or {}).get("start_s") or 0.0)
    return dynamics_features(arrays.get("frames"), arrays.get("landmarks"), arrays.get("face_boxes"), video_path,
                             start_s, float(meta.fps or 25.0), cues, region)


# ----------------------------------------------------------------------------- decoding


class _RegionCutter:
    """The region around the face in consecutive frames, for one window of face boxes (see
    :func:`face_region_frames`): fed frame by frame, cut and scaled as they come."""

    def __init__(self, face_boxes: np.ndarray) -> None:
        self.boxes = np.asarray(face_boxes, dtype=np.float64)
        self.width = float(np.median(self.boxes[:, 2] - self.boxes[:, 0])) if len(self.boxes) else 0.0
        self.scale = min(1.0, FACE_PX / self.width) if self.width > 0 else 1.0
        self.roi: tuple[int, int, int, int] | None = None
        self.size = (2, 2)
        self.out: list[np.ndarray] = []

    def add(self, frame: np.ndarray) -> None:
        import cv2

        boxes, width = self.boxes, self.width
        if self.roi is None:
            h, w = frame.shape[:2]
            x0 = int(np.clip(np.floor(boxes[:, 0].min() - CONTEXT * width), 0, w - 1))
            y0 = int(np.clip(np.floor(boxes[:, 1].min() - CONTEXT * width), 0, h - 1))
            x1 = int(np.clip(np.ceil(boxes[:, 2].max() + CONTEXT * width), x0 + 1, w))
            y1 = int(np.clip(np.ceil(boxes[:, 3].max() + CONTEXT * width), y0 + 1, h))
            self.roi = (x0, y0, x1, y1)
            self.size = (max(2, int(round((x1 - x0) * self.scale))), max(2, int(round((y1 - y0) * self.scale))))
        roi = self.roi
        patch = frame[roi[1]:roi[3], roi[0]:roi[2]]
        self.out.append(cv2.resize(patch, self.size, interpolation=cv2.INTER_AREA) if self.scale < 1 else np.ascontiguousarray(patch))

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        roi = self.roi
        if roi is None:
            return np.zeros((0, 2, 2, 3), np.uint8), np.zeros((0, 4))
        sx = self.out[0].shape[1] / (roi[2] - roi[0])
        sy = self.out[0].shape[0] / (roi[3] - roi[1])
        local = (self.boxes - [roi[0], roi[1], roi[0], roi[1]]) * [sx, sy, sx, sy]
        return np.stack(self.out), local


def face_region_frames(path: str | Path, face_boxes: np.ndarray, start_s: float = 0.0,
                       fps: float = 25.0) -> tuple[np.ndarray, np.ndarray]:
    """RGB frames (N, h, w, 3) uint8 of the region around the face, and the face boxes (N, 4) in its pixels.

    Frames ``round(start_s · fps)`` … ``+ len(face_boxes)`` of ``path`` at ``fps``
    (:func:`~avcorr.media.decode.iter_frames`); the region is the union of the face boxes widened
    by ``CONTEXT`` box widths each side, clipped to the frame, scaled so that the median face box
    is ``FACE_PX`` wide (never enlarged). N may fall short of ``len(face_boxes)`` at the file's end.
    """
    cutter = _RegionCutter(face_boxes)
    skip = int(round(start_s * fps))
    for index, frame in enumerate(iter_frames(path, fps, skip + len(cutter.boxes))):
        if index >= skip:
            cutter.add(frame)
    return cutter.result()


def face_region_windows(path: str | Path, windows: Sequence[tuple[np.ndarray, float]],
                        fps: float = 25.0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """:func:`face_region_frames` of each window ``(face_boxes, start_s)`` — the same arrays — yielded
    in order from one pass over the video (windows sorted by start, possibly overlapping): a long
    video is decoded once, not once per window, and only the windows still open are held."""
    spans = [(int(round(start_s * fps)), len(boxes)) for boxes, start_s in windows]
    if any(b[0] < a[0] for a, b in zip(spans, spans[1:])):
        raise ValueError("face_region_windows needs windows sorted by start")
    opened: dict[int, _RegionCutter] = {}
    next_open = next_done = 0
    end = max((a + n for a, n in spans), default=0)
    for index, frame in enumerate(iter_frames(path, fps, end) if spans else ()):
        while next_open < len(spans) and spans[next_open][0] <= index:
            opened[next_open] = _RegionCutter(windows[next_open][0])
            next_open += 1
        for i, cutter in opened.items():
            if index < spans[i][0] + spans[i][1]:
                cutter.add(frame)
        while next_done in opened and index + 1 >= spans[next_done][0] + spans[next_done][1]:
            yield opened.pop(next_done).result()
            next_done += 1
    while next_done < len(spans):  # the video ended before these windows did
        cutter = opened.pop(next_done, None) or _RegionCutter(windows[next_done][0])
        yield cutter.result()
        next_done += 1


def _gray(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def _face_inner(box: np.ndarray, h: int, w: int) -> np.ndarray:
    """Boolean mask of the central ``FACE_INNER`` share (per side) of a face box."""
    x0, y0, x1, y1 = box
    cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, FACE_INNER * (x1 - x0) / 2, FACE_INNER * (y1 - y0) / 2
    mask = np.zeros((h, w), bool)
    mask[int(np.clip(cy - hh, 0, h)):int(np.clip(np.ceil(cy + hh), 0, h)),
         int(np.clip(cx - hw, 0, w)):int(np.clip(np.ceil(cx + hw), 0, w))] = True
    return mask


# ----------------------------------------------------------------------------- noise


#: mean |second temporal difference| of white noise of std 1: sqrt(6) · sqrt(2 / pi).
_D2_PER_SIGMA = float(np.sqrt(6.0) * np.sqrt(2.0 / np.pi))


def temporal_noise(gray: np.ndarray, boxes: np.ndarray) -> dict[str, float]:
    """Temporal noise outside and inside the face (``noise`` features).

    ``gray`` (N, h, w) uint8 frames around the face, ``boxes`` (N, 4) the face boxes in their
    pixels. Per frame, the second temporal difference ``I[t+1] − 2 I[t] + I[t−1]`` is taken on
    the flatter half of each region's pixels (spatial gradient below the region's median, so that
    moving edges count little): its mean |·| as the std of white noise (gray levels) —
    ``bg_noise`` in the background (outside the widened face box and the column below it),
    ``face_noise`` in the face box's centre; medians over frames. ``noise_log_ratio`` =
    log((bg + 0.05) / (face + 0.05)); ``bg_zero_fraction``: share of background pixels whose
    value does not change at all from one frame to the next (mean over frame pairs).
    """
    import cv2

    out = {f.name: NAN for f in FEATURES["noise"]}
    g = gray.astype(np.float32)
    if len(g) < 3:
        return out
    h, w = g.shape[1:]
    d2 = np.abs(g[2:] - 2 * g[1:-1] + g[:-2])
    bg_level, face_level, zero = [], [], []
    for t in range(1, len(g) - 1):
        face = _face_inner(boxes[t], h, w)
        _, background = _motion_masks(boxes[t], h, w)
        grad = np.hypot(cv2.Sobel(g[t], cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g[t], cv2.CV_32F, 0, 1, ksize=3))
        for mask, levels in ((background, bg_level), (face, face_level)):
            if mask.sum() < max(16, MIN_BACKGROUND * h * w if levels is bg_level else 16):
                levels.append(NAN)
                continue
            flat = grad[mask] <= np.median(grad[mask])
            levels.append(float(d2[t - 1][mask][flat].mean()) / _D2_PER_SIGMA)
        if background.sum() >= MIN_BACKGROUND * h * w:
            zero.append(float(np.mean(gray[t + 1][background] == gray[t][background])))
    bg, face = stats.median(np.array(bg_level)), stats.median(np.array(face_level))
    out.update(bg_noise=bg, face_noise=face, noise_log_ratio=stats.log_ratio(bg, face, eps=0.05),
               bg_zero_fraction=stats.mean(np.array(zero)))
    return out


# ----------------------------------------------------------------------------- coupling


def background_shifts(gray: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(N − 1, 2) median displacement (pixels per frame, x and y) of tracked background corners
    between consecutive frames; NaN for a pair with under ``MIN_POINTS`` tracked corners."""
    import cv2

    n, h, w = gray.shape
    shifts = np.full((max(n - 1, 0), 2), NAN)
    for t in range(n - 1):
        _, background = _motion_masks(boxes[t], h, w)
        if background.sum() < MIN_BACKGROUND * h * w:
            continue
        points = cv2.goodFeaturesToTrack(gray[t], maxCorners=80, qualityLevel=0.01, minDistance=4,
                                         mask=background.astype(np.uint8))
        if points is None or len(points) < MIN_POINTS:
            continue
        moved, status, _ = cv2.calcOpticalFlowPyrLK(gray[t], gray[t + 1], points, None, winSize=(15, 15), maxLevel=2)
        ok = status.reshape(-1) == 1
        if ok.sum() >= MIN_POINTS:
            shifts[t] = np.median((moved - points).reshape(-1, 2)[ok], axis=0)
    return shifts


def motion_coupling(gray: np.ndarray, boxes: np.ndarray, fps: float = 25.0) -> dict[str, float]:
    """How the background moves with the head (``coupling`` features).

    The background's shift (:func:`background_shifts`, smoothed like the face boxes: Gaussian,
    σ = 1.5 frames) against the face box centre's: ``bg_shift`` its mean magnitude (face widths
    per second); ``head_bg_corr`` the correlation of the two velocity series (x and y together);
    ``head_alone`` = Σ|v_head − v_bg|² / (Σ|v_head|² + Σ|v_bg|²) (0: they move together, 1: one
    of them is still, 2: they move against each other). NaN when under half the frame pairs have
    a measured background shift.
    """
    out = {f.name: NAN for f in FEATURES["coupling"]}
    v_bg = _nan_smooth(background_shifts(gray, boxes), 1.5)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    v_head = np.diff(centre, axis=0)
    keep = np.isfinite(v_bg).all(axis=1)
    if keep.sum() < max(3, 0.5 * len(v_bg)):
        return out
    width = float(np.median(boxes[:, 2] - boxes[:, 0]))
    a, b = v_head[keep], v_bg[keep]
    total = float((a ** 2).sum() + (b ** 2).sum())
    floor = (1e-3 * width) ** 2 * len(a)  # below a thousandth of a face width per frame, nothing moves
    out.update(bg_shift=float(np.linalg.norm(b, axis=1).mean() / width * fps),
               head_bg_corr=stats.correlation(a.reshape(-1), b.reshape(-1)),
               head_alone=float(((a - b) ** 2).sum() / total) if total > floor else NAN)
    return out


def _nan_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along axis 0 that ignores NaN rows (NaN stays NaN)."""
    from scipy.ndimage import gaussian_filter1d

    if len(x) == 0:
        return x
    ok = np.isfinite(x).all(axis=1)
    filled = np.where(ok[:, None], x, 0.0)
    weight = gaussian_filter1d(ok.astype(np.float64), sigma, mode="nearest")
    smooth = gaussian_filter1d(filled, sigma, axis=0, mode="nearest") / np.where(weight > 1e-9, weight, np.nan)[:, None]
    return np.where(ok[:, None], smooth, np.nan)


# ----------------------------------------------------------------------------- acceleration


def rigid_normalise(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove each frame's similarity transform (fitted on the ``RIGID`` points to their clip median).

    Returns the aligned landmarks (T, 468, 2) in units of the median inter-ocular distance, and
    the pose (T, 4): x, y (inter-ocular distances), log scale, roll (radians).
    """
    lm = np.asarray(landmarks, dtype=np.float64)[:, :468, :2]
    src = lm[:, RIGID]
    ref = np.nanmedian(src, axis=0)
    mu_s, mu_r = src.mean(axis=1, keepdims=True), ref.mean(axis=0)
    a, b = src - mu_s, ref - mu_r
    cov = np.einsum("pi,tpj->tij", b, a)  # (T, 2, 2): ref × src
    u, s, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.stack([np.ones_like(d), d], axis=1)
    rot = u @ (fix[:, :, None] * vt)
    scale = (s * fix).sum(axis=1) / np.maximum((a ** 2).sum(axis=(1, 2)), 1e-12)
    aligned = scale[:, None, None] * np.einsum("tij,tpj->tpi", rot, lm - mu_s) + mu_r
    iod = float(np.linalg.norm(ref[RIGID.index(EYE_OUTER[0])] - ref[RIGID.index(EYE_OUTER[1])]))
    iod = iod if iod > 1e-6 else 1.0
    pose = np.stack([mu_s[:, 0, 0] / iod, mu_s[:, 0, 1] / iod, -np.log(np.maximum(scale, 1e-12)),
                     -np.arctan2(rot[:, 1, 0], rot[:, 0, 0])], axis=1)
    return aligned / iod, pose


def _accel_ratio(x: np.ndarray) -> float:
    """RMS second over RMS first temporal difference of ``x`` (T, ...): 0 for a straight ramp,
    about 1.7 for white noise."""
    return stats.ratio(stats.rms(np.diff(x, 2, axis=0)), stats.rms(np.diff(x, axis=0)))


def landmark_acceleration(landmarks: np.ndarray, fps: float = 25.0) -> dict[str, float]:
    """Second-order dynamics of the face mesh after the rigid pose is removed (:func:`rigid_normalise`).

    ``lm_accel``: RMS second difference of the aligned points (inter-ocular distances per s²);
    ``lm_accel_ratio``: its RMS over the RMS first difference; ``lm_accel_cv``: std over mean of
    the per-frame RMS acceleration (bursts of real articulation vs an even glide);
    ``pose_accel_ratio``: median over the four pose parameters of their acceleration ratio.
    """
    aligned, pose = rigid_normalise(landmarks)
    acc = np.diff(aligned, 2, axis=0)
    per_frame = np.sqrt(np.nanmean((acc ** 2).sum(axis=2), axis=1))
    ratios = np.array([_accel_ratio(pose[:, k]) for k in range(pose.shape[1])])
    return {"lm_accel": stats.rms(np.linalg.norm(acc, axis=2)) * fps ** 2, "lm_accel_ratio": _accel_ratio(aligned),
            "lm_accel_cv": stats.ratio(stats.std(per_frame), stats.mean(per_frame)),
            "pose_accel_ratio": stats.median(ratios)}


def pixel_acceleration(frames: np.ndarray, flow_size: int = 56) -> dict[str, float]:
    """Second-order dynamics of the face crops' centre (``FACE_INNER`` of the crop).

    ``pix_accel``: mean |I[t+1] − 2 I[t] + I[t−1]| (gray levels per frame²); ``pix_accel_ratio``:
    over the mean |first difference|; ``flow_accel_ratio``: RMS change of the dense optical flow
    (Farnebäck, crops at ``flow_size`` pixels) between consecutive pairs over its RMS.
    """
    import cv2

    h = frames.shape[1]
    lo, hi = int(round(h * (1 - FACE_INNER) / 2)), int(round(h * (1 + FACE_INNER) / 2))
    x = frames[:, lo:hi, lo:hi].astype(np.float32)
    d1, d2 = np.abs(np.diff(x, axis=0)).mean(), np.abs(np.diff(x, 2, axis=0)).mean()
    small = [cv2.resize(np.ascontiguousarray(f), (flow_size, flow_size), interpolation=cv2.INTER_AREA) for f in frames]
    flows = np.stack([cv2.calcOpticalFlowFarneback(small[t], small[t + 1], None, 0.5, 2, 9, 2, 5, 1.1, 0)
                      for t in range(len(small) - 1)])
    return {"pix_accel": float(d2), "pix_accel_ratio": stats.ratio(float(d2), float(d1)),
            "flow_accel_ratio": stats.ratio(stats.rms(np.diff(flows, axis=0)), stats.rms(flows))}


# ----------------------------------------------------------------------------- eyes


def eyelid_dynamics(landmarks: np.ndarray, fps: float = 25.0) -> dict[str, float]:
    """Blink shape and eyelid motion from the eye aspect ratio (EAR, both eyes averaged).

    Blinks as :func:`~avcorr.cues.animation.blinks` finds them (their count and length are the
    ``anim.`` features). ``blink_depth``: the lowest EAR of a blink over the clip's median EAR
    (mean over blinks); ``blink_close_open``: frames from the last open frame to the lowest over
    frames from the lowest to the next open one (+0.5 each; mean over blinks; real lids close
    faster, so below 1); both NaN without a blink. ``ear_accel``: RMS second difference of the EAR
    away from blinks (±2 frames) over the median EAR, per frame².
    """
    ear = eye_aspect_ratio(landmarks).mean(axis=1)
    base = stats.median(ear)
    found = blinks(ear, fps)
    depth, shape = [], []
    away = np.ones(len(ear), bool)
    for start, length in found:
        a, b = max(0, start - 1), min(len(ear), start + length + 1)
        lowest = a + int(np.nanargmin(ear[a:b]))
        depth.append(float(ear[lowest] / base))
        shape.append((lowest - a + 0.5) / (b - 1 - lowest + 0.5))
        away[max(0, start - 2):start + length + 2] = False
    acc = np.diff(ear, 2)[away[1:-1]]
    return {"blink_depth": stats.mean(np.array(depth)), "blink_close_open": stats.mean(np.array(shape)),
            "ear_accel": stats.ratio(stats.rms(acc), base) if acc.size >= 3 else NAN}


# ----------------------------------------------------------------------------- pulse


def patch_centres(landmarks: np.ndarray) -> tuple[np.ndarray, float]:
    """(T, 3, 2) centres of the forehead and the two cheek patches in crop pixels (smoothed over
    time, σ = 2 frames), and the patches' half side (0.12 × the median inter-ocular distance)."""
    from scipy.ndimage import gaussian_filter1d

    lm = np.asarray(landmarks, dtype=np.float64)[:, :, :2]
    eyes = lm[:, list(EYE_OUTER)]
    centres = np.stack([0.6 * lm[:, FOREHEAD] + 0.4 * eyes.mean(axis=1),
                        (eyes[:, 0] + lm[:, MOUTH_LEFT]) / 2, (eyes[:, 1] + lm[:, MOUTH_RIGHT]) / 2], axis=1)
    if len(centres) > 1:
        centres = gaussian_filter1d(centres, 2.0, axis=0, mode="nearest")
    iod = stats.median(np.linalg.norm(eyes[:, 0] - eyes[:, 1], axis=1))
    return centres, 0.12 * iod


def band_pass(traces: np.ndarray, fps: float = 25.0, band: tuple[float, float] = PULSE_BAND) -> np.ndarray:
    """Relative change (x / mean − 1, linear trend removed) of each column of ``traces`` (T, K),
    band-passed to ``band`` Hz (order-2 Butterworth, forward and backward)."""
    from scipy.signal import butter, detrend, sosfiltfilt

    x = np.asarray(traces, dtype=np.float64)
    x = detrend(x / np.maximum(x.mean(axis=0, keepdims=True), 1e-9) - 1.0, axis=0)
    sos = butter(2, [band[0], min(band[1], 0.45 * fps)], btype="band", fs=fps, output="sos")
    return sosfiltfilt(sos, x, axis=0)


def pulse_agreement(face: np.ndarray, background: np.ndarray | None = None, fps: float = 25.0) -> dict[str, float]:
    """``pulse`` features from green traces: ``face`` (T, K ≥ 2) patch means, ``background`` (T,).

    After :func:`band_pass`: ``pulse_corr`` the mean correlation over patch pairs; ``pulse_amp``
    the RMS of the patches' mean trace (per mille of the green level); ``pulse_bg_corr`` the
    correlation of that mean trace with the background's. NaN under two seconds of frames.
    """
    out = {f.name: NAN for f in FEATURES["pulse"]}
    face = np.asarray(face, dtype=np.float64)
    if len(face) < 2 * fps or face.ndim != 2 or face.shape[1] < 2 or not np.isfinite(face).all():
        return out
    filtered = band_pass(face, fps)
    pairs = [stats.correlation(filtered[:, i], filtered[:, j])
             for i in range(face.shape[1]) for j in range(i + 1, face.shape[1])]
    mean_trace = filtered.mean(axis=1)
    out.update(pulse_corr=stats.mean(np.array(pairs)), pulse_amp=stats.rms(mean_trace) * 1000)
    if background is not None and np.isfinite(background).all():
        out["pulse_bg_corr"] = stats.correlation(mean_trace, band_pass(np.asarray(background)[:, None], fps)[:, 0])
    return out


def skin_pulse(rgb: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray, crop_size: int,
               fps: float = 25.0) -> dict[str, float]:
    """Green traces of the forehead and cheek patches (:func:`patch_centres`, placed through the
    face boxes ``boxes`` (N, 4) in ``rgb``'s pixels from crop pixels of a ``crop_size`` crop) and of
    the background, summarised by :func:`pulse_agreement`."""
    n, h, w = rgb.shape[:3]
    centres, half = patch_centres(landmarks[:n])
    k = (boxes[:, 2] - boxes[:, 0]) / crop_size  # frame pixels per crop pixel
    green = rgb[..., 1].astype(np.float64)
    face = np.full((n, centres.shape[1]), NAN)
    bg = np.full(n, NAN)
    for t in range(n):
        r = max(1.0, half * k[t])
        for j, (cx, cy) in enumerate(boxes[t, :2] + centres[t] * k[t]):
            y0, y1 = int(np.clip(round(cy - r), 0, h)), int(np.clip(round(cy + r), 0, h))
            x0, x1 = int(np.clip(round(cx - r), 0, w)), int(np.clip(round(cx + r), 0, w))
            if y1 > y0 and x1 > x0:
                face[t, j] = green[t, y0:y1, x0:x1].mean()
        _, background = _motion_masks(boxes[t], h, w)
        if background.sum() >= MIN_BACKGROUND * h * w:
            bg[t] = green[t][background].mean()
    return pulse_agreement(face, bg if np.isfinite(bg).all() else None, fps)
