"""Run a trained detector over a clip cache and score it with the metric table.

A clip's score is the mean over its frames of the probability of "fake": every frame counts the
same, so neither the clip's duration nor its frame count can move the score by itself. Frames are
scored by :mod:`avcorr.eval.scoring` (clips longer than the model's ``max_clip_frames`` run in
overlapping ramped windows), the same scorer ``detect`` and localization use.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch

from avcorr.config import ExperimentConfig
from avcorr.data.clip_cache import ClipCache, load_clip
from avcorr.data.dataset import ClipEntry, list_clips, select_entries
from avcorr.errors import AvcorrError, InputError
from avcorr.eval.metrics import MetricTable, metric_table
from avcorr.eval.scoring import ModelFrameScores, score_record
from avcorr.models.checkpoint import load_detector, read_run_config
from avcorr.runtime import resolve_device

ALL_SPLITS = "all"


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
    outputs: ModelFrameScores | None = None


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


def load_run(checkpoint: str | Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, ExperimentConfig]:
    """The detector (eval mode, on ``device``) and the experiment config of a run folder or its weights file."""
    device = resolve_device(device) if isinstance(device, str) else device
    return load_detector(checkpoint, device=device), read_run_config(checkpoint)


def score_clips(model: torch.nn.Module, entries: Sequence[ClipEntry], frame_size: int,
                max_clip_frames: int | None = None, keep_outputs: bool = False,
                progress: Callable[[Iterable[ClipEntry], str], Iterable[ClipEntry]] | None = None,
                ) -> tuple[list[ClipScore], list[dict[str, str]]]:
    """Score every clip (frames at the model's ``frame_size``, windows of at most ``max_clip_frames``);
    a clip that cannot be read is listed in the failures and skipped. ``progress`` wraps the loop over
    the clips (the CLI passes its bar); None: no bar."""
    scores, failures = [], []
    for entry in progress(entries, "evaluating") if progress else entries:
        try:
            outputs = score_record(model, load_clip(entry.path, arrays=("frames", "mfcc")), frame_size, max_clip_frames)
        except AvcorrError as exc:
            failures.append({"clip_id": entry.clip_id, "path": str(entry.path), "reason": str(exc)})
            continue
        scores.append(ClipScore(
            clip_id=entry.clip_id, label=entry.label, method=entry.method, split=entry.split,
            num_frames=len(outputs.fake_probability), score=outputs.score,
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
                   device: str = "auto",
                   progress: Callable[[Iterable[ClipEntry], str], Iterable[ClipEntry]] | None = None) -> Evaluation:
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
