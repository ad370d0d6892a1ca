"""Suspicious segments from frame scores: smoothing, hysteresis, merging, minimum duration."""
from __future__ import annotations

import numpy as np
import pytest

from avcorr.detect.segments import (
    Segment, SegmentOptions, find_segments, interval_iou, runs_of, segment_mask, smooth_scores,
)

RAW = SegmentOptions(high=0.5, low=0.3, smooth_frames=1, min_duration_s=0.0, merge_gap_s=0.0)


def test_runs_of_finds_half_open_ranges():
    assert runs_of(np.array([0, 1, 1, 0, 1, 0, 0, 1], bool)) == [(1, 3), (4, 5), (7, 8)]
    assert runs_of(np.zeros(4, bool)) == []
    assert runs_of(np.ones(3, bool)) == [(0, 3)]


def test_smoothing_is_a_centred_mean_with_edge_padding():
    scores = np.array([0.0, 0.0, 0.9, 0.0, 0.0, 1.0])
    smoothed = smooth_scores(scores, 3)
    np.testing.assert_allclose(smoothed, [0.0, 0.3, 0.3, 0.3, 1 / 3, 2 / 3])
    # A constant sequence stays constant (no pull towards zero at the ends).
    np.testing.assert_allclose(smooth_scores(np.full(7, 0.8), 5), 0.8)


def test_hysteresis_keeps_low_runs_only_when_they_reach_high():
    scores = np.array([0.1, 0.4, 0.6, 0.4, 0.1, 0.4, 0.45, 0.1])
    segments = find_segments(scores, fps=10.0, options=RAW)
    # Frames 1..3 are >= low and contain 0.6 >= high; frames 5..6 never reach high.
    assert len(segments) == 1
    seg = segments[0]
    assert (seg.start_frame, seg.end_frame) == (1, 4)
    assert seg.start_s == pytest.approx(0.1) and seg.end_s == pytest.approx(0.4)
    assert seg.score == pytest.approx((0.4 + 0.6 + 0.4) / 3)


def test_close_segments_merge_and_short_ones_drop():
    fps = 25.0
    scores = np.zeros(100)
    scores[10:20] = 0.9   # 10 frames
    scores[23:30] = 0.9   # gap of 3 frames (0.12 s) before it
    scores[60:62] = 0.9   # 2 frames = 0.08 s
    options = SegmentOptions(high=0.5, low=0.5, smooth_frames=1, min_duration_s=0.2, merge_gap_s=0.15)
    segments = find_segments(scores, fps=fps, options=options)
    assert [(s.start_frame, s.end_frame) for s in segments] == [(10, 30)]
    # The merged segment's score includes the gap frames it now spans: 17 frames at 0.9, 3 at 0.
    assert segments[0].score == pytest.approx(17 * 0.9 / 20)
    # Without merging, the two long runs stay apart and the 2-frame blip still drops.
    apart = find_segments(scores, fps=fps, options=SegmentOptions(high=0.5, low=0.5, smooth_frames=1,
                                                                    min_duration_s=0.2, merge_gap_s=0.0))
    assert [(s.start_frame, s.end_frame) for s in apart] == [(10, 20), (23, 30)]


def test_smoothing_removes_an_isolated_spike():
    scores = np.full(50, 0.1)
    scores[25] = 0.95
    assert find_segments(scores, options=SegmentOptions(smooth_frames=5, min_duration_s=0.0)) == []
    assert len(find_segments(scores, options=SegmentOptions(smooth_frames=1, min_duration_s=0.0))) == 1


def test_whole_clip_and_empty_and_nan():
    assert find_segments(np.array([])) == []
    whole = find_segments(np.full(40, 0.8), fps=20.0)
    assert [(s.start_frame, s.end_frame, s.end_s) for s in whole] == [(0, 40, 2.0)]
    with_nan = np.full(20, 0.9)
    with_nan[5] = np.nan
    seg = find_segments(with_nan, options=RAW)
    assert seg and seg[0].score == pytest.approx(0.9)


def test_options_validate_and_follow_threshold():
    with pytest.raises(ValueError):
        SegmentOptions(high=0.3, low=0.5)
    options = SegmentOptions.for_threshold(0.7)
    assert options.high == 0.7 and options.low == pytest.approx(0.55)
    assert SegmentOptions.for_threshold(0.1).low == 0.0


def test_mask_iou_and_dict():
    segs = [Segment(2, 5, 0.08, 0.2, 0.7), Segment(8, 12, 0.32, 0.48, 0.6)]
    mask = segment_mask(segs, 10)
    assert mask.tolist() == [False, False, True, True, True, False, False, False, True, True]
    assert interval_iou((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert interval_iou((0, 2), (3, 4)) == 0.0
    assert interval_iou((0, 0), (0, 0)) == 0.0
    assert segs[0].to_dict() == {"start_frame": 2, "end_frame": 5, "start_s": 0.08, "end_s": 0.2, "score": 0.7}


def test_smoothing_does_not_widen_a_clean_step():
    scores = np.full(120, 0.1)
    scores[40:80] = 0.9
    segments = find_segments(scores, options=SegmentOptions(smooth_frames=7, low=0.3, high=0.5))
    assert [(s.start_frame, s.end_frame) for s in segments] == [(40, 80)]
    assert segments[0].score == pytest.approx(0.9)
