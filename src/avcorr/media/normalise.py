"""Canonical resolution: bring every clip to the same effective face resolution and codec.

Real talking-face footage in public corpora is mostly small (GRID 360 × 288, LRS2 160 px crops,
VoxCeleb 224 px) while most fakes are 512 px or more. Cropped to a fixed size, a small source's
face is upscaled (blurry, its codec's blocks magnified) and a large one's downscaled (sharp), so a
detector can learn "sharp = fake". Normalising removes that shortcut, for real and fake alike, at
training and at detection time:

1. measure the main face's height (forehead-to-chin landmark distance, source pixels; the median
   over a few frames sampled from the clip's start, tracked with :class:`~avcorr.media.face.FaceTracker`;
   only those frames are converted to RGB, so the pre-pass costs a fraction of a decode);
2. rescale every frame by ``s = min(1, face_px / height)`` (INTER_AREA): large faces come down to
   ``face_px``, smaller ones are never upscaled;
3. optionally blur (Gaussian, ``blur_sigma`` pixels of the rescaled frame);
4. JPEG encode/decode each frame with OpenCV at ``jpeg_quality``, so every clip carries the same
   codec's artefacts on top of (and at the scale of) whatever its source codec left.

Pure frame operations plus the measurement; :mod:`avcorr.prepare.pipeline` applies them.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from avcorr.errors import ConfigError, InputError
from avcorr.media import decode
from avcorr.media.face import FaceTracker
from avcorr.media.files import open_container
from avcorr.media.landmarks import CHIN, FOREHEAD
from avcorr.media.probe import nominal_fps


@dataclass
class NormaliseOptions:
    """How clips are brought to a canonical resolution (see the module docstring).

    ``face_px``: target face height (forehead to chin) in pixels after rescaling; faces already
    smaller keep their size. ``jpeg_quality``: OpenCV JPEG quality (1–100) of the round trip
    every frame goes through. ``blur_sigma``: Gaussian blur in pixels of the rescaled frame (0: none).
    ``samples``: frames the face is measured on, spread evenly over the first ``window_frames``
    frames of the clip (at 25 fps; 250 = 10 s) — a cheap pre-pass, not a second tracking.
    """

    face_px: int = 96
    jpeg_quality: int = 75
    blur_sigma: float = 0.0
    samples: int = 5
    window_frames: int = 250

    def __post_init__(self) -> None:
        if not 16 <= int(self.face_px) <= 4096:
            raise ConfigError(f"normalise face_px {self.face_px}: expected 16 to 4096 pixels")
        if not 1 <= int(self.jpeg_quality) <= 100:
            raise ConfigError(f"normalise jpeg_quality {self.jpeg_quality}: expected 1 to 100")
        if not float(self.blur_sigma) >= 0:
            raise ConfigError(f"normalise blur_sigma {self.blur_sigma}: expected >= 0 pixels")
        if not 1 <= int(self.samples) <= 25 or int(self.window_frames) < 1:
            raise ConfigError(f"normalise samples {self.samples} / window_frames {self.window_frames}: expected 1-25 samples in >= 1 frame")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (a detector's config stores it; :meth:`from_dict` replays it)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "NormaliseOptions | None":
        """The options recorded by :meth:`to_dict` (None → None); unknown keys are a :class:`ConfigError`."""
        if data is None:
            return None
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"normalise options: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return cls(**{k: v for k, v in data.items()})


def sample_indices(num_frames: int, options: NormaliseOptions) -> list[int]:
    """The frame indices the face is measured on: ``samples`` spread evenly over the first
    ``window_frames`` of ``num_frames`` (distinct, sorted)."""
    span = max(1, min(int(num_frames), int(options.window_frames)))
    return sorted({int(round(x)) for x in np.linspace(0, span - 1, min(int(options.samples), span))})


def read_sample_frames(path: str | Path, indices: Sequence[int], fps: float = 25.0) -> list[np.ndarray]:
    """RGB frames of ``path`` near output frames ``indices`` (at ``fps``), for measuring only.

    Cheaper than :func:`~avcorr.media.decode.iter_frames`: frames are picked by their decode order
    (output index × the source's nominal rate / ``fps``) and only the picked ones are converted to
    RGB (upright); decoding stops after the last. Packets that fail to decode are skipped.
    """
    if not len(indices):
        return []
    with open_container(path) as container:
        if not container.streams.video:
            raise InputError(path, "no video stream", stage="decode")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        ratio = (nominal_fps(stream) or fps) / fps
        wanted = sorted({int(round(i * ratio)) for i in indices})
        picked: list[np.ndarray] = []
        for index, frame in enumerate(decode._decoded(container, stream, path, decode.DecodeReport(), "video")):
            if index == wanted[len(picked)]:
                picked.append(decode._to_array(frame, None, "rgb24"))
                if len(picked) == len(wanted):
                    break
    return picked


def measure_face_height(frames_rgb: Sequence[np.ndarray], tracker: FaceTracker) -> float | None:
    """Median forehead-to-chin distance (pixels) of the main face over ``frames_rgb`` (RGB uint8,
    a few frames, possibly far apart); None when no frame shows a face.

    The tracker runs its detector on every one of these frames (they need not be consecutive) and
    its options are restored afterwards; it is left reset.
    """
    frames = [np.asarray(f) for f in frames_rgb]
    if not frames:
        return None
    opts = tracker.options
    saved = (opts.detect_every, opts.keep_regions)
    opts.detect_every, opts.keep_regions = 1, False
    try:
        track = tracker.track(frames, "<samples>")  # type: ignore[arg-type]  # any sequence of frames
    except InputError:
        return None
    finally:
        opts.detect_every, opts.keep_regions = saved
        tracker.reset()
    found = track.landmarks[track.found]
    if not len(found):
        return None
    heights = np.linalg.norm(found[:, FOREHEAD, :2] - found[:, CHIN, :2], axis=1)
    return float(np.median(heights))


def scale_for(face_height: float | None, face_px: int) -> float:
    """``min(1, face_px / face_height)``; 1 when the height is unknown (no face in the samples)."""
    if face_height is None or not np.isfinite(face_height) or face_height <= 0:
        return 1.0
    return float(min(1.0, face_px / face_height))


def scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """(width, height) of a frame rescaled by ``scale`` (rounded, at least 2 × 2 pixels)."""
    return max(2, int(round(width * scale))), max(2, int(round(height * scale)))


def jpeg_round_trip(frame_rgb: np.ndarray, quality: int) -> np.ndarray:
    """``frame_rgb`` (H, W, 3) uint8 encoded as JPEG at ``quality`` by OpenCV and decoded again
    (deterministic for one OpenCV build)."""
    import cv2

    ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # OpenCV only fails here on an empty image
        raise ValueError(f"JPEG encoding failed for a frame of shape {frame_rgb.shape}")
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def normalise_frame(frame_rgb: np.ndarray, scale: float, options: NormaliseOptions) -> np.ndarray:
    """One frame rescaled by ``scale`` (INTER_AREA; none at 1), blurred by ``blur_sigma``, then
    through the JPEG round trip. RGB uint8 in and out."""
    import cv2

    h, w = frame_rgb.shape[:2]
    out = np.ascontiguousarray(frame_rgb)
    if scale != 1.0:
        out = cv2.resize(out, scaled_size(w, h, scale), interpolation=cv2.INTER_AREA)
    if options.blur_sigma > 0:
        out = cv2.GaussianBlur(out, (0, 0), float(options.blur_sigma))
    return jpeg_round_trip(out, options.jpeg_quality)
