"""Shared by the serve tests: a synthetic clip, a fast detector of known score, waiting for a scan."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from avcorr.detect.verdict import FrameScore, OperatingPoint, VideoVerdict
from avcorr.media.decode import iter_frames
from media_fixtures import StubTracker, index_frames, tone, write_media

#: The hand-made operating point of :class:`KnownScoreDetector`: fake from 0.8, uncertain from 0.6.
POINT = OperatingPoint(fake_threshold=0.8, uncertain_threshold=0.6, false_alarm_rate=0.05,
                       source="hand-made reals", num_real_clips=20)


class KnownScoreDetector:
    """Decodes the file for real (a file that is not a video fails as it would in any detector) but
    gives every video the same ``score``, so the API tests know the band it must come back with."""

    mode = "known-score"
    warning = None
    operating_point = POINT

    def __init__(self, score: float = 0.9) -> None:
        self.score = score

    def detect(self, path: str | Path, audio_path: str | Path | None = None) -> VideoVerdict:
        frames = len(list(iter_frames(path, 25.0, 10)))
        return VideoVerdict(path=str(path), score=self.score, verdict=POINT.band(self.score), mode=self.mode, fps=25.0,
                            frames=[FrameScore(t=i / 25.0, correlation=0.5, fake_probability=self.score)
                                    for i in range(frames)],
                            operating_point=POINT, details={"num_frames": frames})


class WholeFrameTracker(StubTracker):
    """:class:`media_fixtures.StubTracker` (the whole frame is the face) with the tracker's
    ``track(frames)`` too, which the canonical-resolution step of prepare calls on sample frames."""

    def track(self, frames_rgb, path: str = "<frames>"):
        self.reset()
        for frame in frames_rgb:
            self.add(frame)
        return self.finish(path)


def load_known(score: float = 0.9):
    """A ``LocalQueue`` loader that builds a :class:`KnownScoreDetector` whatever the name."""
    return lambda name: KnownScoreDetector(score)


def make_clip(path: Path, seconds: float = 2.0) -> Path:
    """A small talking-face-shaped clip: 64×64 frames whose brightness counts up, a 220 Hz tone."""
    return write_media(path, index_frames(int(seconds * 25), (64, 64)), tone(seconds))


def wait_for(client: Any, scan_id: str, limit_s: float = 180.0, token: str | None = None) -> dict:
    """Poll ``GET /api/v1/scans/{id}`` until the scan is done or failed (bounded, not a timing test)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + limit_s
    while True:
        scan = client.get(f"/api/v1/scans/{scan_id}", headers=headers).json()
        if scan["status"] in ("done", "failed") or time.monotonic() > deadline:
            return scan
        time.sleep(0.05)
