"""tts-dub: the real video dubbed with synthetic speech of another sentence (fake audio, no sync).

Mirrors FakeAVCeleb's RealVideo-FakeAudio with a voice that is not the speaker's. The speech is
made by ``avcorr.forge.tts`` (eSpeak NG, several voices and speaking rates drawn per forgery),
fitted to the source's length by the orchestrator; the frames stay exactly the source's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from avcorr.forge.methods.base import DonorKind, ForgedClip, ForgeRequest, ForgeryLabels


@dataclass
class TtsDub:
    name: str = "tts-dub"
    audio_donor: DonorKind = "tts"
    needs_face: bool = False
    needs_face_donor: bool = False
    needs_visemes: bool = False
    labels: ForgeryLabels = ForgeryLabels(audio_label=1, video_label=0, sync_label=1)

    def forge(self, request: ForgeRequest) -> ForgedClip:
        if request.audio_donor is None:
            raise ValueError("tts-dub needs synthetic speech")
        return ForgedClip(frames=request.source.frames, audio=request.audio_donor.audio,
                          params={"text": request.audio_donor.text})


def register(add: Callable[[str, Callable[[], object]], None]) -> None:
    add("tts-dub", TtsDub)
