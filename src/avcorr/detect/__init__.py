"""Detection: a video in, a calibrated verdict out.

    import avcorr.detect as detect
    detector = detect.load()                    # the shipped default; or a name ("animation-cues") or a path
    verdict = detector.detect("clip.mp4")       # a VideoVerdict: score, band, false-alarm rate, details
    verdict.to_dict()                           # the detect JSON (schema v2)

Every kind is a :class:`~avcorr.detect.base.Detector` in its own module, registered by name
(:mod:`avcorr.detect.registry`); importing this package registers the shipped kinds.
"""
from avcorr.detect import cue_detector, dynamics_detector, model_detector, trace_detector, zero_shot  # noqa: F401  (registers the kinds)
from avcorr.detect.base import Detector
from avcorr.detect.batch import ResumableBatch, detect_videos
from avcorr.detect.registry import detector_kinds, load, register_detector
from avcorr.detect.verdict import OperatingPoint, VideoVerdict

__all__ = ["Detector", "OperatingPoint", "ResumableBatch", "VideoVerdict", "detect_videos", "detector_kinds", "load",
           "register_detector"]
