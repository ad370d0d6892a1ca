"""Run a trained detector over a clip cache and score it with the metric table.

A clip's score is the mean over its frames of the probability of "fake": every frame counts the
same, so neither the clip's duration nor its frame count can move the score by itself. Clips
longer than the model's ``max_clip_frames`` are cut into nearly equal chunks that are scored
separately and put back together. :func:`clip_frame_outputs` (per-frame probabilities and
student correlations of one clip) is the piece that ``detect`` and localization reuse.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from avcorr.config import ExperimentConfig
from avcorr.data.clip_cache import ClipCache
from avcorr.data.dataset import ClipDataset, ClipEntry, list_clips, select_entries
from avcorr.errors import AvcorrError, InputError
from avcorr.eval.metrics import MetricTable, metric_table

ALL_SPLITS = "all"


@dataclass
class FrameOutputs:
    """Per-frame outputs of the detector on one clip (T frames)."""

    fake_prob: np.ndarray  # (T,) float32 probability that the frame is manipulated
    correlation: np.ndarray  # (T,) float32 student correlation s_t = (cos + 1) / 2

    @property
    def score(self) -> float:
        """The video score: the mean frame probability of fake."""
        return float(np.mean(self.fake_prob)) if len(self.fake_prob) else math.nan


@dataclass
class ClipScore:
    """One evaluated clip."""

    clip_id: str
    label: int
    method: str
    split: str
    num_frames: int
    score: float
    mean_correlation: float
    outputs: FrameOutputs | None = None


@dataclass
class Evaluation:
    """What ``avcorr evaluate`` reports."""

    checkpoint: str
    data_dir: str
    split: str
    threshold: float
    table: MetricTable
    clips: list[ClipScore]
    failures: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint, "data": self.data_dir, "split": self.split,
            "threshold": self.threshold, "num_clips": len(self.clips),
            "metrics": self.table.to_dict(), "failures": self.failures,
        }


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def load_run(checkpoint: str | Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, ExperimentConfig]:
    """The detector (eval mode, on ``device``) and the experiment config of a run folder or its weights file."""
    from avcorr.models.checkpoint import load_detector, read_run_config

    device = resolve_device(device) if isinstance(device, str) else device
    return load_detector(checkpoint, device=device), read_run_config(checkpoint)


@torch.no_grad()
def clip_frame_outputs(model: torch.nn.Module, frames: np.ndarray, mfcc: np.ndarray,
                       max_clip_frames: int | None = None) -> FrameOutputs:
    """Per-frame fake probability and correlation of one clip: ``frames`` (T, S, S) uint8 at the
    model's frame size, ``mfcc`` (4T, 13). Long clips run in nearly equal chunks of at most
    ``max_clip_frames`` frames (no tiny last chunk)."""
    num_frames = frames.shape[0]
    if mfcc.shape[0] != 4 * num_frames:
        raise ValueError(f"mfcc has {mfcc.shape[0]} rows for {num_frames} frames (expected 4×)")
    device = next(model.parameters()).device
    chunks = 1 if not max_clip_frames else max(1, math.ceil(num_frames / max_clip_frames))
    bounds = np.linspace(0, num_frames, chunks + 1).round().astype(int)
    probs, corrs = [], []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        video = torch.from_numpy(np.ascontiguousarray(frames[start:stop]))[None].to(device)
        audio = torch.from_numpy(np.ascontiguousarray(mfcc[4 * start:4 * stop], dtype=np.float32))[None].to(device)
        output = model(audio, video)
        probs.append(output.fake_probability[0].cpu().numpy())
        corrs.append(output.correlation.float()[0].cpu().numpy())
    return FrameOutputs(np.concatenate(probs).astype(np.float32), np.concatenate(corrs).astype(np.float32))


def score_clips(model: torch.nn.Module, entries: Sequence[ClipEntry], frame_size: int,
                max_clip_frames: int | None = None, keep_outputs: bool = False,
                progress: bool = False) -> tuple[list[ClipScore], list[dict[str, str]]]:
    """Score every clip; a clip that cannot be read is listed in the failures and skipped."""
    from avcorr.cli.common import progress as progress_bar

    dataset = ClipDataset(entries, frame_size)
    scores, failures = [], []
    for index in progress_bar(range(len(dataset)), "evaluating", enabled=progress):
        entry = dataset.entries[index]
        try:
            example = dataset[index]
            outputs = clip_frame_outputs(model, example.frames, example.mfcc, max_clip_frames)
        except AvcorrError as exc:
            failures.append({"clip_id": entry.clip_id, "path": str(entry.path), "reason": str(exc)})
            continue
        scores.append(ClipScore(
            clip_id=entry.clip_id, label=entry.label, method=entry.method, split=entry.split,
            num_frames=len(outputs.fake_prob), score=outputs.score,
            mean_correlation=float(np.mean(outputs.correlation)),
            outputs=outputs if keep_outputs else None,
        ))
    return scores, failures


def select_split(entries: Sequence[ClipEntry], split: str, where: str | Path) -> list[ClipEntry]:
    """Clips of one split (``all``: every clip); an empty selection is a user error naming the splits present."""
    chosen = select_entries(entries, splits=None if split == ALL_SPLITS else [split])
    if not chosen:
        present = sorted({e.split or "(none)" for e in entries})
        raise InputError(where, f"no clips in split {split!r} (splits present: {', '.join(present)}; "
                         f"use --split all for every clip)", stage="evaluate")
    return chosen


def evaluate_cache(checkpoint: str | Path, data_dir: str | Path, split: str = "test", threshold: float = 0.5,
                   device: str = "auto", progress: bool = False) -> Evaluation:
    """Score the clips of ``split`` in the cache with the run's detector; overall and per-method metrics."""
    data_path = Path(data_dir)
    if not data_path.is_dir():
        raise InputError(data_path, "clip cache folder not found", stage="evaluate")
    entries = select_split(list_clips(ClipCache(data_path)), split, data_path)
    model, config = load_run(checkpoint, device=resolve_device(device))
    clips, failures = score_clips(model, entries, config.model.visual.frame_size,
                                  config.data.max_clip_frames, progress=progress)
    if not clips:
        raise InputError(data_path, f"none of the {len(entries)} clips could be scored", stage="evaluate")
    table = metric_table([c.label for c in clips], [c.score for c in clips], [c.method for c in clips], threshold)
    return Evaluation(str(checkpoint), str(data_path), split, threshold, table, clips, failures)


CLIP_SCORE_COLUMNS = ["clip_id", "label", "method", "split", "num_frames", "score", "predicted", "mean_correlation"]


def write_clip_scores(path: str | Path, clips: Sequence[ClipScore], threshold: float) -> Path:
    """One CSV row per clip: its score, the verdict at ``threshold`` (1 = fake) and mean correlation."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CLIP_SCORE_COLUMNS)
        writer.writeheader()
        for clip in clips:
            writer.writerow({
                "clip_id": clip.clip_id, "label": clip.label, "method": clip.method, "split": clip.split,
                "num_frames": clip.num_frames, "score": f"{clip.score:.6f}", "predicted": int(clip.score >= threshold),
                "mean_correlation": f"{clip.mean_correlation:.6f}",
            })
    return path
