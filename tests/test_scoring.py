"""The one long-clip scorer: windows, blending, and the same frame scores from every caller
(evaluate's score_clips, detect's ModelDetector, the generalization benchmark)."""
from __future__ import annotations

import importlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from avcorr.config import load_experiment_config
from avcorr.data.clip_cache import ClipCache, load_clip
from avcorr.data.dataset import list_clips
from avcorr.detect.model_detector import ModelDetector
from avcorr.eval.evaluate import load_run, score_clips
from avcorr.data.windows import Windowing
from avcorr.eval.scoring import model_windowing, score_frames
from avcorr.models.checkpoint import save_detector
from avcorr.models.detector import build_detector
from synthetic_cache import SyntheticCacheSpec, write_synthetic_cache

LONG_CLIP_FRAMES = 250  # 2.5 × the tiny config's data.max_clip_frames (100): three windows


@pytest.mark.parametrize("num_frames, max_frames, overlap", [(10, 100, 5), (100, 100, 5), (101, 40, 10),
                                                              (250, 100, 25), (1000, 64, 30)])
def test_windows_cover_the_clip_with_overlap(num_frames, max_frames, overlap):
    bounds = model_windowing(max_frames, overlap).bounds(num_frames)
    assert bounds[0][0] == 0 and bounds[-1][1] == num_frames
    assert all(stop - start <= max_frames for start, stop in bounds)
    for (s0, e0), (s1, e1) in zip(bounds, bounds[1:]):
        assert s0 < s1 and e0 - s1 >= min(overlap, max_frames // 2)
    assert model_windowing(10).bounds(0) == [] and model_windowing(None).bounds(7) == [(0, 7)]


def test_window_weights_ramp_only_at_inner_edges():
    windowing = Windowing.for_model(10, 3)
    w = windowing.weights(20, 30, num_frames=30)  # a last window: its start is inside the clip
    np.testing.assert_allclose(w, [0.25, 0.5, 0.75, 1, 1, 1, 1, 1, 1, 1])
    np.testing.assert_allclose(Windowing.for_model(6, 3).weights(0, 6, num_frames=6), 1.0)
    assert windowing.weights(0, 10, num_frames=30)[-1] == pytest.approx(0.25)
    np.testing.assert_allclose(Windowing.for_calibrated_clips(10).weights(20, 30, num_frames=40), 1.0)


class _WindowIndexModel(torch.nn.Module):
    """Stub detector: every frame of the k-th window it sees gets fake probability k."""

    def __init__(self) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.calls = 0

    def forward(self, audio: torch.Tensor, video: torch.Tensor) -> SimpleNamespace:
        value = torch.full((1, video.shape[1]), float(self.calls))
        self.calls += 1
        return SimpleNamespace(fake_probability=value, correlation=1.0 - value)


def test_overlap_is_a_ramped_weighted_mean():
    # 14 frames, windows (0, 10) and (4, 14), ramp 5: in frame 4 + k (k = 0..5) the weights are
    # 1 − k/6 (capped at 1) for window 0 and (k + 1)/6 for window 1, i.e. a mean of (k + 1)/7.
    frames = np.zeros((14, 4, 4), dtype=np.uint8)
    mfcc = np.zeros((56, 13), dtype=np.float32)
    scores = score_frames(_WindowIndexModel(), frames, mfcc, max_clip_frames=10, overlap_frames=6)
    expected = np.array([0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 7, 7, 7]) / 7
    np.testing.assert_allclose(scores.fake_probability, expected, atol=1e-6)
    np.testing.assert_allclose(scores.correlation, 1 - expected, atol=1e-6)
    assert scores.score == pytest.approx(expected.mean(), abs=1e-6) and scores.teacher_correlation is None
    with pytest.raises(ValueError):
        score_frames(_WindowIndexModel(), frames, mfcc[:40])


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(run folder of an untrained tiny detector, cache root, id of a 250-frame clip)."""
    root = tmp_path_factory.mktemp("scoring")
    spec = SyntheticCacheSpec(num_sources=1, frame_size=48, min_frames=LONG_CLIP_FRAMES,
                              max_frames=LONG_CLIP_FRAMES, split_fractions=(0.0, 0.0, 1.0))
    cache = write_synthetic_cache(root / "cache", spec)
    torch.manual_seed(0)
    config = load_experiment_config("tiny")
    assert config.data.max_clip_frames < LONG_CLIP_FRAMES
    save_detector(root / "run", build_detector(config.model).eval(), config)
    clip_id = sorted(e.clip_id for e in list_clips(cache))[0]
    return root / "run", cache.root, clip_id


def test_long_clip_runs_in_windows(long_clip):
    run, cache_root, clip_id = long_clip
    model, config = load_run(run)
    entry = next(e for e in list_clips(ClipCache(cache_root)) if e.clip_id == clip_id)
    arrays = load_clip(entry.path).arrays
    from avcorr.data.dataset import resize_frames

    frames = resize_frames(arrays["frames"], config.model.visual.frame_size)
    scores = score_frames(model, frames, arrays["mfcc"], config.data.max_clip_frames)
    assert scores.fake_probability.shape == scores.correlation.shape == (LONG_CLIP_FRAMES,)
    assert np.all((scores.fake_probability >= 0) & (scores.fake_probability <= 1))
    # The first frames are seen by the first window only: they equal that window's own outputs.
    with torch.no_grad():
        first = model(torch.from_numpy(arrays["mfcc"][:400])[None], torch.from_numpy(frames[:100])[None])
    np.testing.assert_allclose(scores.fake_probability[:50], first.fake_probability[0, :50].numpy(), atol=1e-6)


def _score_test_fold():
    """The generalization benchmark's scorer, wherever the bench package keeps it."""
    for name in ("avcorr.bench.generalization.runs", "avcorr.bench.generalization"):
        try:
            return importlib.import_module(name).score_test_fold
        except (ImportError, AttributeError):
            continue
    raise AssertionError("avcorr.bench.generalization has no score_test_fold")


def test_every_caller_gives_the_same_frame_scores(long_clip):
    run, cache_root, clip_id = long_clip
    model, config = load_run(run)
    entry = next(e for e in list_clips(ClipCache(cache_root)) if e.clip_id == clip_id)
    (evaluated,), failures = score_clips(model, [entry], config.model.visual.frame_size,
                                         config.data.max_clip_frames, keep_outputs=True)
    assert not failures and evaluated.num_frames == LONG_CLIP_FRAMES
    detected = ModelDetector(run).score_record(load_clip(entry.path))
    assert len(model_windowing(ModelDetector(run).max_clip_frames).bounds(LONG_CLIP_FRAMES)) == 3
    np.testing.assert_allclose(evaluated.outputs.fake_probability, detected.fake_probability, rtol=0, atol=1e-6)
    np.testing.assert_allclose(evaluated.outputs.correlation, detected.correlation, rtol=0, atol=1e-6)
    assert evaluated.score == pytest.approx(detected.score, abs=1e-6)
    bench_score, bench_correlation = _score_test_fold()(run, cache_root, [clip_id], "cpu")[clip_id]
    assert bench_score == pytest.approx(evaluated.score, abs=1e-6)
    assert bench_correlation == pytest.approx(evaluated.mean_correlation, abs=1e-6)
