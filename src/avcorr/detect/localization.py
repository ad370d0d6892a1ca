"""Temporal localization: does the detector point at the right frames of a partially forged clip?

Clips forged with ``forge --partial`` are real except for one window, and the cache stores which
frames are manipulated (``frame_labels``, or ``meta.fake_window`` in seconds). Two measures:

- frame-level ROC-AUC: every frame of every such clip is one sample, its fake probability the score;
- segment AP at IoU 0.5: the suspicious segments of :mod:`avcorr.detect.segments` are detections,
  the true fake windows are the objects. Detections of all clips are ranked by their score; one is a
  true positive when it overlaps a not yet matched true window of its clip with IoU ≥ 0.5 (greedy, as
  in ActivityNet); AP is the area under the precision envelope of that ranking.

It lives in ``detect`` because it judges detect's segments; the frame scores are evaluate's
(:mod:`avcorr.eval.scoring`), the ranking metrics :mod:`avcorr.eval.metrics`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from avcorr.data.clip_cache import ClipCache, load_clip
from avcorr.data.dataset import ClipEntry, list_clips
from avcorr.detect.segments import Segment, SegmentOptions, find_segments, interval_iou, runs_of, segment_mask
from avcorr.errors import AvcorrError, InputError
from avcorr.eval.evaluate import load_run
from avcorr.eval.metrics import average_precision, roc_auc
from avcorr.eval.scoring import score_record

IOU_THRESHOLD = 0.5


@dataclass
class ClipLocalization:
    """One clip's frame labels and what the detector said about its frames."""

    clip_id: str
    method: str
    frame_labels: np.ndarray  # (T,) 0/1
    fake_probability: np.ndarray  # (T,)
    segments: list[Segment]

    @property
    def true_windows(self) -> list[tuple[int, int]]:
        return runs_of(self.frame_labels > 0)

    @property
    def frame_iou(self) -> float:
        """IoU of the frames covered by segments with the truly fake frames (NaN when both are empty)."""
        predicted = segment_mask(self.segments, len(self.frame_labels))
        truth = self.frame_labels > 0
        union = np.sum(predicted | truth)
        return float(np.sum(predicted & truth) / union) if union else math.nan


@dataclass
class LocalizationResult:
    """What ``avcorr evaluate --localization`` reports."""

    num_clips: int
    num_frames: int
    num_fake_frames: int
    frame_roc_auc: float
    frame_ap: float
    segment_ap: float
    mean_frame_iou: float
    iou_threshold: float = IOU_THRESHOLD
    num_true_segments: int = 0
    num_predicted_segments: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def segment_average_precision(predictions: Sequence[Sequence[Segment]], truths: Sequence[Sequence[tuple[int, int]]],
                              iou_threshold: float = IOU_THRESHOLD) -> float:
    """AP of predicted segments (per clip) against true frame windows (per clip, half-open).

    NaN when there is no true window at all; 0 when there are windows but no prediction."""
    if len(predictions) != len(truths):
        raise ValueError("predictions and truths must list the same clips")
    num_truth = sum(len(t) for t in truths)
    if num_truth == 0:
        return math.nan
    ranked = sorted(((seg.score, clip, seg) for clip, segs in enumerate(predictions) for seg in segs),
                    key=lambda item: -item[0] if np.isfinite(item[0]) else math.inf)
    matched = [np.zeros(len(t), dtype=bool) for t in truths]
    hits = np.zeros(len(ranked), dtype=bool)
    for rank, (_, clip, segment) in enumerate(ranked):
        best, best_iou = -1, iou_threshold
        for index, window in enumerate(truths[clip]):
            if matched[clip][index]:
                continue
            iou = interval_iou((segment.start_frame, segment.end_frame), window)
            if iou >= best_iou:
                best, best_iou = index, iou
        if best >= 0:
            matched[clip][best] = True
            hits[rank] = True
    if not len(ranked):
        return 0.0
    true_positives = np.cumsum(hits)
    precision = true_positives / np.arange(1, len(ranked) + 1)
    recall = true_positives / num_truth
    # Precision envelope (monotone from the right), then the area under the step curve in recall.
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    recall_steps = np.diff(np.concatenate([[0.0], recall]))
    return float(np.sum(envelope * recall_steps))


def localization_metrics(clips: Sequence[ClipLocalization], iou_threshold: float = IOU_THRESHOLD) -> LocalizationResult:
    """Frame ROC-AUC / AP, segment AP at ``iou_threshold`` and mean frame IoU over ``clips``."""
    notes = []
    if not clips:
        return LocalizationResult(0, 0, 0, math.nan, math.nan, math.nan, math.nan, iou_threshold,
                                  notes=["no clip has frame-level labels (forge with --partial)"])
    labels = np.concatenate([c.frame_labels for c in clips]).astype(int)
    scores = np.concatenate([c.fake_probability for c in clips]).astype(np.float64)
    if len(np.unique(labels)) < 2:
        notes.append("frame labels hold one class only: frame ROC-AUC is undefined")
    truths = [c.true_windows for c in clips]
    predictions = [c.segments for c in clips]
    ious = [c.frame_iou for c in clips]
    ious = [i for i in ious if not math.isnan(i)]
    return LocalizationResult(
        num_clips=len(clips), num_frames=int(labels.size), num_fake_frames=int(labels.sum()),
        frame_roc_auc=roc_auc(labels, scores), frame_ap=average_precision(labels, scores),
        segment_ap=segment_average_precision(predictions, truths, iou_threshold),
        mean_frame_iou=float(np.mean(ious)) if ious else math.nan, iou_threshold=iou_threshold,
        num_true_segments=sum(len(t) for t in truths), num_predicted_segments=sum(len(p) for p in predictions),
        notes=notes,
    )


def clip_frame_labels(arrays: dict[str, np.ndarray], fake_window: Sequence[float] | None, num_frames: int,
                      fps: float) -> np.ndarray | None:
    """(T,) 0/1 frame labels: the cached ``frame_labels``, else frames inside ``fake_window`` (seconds)."""
    if "frame_labels" in arrays:
        return np.asarray(arrays["frame_labels"]).astype(np.int64)
    if fake_window:
        times = (np.arange(num_frames) + 0.5) / fps
        return ((times >= fake_window[0]) & (times < fake_window[1])).astype(np.int64)
    return None


def is_partial(labels: np.ndarray | None) -> bool:
    """A clip with both real and manipulated frames."""
    return labels is not None and bool(np.any(labels > 0)) and bool(np.any(labels == 0))


def localize_cache(checkpoint: str | Path, data_dir: str | Path, split: str = "test", threshold: float = 0.5,
                   device: str = "auto", segment_options: SegmentOptions | None = None, include_real: bool = False,
                   progress: Callable[[Iterable[ClipEntry], str], Iterable[ClipEntry]] | None = None,
                   ) -> tuple[LocalizationResult, list[dict[str, str]]]:
    """Localization metrics of a run on the partially forged clips of a cache (``split`` or ``all``).

    ``include_real`` adds the real clips (all frames labelled 0), where every segment is a false
    positive. ``progress`` wraps the loop over the clips (None: no bar). Returns the result and the
    clips that could not be read."""
    data_path = Path(data_dir)
    if not data_path.is_dir():
        raise InputError(data_path, "clip cache folder not found", stage="evaluate")
    entries = [e for e in list_clips(ClipCache(data_path)) if split == "all" or e.split == split]
    if not entries:
        raise InputError(data_path, f"no clips in split {split!r} (use --split all for every clip)", stage="evaluate")
    model, config = load_run(checkpoint, device=device)
    options = segment_options or SegmentOptions.for_threshold(threshold)
    clips, failures = [], []
    for entry in progress(entries, "localizing") if progress else entries:
        try:
            record = load_clip(entry.path, arrays=("frame_labels",))
            labels = clip_frame_labels(record.arrays, record.meta.fake_window, record.meta.num_frames, record.meta.fps)
            if labels is None and entry.label == 0:
                labels = np.zeros(record.meta.num_frames, dtype=np.int64)
            real = labels is not None and not np.any(labels > 0)
            if not (is_partial(labels) or (include_real and real)):
                continue
            record = load_clip(entry.path, arrays=("frames", "mfcc"))
            scores = score_record(model, record, config.model.visual.frame_size, config.data.max_clip_frames)
        except AvcorrError as exc:
            failures.append({"clip_id": entry.clip_id, "path": str(entry.path), "reason": str(exc)})
            continue
        fps = record.meta.fps or 25.0
        clips.append(ClipLocalization(entry.clip_id, entry.method, labels, scores.fake_probability,
                                      find_segments(scores.fake_probability, fps, options)))
    return localization_metrics(clips), failures
