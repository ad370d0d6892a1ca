"""Evaluation plumbing with an untrained tiny detector: windows, scores, failures, CLI."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from avcorr.cli.main import main
from avcorr.config import load_experiment_config
from avcorr.data.clip_cache import ClipCache
from avcorr.errors import InputError
from avcorr.data.dataset import list_clips
from avcorr.eval.evaluate import evaluate_cache, load_run, score_clips
from avcorr.models.checkpoint import save_detector
from avcorr.models.detector import build_detector
from synthetic_cache import SyntheticCacheSpec, write_synthetic_cache


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cache")
    write_synthetic_cache(root, SyntheticCacheSpec(num_sources=4, split_fractions=(0.5, 0.0, 0.5)))
    return root


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = load_experiment_config("tiny", ["data.max_clip_frames=30"])
    torch.manual_seed(0)
    run = tmp_path_factory.mktemp("run")
    save_detector(run, build_detector(config.model).eval(), config)
    return run


def test_long_clips_are_scored_on_every_frame(run_dir: Path, cache_dir: Path) -> None:
    model, config = load_run(run_dir)  # max_clip_frames 30; the clips have 40–80 frames
    entries = list_clips(ClipCache(cache_dir))[:4]
    clips, failures = score_clips(model, entries, config.model.visual.frame_size, config.data.max_clip_frames,
                                  keep_outputs=True)
    assert not failures and [c.num_frames for c in clips] == [e.num_frames for e in entries]
    for clip in clips:
        probability = clip.outputs.fake_probability
        assert probability.shape == clip.outputs.correlation.shape == (clip.num_frames,)
        assert np.all((probability >= 0) & (probability <= 1))
        assert clip.score == pytest.approx(float(probability.mean()))
        assert clip.mean_correlation == pytest.approx(float(clip.outputs.correlation.mean()))
    assert score_clips(model, entries[:1], 32, 30)[0][0].outputs is None


def test_evaluate_scores_every_test_clip(run_dir: Path, cache_dir: Path) -> None:
    result = evaluate_cache(run_dir, cache_dir, split="test", device="cpu")
    assert len(result.clips) == 12 and not result.failures
    assert {c.split for c in result.clips} == {"test"}
    assert result.table.overall.num_real == 6 and len(result.table.per_method) == 3
    everything = evaluate_cache(run_dir, cache_dir, split="all", device="cpu")
    assert len(everything.clips) == 24
    with pytest.raises(InputError, match="no clips in split 'val'"):
        evaluate_cache(run_dir, cache_dir, split="val")


def test_unreadable_clip_is_listed_and_skipped(run_dir: Path, tmp_path: Path) -> None:
    cache = write_synthetic_cache(tmp_path / "cache", SyntheticCacheSpec(num_sources=2, split_fractions=(0, 0, 1)))
    broken = cache.clip_files()[0]
    broken.write_bytes(b"not a clip")
    result = evaluate_cache(run_dir, cache.root, split="test", device="cpu")
    assert len(result.failures) == 1 and result.failures[0]["path"] == str(broken)
    assert len(result.clips) == len(ClipCache(cache.root).clip_files()) - 1


def test_cli_evaluate_json_table_and_csv(run_dir: Path, cache_dir: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    scores = tmp_path / "scores.csv"
    assert main(["evaluate", "--checkpoint", str(run_dir / "model.safetensors"), "--data", str(cache_dir),
                 "--json", "--threshold", "0.4", "--out", str(scores), "--device", "cpu"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["num_clips"] == 12 and document["threshold"] == 0.4
    overall = document["metrics"]["overall"]
    assert overall["tp"] + overall["fp"] + overall["tn"] + overall["fn"] == 12
    with scores.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12 and all(r["predicted"] == str(int(float(r["score"]) >= 0.4)) for r in rows)
    assert main(["evaluate", "--checkpoint", str(run_dir), "--data", str(cache_dir)]) == 0
    table = capsys.readouterr().out
    assert "overall" in table and "real vs time-shift" in table and "AUC" in table
    assert main(["evaluate", "--checkpoint", str(tmp_path / "nope"), "--data", str(cache_dir)]) == 2
