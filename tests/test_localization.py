"""Localization metrics: frame ROC-AUC, segment AP at IoU 0.5 (hand-computed), cache end to end."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from avcorr.config import load_experiment_config
from avcorr.data.clip_cache import ClipCache, ClipMeta, ClipRecord
from avcorr.detect.localization import (
    ClipLocalization, clip_frame_labels, is_partial, localization_metrics, localize_cache, segment_average_precision,
)
from avcorr.detect.segments import Segment, SegmentOptions, find_segments
from avcorr.models.checkpoint import save_detector
from avcorr.models.detector import build_detector


def seg(start: int, end: int, score: float) -> Segment:
    return Segment(start, end, start / 25, end / 25, score)


def test_segment_ap_by_hand():
    truths = [[(10, 20)], [(0, 10), (30, 40)]]
    predictions = [[seg(10, 20, 0.9)], [seg(50, 60, 0.8), seg(0, 10, 0.7)]]
    # Ranked: TP (P=1, R=1/3), FP (P=1/2), TP (P=2/3, R=2/3). Envelope: 1, 2/3, 2/3 → AP = 1/3 + 2/9.
    assert segment_average_precision(predictions, truths) == pytest.approx(5 / 9)


def test_segment_ap_iou_and_duplicates():
    truths = [[(0, 20)]]
    # IoU of (0,10) with (0,20) is exactly 0.5 → a hit; a second detection of the same window is a false positive.
    assert segment_average_precision([[seg(0, 10, 0.9)]], truths) == pytest.approx(1.0)
    assert segment_average_precision([[seg(0, 9, 0.9)]], truths) == 0.0
    assert segment_average_precision([[seg(0, 20, 0.5), seg(2, 18, 0.9)]], truths) == pytest.approx(1.0)
    assert segment_average_precision([[seg(0, 20, 0.9), seg(2, 18, 0.5)]], truths) == pytest.approx(1.0)
    assert segment_average_precision([[]], truths) == 0.0
    assert math.isnan(segment_average_precision([[seg(0, 5, 0.9)]], [[]]))


def test_perfect_and_inverted_localizers():
    labels = np.zeros(100, dtype=np.int64)
    labels[30:60] = 1
    perfect = np.where(labels > 0, 0.9, 0.1)
    options = SegmentOptions.for_threshold(0.5)
    clips = [ClipLocalization("a", "m", labels, perfect, find_segments(perfect, 25.0, options))]
    result = localization_metrics(clips)
    assert result.frame_roc_auc == pytest.approx(1.0) and result.segment_ap == pytest.approx(1.0)
    assert result.mean_frame_iou == pytest.approx(1.0)
    assert (result.num_clips, result.num_frames, result.num_fake_frames) == (1, 100, 30)
    inverted = 1.0 - perfect
    result = localization_metrics([ClipLocalization("a", "m", labels, inverted, find_segments(inverted, 25.0, options))])
    assert result.frame_roc_auc == pytest.approx(0.0) and result.segment_ap == 0.0
    assert result.to_dict()["num_predicted_segments"] == 2
    empty = localization_metrics([])
    assert empty.num_clips == 0 and empty.to_dict()["segment_ap"] is None and empty.notes


def test_frame_labels_from_window_and_partiality():
    labels = clip_frame_labels({}, [1.0, 2.0], 100, 25.0)
    assert labels.sum() == 25 and labels[25] == 1 and labels[24] == 0 and labels[50] == 0
    assert clip_frame_labels({}, None, 10, 25.0) is None
    assert is_partial(labels) and not is_partial(np.ones(5)) and not is_partial(np.zeros(5)) and not is_partial(None)


def test_localize_cache_scores_only_partial_clips(tmp_path):
    torch.manual_seed(0)
    config = load_experiment_config("tiny")
    save_detector(tmp_path / "run", build_detector(config.model).eval(), config)
    cache = ClipCache(tmp_path / "cache")
    rng = np.random.default_rng(0)
    for index, (label, window) in enumerate([(1, (10, 30)), (1, (0, 20)), (1, None), (0, None)]):
        t = 40
        arrays = {"frames": rng.integers(0, 255, (t, 36, 36), dtype=np.uint8),
                  "mfcc": rng.normal(size=(4 * t, 13)).astype(np.float32)}
        if window is not None:
            arrays["frame_labels"] = np.zeros(t, np.uint8)
            arrays["frame_labels"][window[0]:window[1]] = 1
        elif label == 1:
            arrays["frame_labels"] = np.ones(t, np.uint8)
        cache.write(ClipRecord(ClipMeta(clip_id=f"c{index}", label=label, method="m", split="test"), arrays))
    result, failures = localize_cache(tmp_path / "run", cache.root, split="test", device="cpu")
    assert failures == []
    assert (result.num_clips, result.num_frames, result.num_fake_frames, result.num_true_segments) == (2, 80, 40, 2)
    assert 0.0 <= result.frame_roc_auc <= 1.0 and 0.0 <= result.segment_ap <= 1.0
    with_real, _ = localize_cache(tmp_path / "run", cache.root, split="all", device="cpu", include_real=True)
    assert with_real.num_clips == 3 and with_real.num_fake_frames == 40


def test_evaluate_cli_localization(tmp_path, capsys):
    import json

    from avcorr.cli.main import main

    torch.manual_seed(0)
    config = load_experiment_config("tiny")
    save_detector(tmp_path / "run", build_detector(config.model).eval(), config)
    cache = ClipCache(tmp_path / "cache")
    rng = np.random.default_rng(1)
    for index, label in enumerate([0, 1, 1]):
        t = 30
        arrays = {"frames": rng.integers(0, 255, (t, 36, 36), dtype=np.uint8),
                  "mfcc": rng.normal(size=(4 * t, 13)).astype(np.float32),
                  "frame_labels": np.zeros(t, np.uint8)}
        arrays["frame_labels"][10:20] = label
        cache.write(ClipRecord(ClipMeta(clip_id=f"c{index}", label=label, method="m" if label else "real",
                                        split="test"), arrays))
    code = main(["evaluate", "--checkpoint", str(tmp_path / "run"), "--data", str(cache.root), "--device", "cpu",
                 "--json", "--localization"])
    assert code == 0
    located = json.loads(capsys.readouterr().out)["localization"]
    assert (located["num_clips"], located["num_frames"], located["num_fake_frames"]) == (2, 60, 20)
    assert located["iou_threshold"] == 0.5 and located["failures"] == []
    assert 0.0 <= located["frame_roc_auc"] <= 1.0
