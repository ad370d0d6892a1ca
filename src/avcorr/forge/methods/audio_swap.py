"""audio-swap: the real video with real speech of another clip (FakeAVCeleb RealVideo-FakeAudio-like).

Nothing visual changes: the frames are the source's, re-encoded by the same encoder as the real
rows. The trace is purely cross-modal: the lips say something else than the audio, so no sync
and no content match. ``audio-swap-self`` takes the speech from the same identity (another clip,
or another stretch of the same recording), a pure content mismatch with the right voice.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from avcorr.forge.methods.base import DonorKind, ForgedClip, ForgeRequest, ForgeryLabels


@dataclass
class AudioSwap:
    """The source's frames with another soundtrack: a real clip's (``audio_donor`` other or self)
    or synthetic speech (``tts``, :mod:`avcorr.forge.methods.tts_dub`)."""

    name: str = "audio-swap"
    audio_donor: DonorKind = "other"
    needs_face: bool = False
    needs_face_donor: bool = False
    needs_visemes: bool = False
    labels: ForgeryLabels = ForgeryLabels(audio_label=1, video_label=0, sync_label=1)

    def forge(self, request: ForgeRequest) -> ForgedClip:
        donor = request.audio_donor
        if donor is None:
            raise ValueError(f"{self.name} needs {'synthetic speech' if self.audio_donor == 'tts' else 'an audio donor'}")
        return ForgedClip(frames=request.source.frames, audio=donor.audio,
                          params={"text": donor.text} if self.audio_donor == "tts" else {})


def register(add: Callable[[str, Callable[[], object]], None]) -> None:
    add("audio-swap", AudioSwap)
    add("audio-swap-self", lambda: AudioSwap(name="audio-swap-self", audio_donor="self",
                                             labels=ForgeryLabels(audio_label=0, video_label=0, sync_label=1)))
