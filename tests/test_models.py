"""The student detector: shapes, invariants, checkpoint round trips, safe loading."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import avcorr
from avcorr.cli.main import main
from avcorr.config import load_experiment_config
from avcorr.errors import CheckpointError
from avcorr.models.detector import build_detector


def _inputs(batch: int, frames: int, size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mfcc = torch.randn(batch, 4 * frames, 13, generator=g)
    video = torch.randint(0, 256, (batch, frames, size, size), generator=g, dtype=torch.uint8)
    return mfcc, video


@pytest.mark.parametrize("name, params_m", [("tiny", 0.054), ("cpu", 1.21), ("paper", 15.74)])
def test_configs_build_with_expected_sizes(name: str, params_m: float) -> None:
    model = build_detector(load_experiment_config(name).model)
    assert sum(p.numel() for p in model.parameters()) / 1e6 == pytest.approx(params_m, abs=0.01)


def test_output_shapes_and_ranges() -> None:
    cfg = load_experiment_config("tiny").model
    model = build_detector(cfg).eval()
    out = model(*_inputs(3, 7, cfg.visual.frame_size))
    assert out.frame_logits.shape == (3, 7, 2)
    assert out.audio.shape == out.visual.shape == (3, 7, cfg.embed_dim)
    assert out.fused.shape == (3, 7, 2 * cfg.embed_dim)
    assert out.correlation.shape == (3, 7)
    assert bool(((out.correlation >= 0) & (out.correlation <= 1)).all())
    cos = torch.nn.functional.cosine_similarity(out.audio, out.visual, dim=-1)
    torch.testing.assert_close(out.correlation, (cos + 1) / 2)
    assert bool(((out.fake_probability >= 0) & (out.fake_probability <= 1)).all())


def test_clips_in_a_batch_do_not_leak_into_each_other() -> None:
    """The 3-D stem runs per clip: a clip's output is the same alone or batched."""
    cfg = load_experiment_config("tiny").model
    model = build_detector(cfg).eval()
    mfcc, frames = _inputs(2, 6, cfg.visual.frame_size)
    with torch.no_grad():
        both = model(mfcc, frames)
        second = model(mfcc[1:], frames[1:])
    torch.testing.assert_close(both.frame_logits[1:], second.frame_logits, atol=1e-5, rtol=1e-5)


def test_bad_inputs_are_rejected() -> None:
    cfg = load_experiment_config("tiny").model
    model = build_detector(cfg).eval()
    mfcc, frames = _inputs(1, 5, cfg.visual.frame_size)
    with pytest.raises(ValueError, match="4 vectors per frame"):
        model(mfcc[:, :-1], frames)
    with pytest.raises(ValueError, match="frames must be"):
        model(mfcc, frames[..., :-1])


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    cfg = load_experiment_config("tiny")
    model = build_detector(cfg.model).eval()
    avcorr.save_detector(tmp_path / "run", model, cfg)
    loaded = avcorr.load_detector(tmp_path / "run")
    assert not loaded.training
    inputs = _inputs(1, 5, cfg.model.visual.frame_size)
    with torch.no_grad():
        torch.testing.assert_close(model(*inputs).frame_logits, loaded(*inputs).frame_logits)
    also = avcorr.load_detector(tmp_path / "run" / "model.safetensors")
    assert also.config == loaded.config


def test_load_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        avcorr.load_detector(tmp_path / "nothing")
    (tmp_path / "legacy.pt").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="convert"):
        avcorr.load_detector(tmp_path / "legacy.pt")


class _Payload:
    def __reduce__(self):  # pickled code: weights_only loading must refuse it
        return (print, ("this must never run",))


def test_converter_refuses_pickled_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "evil.model"
    torch.save({"x": _Payload()}, bad)
    assert main(["convert-checkpoint", str(bad), "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert "this must never run" not in captured.out
    assert "weights-only" in captured.err


def test_forward_is_the_head_of_the_features() -> None:
    cfg = load_experiment_config("tiny").model
    model = build_detector(cfg).eval()
    inputs = _inputs(2, 6, cfg.visual.frame_size, seed=3)
    with torch.no_grad():
        whole = model(*inputs)
        features = model.forward_features(*inputs)
        parts = model.forward_head(features)
    for name in ("frame_logits", "audio", "visual", "correlation", "audio_embedding", "visual_embedding", "fused"):
        assert torch.equal(getattr(whole, name), getattr(parts, name)), name
    assert torch.equal(features.audio, whole.audio) and features.audio.shape == (2, 6, cfg.embed_dim)


def test_reset_head_keeps_the_encoders_and_round_trips(tmp_path: Path) -> None:
    cfg = load_experiment_config("tiny")
    model = build_detector(cfg.model).eval()
    inputs = _inputs(1, 5, cfg.model.visual.frame_size)
    with torch.no_grad():
        before = model(*inputs)
        model.reset_head(3)
        after = model(*inputs)
    assert after.frame_logits.shape == (1, 5, 3) and model.config.num_classes == 3
    assert cfg.model.num_classes == 2  # the experiment's config is not mutated
    torch.testing.assert_close(after.fused, before.fused, rtol=0, atol=0)  # only the classifier changed
    avcorr.save_detector(tmp_path / "run", model, cfg)  # the model's own config is what gets saved
    loaded = avcorr.load_detector(tmp_path / "run")
    assert loaded.config.num_classes == 3
    with torch.no_grad():
        torch.testing.assert_close(loaded(*inputs).frame_logits, after.frame_logits)


def test_saved_config_records_the_input_contract(tmp_path: Path) -> None:
    import json

    from avcorr.models.checkpoint import read_input_contract
    from avcorr.nn.visual_frontend import FRAME_MEAN, FRAME_STD, normalize_frames

    cfg = load_experiment_config("tiny")
    avcorr.save_detector(tmp_path / "run", build_detector(cfg.model), cfg)
    contract = json.loads((tmp_path / "run" / "config.json").read_text())["input"]
    assert contract == {
        "frame_size": cfg.model.visual.frame_size,
        "normalisation": {"mean": FRAME_MEAN, "std": FRAME_STD},
        "fps": 25,
        "mfcc": {"rate_hz": 100, "coefficients": 13, "per_frame": 4},
    }
    # The recorded normalisation is the one the network applies: 255 · mean maps to 0, one std to 1.
    grey = torch.tensor([255 * FRAME_MEAN, 255 * (FRAME_MEAN + FRAME_STD)])
    torch.testing.assert_close(normalize_frames(grey), torch.tensor([0.0, 1.0]))
    assert read_input_contract(tmp_path / "run") == contract


def test_checkpoints_without_the_contract_still_load(tmp_path: Path) -> None:
    import json

    from avcorr.models.checkpoint import read_input_contract

    cfg = load_experiment_config("tiny")
    avcorr.save_detector(tmp_path / "run", build_detector(cfg.model), cfg)
    path = tmp_path / "run" / "config.json"
    document = json.loads(path.read_text())
    recorded = document.pop("input")
    path.write_text(json.dumps(document))  # as written before the contract was recorded
    assert avcorr.load_detector(tmp_path / "run").config == cfg.model
    assert read_input_contract(tmp_path / "run") == recorded
