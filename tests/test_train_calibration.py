"""The calibration `fit` stores in a run's config.json: fitted on the run's validation reals (else
its training reals, said so), recomputable from the long-clip scorer, read back by detect."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from avcorr.config import load_experiment_config
from avcorr.data.clip_cache import ClipCache
from avcorr.data.dataset import list_clips
from avcorr.detect.calibrate import checkpoint_calibration, checkpoint_operating_point
from avcorr.eval.calibration import threshold_for_false_alarm
from avcorr.eval.evaluate import load_run, score_clips
from avcorr.train.calibration import calibrate_run
from avcorr.train.fit import fit
from synthetic_cache import SyntheticCacheSpec, write_synthetic_cache

# 4 sources: 2 train, 1 val, 1 test; each gives 3 real clips and 3 fakes.
SPEC = SyntheticCacheSpec(num_sources=4, min_frames=30, max_frames=40)
TINY = ["trainer.max_steps=2"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("calibration_cache")
    write_synthetic_cache(root, SPEC)
    return root


def _real_scores(run: Path, cache_dir: Path, split: str) -> list[float]:
    model, config = load_run(run, device="cpu")
    entries = [e for e in list_clips(ClipCache(cache_dir)) if e.label == 0 and e.split == split]
    clips, failures = score_clips(model, entries, config.model.visual.frame_size, config.data.max_clip_frames)
    assert not failures
    return [c.score for c in clips]


def test_fit_stores_a_calibration_on_the_validation_reals(cache_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    fit(load_experiment_config("tiny", TINY), cache_dir, run, progress=False)
    stored = json.loads((run / "config.json").read_text())["calibration"]
    scores = _real_scores(run, cache_dir, "val")
    assert len(scores) == 3
    assert stored["fake_false_alarm_rate"] == 0.05 and stored["uncertain_false_alarm_rate"] == 0.20
    assert stored["fake_threshold"] == threshold_for_false_alarm(scores, 0.05)
    assert stored["uncertain_threshold"] == threshold_for_false_alarm(scores, 0.20)
    assert stored["num_real_clips"] == 3
    assert stored["source"] == f"3 validation real clips of the training cache {cache_dir.name}/"
    # 3 reals: 5% and 20% allow none above, so both thresholds sit just above the highest real
    assert all(s < stored["fake_threshold"] for s in scores)
    # detect reads it back as calibrated bands
    point = checkpoint_operating_point(run)
    assert point.calibrated and point.fake_threshold == stored["fake_threshold"]
    assert checkpoint_calibration(run).num_real_clips == 3


def test_without_validation_reals_it_falls_back_to_training_reals(cache_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    fit(load_experiment_config("tiny", TINY), cache_dir, run, progress=False)
    split_path = run / "split.json"
    split = json.loads(split_path.read_text())
    split_path.write_text(json.dumps({"train": split["train"], "val": [c for c in split["val"] if "real" not in c]}))
    calibration = calibrate_run(run, cache_dir)
    scores = _real_scores(run, cache_dir, "train")
    assert calibration is not None and calibration.num_real_clips == len(scores) == 6
    assert calibration.fake_threshold == threshold_for_false_alarm(scores, 0.05)
    assert calibration.source.startswith("6 training real clips") and "no validation reals" in calibration.source
    assert json.loads((run / "config.json").read_text())["calibration"] == calibration.to_dict()


def test_a_run_without_real_clips_stays_uncalibrated(tmp_path: Path) -> None:
    cache = write_synthetic_cache(tmp_path / "fakes_only", SPEC)
    for path in cache.clip_files():
        if "-real" in path.name:
            path.unlink()
    cache.rebuild_manifest()
    run = tmp_path / "run"
    fit(load_experiment_config("tiny", TINY + ["loss.balance_classes=false"]), cache.root, run, progress=False)
    assert "calibration" not in json.loads((run / "config.json").read_text())
    assert checkpoint_calibration(run) is None
    assert not checkpoint_operating_point(run).calibrated
