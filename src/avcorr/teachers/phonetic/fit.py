"""Fit the lip viseme model from talking-face videos, with labels avcorr makes itself.

Each frame's label is the viseme spoken at that moment: the phone timings ``avcorr synth``
writes beside its clips (``<video>.phones.json``, exact: eSpeak says when it spoke each phone);
else pocketsphinx's forced alignment where the transcript is known (a ``<video>.txt`` beside the
file, or a GRID corpus file name); else pocketsphinx's phone loop. No human annotation is involved, so any folder of real talking-face clips
(a user's own, GRID, or ``avcorr synth`` output) can refit the model.

This module works on prepared clips (landmarks and audio); decoding and face tracking are
``prepare``'s job, a layer above: :func:`avcorr.prepare.lip_fitting.fit_from_videos` does both.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

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


def label_landmarks(path: str | Path, audio: np.ndarray, landmarks: np.ndarray, fps: float,
                    recognizer: PhoneRecognizer, use_transcripts: bool = True) -> LabelledClip:
    """Viseme labels for one prepared clip: its face-mesh ``landmarks`` (T, 478, 3) at ``fps`` and
    its mono ``audio`` (16 kHz float); ``path`` is the video, where the sidecar labels are looked up.

    Decoding and tracking happen in the caller (:mod:`avcorr.prepare.lip_fitting`)."""
    labels, mode = clip_labels(path, audio, len(landmarks), fps, recognizer, use_transcripts)
    return LabelledClip(str(path), landmarks, labels, mode)


def fit_from_clips(clips: Iterable[LabelledClip], context: int = 2, regularization: float = 0.01,
                   provenance: dict | None = None) -> LipVisemeModel:
    """The lip viseme model fitted on labelled clips (``context`` frames each side; ``regularization``
    is sklearn's C), with how many clips had which kind of labels in its provenance."""
    clips = list(clips)
    return fit_lip_viseme_model(
        [lip_features(c.landmarks, context) for c in clips], [c.labels for c in clips], context=context,
        regularization=regularization,
        provenance={"aligned_clips": sum(c.label_mode == "aligned" for c in clips),
                    "synth_clips": sum(c.label_mode == "synth_phones" for c in clips),
                    "clip_names": sorted(Path(c.path).name for c in clips), **(provenance or {})},
    )
