"""ReportVideo examples built from code (test-only): a forged clip with a fake window, a clean one,
and a file that failed."""
from __future__ import annotations

import numpy as np

from avcorr.detect.evidence import collect_evidence
from avcorr.detect.report import ReportVideo
from avcorr.detect.segments import SegmentOptions, find_segments

FPS = 25.0


def face_crops(num_frames: int, size: int = 64) -> np.ndarray:
    """Gray frames with a dark mouth ellipse whose height changes with time."""
    import cv2

    frames = np.full((num_frames, size, size), 90, np.uint8)
    for t in range(num_frames):
        cv2.ellipse(frames[t], (size // 2, size // 2), (size // 3, size // 2 - 2), 0, 0, 360, 200, -1)
        cv2.ellipse(frames[t], (size // 2, int(0.72 * size)), (size // 6, 2 + t % 6), 0, 0, 360, 30, -1)
    return frames


def forged_video(path: str = "clips/forged <partial> & co.mp4", num_frames: int = 150,
                 window: tuple[int, int] = (50, 100)) -> ReportVideo:
    rng = np.random.default_rng(0)
    prob = np.clip(0.15 + 0.05 * rng.normal(size=num_frames), 0, 1)
    prob[window[0]:window[1]] = np.clip(0.85 + 0.05 * rng.normal(size=window[1] - window[0]), 0, 1)
    corr = np.clip(0.7 - 0.4 * (prob > 0.5) + 0.03 * rng.normal(size=num_frames), 0, 1)
    segments = find_segments(prob, FPS, SegmentOptions.for_threshold(0.5))
    arrays = {"frames": face_crops(num_frames), "mouth": face_crops(num_frames, 32)}
    return ReportVideo(path=path, verdict="fake", probability=float(prob.mean()) + 0.3, mode="model", threshold=0.5,
                       fps=FPS, fake_probability=prob, correlation=corr, teacher_correlation=corr[::-1].copy(),
                       segments=segments, evidence=collect_evidence(arrays, prob, FPS, count=3))


def clean_video(num_frames: int = 80) -> ReportVideo:
    prob = np.full(num_frames, 0.1)
    return ReportVideo(path="clips/clean.mp4", verdict="real", probability=0.1, mode="zero-shot", threshold=0.5,
                       fps=FPS, fake_probability=prob, correlation=None, teacher_correlation=np.full(num_frames, 0.8))


def failed_video() -> ReportVideo:
    return ReportVideo(path="clips/broken.mp4", verdict="error", error="clips/broken.mp4: no audio track <none>")
