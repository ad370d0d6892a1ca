"""When a decoded clip is too little to judge: too short, or too much of it lost.

A detector scores windows of a clip; on a fragment — a few frames of a truncated file, a clip
whose media data is mostly corrupt — it still returns a confident number, which means nothing
(a real clip cut to 7 frames scored 0.98 "fake"). Detectors ask :func:`too_little_to_judge`
before scoring and give "too little to judge" with its reason instead of a verdict.

``MIN_JUDGE_SECONDS = 2.0``: two seconds are 50 frames at 25 fps — a few syllables, the shortest
span over which lip/speech agreement is measured at all (one detector window is 1–2 s).
``MIN_COVERAGE = 0.5``: more than half of the declared length lost means the decoded part is
the minority of the clip; the reasons for the loss (a truncated download, corrupt packets)
are then likely to shape what is left, too. Ordinary damage stays far above it (200 flipped
bits in a 7 s clip: 6.27 s of 7 decodable, 0.90), a 10% truncation far below (0.10).
"""
from __future__ import annotations

from typing import Protocol

#: Least decoded duration, seconds, for a clip to be judged.
MIN_JUDGE_SECONDS = 2.0
#: Least share of the declared duration that must have decoded for a clip to be judged.
MIN_COVERAGE = 0.5


class Decoded(Protocol):
    """What the rule reads: a decoded duration (seconds) and the share of the declared one."""

    duration_s: float
    coverage: float


def too_little_to_judge(clip: Decoded, min_seconds: float = MIN_JUDGE_SECONDS,
                        min_coverage: float = MIN_COVERAGE) -> str | None:
    """A one-line reason why ``clip`` (a :class:`~avcorr.media.decode.MediaClip` or a
    :class:`~avcorr.media.decode.DecodeReport`) is too little to judge, or None when it is enough."""
    if clip.coverage < min_coverage:
        return (f"only {100 * clip.coverage:.0f}% of the declared duration could be decoded "
                f"(at least {100 * min_coverage:.0f}% is needed to judge)")
    if clip.duration_s < min_seconds:
        return f"only {clip.duration_s:.2f} s could be decoded (at least {min_seconds:g} s is needed to judge)"
    return None
