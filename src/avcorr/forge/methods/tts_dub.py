"""tts-dub: the real video dubbed with synthetic speech of another sentence (fake audio, no sync).

Mirrors FakeAVCeleb's RealVideo-FakeAudio with a voice that is not the speaker's. The speech is
made by ``avcorr.forge.tts`` (eSpeak NG, several voices and speaking rates drawn per forgery),
fitted to the source's length by the orchestrator; the frames stay exactly the source's.
"""
from __future__ import annotations

from typing import Callable

from avcorr.forge.methods.audio_swap import AudioSwap


def register(add: Callable[[str, Callable[[], object]], None]) -> None:
    add("tts-dub", lambda: AudioSwap(name="tts-dub", audio_donor="tts"))  # same labels as audio-swap
