"""Container and global-image features of a video file: the metadata *shortcut* baseline's input.

These describe how a file was made, not what it shows — resolution, frame rate, length, codec,
bitrate, audio format, and the sharpness, noise, brightness and contrast of whole frames at the
native resolution. On public corpora they separate real from fake clips far better than chance
(docs/design.md §8–9), so every detector is reported beside a classifier on exactly these numbers: a
detector that does not beat them has not learned forgery.

Only the stream headers and up to ``max_frames`` evenly spaced frames are decoded (by seeking in
long files), so the cost is bounded whatever the file's length.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from avcorr.cues.stats import NAN, mean
from avcorr.errors import InputError
from avcorr.media.decode import frames_at
from avcorr.media.probe import MediaInfo, probe

#: Stable names, in order, of :func:`container_features`' output.
FEATURE_NAMES: tuple[str, ...] = (
    "width", "height", "aspect_ratio", "fps", "duration_s", "frame_count",
    "video_bitrate_bps", "bits_per_pixel",
    "codec_h264", "codec_hevc", "codec_vp9_av1", "codec_other", "pix_yuv420p",
    "has_audio", "audio_sample_rate", "audio_channels",
    "sharpness_laplacian_var", "noise_mad", "brightness_mean", "contrast_std", "frames_measured",
)

_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)  # Immerkær's noise kernel


def container_features(path: str | Path, max_frames: int = 16) -> dict[str, float]:
    """Features of the video file ``path`` (names in :data:`FEATURE_NAMES`).

    Units: pixels; frames per second; seconds; bits per second (video stream only: the
    stream's own bit rate, else the file's size over its duration minus the audio's rate);
    ``bits_per_pixel`` = bitrate / (width · height · fps); codec and pixel format as 0/1
    indicators; Hz and channel count for the first audio stream (NaN without one). Frame
    statistics are means over up to ``max_frames`` evenly spaced frames, in 8-bit gray levels at
    the native resolution: ``sharpness_laplacian_var`` the variance of the 3×3 Laplacian,
    ``noise_mad`` 1.4826 × the median absolute deviation of the image minus its 3×3 median
    (a robust noise σ), ``brightness_mean`` and ``contrast_std`` the mean and std of the gray image.

    Raises :class:`~avcorr.errors.InputError` for a missing, empty or unreadable file, or one
    without a video stream.
    """
    info = probe(path)
    out = _header_features(info)
    stats = _sample_frame_stats(path, out["duration_s"], max_frames)
    if not stats and max_frames > 0:
        raise InputError(path, "no video frame could be decoded", stage="decode")
    out.update(_mean_stats(stats))
    return {name: float(out[name]) for name in FEATURE_NAMES}


def _header_features(info: MediaInfo) -> dict[str, float]:
    """The header half of :func:`container_features`, from the media reader's probe."""
    width, height = float(info.width or NAN), float(info.height or NAN)
    fps = float(info.source_fps or NAN)
    duration = NAN if info.duration_s is None else float(info.duration_s)
    frame_count = float(info.frame_count) if info.frame_count else (float(round(duration * fps)) if np.isfinite(duration * fps) else NAN)
    if not np.isfinite(duration) and np.isfinite(frame_count) and np.isfinite(fps):
        duration = frame_count / fps
    has_audio = info.has_audio
    audio_rate = float(info.audio_sample_rate or NAN) if has_audio else NAN
    audio_channels = float(info.audio_channels or NAN) if has_audio else NAN
    audio_bps = float(info.audio_bitrate_bps or 0.0) if has_audio else 0.0
    file_bytes = info.file_bytes

    bitrate = float(info.video_bitrate_bps or NAN)
    if np.isfinite(duration) and duration > 0:
        from_size = max(file_bytes * 8 / duration - audio_bps, 0.0) or NAN
        # MPEG-1/2 headers often carry a placeholder maximum (104857200): no stream outruns its file
        if not np.isfinite(bitrate) or bitrate > 1.5 * file_bytes * 8 / duration:
            bitrate = from_size
    pixels_per_s = width * height * fps
    codec = info.video_codec
    is_h264, is_hevc = codec in ("h264", "libx264"), codec in ("hevc", "h265", "libx265")
    is_vp9_av1 = codec in ("vp9", "libvpx-vp9", "av1", "libdav1d", "libaom-av1", "libsvtav1")
    return {
        "width": width, "height": height, "aspect_ratio": width / height if height > 0 else NAN,
        "fps": fps, "duration_s": duration, "frame_count": frame_count,
        "video_bitrate_bps": bitrate, "bits_per_pixel": bitrate / pixels_per_s if pixels_per_s > 0 else NAN,
        "codec_h264": float(is_h264), "codec_hevc": float(is_hevc), "codec_vp9_av1": float(is_vp9_av1),
        "codec_other": float(not (is_h264 or is_hevc or is_vp9_av1)),
        "pix_yuv420p": float(info.pixel_format in ("yuv420p", "yuvj420p")),
        "has_audio": float(has_audio), "audio_sample_rate": audio_rate, "audio_channels": audio_channels,
    }


def _sample_frame_stats(path: Path, duration_s: float, max_frames: int) -> list[tuple[float, float, float, float]]:
    """(sharpness, noise, brightness, contrast) of up to ``max_frames`` frames evenly spaced in time."""
    if max_frames <= 0:
        return []
    span = duration_s if np.isfinite(duration_s) and duration_s > 0 else 0.0
    # sample times relative to the stream's first frame, at the centres of max_frames equal spans
    # (one a second from the start when the duration is unknown)
    targets = list((np.arange(max_frames) + 0.5) * span / max_frames) if span > 0 else [float(k) for k in range(max_frames)]
    frames = frames_at(path, [float(t) for t in targets], pixel_format="gray")
    if not frames and span > 0:  # unreliable headers (duration past the real end, odd seeking): the first frame at least
        frames = frames_at(path, [0.0], pixel_format="gray")
    return [_frame_stats(gray) for gray in frames]


def _frame_stats(gray: np.ndarray) -> tuple[float, float, float, float]:
    """(Laplacian variance, robust noise σ, mean, std) of one 8-bit gray image, in gray levels.

    The noise σ is 1.4826 × the median absolute deviation of the image filtered with Immerkær's
    3×3 kernel (a difference of Laplacians that cancels smooth image content, so mostly noise and
    fine texture remain), divided by the kernel's gain 6 on white noise: gray levels.
    """
    import cv2

    gray = np.ascontiguousarray(gray, dtype=np.uint8)
    _, lap_std = cv2.meanStdDev(cv2.Laplacian(gray, cv2.CV_16S, ksize=1))
    gray_mean, gray_std = cv2.meanStdDev(gray)
    residual = cv2.filter2D(gray, cv2.CV_16S, _IMMERKAER)[1:-1, 1:-1]
    # integer residuals: medians by counting, not by sorting millions of values
    offset = 16 * 255
    counts = np.bincount((residual.astype(np.int32) + offset).reshape(-1), minlength=2 * offset + 1)
    med = int(_count_median(counts)) - offset
    deviations = np.abs(np.arange(2 * offset + 1) - offset - med)
    mad = _count_median(np.bincount(deviations, weights=counts, minlength=2 * offset + 1))
    return float(lap_std[0, 0]) ** 2, 1.4826 * mad / 6.0, float(gray_mean[0, 0]), float(gray_std[0, 0])


def _count_median(counts: np.ndarray) -> float:
    """Median of integer values 0, 1, 2, … occurring ``counts`` times, interpolated within its bin
    (the grouped-data median: value k spans [k − ½, k + ½)), so it is not stuck on integers."""
    cumulative = np.cumsum(counts, dtype=np.float64)
    half = cumulative[-1] / 2.0
    k = int(np.searchsorted(cumulative, half))
    below = cumulative[k - 1] if k > 0 else 0.0
    return float(k - 0.5 + (half - below) / max(float(counts[k]), 1e-12))


def _mean_stats(stats: list[tuple[float, float, float, float]]) -> dict[str, float]:
    a = np.array(stats, dtype=np.float64).reshape(-1, 4)
    return {
        "sharpness_laplacian_var": mean(a[:, 0]), "noise_mad": mean(a[:, 1]),
        "brightness_mean": mean(a[:, 2]), "contrast_std": mean(a[:, 3]), "frames_measured": float(len(a)),
    }
