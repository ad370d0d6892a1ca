"""Decode and track videos for the phonetic teacher's lip model: the ``prepare`` half of fitting it.

The teacher (a layer below) fits on prepared clips, landmarks plus audio
(:mod:`avcorr.teachers.phonetic.fit`); this module turns video files into those, with the same
decoder and face tracker as ``avcorr prepare``, and is what ``avcorr teacher fit-lips`` calls.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterable, TypeVar

import numpy as np

from avcorr.errors import AvcorrError
from avcorr.media.decode import MediaClip
from avcorr.media.face import FaceTracker
from avcorr.prepare.pipeline import PrepareOptions, prepare_clip
from avcorr.teachers.phonetic.audio import PhoneRecognizer
from avcorr.teachers.phonetic.crossval import AnalysedClip, analyse_landmarks
from avcorr.teachers.phonetic.fit import LabelledClip, fit_from_clips, label_landmarks
from avcorr.teachers.phonetic.visual_model import LipVisemeModel

T = TypeVar("T")


def track_landmarks(video_path: str | Path, audio_path: str | Path | None = None,
                    tracker: FaceTracker | None = None) -> tuple[MediaClip, np.ndarray, np.ndarray]:
    """Decode a clip and follow its main face: ``(MediaClip, landmarks (T, 478, 3), found (T,))``."""
    prepared = prepare_clip(video_path, audio_path, PrepareOptions(store_stft=False, store_mouth=False), tracker=tracker)
    return prepared.media, prepared.record.arrays["landmarks"], prepared.record.arrays["face_found"]


def label_video(video_path: str | Path, recognizer: PhoneRecognizer, tracker: FaceTracker | None = None,
                use_transcripts: bool = True) -> LabelledClip:
    """Landmarks and recogniser-made viseme labels for one video."""
    media, landmarks, _ = track_landmarks(video_path, tracker=tracker)
    return label_landmarks(video_path, media.audio, landmarks, media.fps, recognizer, use_transcripts)


def analyse_clip(path: str | Path, recognizer: PhoneRecognizer, tracker: FaceTracker | None = None,
                 sigma_frames: float = 1.0, uniform: float = 0.02) -> AnalysedClip:
    """Decode and track ``path``, then :func:`avcorr.teachers.phonetic.crossval.analyse_landmarks`."""
    media, landmarks, _ = track_landmarks(path, tracker=tracker)
    return analyse_landmarks(path, media.audio, landmarks, media.fps, recognizer, sigma_frames, uniform)


def fit_from_videos(paths: Iterable[str | Path], context: int = 2, regularization: float = 0.01,
                    use_transcripts: bool = True,
                    progress: Callable[[Iterable[T], str], Iterable[T]] | None = None,
                    ) -> tuple[LipVisemeModel, list[tuple[str, str]]]:
    """Fit the lip model from videos; returns it and the ``(path, reason)`` of clips that failed.

    ``progress`` wraps the iteration over ``paths`` (e.g. a progress bar); None: no bar."""
    recognizer, tracker = PhoneRecognizer(), FaceTracker()
    clips, failures = [], []
    for path in progress(paths, "labelling clips") if progress else paths:
        try:
            clips.append(label_video(path, recognizer, tracker, use_transcripts))
        except AvcorrError as exc:
            failures.append((str(path), str(exc)))
    if not clips:
        raise ValueError("no clip could be labelled")
    model = fit_from_clips(clips, context, regularization, provenance={"fitted_at": time.strftime("%Y-%m-%d")})
    return model, failures
