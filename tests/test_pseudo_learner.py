"""The trace detector trained on reals + pseudo-fakes, at tiny size."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from avcorr.data.clip_cache import ClipCache
from avcorr.errors import CheckpointError, ConfigError
from avcorr.models.trace_net import TraceNet, TraceNetConfig
from avcorr.pseudo.degrade import DegradeOptions
from avcorr.pseudo.registry import PseudoMix
from avcorr.train.pseudo import (PseudoModel, PseudoTrainOptions, PseudoWindows, fit_pseudo_detector,
                                 load_real_clips, score_clip, window_scores)
from pseudo_fixtures import drawn_clip

TINY = dict(window=8, widths=(4, 8, 8), batch_size=8, minutes=None, threads=1, warmup_steps=2,
            degrade=DegradeOptions(size=32))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("pseudo-cache")
    cache = ClipCache(root)
    for seed in range(2):
        cache.write(drawn_clip(num_frames=24, size=48, seed=seed))
    fake = drawn_clip(num_frames=24, size=48, seed=5)
    fake.meta.clip_id, fake.meta.label = "drawn-fake", 1
    cache.write(fake)
    cache.rebuild_manifest()
    return cache


def real_files(cache):
    return [cache.root / r["file"] for r in cache.read_manifest() if r["label"] == "0"]


def test_trace_net_shapes_and_size():
    net = TraceNet(TraceNetConfig())
    assert net(torch.rand(2, 16, 64, 64)).shape == (2,)
    assert net.forward_features(torch.rand(2, 16, 64, 64)).shape == (2, 96)
    params = sum(p.numel() for p in net.parameters())
    assert params <= 1_000_000 and params * 4 < 20e6


def test_windows_are_balanced_deterministic_and_fakes_are_visual(cache):
    clips = load_real_clips(real_files(cache), max_frames=24, min_frames=8)
    data = PseudoWindows(clips, PseudoMix(), 8, DegradeOptions(size=32), seed=3)
    kinds = []
    for i in range(12):
        frames, label, kind = data.sample(i)
        assert frames.shape == (8, 32, 32) and frames.dtype == np.uint8
        assert label == i % 2 and (kind == "real") == (label == 0)
        kinds.append(kind)
        np.testing.assert_array_equal(frames, data.sample(i)[0])
    assert len(set(kinds)) >= 3
    x, y = torch.utils.data.default_collate([data[i] for i in range(4)])
    assert x.shape == (4, 8, 32, 32) and 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert y.tolist() == [0.0, 1.0, 0.0, 1.0]


def held_out_loss(model: PseudoModel, clips) -> float:
    data = PseudoWindows(clips, PseudoMix.only(["self_blend", "still"]), 8, DegradeOptions(size=32), seed=99)
    x, y = torch.utils.data.default_collate([data[10**6 + i] for i in range(32)])
    with torch.no_grad():
        return float(torch.nn.functional.binary_cross_entropy_with_logits(model.net(x), y))


def test_learner_trains_and_round_trips(cache, tmp_path):
    files = real_files(cache)
    options = PseudoTrainOptions(types=("self_blend", "still"), max_steps=60, lr=5e-3, **TINY)
    torch.manual_seed(0)
    untrained = PseudoModel(TraceNet(TraceNetConfig(size=32, frames=8, widths=(4, 8, 8))).eval(), {})
    model = fit_pseudo_detector(files, options, seed=0)
    assert model.info["steps"] == 60 and model.info["clips"] == 2
    clips = load_real_clips(files, 24, 8)
    assert held_out_loss(model, clips) < held_out_loss(untrained, clips)
    record = cache.path_for("drawn-fake")
    from avcorr.data.clip_cache import load_clip

    clip = load_clip(record)
    scores = window_scores(model, clip)
    assert len(scores) == 5  # starts 0, 4, 8, 12, 16 for 24 frames and windows of 8
    assert np.all((scores >= 0) & (scores <= 1))
    assert score_clip(model, clip) == pytest.approx(scores.mean())
    folder = model.save(tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    assert config["format"] == "avcorr-trace-net" and config["info"]["steps"] == 60
    loaded = PseudoModel.load(folder)
    np.testing.assert_array_equal(window_scores(loaded, clip), scores)
    assert loaded.info["clip_ids"] == model.info["clip_ids"]


def test_same_seed_same_model(cache):
    options = PseudoTrainOptions(types=("lower_face",), max_steps=3, **TINY)
    a = fit_pseudo_detector(real_files(cache), options, seed=4)
    b = fit_pseudo_detector(real_files(cache), options, seed=4)
    for (name, p), q in zip(a.net.state_dict().items(), b.net.state_dict().values()):
        assert torch.equal(p, q), name


def test_budget_and_types_are_checked(tmp_path):
    with pytest.raises(ConfigError):
        PseudoTrainOptions(minutes=None, max_steps=None)
    with pytest.raises(ConfigError):
        PseudoTrainOptions(types=("deepfake",))
    with pytest.raises(CheckpointError):
        PseudoModel.load(tmp_path)


def test_cli_trains_on_the_real_clips_only(cache, tmp_path, capsys):
    from avcorr.cli.main import main

    out = tmp_path / "cli-model"
    code = main(["fit-pseudo", str(cache.root), "--out", str(out), "--steps", "2", "--window", "8", "--size", "32",
                 "--batch-size", "4", "--types", "self_blend,av_splice", "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["real_clips"] == 2 and summary["steps"] == 2
    info = json.loads((out / "config.json").read_text())["info"]
    assert "drawn-fake" not in info["clip_ids"] and "--types self_blend,av_splice" in info["command"]


def test_balanced_sources_are_drawn_equally():
    from dataclasses import replace

    from pseudo_fixtures import drawn_source

    base = drawn_source(num_frames=10, size=32)
    clips = [replace(base, source_id="studio"), replace(base, source_id="studio"), replace(base, source_id="news")]
    balanced = PseudoWindows(clips, PseudoMix(), 8, DegradeOptions(size=16), seed=0, balance_sources=True)
    np.testing.assert_allclose(balanced.clip_p, [0.25, 0.25, 0.5])
    plain = PseudoWindows(clips, PseudoMix(), 8, DegradeOptions(size=16), seed=0)
    np.testing.assert_allclose(plain.clip_p, [1 / 3] * 3)


def test_standardized_net_ignores_overall_contrast_and_brightness():
    torch.manual_seed(0)
    net = TraceNet(TraceNetConfig(size=32, frames=8, widths=(4, 8, 8), standardize=True)).eval()
    x = torch.rand(2, 8, 32, 32) * 0.5 + 0.25
    with torch.no_grad():
        torch.testing.assert_close(net(0.6 * x + 0.1), net(x), atol=1e-4, rtol=1e-4)
        plain = TraceNet(TraceNetConfig(size=32, frames=8, widths=(4, 8, 8), standardize=False)).eval()
        assert not torch.allclose(plain(0.6 * x + 0.1), plain(x), atol=1e-4)
