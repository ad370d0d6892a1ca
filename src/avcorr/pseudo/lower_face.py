"""Lower-face regeneration: the lip-sync family (Wav2Lip, MuseTalk, LatentSync, ...).

Lip-sync generators re-render the mouth and lower face at their own resolution (Wav2Lip: the lower
half of a 96 px face; MuseTalk: 256 px; LatentSync: 512 px) and paste it back. Here the lower face
comes from the clip itself — the frames rendered at a lower resolution (down-up scaling), or taken
from other moments of the clip (frames shifted ±1–3 inside 0.5–1.5 s windows, as AVPF's visual
self-blend), or both — with a tone and sharpness mismatch, blended back through an elastically
deformed, blurred lower-face hull (:mod:`avcorr.pseudo.masks`). The audio is kept, or shifted by
1–3 frames (a dub whose lips lag).
"""
from __future__ import annotations

import numpy as np

from avcorr.pseudo.clip import FPS, PseudoFake, SourceClip, blend
from avcorr.pseudo.masks import sample_mask_style, span_masks
from avcorr.pseudo.texture import apply_retouch, rescale, sample_rescale, sample_retouch

#: render scale relative to the face crop (≈ a 96–256 px generator on faces of 150–400 px)
SCALE_RANGE = (0.3, 0.8)


def shifted_indices(start: int, stop: int, total: int, rng: np.random.Generator) -> np.ndarray:
    """Donor frame per frame of [start, stop): shifted by ±1–3 inside random 0.5–1.5 s windows."""
    index = np.arange(start, stop)
    t = start
    while t < stop:
        length = int(rng.integers(int(0.5 * FPS), int(1.5 * FPS) + 1))
        if rng.random() < 0.75:
            shift = int(rng.integers(1, 4)) * (1 if rng.random() < 0.5 else -1)
            index[t - start:min(stop, t + length) - start] += shift
        t += length
    return np.clip(index, 0, total - 1)


def lower_face(clip: SourceClip, span: tuple[int, int] | None, rng: np.random.Generator) -> PseudoFake:
    start, stop = clip.span(span)
    real = clip.frames[start:stop]
    source = "rescale" if rng.random() < 0.5 else ("shift" if rng.random() < 0.5 else "shift+rescale")
    donor_index = np.arange(start, stop)
    if "shift" in source:
        donor_index = shifted_indices(start, stop, clip.num_frames, rng)
        if np.all(donor_index == np.arange(start, stop)):  # nothing shifted: force one window
            donor_index = np.clip(donor_index + int(rng.choice([-2, 2])), 0, clip.num_frames - 1)
    donor = clip.frames[donor_index]
    factor = None
    if "rescale" in source:
        factor, down, up = sample_rescale(rng, *SCALE_RANGE)
        donor = rescale(donor, factor, down, up)
    retouch = sample_retouch(rng, strength=float(rng.uniform(0.3, 1.0)))
    donor = apply_retouch(donor, retouch)
    style = sample_mask_style(rng)
    level = float(rng.uniform(-0.35, 0.1))
    track_sigma = float(rng.uniform(0.5, 2.5))
    mask = span_masks(clip.smooth_landmarks(track_sigma)[start:stop], real.shape[1:3], style, "lower", level)
    changed = donor_index != np.arange(start, stop) if source == "shift" else np.ones(stop - start, bool)
    mask[~changed] = 0.0
    frames = blend(donor, real, mask)
    audio_shift = int(rng.integers(1, 4)) * (1 if rng.random() < 0.5 else -1) if rng.random() < 0.3 else 0
    frame_mask = changed | (audio_shift != 0)
    return PseudoFake(frames=frames, mfcc=clip.mfcc_rows(start, stop, audio_shift), mask=mask,
                      frame_mask=frame_mask, label=1, kind="lower_face", span=(start, stop),
                      params={"source": source, "scale": factor, "retouch": retouch.__dict__,
                              "mask": style.__dict__, "level": level, "track_sigma": track_sigma, "audio_shift": audio_shift})
