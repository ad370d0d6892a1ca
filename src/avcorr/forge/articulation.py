"""From timed phones to per-frame mouth shapes (with coarticulation), and head motion and blinks.

Mouth: each viseme has an articulation target (:data:`VISEME_TARGETS`); the mouth at time t is
the dominance-weighted mean of the targets of the phones around t (Cohen & Massaro's
coarticulation model): a phone's dominance peaks at its centre and decays exponentially on both
sides, more slowly *before* the phone (anticipation: the lips start moving towards a rounded
vowel or a bilabial closure before it sounds). Bilabial and labiodental closures have a strong,
narrow dominance so they are reached even in fast speech; alveolars and velars are weak for the
lips and take the shape of their vowels. The result is low-pass filtered (a lip is a mass, not a
switch) and averaged over each frame's exposure.

Head motion: slow smoothed random rotation, translation and scale, plus gaze shifts, brow
raises on stressed vowels and blinks every few seconds.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from avcorr.forge.tts import TimedPhone

#: Per-viseme mouth targets: opening (jaw + lips, 0–1), width (spread, −1 narrow … 1 spread),
#: rounding/protrusion (0–1), closure (lips pressed, 0–1), lower lip to upper teeth (0–1),
#: teeth visibility (0–1), tongue tip up behind the teeth (0–1), tongue between the teeth (0–1).
ARTICULATION_KEYS = ("open", "width", "round", "closure", "lip_teeth", "teeth", "tongue_up", "tongue_out")
VISEME_TARGETS: dict[str, tuple[float, ...]] = {
    #        open  width round close  lt   teeth t_up t_out
    "sil": (0.04, 0.00, 0.00, 0.50, 0.0, 0.00, 0.0, 0.0),
    "PP":  (0.00, 0.00, 0.05, 1.00, 0.0, 0.00, 0.0, 0.0),
    "FF":  (0.14, 0.10, 0.00, 0.00, 1.0, 0.90, 0.0, 0.0),
    "TH":  (0.30, 0.10, 0.00, 0.00, 0.0, 0.80, 0.0, 1.0),
    "DD":  (0.28, 0.15, 0.00, 0.00, 0.0, 0.70, 1.0, 0.0),
    "kk":  (0.38, 0.10, 0.00, 0.00, 0.0, 0.50, 0.0, 0.0),
    "CH":  (0.24, -0.20, 0.55, 0.00, 0.0, 0.90, 0.3, 0.0),
    "SS":  (0.12, 0.35, 0.00, 0.00, 0.0, 1.00, 0.4, 0.0),
    "nn":  (0.24, 0.10, 0.00, 0.00, 0.0, 0.60, 1.0, 0.0),
    "RR":  (0.24, -0.25, 0.45, 0.00, 0.0, 0.40, 0.2, 0.0),
    "aa":  (0.85, 0.15, 0.00, 0.00, 0.0, 0.50, 0.0, 0.0),
    "E":   (0.52, 0.35, 0.00, 0.00, 0.0, 0.70, 0.0, 0.0),
    "ih":  (0.30, 0.50, 0.00, 0.00, 0.0, 0.80, 0.2, 0.0),
    "oh":  (0.62, -0.35, 0.80, 0.00, 0.0, 0.20, 0.0, 0.0),
    "ou":  (0.22, -0.55, 1.00, 0.00, 0.0, 0.10, 0.0, 0.0),
}
#: Dominance (strength, forward decay rate, backward/anticipatory decay rate in 1/s) per viseme.
_DOMINANCE: dict[str, tuple[float, float, float]] = {
    "sil": (0.6, 18.0, 14.0), "PP": (3.0, 40.0, 30.0), "FF": (2.5, 40.0, 30.0), "TH": (1.2, 35.0, 25.0),
    "DD": (0.5, 35.0, 25.0), "kk": (0.4, 35.0, 25.0), "CH": (1.2, 30.0, 20.0), "SS": (0.9, 30.0, 22.0),
    "nn": (0.5, 35.0, 25.0), "RR": (1.0, 28.0, 18.0), "aa": (1.0, 22.0, 16.0), "E": (1.0, 22.0, 16.0),
    "ih": (1.0, 22.0, 16.0), "oh": (1.3, 20.0, 12.0), "ou": (1.5, 20.0, 11.0),
}


@dataclass
class MouthTrack:
    """Per-frame articulation, each (T,) float32 (see :data:`ARTICULATION_KEYS` for meanings)."""

    open: np.ndarray
    width: np.ndarray
    round: np.ndarray
    closure: np.ndarray
    lip_teeth: np.ndarray
    teeth: np.ndarray
    tongue_up: np.ndarray
    tongue_out: np.ndarray

    def frame(self, t: int) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)[t]) for f in fields(self)}

    def as_array(self) -> np.ndarray:
        """(T, 8) in :data:`ARTICULATION_KEYS` order."""
        return np.stack([getattr(self, k) for k in ARTICULATION_KEYS], axis=1)


@dataclass
class HeadTrack:
    """Per-frame head pose and eye state, each (T,) float32.

    ``dx, dy`` translation as a fraction of the frame size, ``roll_deg`` in-plane rotation in
    degrees, ``scale`` relative size, ``yaw``/``pitch`` in [−1, 1] (feature parallax), ``blink``
    0 open … 1 closed, ``gaze_x, gaze_y`` in [−1, 1], ``brow`` raise 0–1.
    """

    dx: np.ndarray
    dy: np.ndarray
    roll_deg: np.ndarray
    scale: np.ndarray
    yaw: np.ndarray
    pitch: np.ndarray
    blink: np.ndarray
    gaze_x: np.ndarray
    gaze_y: np.ndarray
    brow: np.ndarray

    def frame(self, t: int) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)[t]) for f in fields(self)}


def mouth_track(
    phones: list[TimedPhone],
    num_frames: int,
    fps: float = 25.0,
    strength: float = 1.0,
    lead_s: float = 0.02,
    envelope: np.ndarray | None = None,
) -> MouthTrack:
    """Articulation for ``num_frames`` frames from phones in seconds (coarticulated, smoothed).

    ``strength`` scales the opening (a speaker's articulation style); ``lead_s`` shifts the
    visible articulation ahead of the sound, as lips lead the acoustics; ``envelope`` (T,) in
    [0, 1], the loudness per frame, modulates the opening a little (louder speech, wider jaw).
    """
    rate = 200.0  # internal sampling, Hz
    duration = num_frames / fps
    t = np.arange(int(np.ceil(duration * rate)) + 1) / rate + lead_s
    targets = np.array([VISEME_TARGETS[p.viseme] for p in phones], np.float64) if phones else np.zeros((0, 8))
    weights = np.zeros((len(phones), len(t)))
    for i, phone in enumerate(phones):
        strength_i, forward, backward = _DOMINANCE[phone.viseme]
        start, end = phone.start_s, phone.end_s
        inside = (t >= start) & (t < end)
        before = t < start
        after = t >= end
        dom = np.zeros_like(t)
        dom[inside] = 1.0
        dom[before] = np.exp(-backward * (start - t[before]))
        dom[after] = np.exp(-forward * (t[after] - end))
        weights[i] = strength_i * dom
    if len(phones):
        total = weights.sum(axis=0) + 1e-6
        params = (weights.T @ targets) / total[:, None]
        rest = np.array(VISEME_TARGETS["sil"])
        fade = np.clip(total / 0.05, 0.0, 1.0)[:, None]  # far from any phone: at rest
        params = fade * params + (1.0 - fade) * rest
    else:
        params = np.tile(np.array(VISEME_TARGETS["sil"]), (len(t), 1))
    params = _critically_damped(params, rate, time_constant_s=0.025)
    # average over each frame's exposure (half the frame period)
    frame_params = np.zeros((num_frames, params.shape[1]), np.float64)
    for f in range(num_frames):
        a = int(round((f / fps) * rate))
        b = max(a + 1, int(round(((f + 0.5) / fps) * rate)))
        frame_params[f] = params[a:b].mean(axis=0)
    frame_params[:, 0] *= strength
    if envelope is not None and len(envelope) == num_frames:
        frame_params[:, 0] *= 0.8 + 0.4 * np.clip(envelope, 0.0, 1.0)
    frame_params[:, 0] = np.clip(frame_params[:, 0], 0.0, 1.0)
    columns = {k: frame_params[:, i].astype(np.float32) for i, k in enumerate(ARTICULATION_KEYS)}
    return MouthTrack(**columns)


def _critically_damped(x: np.ndarray, rate: float, time_constant_s: float) -> np.ndarray:
    """Two passes of a one-pole low-pass forward (a second-order, causal, overshoot-free filter)."""
    from scipy.signal import lfilter

    alpha = 1.0 - np.exp(-1.0 / (rate * time_constant_s))
    b, a = [alpha], [1.0, alpha - 1.0]
    out = x
    for _ in range(2):  # y[i] = y[i-1] + alpha (x[i] - y[i-1]), starting at rest at x[0]
        out = lfilter(b, a, out, axis=0, zi=((1.0 - alpha) * out[:1]))[0]
    return out


def loudness_envelope(audio: np.ndarray, sample_rate: int, num_frames: int, fps: float = 25.0) -> np.ndarray:
    """(num_frames,) RMS per frame, scaled to [0, 1] by the clip's 95th percentile."""
    hop = sample_rate / fps
    rms = np.zeros(num_frames, np.float32)
    for f in range(num_frames):
        seg = audio[int(f * hop):int((f + 1) * hop)]
        rms[f] = float(np.sqrt(np.mean(seg.astype(np.float64) ** 2))) if len(seg) else 0.0
    top = float(np.percentile(rms, 95)) if num_frames else 0.0
    return np.clip(rms / top, 0.0, 1.0) if top > 0 else rms


def head_track(num_frames: int, fps: float, rng: np.random.Generator, phones: list[TimedPhone] | None = None,
               liveliness: float = 1.0) -> HeadTrack:
    """Smooth random head motion, saccadic gaze, blinks every 2–6 s, brow raises on some vowels."""
    t = np.arange(num_frames) / fps

    def smooth_noise(amplitude: float, period_s: float) -> np.ndarray:
        # a sum of a few sinusoids with random phases: smooth, bounded, deterministic
        out = np.zeros(num_frames)
        for k in range(3):
            freq = (1.0 + k * 0.7 + rng.random() * 0.5) / period_s
            out += np.sin(2 * np.pi * freq * t + rng.random() * 2 * np.pi) / (k + 1)
        return (amplitude * liveliness * out / 1.83).astype(np.float32)

    blink = np.zeros(num_frames, np.float32)
    next_blink = rng.uniform(0.3, 2.5)
    while next_blink < num_frames / fps:
        duration = rng.uniform(0.12, 0.24)
        closing = duration * 0.35
        times = t - next_blink
        phase = np.where(times < closing, times / closing, 1.0 - (times - closing) / (duration - closing))
        mask = (times >= 0) & (times < duration)
        blink[mask] = np.maximum(blink[mask], np.clip(phase[mask], 0.0, 1.0) ** 0.7)
        next_blink += rng.uniform(2.0, 6.0)

    gaze_x = np.zeros(num_frames, np.float32)
    gaze_y = np.zeros(num_frames, np.float32)
    cursor = 0
    while cursor < num_frames:
        hold = int(rng.integers(int(0.6 * fps), int(2.5 * fps)))
        gaze_x[cursor:cursor + hold] = rng.normal(0.0, 0.25)
        gaze_y[cursor:cursor + hold] = rng.normal(0.0, 0.15)
        cursor += hold

    brow = np.zeros(num_frames, np.float32)
    if phones:
        for phone in phones:
            if phone.viseme in ("aa", "E", "oh") and phone.end_s - phone.start_s > 0.12 and rng.random() < 0.3:
                centre = 0.5 * (phone.start_s + phone.end_s)
                brow = np.maximum(brow, (np.exp(-((t - centre) / 0.15) ** 2) * rng.uniform(0.4, 1.0)).astype(np.float32))

    return HeadTrack(
        dx=smooth_noise(0.012, 3.0), dy=smooth_noise(0.008, 2.5), roll_deg=smooth_noise(3.0, 3.5),
        scale=1.0 + smooth_noise(0.015, 4.0), yaw=smooth_noise(0.35, 3.0), pitch=smooth_noise(0.25, 2.2),
        blink=blink, gaze_x=np.clip(gaze_x, -1, 1), gaze_y=np.clip(gaze_y, -1, 1), brow=brow,
    )
