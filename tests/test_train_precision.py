"""bf16-mixed training on CPU through Lightning, and the channels-last option of the visual convs.

Tolerances of bf16-mixed against float32 for one tiny-size forward/backward (docs/training.md):
per-frame fake probabilities within 0.05, the total loss within 5 %, and the gradient, taken as
one vector, at cosine similarity ≥ 0.85 to the float32 one (measured: 0.02, 0.1 %, 0.94).
"""
from __future__ import annotations

import contextlib
import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from avcorr.config import load_experiment_config
from avcorr.losses import compute_losses
from avcorr.models.checkpoint import load_detector
from avcorr.models.detector import build_detector
from avcorr.train.fit import build_trainer, fit
from avcorr.train.task import use_channels_last
from synthetic_cache import SyntheticCacheSpec, write_synthetic_cache

PROBABILITY_ATOL = 0.05
LOSS_RTOL = 0.05
GRADIENT_MIN_COSINE = 0.85


def _batch(num_clips: int = 2, num_frames: int = 50, size: int = 32) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {"mfcc": torch.randn(num_clips, 4 * num_frames, 13, generator=g),
            "frames": torch.randint(0, 256, (num_clips, num_frames, size, size), dtype=torch.uint8, generator=g),
            "frame_labels": torch.randint(0, 2, (num_clips, num_frames), generator=g),
            "soft_label": torch.rand(num_clips, num_frames, generator=g),
            "clip_label": torch.tensor([0.0, 1.0])}


def _step(model: torch.nn.Module, batch: dict[str, torch.Tensor], config, context) -> tuple:
    """(fake probabilities, total loss, flattened gradient) of one forward/backward under ``context``."""
    model.zero_grad(set_to_none=True)
    with context:
        output = model(batch["mfcc"], batch["frames"])
        terms = compute_losses(output, batch["frame_labels"], batch["soft_label"], batch["clip_label"], config.loss)
    terms.total.backward()
    gradient = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
    return output.fake_probability.detach(), float(terms.total.detach()), gradient


def test_bf16_mixed_on_cpu_is_close_to_float32(tmp_path: Path) -> None:
    config = load_experiment_config("tiny", ["trainer.precision=bf16-mixed", "trainer.accelerator=cpu"])
    trainer = build_trainer(config, tmp_path, progress=False)
    plugin = trainer.precision_plugin  # what Lightning wraps every training step in
    with plugin.forward_context():
        assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
    torch.manual_seed(0)
    model = build_detector(config.model).train()
    batch = _batch()
    prob32, loss32, grad32 = _step(model, batch, config, contextlib.nullcontext())
    prob16, loss16, grad16 = _step(model, batch, config, plugin.forward_context())
    assert prob16.dtype == torch.float32 and torch.isfinite(grad16).all()
    assert (prob16 - prob32).abs().max().item() <= PROBABILITY_ATOL
    assert loss16 == pytest.approx(loss32, rel=LOSS_RTOL)
    assert torch.nn.functional.cosine_similarity(grad16, grad32, dim=0).item() >= GRADIENT_MIN_COSINE


def test_channels_last_runs_the_resnet_in_nhwc_with_the_same_outputs() -> None:
    config = load_experiment_config("tiny")
    torch.manual_seed(0)
    model = build_detector(config.model).eval()
    batch = _batch()
    with torch.no_grad():
        before = model(batch["mfcc"], batch["frames"]).fake_probability
    layouts = []
    convs = [m for m in use_channels_last(model).visual_frontend.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    hook = convs[-1].register_forward_hook(
        lambda _m, _i, out: layouts.append(out.is_contiguous(memory_format=torch.channels_last)))
    with torch.no_grad():
        after = model(batch["mfcc"], batch["frames"]).fake_probability
    hook.remove()
    assert layouts == [True]
    np.testing.assert_allclose(after.numpy(), before.numpy(), atol=1e-5)


def test_fit_in_bf16_mixed_with_channels_last(tmp_path: Path) -> None:
    cache = write_synthetic_cache(tmp_path / "cache", SyntheticCacheSpec(num_sources=2, split_fractions=(0.5, 0.5, 0)))
    config = load_experiment_config("tiny", ["trainer.precision=bf16-mixed", "trainer.channels_last=true",
                                             "trainer.max_steps=3"])
    weights = fit(config, cache.root, tmp_path / "run", progress=False)
    model = load_detector(weights)  # saved contiguous: loads like any run
    assert all(p.is_contiguous() for p in model.parameters())
    (metrics,) = (tmp_path / "run" / "logs").glob("version_*/metrics.csv")
    with metrics.open() as handle:
        losses = [float(r["train/loss_step"]) for r in csv.DictReader(handle) if r.get("train/loss_step")]
    assert len(losses) == 3 and all(math.isfinite(x) for x in losses)
