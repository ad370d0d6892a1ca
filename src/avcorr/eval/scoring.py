"""The one way a trained detector scores a clip frame by frame (``evaluate``, ``detect``,
localization and the benchmarks all come here).

The detector sees at most ``max_clip_frames`` frames at a time (its attention was trained on clips
that long). A longer clip runs in overlapping windows; in the overlap each frame's outputs are a
weighted mean of the windows covering it, with weights that ramp down towards each window's inner
edges, where the network has the least context (:meth:`avcorr.data.windows.Windowing.for_model`). The video score is the mean frame probability of
"fake", so neither a clip's duration nor its frame count moves the score by itself (docs/design.md §8).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from avcorr.data.clip_cache import ClipRecord
from avcorr.data.dataset import resize_frames
from avcorr.data.windows import Windowing
from avcorr.errors import InputError

DEFAULT_OVERLAP_FRAMES = 25
MFCC_PER_FRAME = 4  # MFCC vectors (100 Hz) per video frame (25 fps)


@dataclass
class ModelFrameScores:
    """Per-frame outputs of the detector on one clip of T frames (all (T,) float32)."""

    fake_probability: np.ndarray  # probability that the frame is manipulated
    correlation: np.ndarray  # student s_t = (cos(A'_t, V'_t) + 1) / 2
    teacher_correlation: np.ndarray | None = None  # teacher y_t, when the teachers' posteriors exist

    @property
    def score(self) -> float:
        """The video's probability of being fake: the mean frame probability."""
        return float(np.mean(self.fake_probability)) if self.fake_probability.size else math.nan


def model_windowing(max_clip_frames: int | None, overlap_frames: int = DEFAULT_OVERLAP_FRAMES) -> Windowing:
    """The student's windows: at most ``max_clip_frames`` frames (None: one pass), sharing at least
    ``overlap_frames``, blended with ramps."""
    return Windowing.for_model(max_clip_frames, overlap_frames)


@torch.no_grad()
def score_frames(model: torch.nn.Module, frames: np.ndarray, mfcc: np.ndarray, max_clip_frames: int | None = None,
                 overlap_frames: int = DEFAULT_OVERLAP_FRAMES) -> ModelFrameScores:
    """Fake probability and student correlation of every frame: ``frames`` (T, S, S) uint8 at the
    model's frame size, ``mfcc`` (4T, 13); windows of at most ``max_clip_frames`` (None: one pass)."""
    num_frames = frames.shape[0]
    if mfcc.shape[0] != MFCC_PER_FRAME * num_frames:
        raise ValueError(f"mfcc has {mfcc.shape[0]} rows for {num_frames} frames (expected 4×)")
    device = next(model.parameters()).device
    windowing = model_windowing(max_clip_frames, overlap_frames)
    bounds = windowing.bounds(num_frames)
    outputs = []
    for start, stop in bounds:
        video = torch.from_numpy(np.ascontiguousarray(frames[start:stop]))[None].to(device)
        audio = torch.from_numpy(np.ascontiguousarray(mfcc[MFCC_PER_FRAME * start:MFCC_PER_FRAME * stop],
                                                      dtype=np.float32))[None].to(device)
        output = model(audio, video)
        outputs.append(np.stack([output.fake_probability[0].double().cpu().numpy(),
                                 output.correlation[0].double().cpu().numpy()]))
    values = windowing.aggregate(num_frames, bounds, outputs) if bounds else np.zeros((2, 0))
    return ModelFrameScores(values[0].astype(np.float32), values[1].astype(np.float32))


def score_record(model: torch.nn.Module, record: ClipRecord, frame_size: int, max_clip_frames: int | None = None,
                 overlap_frames: int = DEFAULT_OVERLAP_FRAMES, stage: str = "evaluate") -> ModelFrameScores:
    """:func:`score_frames` of a prepared clip (``frames`` and ``mfcc`` arrays); its crops are
    resized to the model's ``frame_size`` (pixels). A clip that cannot be scored is an InputError."""
    where = record.meta.video_path or record.meta.clip_id
    arrays = record.arrays
    for needed in ("frames", "mfcc"):
        if needed not in arrays:
            raise InputError(where, f"prepared clip has no {needed}", stage=stage)
    num_frames = int(arrays["frames"].shape[0])
    if num_frames == 0:
        raise InputError(where, "clip has no frames", stage=stage)
    if arrays["mfcc"].shape[0] != MFCC_PER_FRAME * num_frames:
        raise InputError(where, f"mfcc has {arrays['mfcc'].shape[0]} rows for {num_frames} frames", stage=stage)
    frames = resize_frames(np.asarray(arrays["frames"], dtype=np.uint8), frame_size)
    return score_frames(model, frames, np.asarray(arrays["mfcc"], dtype=np.float32), max_clip_frames, overlap_frames)
