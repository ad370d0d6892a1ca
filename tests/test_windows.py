"""The one windowing: where windows fall, how their outputs become per-frame values (hand-computed)."""
from __future__ import annotations

import numpy as np
import pytest

from avcorr.data.windows import Windowing, centre_window


def test_calibrated_clip_windows_are_consecutive_and_the_last_is_flush_with_the_end() -> None:
    windowing = Windowing.for_calibrated_clips(75)
    assert windowing.bounds(250) == [(0, 75), (75, 150), (150, 225), (175, 250)]
    assert windowing.bounds(150) == [(0, 75), (75, 150)] and windowing.bounds(60) == [(0, 60)]
    assert windowing.bounds(0) == [] and Windowing.for_calibrated_clips(None).bounds(9) == [(0, 9)]
    # frames 175..224 are in two windows: the mean of their scores
    per_frame = windowing.aggregate(250, windowing.bounds(250), [0.1, 0.2, 0.3, 0.9])
    assert per_frame[0] == pytest.approx(0.1) and per_frame[200] == pytest.approx(0.6) and per_frame[249] == pytest.approx(0.9)


def test_model_windows_spread_evenly_with_at_least_the_overlap() -> None:
    windowing = Windowing.for_model(100, 25)
    # ceil((250 - 100) / 75) + 1 = 3 windows, starts 0, 75, 150
    assert windowing.bounds(250) == [(0, 100), (75, 175), (150, 250)]
    assert Windowing.for_model(100, 25).bounds(260) == [(0, 100), (53, 153), (107, 207), (160, 260)]
    assert Windowing.for_model(None, 25).bounds(260) == [(0, 260)]


def test_ramped_aggregation_of_per_frame_outputs() -> None:
    # windows (0, 10), (4, 14) of 14 frames, overlap 6 → ramp 5 (half a window): window 0 falls
    # 5/6 … 1/6 over frames 5..9, window 1 rises 1/6 … 5/6 over frames 4..8
    windowing = Windowing.for_model(10, 6)
    bounds = windowing.bounds(14)
    assert bounds == [(0, 10), (4, 14)]
    outputs = [np.stack([np.zeros(10), np.ones(10)]), np.stack([np.ones(10), np.zeros(10)])]
    values = windowing.aggregate(14, bounds, outputs)
    expected = np.array([0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 7, 7, 7]) / 7
    assert values.shape == (2, 14)
    np.testing.assert_allclose(values[0], expected)
    np.testing.assert_allclose(values[1], 1 - expected)


def test_centre_window_and_bad_specs() -> None:
    assert centre_window(30, 10) == slice(10, 20) and centre_window(8, 10) == slice(0, 8)
    with pytest.raises(ValueError):
        Windowing(length=0)
    with pytest.raises(ValueError):
        Windowing(length=10, aggregation="median")
