"""Audio-visual self-splices (AVPF, arXiv 2604.09110): edits of a clip's own sound and picture.

Three modes, one drawn per pseudo-fake:
- ``audio_shift``: the MFCC rows inside a 0.5–1.5 s window taken 1–3 frames earlier or later
  (the lips lead or lag the speech there); pixels untouched;
- ``frame_splice``: one to three frames each replaced by the most similar frame (landmark
  distance) 0.5–1 s away, with that frame's MFCC slice (a splice in picture and sound);
- ``audio_swap``: two equal 0.3–1 s windows swap their MFCC rows; pixels untouched.
Only ``frame_splice`` changes pixels: a visual-only learner can see nothing else.
"""
from __future__ import annotations

import numpy as np

from avcorr.pseudo.clip import FPS, MFCC_PER_FRAME, PseudoFake, SourceClip

MODES = ("audio_shift", "frame_splice", "audio_swap")


def similar_frame(clip: SourceClip, t: int, rng: np.random.Generator) -> int:
    """The frame 0.5–1 s away from ``t`` whose landmarks (centred) are closest to frame ``t``'s."""
    offsets = np.arange(int(0.5 * FPS), FPS + 1)
    candidates = np.concatenate([t - offsets, t + offsets])
    candidates = candidates[(candidates >= 0) & (candidates < clip.num_frames)]
    if len(candidates) == 0:
        candidates = np.array([int(rng.integers(clip.num_frames))])
    marks = clip.landmarks[:, :, :2]
    centred = marks - marks.mean(axis=1, keepdims=True)
    distance = np.abs(centred[candidates] - centred[t]).mean(axis=(1, 2))
    return int(candidates[int(np.argmin(distance))])


def av_splice(clip: SourceClip, span: tuple[int, int] | None, rng: np.random.Generator,
              modes: tuple[str, ...] = MODES) -> PseudoFake:
    start, stop = clip.span(span)
    n = stop - start
    mode = str(rng.choice(modes))
    frames = clip.frames[start:stop].copy()
    mfcc = clip.mfcc_rows(start, stop)
    mask = np.zeros(frames.shape, np.float32)
    frame_mask = np.zeros(n, bool)
    params: dict = {"mode": mode}
    k = MFCC_PER_FRAME
    if mode == "frame_splice":
        count = min(n, int(rng.integers(1, 4)))
        spliced = sorted(int(i) for i in rng.choice(n, size=count, replace=False))
        donors = []
        for i in spliced:
            donor = similar_frame(clip, start + i, rng)
            frames[i] = clip.frames[donor]
            if mfcc is not None and clip.mfcc is not None:
                mfcc[k * i:k * (i + 1)] = clip.mfcc[k * donor:k * (donor + 1)]
            mask[i] = 1.0
            frame_mask[i] = True
            donors.append(donor)
        params.update(frames=spliced, donors=donors)
    elif mode == "audio_shift":
        length = min(n, int(rng.integers(int(0.5 * FPS), int(1.5 * FPS) + 1)))
        a = int(rng.integers(0, n - length + 1))
        shift = int(rng.integers(1, 4)) * (1 if rng.random() < 0.5 else -1)
        moved = clip.mfcc_rows(start + a, start + a + length, shift)
        if mfcc is not None and moved is not None:
            mfcc[k * a:k * (a + length)] = moved
        frame_mask[a:a + length] = True
        params.update(window=[a, a + length], shift=shift)
    else:  # audio_swap
        length = max(1, min(n // 2, int(rng.integers(int(0.3 * FPS), FPS + 1))))
        a = int(rng.integers(0, n - 2 * length + 1))
        b = int(rng.integers(a + length, n - length + 1))
        if mfcc is not None:
            first = mfcc[k * a:k * (a + length)].copy()
            mfcc[k * a:k * (a + length)] = mfcc[k * b:k * (b + length)]
            mfcc[k * b:k * (b + length)] = first
        frame_mask[a:a + length] = frame_mask[b:b + length] = True
        params.update(windows=[[a, a + length], [b, b + length]])
    return PseudoFake(frames=frames, mfcc=mfcc, mask=mask, frame_mask=frame_mask, label=1, kind="av_splice",
                      span=(start, stop), params=params)
