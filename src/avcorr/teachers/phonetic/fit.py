"""Fit the lip viseme model from talking-face videos, with labels avcorr makes itself.

Each frame's label is the viseme spoken at that moment: the phone timings ``avcorr synth``
writes beside its clips (``<video>.phones.json``, exact: eSpeak says when it spoke each phone);
else pocketsphinx's forced alignment where the transcript is known (a ``<video>.txt`` beside the
file, or a GRID corpus file name); else pocketsphinx's phone loop. No human annotation is involved, so any folder of real talking-face clips
(a user's own, GRID, or ``avcorr synth`` output) can refit the model.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from avcorr.teachers.phonetic.audio import PhoneRecognizer, PhoneSegment, grid_transcript, viseme_occupancy
from avcorr.teachers.phonetic.lips import lip_features
from avcorr.teachers.phonetic.visual_model import LipVisemeModel, fit_lip_viseme_model


@dataclass
class LabelledClip:
    """One clip's face-mesh landmarks (T, 478, 3) and per-frame viseme labels (T,)."""

    path: str
    landmarks: np.ndarray
    labels: np.ndarray
    label_mode: str  # "synth_phones", "aligned" or "phone_loop"


def known_transcript(path: str | Path) -> str | None:
    """A transcript for ``path``: the text of ``<stem>.txt`` beside it, else a GRID name's sentence."""
    path = Path(path)
    sidecar = path.with_suffix(".txt")
    if sidecar.is_file():
        text = sidecar.read_text(encoding="utf-8").strip()
        if text:
            return text
    return grid_transcript(path.name)


def known_phones(path: str | Path) -> list[PhoneSegment] | None:
    """Phone timings written by ``avcorr synth`` beside a clip (``<stem>.phones.json``), if any."""
    sidecar = Path(path).with_suffix(".phones.json")
    if not sidecar.is_file():
        return None
    try:
        phones = json.loads(sidecar.read_text(encoding="utf-8"))["phones"]
        return [PhoneSegment(str(p["phone"]).upper(), float(p["start_s"]), float(p["end_s"])) for p in phones]
    except (ValueError, KeyError, TypeError):
        return None


def clip_labels(path: str | Path, audio, num_frames: int, fps: float, recognizer: PhoneRecognizer,
                use_transcripts: bool = True):
    """(T,) viseme labels for a clip and how they were made (see the module docstring)."""
    phones = known_phones(path) if use_transcripts else None
    if phones:
        return viseme_occupancy(phones, num_frames, fps).argmax(axis=1), "synth_phones"
    transcript = known_transcript(path) if use_transcripts else None
    segments, mode = recognizer.phones(audio, transcript)
    return viseme_occupancy(segments, num_frames, fps).argmax(axis=1), mode


def track_landmarks(video_path: str | Path, audio_path: str | Path | None = None, tracker=None):
    """Decode a clip and follow its main face: ``(MediaClip, landmarks (T, 478, 3), found (T,))``."""
    from avcorr.prepare.pipeline import PrepareOptions, prepare_clip

    prepared = prepare_clip(video_path, audio_path, PrepareOptions(store_stft=False, store_mouth=False), tracker=tracker)
    return prepared.media, prepared.record.arrays["landmarks"], prepared.record.arrays["face_found"]


def label_clip(video_path: str | Path, recognizer: PhoneRecognizer, tracker=None,
               use_transcripts: bool = True) -> LabelledClip:
    """Landmarks and recogniser-made viseme labels for one video."""
    media, landmarks, _ = track_landmarks(video_path, tracker=tracker)
    labels, mode = clip_labels(video_path, media.audio, len(landmarks), media.fps, recognizer, use_transcripts)
    return LabelledClip(str(video_path), landmarks, labels, mode)


def fit_from_clips(clips: Iterable[LabelledClip], context: int = 2, regularization: float = 0.01,
                   provenance: dict | None = None) -> LipVisemeModel:
    clips = list(clips)
    return fit_lip_viseme_model(
        [lip_features(c.landmarks, context) for c in clips], [c.labels for c in clips], context=context,
        regularization=regularization,
        provenance={"aligned_clips": sum(c.label_mode == "aligned" for c in clips),
                    "synth_clips": sum(c.label_mode == "synth_phones" for c in clips),
                    "clip_names": sorted(Path(c.path).name for c in clips), **(provenance or {})},
    )


def fit_from_videos(paths: Iterable[str | Path], context: int = 2, regularization: float = 0.01,
                    use_transcripts: bool = True, on_clip: Callable[[str, str | None], None] | None = None,
                    ) -> tuple[LipVisemeModel, list[tuple[str, str]]]:
    """Fit from videos; returns the model and the ``(path, reason)`` of clips that failed."""
    from avcorr.errors import AvcorrError
    from avcorr.media.face import FaceTracker

    recognizer, tracker = PhoneRecognizer(), FaceTracker()
    clips, failures = [], []
    for path in paths:
        try:
            clips.append(label_clip(path, recognizer, tracker, use_transcripts))
            if on_clip:
                on_clip(str(path), None)
        except AvcorrError as exc:
            failures.append((str(path), str(exc)))
            if on_clip:
                on_clip(str(path), str(exc))
    if not clips:
        raise ValueError("no clip could be labelled")
    model = fit_from_clips(clips, context, regularization, provenance={"fitted_at": time.strftime("%Y-%m-%d")})
    return model, failures
