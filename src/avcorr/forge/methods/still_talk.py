"""still-talk: one frame of the source animated by the new audio (MakeItTalk / Audio2Head-like).

A single still frame is warped, frame after frame, by a triangle mesh on its landmarks: the lips
open, close and spread per viseme (with coarticulation), the jaw follows the lower lip, the eyes
blink at random times, and the head moves by a small smooth similarity transform whose amplitude
follows the loudness of the speech — either the whole frame moves or (most often) only the head,
the motion fading out over the neck and hair like a generator's dense motion field. Mesh warp and
head motion are composed into one map, so each frame is resampled once. The dark mouth cavity
(and, for some forgeries, a band of teeth) is painted where the lips open, and some forgeries get
a little sensor-like noise.

Traces: a frozen background, hair and lighting; stretched lip texture; a synthetic mouth interior;
warped neck and hair where the head moves alone, or reflected strips at the frame border where
the whole frame moves. Amplitudes, smoothing, blink times, mouth colours, the resampling kernel and
the noise level vary by seed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import cv2
import numpy as np

from avcorr.forge.methods import landmarks as lm
from avcorr.forge.methods.base import ForgedClip, ForgeRequest, ForgeryLabels, VisemeDriven, viseme_driven_inputs
from avcorr.forge.methods.speech import mouth_trajectory
from avcorr.forge.methods.warp import TriangleMesh, apply_affine, expand_box, invert_affine
from avcorr.media import landmarks as facemesh


@dataclass
class StillTalk(VisemeDriven):
    name: str = "still-talk"

    def forge(self, request: ForgeRequest) -> ForgedClip:
        source, rng = request.source, request.rng
        marks, found = viseme_driven_inputs(request, self.name)
        donor = request.audio_donor
        start, end = request.frame_range
        still = _pick_still(marks, found, start, rng, partial=request.window is not None)
        reference = marks[still]
        image = source.frames[still]
        h, w = image.shape[:2]

        opening, spread, trajectory = mouth_trajectory(donor.visemes, rng)
        blink = _blinks(len(marks), source.fps, rng)
        motion, motion_params = _head_motion(donor.audio, source.sample_rate, source.fps, len(marks), start, rng)
        motion = np.round(motion, 6)  # as recorded in params, so the frames can be re-derived from them
        cavity = _cavity_style(rng)

        render = _render_style(rng)
        roi = expand_box(reference[facemesh.FACE_OVAL], 0.25, (h, w))
        x0, y0, x1, y1 = roi
        mesh_ref = reference[facemesh.WARP_POINTS]
        mesh = TriangleMesh.build(mesh_ref, roi)
        centre = reference[facemesh.FACE_OVAL].mean(axis=0)
        head = _head_weight(reference, (h, w), render) if render["motion_scope"] == "head" else None
        noise = _noise_bank(rng, (h, w), render["noise_sigma"])
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        delta_x = np.zeros((h, w), np.float32)
        delta_y = np.zeros((h, w), np.float32)
        interpolation = cv2.INTER_CUBIC if render["interpolation"] == "cubic" else cv2.INTER_LINEAR
        frames = source.frames.copy()
        for t in range(start, end):
            target = deform_face(reference, opening[t], spread[t], blink[t])
            # One resampling per frame: face mesh warp and head motion composed into a single map.
            map_x, map_y = mesh.backward_maps(mesh_ref, target[facemesh.WARP_POINTS])
            delta_x[y0:y1, x0:x1] = map_x - gx[y0:y1, x0:x1]
            delta_y[y0:y1, x0:x1] = map_y - gy[y0:y1, x0:x1]
            matrix = head_matrix(motion[t - start], centre, (h, w))
            back = invert_affine(matrix)
            qx = back[0, 0] * gx + back[0, 1] * gy + np.float32(back[0, 2])
            qy = back[1, 0] * gx + back[1, 1] * gy + np.float32(back[1, 2])
            if head is not None:  # only the head moves; the motion fades out over the neck and hair
                qx = gx + head * (qx - gx)
                qy = gy + head * (qy - gy)
            cx = qx + cv2.remap(delta_x, qx, qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            cy = qy + cv2.remap(delta_y, qx, qy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            frame = cv2.remap(image, cx, cy, interpolation, borderMode=cv2.BORDER_REFLECT101)
            _paint_cavity(frame, apply_affine(matrix, target), cavity)
            if noise is not None:
                k = int(rng.integers(len(noise)))
                shift = (int(rng.integers(h)), int(rng.integers(w)))
                frame = np.clip(frame.astype(np.int16) + np.roll(noise[k], shift, axis=(0, 1)), 0, 255).astype(np.uint8)
            frames[t] = frame
        params = {"still_frame": int(still), "roi": list(roi), "head_centre": centre.tolist(), "motion": motion.tolist(),
                  "blinks": int(np.sum(np.diff((blink > 0.5).astype(int)) == 1)), **trajectory, **motion_params,
                  "render": render, "cavity": cavity}
        return ForgedClip(frames=frames, audio=donor.audio, params=params)


def head_matrix(motion: np.ndarray, centre: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """2×3 similarity for one frame's (angle °, dx, dy as fractions of width/height, scale) about ``centre``."""
    angle, dx, dy, scale = (float(x) for x in motion)
    h, w = shape
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, scale)
    matrix[:, 2] += (dx * w, dy * h)
    return matrix


def deform_face(reference: np.ndarray, opening: float, spread: float, blink: float) -> np.ndarray:
    """Landmarks of ``reference`` (478, 2) with the lips opened to ``opening`` (gap / width), the mouth
    spread by ``spread`` (× rest width), the jaw following, and eyelids closed by ``blink`` in [0, 1]."""
    points = reference.copy()
    centre, u, v, half = lm.mouth_frame(reference)
    rel = points - centre
    a, b = rel @ u / half, rel @ v / half
    near = np.exp(-(b / 1.2) ** 2) * np.exp(-(np.maximum(np.abs(a) - 1.0, 0.0) / 0.6) ** 2)
    a_new = a * (1.0 + (spread - 1.0) * near)
    width = 2.0 * half * spread
    gap_now = float(np.linalg.norm(reference[facemesh.LIP_UPPER_INNER] - reference[facemesh.LIP_LOWER_INNER]))
    delta = max(opening * width, 0.0) - gap_now
    jaw, lift = 0.72 * delta, 0.28 * delta
    drop = np.zeros(len(points))
    below = b > 0.3
    drop[below] = 0.9 * np.exp(-(np.maximum(np.abs(a[below]) - 0.5, 0.0) / 1.2) ** 2)
    drop[facemesh.LOWER_LIP] = np.exp(-(np.maximum(np.abs(a[facemesh.LOWER_LIP]) - 0.2, 0.0) / 0.8) ** 2)
    raise_ = np.zeros(len(points))
    raise_[facemesh.UPPER_LIP] = np.exp(-(a[facemesh.UPPER_LIP] / 0.8) ** 2)
    b_new = b + (jaw * drop - lift * raise_) / half
    points = centre + np.outer(a_new * half, u) + np.outer(b_new * half, v)
    if blink > 0:
        for upper, lower in ((facemesh.RIGHT_EYE_UPPER, facemesh.RIGHT_EYE_LOWER), (facemesh.LEFT_EYE_UPPER, facemesh.LEFT_EYE_LOWER)):
            points[upper] += 0.85 * blink * (points[lower] - points[upper])
    return points


def _pick_still(marks: np.ndarray, found: np.ndarray, start: int, rng: np.random.Generator, partial: bool) -> int:
    """The frame to animate: the window's first frame for partial forgeries (no jump in), otherwise a
    random frame with a face and a fairly closed mouth (opening lips is safer than closing them)."""
    if partial and found[start]:
        return int(start)
    usable = np.flatnonzero(found) if found.any() else np.arange(len(marks))
    opening = lm.mouth_opening(marks[usable])
    calm = usable[opening <= np.percentile(opening, 35)]
    return int(rng.choice(calm if len(calm) else usable))


def _blinks(num_frames: int, fps: float, rng: np.random.Generator) -> np.ndarray:
    """Eyelid closure per frame in [0, 1]: blinks every 2–6 s, each ~4–6 frames."""
    closure = np.zeros(num_frames)
    t = rng.uniform(0.3, 3.0) * fps
    while t < num_frames:
        length = int(rng.integers(4, 7))
        profile = np.sin(np.linspace(0, np.pi, length + 2)[1:-1])
        i = int(t)
        span = closure[i:i + length]
        closure[i:i + length] = np.maximum(span, profile[:len(span)])
        t += rng.uniform(2.0, 6.0) * fps
    return closure


def _head_motion(audio: np.ndarray, sample_rate: int, fps: float, num_frames: int, start: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    """Smooth head motion (angle °, dx, dy as fractions of the frame, scale) from ``start`` on, starting
    at rest; an Ornstein–Uhlenbeck walk whose amplitude rises with the speech's loudness."""
    steps = num_frames - start
    amp = np.array([rng.uniform(0.4, 2.0), rng.uniform(0.002, 0.012), rng.uniform(0.002, 0.01), rng.uniform(0.003, 0.012)])
    tau = float(rng.uniform(0.4, 1.5)) * fps
    hop = sample_rate / fps
    env = np.array([np.sqrt(np.mean(np.square(audio[int(i * hop):int((i + 1) * hop)])) + 1e-12)
                    for i in range(start, num_frames)]) if steps > 0 else np.zeros(0)
    env = env / (np.percentile(env, 95) + 1e-6) if steps else env
    state = np.zeros(4)
    motion = np.zeros((max(steps, 0), 4))
    decay = np.exp(-1.0 / tau)
    noise = rng.normal(size=(max(steps, 0), 4))
    for i in range(steps):
        drive = 0.6 + 0.8 * min(env[i], 1.5)
        state = decay * state + np.sqrt(1 - decay ** 2) * amp * drive * noise[i]
        motion[i] = state
    ramp = np.minimum(1.0, np.arange(steps) / max(1.0, 0.4 * fps))[:, None]  # start at rest
    motion *= ramp
    motion[:, 3] += 1.0
    params = {"motion_amplitude": amp.tolist(), "motion_tau_frames": tau}
    return motion, params


def _render_style(rng: np.random.Generator) -> dict[str, Any]:
    """How frames are rendered: whole-frame or head-only motion, resampling kernel, sensor-like noise.

    Drawn per forgery so that neither a resampling blur, a moving background nor a perfectly still
    one is a constant trait of still-talk.
    """
    return {
        "motion_scope": "head" if rng.random() < 0.7 else "frame",
        "interpolation": "cubic" if rng.random() < 0.6 else "linear",
        "noise_sigma": 0.0 if rng.random() < 0.3 else float(rng.uniform(0.5, 2.0)),
        "head_scale": float(rng.uniform(1.3, 1.9)),
        "head_feather": float(rng.uniform(0.1, 0.25)),
    }


def _head_weight(reference: np.ndarray, shape: tuple[int, int], render: dict[str, Any]) -> np.ndarray:
    """(H, W) float32 in [0, 1]: 1 over the head (face, hair), fading out over the neck and background."""
    h, w = shape
    oval = reference[facemesh.FACE_OVAL]
    centre = oval.mean(axis=0)
    half = 0.5 * np.ptp(oval, axis=0) * render["head_scale"]
    small = 4  # the mask is smooth: draw and blur it at a quarter of the size
    mask = np.zeros((max(1, h // small), max(1, w // small)), np.float32)
    cv2.ellipse(mask, (int(centre[0] / small), int(centre[1] / small)),
                (max(1, int(half[0] / small)), max(1, int(half[1] * 1.1 / small))), 0, 0, 360, 1.0, -1)
    sigma = max(1.0, render["head_feather"] * float(np.ptp(oval[:, 1])) / small)
    mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    return np.clip(cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)


def _noise_bank(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray | None:
    """A few Gaussian noise fields (int16) to add, shifted at random, to each frame; None for no noise."""
    if sigma <= 0:
        return None
    return np.round(rng.normal(scale=sigma, size=(3, *shape, 1))).astype(np.int16).repeat(3, axis=3)


def _cavity_style(rng: np.random.Generator) -> dict[str, Any]:
    dark = float(rng.uniform(25, 75))  # a dark red-brown mouth interior
    white = float(rng.uniform(180, 235))  # off-white, slightly yellow teeth
    return {
        "color": [dark, dark * float(rng.uniform(0.3, 0.6)), dark * float(rng.uniform(0.35, 0.65))],
        "alpha": float(rng.uniform(0.55, 0.95)),
        "teeth": bool(rng.random() < 0.6),
        "teeth_color": [white, white * float(rng.uniform(0.95, 0.99)), white * float(rng.uniform(0.85, 0.95))],
        "teeth_alpha": float(rng.uniform(0.35, 0.8)),
        "edge_blur": float(rng.uniform(0.6, 1.6)),
    }


def _paint_cavity(face: np.ndarray, target: np.ndarray, style: dict[str, Any]) -> None:
    """Paint the mouth interior (dark, optionally teeth) inside the target's inner-lip polygon, in place."""
    inner = target[facemesh.LIPS_INNER]
    gap = float(np.linalg.norm(target[facemesh.LIP_UPPER_INNER] - target[facemesh.LIP_LOWER_INNER]))
    if gap < 1.5:
        return
    x0, y0 = np.floor(inner.min(0)).astype(int) - 3
    x1, y1 = np.ceil(inner.max(0)).astype(int) + 4
    h, w = face.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return
    region = face[y0:y1, x0:x1].astype(np.float32)
    mask = np.zeros(region.shape[:2], dtype=np.float32)
    cv2.fillPoly(mask, [np.round((inner - (x0, y0)) * 4).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=2)
    mask = cv2.GaussianBlur(mask, (0, 0), style["edge_blur"]) * style["alpha"]
    region = region * (1 - mask[..., None]) + np.array(style["color"], dtype=np.float32) * mask[..., None]
    if style["teeth"]:
        upper = target[facemesh.LIPS_INNER[:11]]  # 78 … 308 along the upper inner lip
        band = np.vstack([upper, upper[::-1] + np.array([0.0, min(0.35 * gap, 0.12 * np.ptp(inner[:, 0]))])])
        teeth = np.zeros_like(mask)
        cv2.fillPoly(teeth, [np.round((band - (x0, y0)) * 4).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=2)
        teeth = cv2.GaussianBlur(teeth, (0, 0), style["edge_blur"]) * style["teeth_alpha"] * (mask > 0.05)
        region = region * (1 - teeth[..., None]) + np.array(style["teeth_color"], dtype=np.float32) * teeth[..., None]
    face[y0:y1, x0:x1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)


def register(add: Callable[[str, Callable[[], object]], None]) -> None:
    add("still-talk", StillTalk)
    add("still-talk-self", lambda: StillTalk(name="still-talk-self", audio_donor="self",
                                             labels=ForgeryLabels(audio_label=0, video_label=1, sync_label=0)))
