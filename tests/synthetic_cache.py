"""A small clip cache written from code, for training and evaluation tests (test-only).

Every clip is driven by a per-frame "articulation" sequence a_t in [0, 1] (smoothed noise with
pauses). The video shows a face whose dark mouth ellipse opens with the video's driver; the
first MFCC bands follow the audio's driver. In REAL clips both drivers are the same sequence;
FAKE clips break that link, one way per method:

- ``audio-swap``: the audio follows an independent sequence;
- ``time-shift``: the audio follows the same sequence rolled by 8–16 frames;
- ``lip-mismatch``: the mouth follows an independent sequence, the audio the true one.

Each modality looks the same alone in real and fake clips (same statistics, same lengths), so
only the audio–video relation tells them apart. Teacher posteriors (5 "visemes" from noisy
copies of each driver) are stored, and the soft label y_t derived from them with the JS
divergence; every fifth clip keeps only the posteriors, so readers must derive y_t themselves.
Clips of one source share a ``source_id`` and a split.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from avcorr.data.clip_cache import ClipCache, ClipMeta, ClipRecord
from avcorr.soft_label import soft_correlation_label

FAKE_METHODS = ("audio-swap", "time-shift", "lip-mismatch")
_CENTRES = np.linspace(0.0, 1.0, 5)


@dataclass
class SyntheticCacheSpec:
    """How many sources, their split, and the clips' size. Each source gives as many real clips
    (different utterances) as fake ones, one fake per method."""

    num_sources: int = 16
    frame_size: int = 48
    min_frames: int = 40
    max_frames: int = 80
    split_fractions: tuple[float, float, float] = (0.5, 0.19, 0.31)  # train, val, test
    seed: int = 0
    teacher_outputs: bool = True  # False: a cache prepared with no teacher (no posteriors, no soft label)


def articulation(rng: np.random.Generator, num_frames: int) -> np.ndarray:
    """A smooth per-frame mouth-opening sequence in [0, 1] with short pauses (closed mouth)."""
    noise = rng.normal(size=num_frames + 8)
    kernel = np.hanning(7)
    smooth = np.convolve(noise, kernel / kernel.sum(), mode="same")[4:4 + num_frames]
    value = 1.0 / (1.0 + np.exp(-2.5 * smooth / smooth.std()))
    pauses = rng.random(num_frames) < 0.05
    value[np.convolve(pauses, np.ones(3), mode="same") > 0] = 0.0
    return value.astype(np.float32)


def render_face(rng: np.random.Generator, opening: np.ndarray, size: int, brightness: float) -> np.ndarray:
    """(T, size, size) uint8 frames: a lit oval face whose mouth height follows ``opening``."""
    frames = np.empty((len(opening), size, size), dtype=np.uint8)
    centre = (size // 2, int(0.72 * size))
    for t, a in enumerate(opening):
        canvas = np.full((size, size), 0.35 * brightness, dtype=np.float32)
        cv2.ellipse(canvas, (size // 2, size // 2), (int(0.38 * size), int(0.48 * size)), 0, 0, 360, brightness, -1)
        height = max(1, int(round((0.03 + 0.16 * a) * size)))
        cv2.ellipse(canvas, centre, (int(0.16 * size), height), 0, 0, 360, 0.15 * brightness, -1)
        canvas += rng.normal(scale=8.0, size=canvas.shape)
        frames[t] = np.clip(canvas, 0, 255).astype(np.uint8)
    return frames


def mfcc_from(rng: np.random.Generator, driver: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(4T, 13) float32 MFCC-like features: bands 0–3 follow the driver at 100 Hz, the rest are noise."""
    num_frames = len(driver)
    times = (np.arange(4 * num_frames) + 0.5) / 4.0 - 0.5
    a = np.interp(times, np.arange(num_frames), driver)
    features = rng.normal(scale=0.5, size=(4 * num_frames, 13))
    for band, gain in enumerate((3.0, -2.0, 1.5, 1.0)):
        features[:, band] += gain * a
    return (features + offsets).astype(np.float32)


def posteriors(rng: np.random.Generator, driver: np.ndarray) -> np.ndarray:
    """(T, 5) float32 teacher-like distribution over 5 opening levels from a noisy driver."""
    noisy = np.clip(driver + rng.normal(scale=0.08, size=driver.shape), 0, 1)
    logits = -((noisy[:, None] - _CENTRES[None, :]) ** 2) / 0.02
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = 0.95 * p / p.sum(axis=1, keepdims=True) + 0.05 / len(_CENTRES)
    return p.astype(np.float32)


def write_synthetic_cache(root: str | Path, spec: SyntheticCacheSpec | None = None) -> ClipCache:
    """Write the cache under ``root`` (``clips/*.npz`` and ``manifest.csv``) and return it."""
    spec = spec or SyntheticCacheSpec()
    rng = np.random.default_rng(spec.seed)
    cache = ClipCache(root)
    n_train = int(round(spec.split_fractions[0] * spec.num_sources))
    n_val = int(round(spec.split_fractions[1] * spec.num_sources))
    index = 0
    for source in range(spec.num_sources):
        split = "train" if source < n_train else "val" if source < n_train + n_val else "test"
        brightness = float(rng.uniform(150, 230))
        offsets = rng.normal(scale=0.3, size=13)
        for take, method in enumerate(("real",) * len(FAKE_METHODS) + FAKE_METHODS):
            num_frames = int(rng.integers(spec.min_frames, spec.max_frames + 1))
            true = articulation(rng, num_frames)
            video_driver, audio_driver = true, true
            if method == "audio-swap":
                audio_driver = articulation(rng, num_frames)
            elif method == "time-shift":
                audio_driver = np.roll(true, int(rng.integers(8, 17)) * (1 if rng.random() < 0.5 else -1))
            elif method == "lip-mismatch":
                video_driver = articulation(rng, num_frames)
            label = int(method != "real")
            p, q = posteriors(rng, audio_driver), posteriors(rng, video_driver)
            arrays = {
                "frames": render_face(rng, video_driver, spec.frame_size, brightness),
                "mfcc": mfcc_from(rng, audio_driver, offsets),
                "frame_labels": np.full(num_frames, label, dtype=np.uint8),
                "audio_posteriors": p,
                "visual_posteriors": q,
            }
            if not spec.teacher_outputs:
                del arrays["audio_posteriors"], arrays["visual_posteriors"]
            elif index % 5 != 4:
                y = soft_correlation_label(torch.from_numpy(p), torch.from_numpy(q), divergence="js")
                arrays["soft_label"] = y.numpy().astype(np.float32)
            meta = ClipMeta(
                clip_id=f"s{source:02d}-{method}" + (f"{take}" if method == "real" else ""), label=label, method=method, source_id=f"s{source:02d}",
                split=split, dataset="synthetic", teacher="synthetic", fps=25.0,
                audio_label=int(method in ("audio-swap", "time-shift")), video_label=int(method == "lip-mismatch"),
            )
            cache.write(ClipRecord(meta=meta, arrays=arrays))
            index += 1
    cache.rebuild_manifest()
    return cache
