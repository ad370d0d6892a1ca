"""The phonetic teacher: what is said (pocketsphinx phones) and what the lips show (landmark
geometry), both as per-frame distributions over 15 visemes."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from avcorr.teachers.base import TeacherOutput
from avcorr.teachers.phonetic.audio import (
    SAMPLE_RATE,
    PhoneRecognizer,
    audio_viseme_posteriors,
    grid_transcript,
)
from avcorr.teachers.phonetic.audio import mix_uniform
from avcorr.teachers.phonetic.visual_model import LipVisemeModel
from avcorr.teachers.visemes import VISEMES

if TYPE_CHECKING:
    from avcorr.data.clip_cache import ClipRecord
    from avcorr.media.decode import MediaClip


class PhoneticTeacher:
    """Offline teacher over :data:`VISEMES`.

    ``use_transcripts``: force-align a known transcript (``record.meta.extra["transcript"]``, or
    the sentence a GRID file name spells) instead of the phone loop. ``sigma_frames``: Gaussian
    smoothing of the audio side, in frames. ``uniform``: mass mixed uniformly into both sides.
    ``model_path``: lip viseme model (default: the one shipped in ``avcorr/resources``).
    """

    name = "phonetic"
    vocabulary = VISEMES

    def __init__(self, model_path: str | Path | None = None, use_transcripts: bool = True,
                 sigma_frames: float = 1.0, uniform: float = 0.02, phone_lm_weight: float = 2.0) -> None:
        self.lip_model = LipVisemeModel.load(model_path)
        self.recognizer = PhoneRecognizer(phone_lm_weight=phone_lm_weight)
        self.use_transcripts = use_transcripts
        self.sigma_frames = sigma_frames
        self.uniform = uniform

    def audio_posteriors(self, audio: np.ndarray, num_frames: int, fps: float = 25.0,
                         transcript: str | None = None) -> tuple[np.ndarray, str]:
        """(T, V) visemes heard in 16 kHz ``audio`` per video frame, and how phones were found."""
        segments, mode = self.recognizer.phones(audio, transcript if self.use_transcripts else None)
        return audio_viseme_posteriors(segments, num_frames, fps, self.sigma_frames, self.uniform), mode

    def visual_posteriors(self, landmarks: np.ndarray) -> np.ndarray:
        """(T, V) visemes the lips show, from (T, 478, 3) face-mesh landmarks (any pixel frame)."""
        return mix_uniform(self.lip_model.predict_proba(landmarks), self.uniform)

    def posteriors(self, clip: "MediaClip | None", record: "ClipRecord") -> TeacherOutput:
        if clip is None:
            raise ValueError("the phonetic teacher needs the clip's audio (pass the MediaClip)")
        if clip.sample_rate != SAMPLE_RATE:
            raise ValueError(f"audio must be {SAMPLE_RATE} Hz, got {clip.sample_rate}")
        landmarks = record.arrays.get("landmarks")
        if landmarks is None:
            raise ValueError(f"{record.meta.clip_id}: the phonetic teacher needs landmarks in the record")
        t = int(landmarks.shape[0])
        transcript = self.transcript_for(clip, record)
        audio, mode = self.audio_posteriors(clip.audio, t, clip.fps, transcript)
        visual = self.visual_posteriors(landmarks)
        return TeacherOutput(audio=audio, visual=visual, vocabulary=list(VISEMES), info={"audio_mode": mode})

    @staticmethod
    def transcript_for(clip: "MediaClip", record: "ClipRecord") -> str | None:
        """The audio's transcript when one is known: given in metadata, or spelt by a GRID file name."""
        given = (record.meta.extra or {}).get("transcript")
        if given:
            return str(given)
        audio_source = clip.audio_path or record.meta.audio_path or clip.path or record.meta.video_path
        return grid_transcript(audio_source) if audio_source else None
