"""Still-image animation: one frame of the clip moved along the clip's own landmark track.

One-shot portrait animators (and audio-driven ones) move a single photo: the head follows a
motion, but the texture stays stuck to the reference frame — eyelids that do not blink, teeth and
skin detail that never change, a background that is frozen or moves rigidly. Here the reference
frame is warped, frame by frame, by a piecewise-affine map over a triangulation of face-mesh
points (the face oval, nose, brows, lips; the eyelids are left out so the eyes stay as in the
reference) onto the clip's own landmarks, so the motion is exactly the real one. Three ways to
treat the background: ``paste`` (the warped face pasted into the real frames through the face
hull, like animators that paste back), ``frozen`` (crop-border anchors stay put: the background
is the reference frame's), ``rigid`` (the anchors follow the head's similarity motion). Audio: the
clip's own.
"""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
from scipy.spatial import Delaunay

from avcorr.media.landmarks import FACE_OVAL
from avcorr.pseudo.clip import PseudoFake, SourceClip, blend
from avcorr.pseudo.masks import sample_mask_style, span_masks
from avcorr.pseudo.texture import Retouch, apply_retouch

#: MediaPipe face-mesh indices (topology numbers) of the warp's control points
LIPS = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185,
        78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191]
INNER_FACE = [1, 4, 6, 168, 197, 98, 327, 33, 133, 362, 263, 70, 105, 107, 336, 334, 300,
              205, 425, 50, 280, 18, 200, 175]
WARP_POINTS = FACE_OVAL + LIPS + INNER_FACE
#: points that move with the head, not the jaw: eye corners, nose bridge, temples
RIGID = [33, 133, 362, 263, 6, 168, 197, 1, 234, 454]
MODES = ("paste", "frozen", "rigid")


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares rotation, uniform scale and translation src → dst (N, 2): a 2×3 matrix."""
    matrix, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), dst.astype(np.float32), method=cv2.LMEDS)
    return np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]) if matrix is None else matrix


def border_anchors(h: int, w: int) -> np.ndarray:
    """Twelve points on the crop border (corners and thirds), pixels (x, y)."""
    xs, ys = np.linspace(0, w - 1, 4), np.linspace(0, h - 1, 4)
    pts = [(x, 0) for x in xs] + [(x, h - 1) for x in xs] + [(0, y) for y in ys[1:-1]] + [(w - 1, y) for y in ys[1:-1]]
    return np.array(pts, np.float64)


def piecewise_affine(image: np.ndarray, src: np.ndarray, dst: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Warp ``image`` so that points ``src`` (N, 2) land on ``dst``; one affine map per triangle.

    A backward map: each output pixel takes its triangle's (in ``dst``) map back into ``image``;
    pixels no triangle covers keep the identity map.
    """
    h, w = image.shape[:2]
    labels = np.zeros((h, w), np.int32)
    maps = np.zeros((len(triangles) + 1, 2, 3), np.float32)
    maps[0] = [[1, 0, 0], [0, 1, 0]]
    for k, tri in enumerate(triangles, start=1):
        d, s = dst[tri].astype(np.float32), src[tri].astype(np.float32)
        area = (d[1, 0] - d[0, 0]) * (d[2, 1] - d[0, 1]) - (d[2, 0] - d[0, 0]) * (d[1, 1] - d[0, 1])
        if abs(area) < 1e-3:
            continue
        maps[k] = cv2.getAffineTransform(d, s)
        cv2.fillConvexPoly(labels, np.round(d * 16).astype(np.int32), k, lineType=cv2.LINE_8, shift=4)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    m = maps[labels]
    map_x = m[..., 0, 0] * xs + m[..., 0, 1] * ys + m[..., 0, 2]
    map_y = m[..., 1, 0] * xs + m[..., 1, 1] * ys + m[..., 1, 2]
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def pick_reference(clip: SourceClip, start: int, stop: int, rng: np.random.Generator) -> int:
    """A frame whose face shape (centred landmarks) is among the quarter closest to the span's:
    a piecewise-affine warp folds over where the pose differs much (an animator's photo is
    usually taken from the same footage in a similar pose)."""
    marks = clip.landmarks[:, WARP_POINTS, :2]
    centred = marks - marks.mean(axis=1, keepdims=True)
    step = max(1, (stop - start) // 8)
    distance = np.abs(centred[:, None] - centred[None, start:stop:step]).mean(axis=(1, 2, 3))
    closest = np.argsort(distance, kind="stable")[:max(1, clip.num_frames // 4)]
    return int(rng.choice(closest))


def still_image(clip: SourceClip, span: tuple[int, int] | None, rng: np.random.Generator) -> PseudoFake:
    start, stop = clip.span(span)
    real = clip.frames[start:stop]
    h, w = real.shape[1:3]
    ref = pick_reference(clip, start, stop, rng)
    mode = str(rng.choice(MODES, p=[0.45, 0.3, 0.25]))
    anchors = border_anchors(h, w)
    ref_pts = np.concatenate([clip.landmarks[ref][WARP_POINTS, :2].astype(np.float64), anchors])  # as tracked: its own picture
    triangles = Delaunay(ref_pts).simplices
    # a generator's texture is clean: no sensor noise, often a little soft ...
    denoise = float(rng.uniform(2.0, 9.0)) if rng.random() < 0.6 else 0.0
    image = cv2.fastNlMeansDenoising(clip.frames[ref], None, h=denoise, templateWindowSize=5,
                                     searchWindowSize=11) if denoise else clip.frames[ref]
    smooth = float(rng.uniform(0.0, 0.8))
    image = image if smooth < 0.3 else cv2.GaussianBlur(image, (0, 0), smooth)
    # ... or crisp: many animators run a face restorer over their output
    sharpen = float(rng.uniform(0.3, 1.5)) if rng.random() < 0.45 else 0.0
    if sharpen:
        image = apply_retouch(image[None], Retouch(1.0, 0.0, sharpen))[0]
    track_sigma = float(rng.uniform(1.0, 3.0))
    track = clip.smooth_landmarks(track_sigma)
    warped = np.empty_like(real)
    for i, t in enumerate(range(start, stop)):
        marks = track[t].astype(np.float64)
        moved = anchors
        if mode == "rigid":
            matrix = similarity(track[ref][RIGID], marks[RIGID])
            moved = anchors @ matrix[:, :2].T + matrix[:, 2]
        dst = np.concatenate([marks[WARP_POINTS], moved])
        warped[i] = piecewise_affine(image, ref_pts, dst, triangles)
    n = stop - start
    if mode == "paste":
        style = sample_mask_style(rng)
        style = replace(style, ratio=1.0, elastic=style.elastic / 2)
        mask = span_masks(track[start:stop], (h, w), style, "face")
        frames = blend(warped, real, mask)
    else:
        mask = np.ones((n, h, w), np.float32)
        frames = warped
    return PseudoFake(frames=frames, mfcc=clip.mfcc_rows(start, stop), mask=mask, frame_mask=np.ones(n, bool),
                      label=1, kind="still", span=(start, stop),
                      params={"reference": ref, "mode": mode, "smooth": smooth, "denoise": denoise, "sharpen": sharpen,
                              "track_sigma": track_sigma})
