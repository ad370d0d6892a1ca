"""Model-mode scoring of prepared clips: run-folder loading, teacher y_t, input checks (the windows
themselves are tested in test_scoring.py)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from avcorr.config import load_experiment_config
from avcorr.data.clip_cache import ClipMeta, ClipRecord
from avcorr.detect.model_detector import ModelDetector
from avcorr.errors import InputError
from avcorr.models.checkpoint import save_detector
from avcorr.models.detector import build_detector


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


def test_clip_without_frames_or_mismatched_mfcc_is_an_input_error(tiny_run):
    run, _, _ = tiny_run
    detector = ModelDetector(run)
    record = _record(10)
    record.arrays["mfcc"] = record.arrays["mfcc"][:30]
    with pytest.raises(InputError, match="mfcc has 30 rows for 10 frames"):
        detector.score_record(record)
    del record.arrays["frames"]
    with pytest.raises(InputError, match="no frames"):
        detector.score_record(record)


def test_teacher_correlation_from_posteriors(tiny_run):
    run, _, _ = tiny_run
    scores = ModelDetector(run).score_record(_record(12, with_posteriors=True))
    # Identical audio and visual posteriors: the teachers agree fully, y_t = 1.
    np.testing.assert_allclose(scores.teacher_correlation, 1.0, atol=1e-5)
