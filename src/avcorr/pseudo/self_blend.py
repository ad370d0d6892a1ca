"""Self-blend: the face-swap family, made as Self-Blended Images (Shiohara & Yamasaki, CVPR 2022).

Each frame is blended onto itself: the source half is the same frame after a tone change, a
frequency change (blur or sharpening, sometimes a down-up rescale) and a small shift and scale,
pasted through the whole-face hull mask (elastic, blurred, ratio from {0.25, 0.5, 0.75, 1, 1, 1}).
What remains is what every swap leaves: a blending boundary, a tone and sharpness step, a slight
misregistration of the inner face — and no identity change to learn.
"""
from __future__ import annotations

import cv2
import numpy as np

from avcorr.pseudo.clip import PseudoFake, SourceClip, blend
from avcorr.pseudo.masks import face_size, sample_mask_style, span_masks
from avcorr.pseudo.texture import apply_retouch, rescale, sample_rescale, sample_retouch


def self_blend(clip: SourceClip, span: tuple[int, int] | None, rng: np.random.Generator) -> PseudoFake:
    start, stop = clip.span(span)
    real = clip.frames[start:stop]
    h, w = real.shape[1:3]
    track_sigma = float(rng.uniform(0.5, 2.5))
    marks = clip.smooth_landmarks(track_sigma)[start:stop]
    size = float(np.median([face_size(m) for m in marks]))
    retouch = sample_retouch(rng, strength=float(rng.uniform(0.5, 1.2)))
    source = apply_retouch(real, retouch)
    factor = None
    if rng.random() < 0.4:
        factor, down, up = sample_rescale(rng, 0.45, 0.9)
        source = rescale(source, factor, down, up)
    dx, dy = (float(v) for v in rng.uniform(-0.03, 0.03, 2) * size)
    scale = float(rng.uniform(0.96, 1.04))
    centre = marks[:, :, :2].reshape(-1, 2).mean(axis=0)
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), 0.0, scale)
    matrix[:, 2] += (dx, dy)
    source = np.stack([cv2.warpAffine(f, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
                       for f in source])
    style = sample_mask_style(rng)
    mask = span_masks(marks, (h, w), style, "face")
    n = stop - start
    return PseudoFake(frames=blend(source, real, mask), mfcc=clip.mfcc_rows(start, stop), mask=mask,
                      frame_mask=np.ones(n, bool), label=1, kind="self_blend", span=(start, stop),
                      params={"retouch": retouch.__dict__, "scale_factor": factor, "shift_px": [dx, dy],
                              "zoom": scale, "mask": style.__dict__, "track_sigma": track_sigma})
