"""One clip → one fixed-length, named cue vector: visual traces, animation cues, background motion.

Names are ``<group>.<feature>``; a group switched on always yields all its names (NaN where a cue
cannot be measured, e.g. background motion without the video), so the vectors of a corpus line
up column by column and an ablation switches whole groups (:data:`CUE_GROUPS`) on or off.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from avcorr.cues import animation, traces
from avcorr.data.clip_cache import ClipRecord

#: Cue groups, each a feature-name prefix: visual traces, still-image animation, background motion.
CUE_GROUPS: tuple[str, ...] = ("trace", "anim", "bg")
_GROUP_NAMES = {"trace": traces.FEATURE_NAMES, "anim": animation.FEATURE_NAMES, "bg": animation.BACKGROUND_NAMES}
#: Arrays of a clip file the cues read (for ``load_clip(path, arrays=...)``).
CUE_ARRAYS: tuple[str, ...] = ("frames", "mouth", "landmarks", "face_boxes", "face_found")


def cue_feature_names(groups: Sequence[str] = CUE_GROUPS) -> list[str]:
    """The prefixed names :func:`clip_cue_features` returns for ``groups``, in order."""
    _check(groups)
    return [f"{g}.{name}" for g in CUE_GROUPS if g in groups for name in _GROUP_NAMES[g]]


def clip_cue_features(
    record: ClipRecord,
    video_path: str | Path | None = None,
    groups: Sequence[str] = CUE_GROUPS,
    bg_max_frames: int = 100,
) -> dict[str, float]:
    """Cue features of a prepared clip, names as :func:`cue_feature_names` (``trace.``, ``anim.``, ``bg.``).

    ``video_path`` is the clip's source video, for background motion (``bg.`` stays NaN without
    it); its first ``bg_max_frames`` frames from the clip's ``extra.start_s`` are decoded. The
    crops' frame rate is ``record.meta.fps``. Raises only for an unreadable ``video_path``
    (:class:`~avcorr.errors.InputError`).
    """
    _check(groups)
    a = record.arrays
    fps = float(record.meta.fps or 25.0)
    frames, landmarks, boxes = a.get("frames"), a.get("landmarks"), a.get("face_boxes")
    values: dict[str, dict[str, float]] = {}
    if "trace" in groups:
        values["trace"] = traces.trace_features(frames, landmarks, a.get("mouth"), boxes, a.get("face_found"), fps)
    if "anim" in groups:
        values["anim"] = animation.animation_features(frames, landmarks, boxes, fps)
    if "bg" in groups:
        values["bg"] = dict.fromkeys(animation.BACKGROUND_NAMES, float("nan"))
        if video_path is not None and boxes is not None:
            start_s = float((record.meta.extra or {}).get("start_s") or 0.0)
            values["bg"] = animation.background_motion(video_path, np.asarray(boxes), start_s, bg_max_frames, fps)
    return {f"{g}.{name}": float(values[g][name]) for g in CUE_GROUPS if g in values for name in _GROUP_NAMES[g]}


def _check(groups: Sequence[str]) -> None:
    unknown = sorted(set(groups) - set(CUE_GROUPS))
    if unknown:
        raise ValueError(f"unknown cue group(s) {unknown}; known: {list(CUE_GROUPS)}")
