"""Training end to end on the synthetic cache: learning, evaluation, determinism, resume, DDP, CLI."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from avcorr.cli.main import main
from avcorr.config import ExperimentConfig, load_experiment_config
from avcorr.errors import CheckpointError, ConfigError, InputError
from avcorr.eval.evaluate import evaluate_cache
from avcorr.train.fit import LAST_CHECKPOINT, fit
from synthetic_cache import SyntheticCacheSpec, write_synthetic_cache


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synthetic_cache")
    write_synthetic_cache(root)
    return root


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "model.safetensors"))


def _epoch_losses(run: Path, version: int = 0) -> list[float]:
    with (run / "logs" / f"version_{version}" / "metrics.csv").open() as handle:
        return [float(row["train/loss_epoch"]) for row in csv.DictReader(handle) if row.get("train/loss_epoch")]


@pytest.fixture(scope="module")
def trained_run(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiny.yaml for 20 epochs of 3 batches: about 20 s on two loaded cores."""
    run = tmp_path_factory.mktemp("run") / "tiny"
    fit(load_experiment_config("tiny", ["trainer.max_epochs=20"]), cache_dir, run, progress=False)
    return run


@pytest.mark.slow
def test_training_writes_a_run_and_the_loss_falls(trained_run: Path) -> None:
    for name in ("model.safetensors", "config.json", LAST_CHECKPOINT, "split.json"):
        assert (trained_run / name).exists(), name
    losses = _epoch_losses(trained_run)
    assert len(losses) == 20
    assert sum(losses[-3:]) / 3 < 0.75 * sum(losses[:3]) / 3
    split = json.loads((trained_run / "split.json").read_text())
    assert len(split["train"]) == 48 and len(split["val"]) == 18


@pytest.mark.slow
def test_trained_detector_separates_held_out_clips(trained_run: Path, cache_dir: Path) -> None:
    result = evaluate_cache(trained_run, cache_dir, split="test", device="cpu")
    overall = result.table.overall
    assert overall.num_clips == 30 and overall.num_real == 15
    assert overall.roc_auc > 0.9
    assert [row.name for row in result.table.per_method] == [
        "real vs audio-swap", "real vs lip-mismatch", "real vs time-shift"]


@pytest.mark.slow
def test_cli_evaluate_json_and_clip_scores(trained_run: Path, cache_dir: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    scores = tmp_path / "scores.csv"
    code = main(["evaluate", "--checkpoint", str(trained_run), "--data", str(cache_dir), "--json",
                 "--threshold", "0.5", "--out", str(scores)])
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert document["split"] == "test" and document["num_clips"] == 30
    assert document["metrics"]["overall"]["roc_auc"] > 0.9
    with scores.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 30
    assert all(0.0 <= float(r["score"]) <= 1.0 and r["predicted"] == str(int(float(r["score"]) >= 0.5)) for r in rows)


@pytest.mark.slow
def test_cli_evaluate_table_and_bad_split(trained_run: Path, cache_dir: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--checkpoint", str(trained_run), "--data", str(cache_dir), "--split", "val"]) == 0
    out = capsys.readouterr().out
    assert "real vs time-shift" in out and "AUC" in out  # a row of a method, and the ROC-AUC column
    assert main(["evaluate", "--checkpoint", str(trained_run), "--data", str(cache_dir), "--split", "nope"]) == 2
    assert "no clips in split 'nope'" in capsys.readouterr().err


def test_same_seed_gives_same_weights(cache_dir: Path, tmp_path: Path) -> None:
    overrides = ["trainer.max_steps=3", "data.augment.enabled=true", "model.attention_dropout=0.1",
                 "trainer.check_val_every_n_epoch=100"]
    for name in ("a", "b"):
        fit(load_experiment_config("tiny", overrides), cache_dir, tmp_path / name, progress=False)
    a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    fit(load_experiment_config("tiny", overrides + ["trainer.seed=1"]), cache_dir, tmp_path / "c", progress=False)
    c = _weights(tmp_path / "c")
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_resume_continues_where_it_stopped(cache_dir: Path, tmp_path: Path) -> None:
    def config(epochs: int) -> ExperimentConfig:
        return load_experiment_config("tiny", [f"trainer.max_epochs={epochs}", "trainer.check_val_every_n_epoch=100"])

    fit(config(2), cache_dir, tmp_path / "straight", progress=False)
    run = tmp_path / "resumed"
    fit(config(1), cache_dir, run, progress=False)
    with pytest.raises(ConfigError):
        fit(config(2), cache_dir, run, progress=False)
    fit(config(2), cache_dir, run, resume=True, progress=False)
    state = torch.load(run / LAST_CHECKPOINT, weights_only=True)
    reference = torch.load(tmp_path / "straight" / LAST_CHECKPOINT, weights_only=True)
    assert state["global_step"] == reference["global_step"] == 6 and state["epoch"] == reference["epoch"]
    straight, resumed = _weights(tmp_path / "straight"), _weights(run)
    assert all(torch.allclose(straight[k].float(), resumed[k].float(), atol=1e-6) for k in straight)
    assert len(_epoch_losses(run, version=0)) == 1 and len(_epoch_losses(run, version=1)) == 1
    with pytest.raises(CheckpointError):
        fit(load_experiment_config("tiny"), cache_dir, tmp_path / "empty", resume=True, progress=False)


@pytest.mark.slow
def test_two_process_ddp_on_cpu(cache_dir: Path, tmp_path: Path) -> None:
    """Two gloo processes (spawned): 3 batches an epoch are padded to 4, so 2 steps per rank."""
    config = load_experiment_config("tiny", ["trainer.devices=2", "trainer.strategy=ddp_spawn",
                                             "trainer.max_epochs=2"])
    weights = fit(config, cache_dir, tmp_path / "ddp", progress=False)
    assert weights.exists()
    state = torch.load(tmp_path / "ddp" / LAST_CHECKPOINT, weights_only=True)
    assert state["global_step"] == 4
    assert all(torch.isfinite(v).all() for v in _weights(tmp_path / "ddp").values())


def test_cli_train_with_overrides(cache_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "cli"
    assert main(["train", "--config", "tiny", "--data", str(cache_dir), "--out", str(run), "--no-progress",
                 "trainer.max_steps=2", "optim.lr=0.001"]) == 0
    config = json.loads((run / "config.json").read_text())["config"]
    assert config["trainer"]["max_steps"] == 2 and config["optim"]["lr"] == 0.001
    assert main(["train", "--config", "tiny", "--data", str(cache_dir), "--out", str(tmp_path / "x"),
                 "--no-progress", "trainer.no_such_key=1"]) == 2
    assert main(["train", "--config", "tiny", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "y"),
                 "--no-progress"]) == 2


def test_cache_without_teacher_trains_detection_only(tmp_path: Path) -> None:
    cache = tmp_path / "no_teacher"
    write_synthetic_cache(cache, SyntheticCacheSpec(num_sources=4, teacher_outputs=False))
    with pytest.raises(InputError, match="no soft correlation label"):
        fit(load_experiment_config("tiny", ["trainer.max_steps=1"]), cache, tmp_path / "a", progress=False)
    overrides = ["trainer.max_steps=2", "loss.lambda_cd=0", "loss.lambda_jm=0"]
    assert fit(load_experiment_config("tiny", overrides), cache, tmp_path / "b", progress=False).exists()
