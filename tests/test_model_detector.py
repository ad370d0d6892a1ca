"""Model-mode scoring of prepared clips: windows, blending, teacher y_t, run-folder loading."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from avcorr.config import load_experiment_config
from avcorr.data.clip_cache import ClipMeta, ClipRecord
from avcorr.detect.model_detector import ModelDetector, score_frames, window_bounds, window_weights
from avcorr.models.checkpoint import save_detector
from avcorr.models.detector import build_detector


@pytest.mark.parametrize("num_frames, max_frames, overlap", [(10, 100, 5), (100, 100, 5), (101, 40, 10),
                                                              (250, 100, 25), (1000, 64, 30)])
def test_windows_cover_the_clip_with_overlap(num_frames, max_frames, overlap):
    bounds = window_bounds(num_frames, max_frames, overlap)
    assert bounds[0][0] == 0 and bounds[-1][1] == num_frames
    assert all(stop - start <= max_frames for start, stop in bounds)
    for (s0, e0), (s1, e1) in zip(bounds, bounds[1:]):
        assert s0 < s1 and e0 - s1 >= min(overlap, max_frames // 2)
    assert window_bounds(0, 10) == [] and window_bounds(7, None) == [(0, 7)]


def test_window_weights_ramp_only_at_inner_edges():
    w = window_weights(10, 3, at_start=False, at_end=True)
    np.testing.assert_allclose(w, [0.25, 0.5, 0.75, 1, 1, 1, 1, 1, 1, 1])
    np.testing.assert_allclose(window_weights(6, 3, at_start=True, at_end=True), 1.0)
    assert window_weights(10, 3, at_start=True, at_end=False)[-1] == pytest.approx(0.25)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    torch.manual_seed(0)
    config = load_experiment_config("tiny")
    model = build_detector(config.model).eval()
    run = tmp_path_factory.mktemp("run")
    save_detector(run, model, config)
    return run, model, config


def _record(num_frames: int, size: int = 40, with_posteriors: bool = False) -> ClipRecord:
    rng = np.random.default_rng(1)
    arrays = {"frames": rng.integers(0, 255, (num_frames, size, size), dtype=np.uint8),
              "mfcc": rng.normal(size=(4 * num_frames, 13)).astype(np.float32)}
    if with_posteriors:
        p = rng.dirichlet(np.ones(5), num_frames).astype(np.float32)
        arrays["audio_posteriors"] = p
        arrays["visual_posteriors"] = p.copy()
    return ClipRecord(ClipMeta(clip_id="c", label=0), arrays)


def test_short_clip_matches_one_forward_pass(tiny_run):
    run, model, config = tiny_run
    detector = ModelDetector(run)
    assert detector.frame_size == config.model.visual.frame_size
    record = _record(30)
    scores = detector.score_record(record)
    from avcorr.data.dataset import resize_frames

    frames = torch.from_numpy(resize_frames(record.arrays["frames"], detector.frame_size))[None]
    with torch.no_grad():
        direct = model(torch.from_numpy(record.arrays["mfcc"])[None], frames)
    np.testing.assert_allclose(scores.fake_probability, direct.fake_probability[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(scores.correlation, direct.correlation[0].numpy(), atol=1e-5)
    assert scores.score == pytest.approx(float(direct.fake_probability.mean()), abs=1e-5)
    assert scores.teacher_correlation is None


def test_long_clip_runs_in_windows(tiny_run):
    _, model, config = tiny_run
    size = config.model.visual.frame_size
    rng = np.random.default_rng(2)
    frames = rng.integers(0, 255, (70, size, size), dtype=np.uint8)
    mfcc = rng.normal(size=(280, 13)).astype(np.float32)
    prob, corr = score_frames(model, frames, mfcc, max_clip_frames=30, overlap_frames=8)
    assert prob.shape == corr.shape == (70,)
    assert np.all((prob >= 0) & (prob <= 1)) and np.all((corr >= 0) & (corr <= 1))
    # The first frames are seen by the first window only: they equal that window's own outputs.
    with torch.no_grad():
        first = model(torch.from_numpy(mfcc[:120])[None], torch.from_numpy(frames[:30])[None])
    np.testing.assert_allclose(prob[:10], first.fake_probability[0, :10].numpy(), atol=1e-5)
    with pytest.raises(ValueError):
        score_frames(model, frames, mfcc[:100])


def test_teacher_correlation_from_posteriors(tiny_run):
    run, _, _ = tiny_run
    scores = ModelDetector(run).score_record(_record(12, with_posteriors=True))
    # Identical audio and visual posteriors: the teachers agree fully, y_t = 1.
    np.testing.assert_allclose(scores.teacher_correlation, 1.0, atol=1e-5)
