"""One run of the benchmark: train one variant on one split's training clips, score its test
fold, and compute the split's metrics; plus the timed training steps behind the up-front estimate.

A run folder keeps only what a resumption or a report needs (``model/`` and ``scores.csv``), so a
cut run resumes from Lightning's last checkpoint and a finished one is never trained again.
"""
from __future__ import annotations

import math
import shutil
import time
from pathlib import Path
from typing import Any, Sequence

from avcorr.bench.generalization.plan import BenchSize
from avcorr.bench.generalization.protocols import VARIANTS, BenchClip, HoldOutSplit, RunResult
from avcorr.bench.generalization.stages import read_scores, write_scores
from avcorr.config import load_experiment_config
from avcorr.data.cache_views import subset_view
from avcorr.data.clip_cache import ClipCache
from avcorr.eval.metrics import detection_metrics
from avcorr.runtime import resolve_device


def run_config(size: BenchSize, variant: str, seed: int, device: str) -> Any:
    """The experiment config of one trained run: the size's config, its overrides, the variant's
    loss weights, the seed, the epochs; no validation split (no checkpoint is selected: the last
    epoch's weights are tested). One device: CPU, or the first GPU with the config's precision."""
    overrides = list(size.overrides) + VARIANTS[variant].overrides() + [
        f"trainer.seed={seed}", f"trainer.max_epochs={size.epochs}", "data.val_fraction=0.0", "trainer.devices=1"]
    if resolve_device(device).type == "cpu":
        overrides += ["trainer.accelerator=cpu", "trainer.precision='32'"]
    else:
        overrides += ["trainer.accelerator=cuda"]
    return load_experiment_config(size.config, overrides)


def score_test_fold(run_dir: Path, cache_dir: Path, clip_ids: Sequence[str], device: str) -> dict[str, tuple[float, float]]:
    """(score, mean student correlation) of the test fold's clips by a trained run; the score is
    the mean frame probability of fake."""
    from avcorr.data.dataset import list_clips  # lazy: torch and cv2
    from avcorr.eval.evaluate import load_run, score_clips  # lazy: torch

    wanted = set(clip_ids)
    entries = [e for e in list_clips(ClipCache(cache_dir)) if e.clip_id in wanted]
    model, config = load_run(run_dir, device=resolve_device(device))
    clips, _ = score_clips(model, entries, config.model.visual.frame_size, config.data.max_clip_frames)
    return {c.clip_id: (c.score, c.mean_correlation) for c in clips}


def split_metrics(split: HoldOutSplit, clips: Sequence[BenchClip], scores: dict[str, tuple[float, float]],
                  variant: str, seed: int, wall_s: float) -> RunResult:
    """ROC-AUC, AP and EER on unseen real + held-out fakes; ROC-AUC on unseen real + seen fakes;
    ROC-AUC of 1 − mean correlation on unseen real + held-out fakes. ``wall_s``: the run's seconds."""
    by_id = {c.clip_id: c for c in clips}

    def table(ids: Sequence[str], column: int = 0):  # noqa: ANN202
        kept = [i for i in ids if i in scores]
        values = [scores[i][column] if column == 0 else 1.0 - scores[i][column] for i in kept]
        return detection_metrics([by_id[i].label for i in kept], values)

    held = table(split.test)
    real = [i for i in split.test if by_id[i].label == 0]
    seen = table(real + list(split.seen_test)) if split.seen_test else None
    return RunResult(variant=variant, held_out=split.held_out, seed=seed, test_fold=split.test_fold,
                     roc_auc=held.roc_auc, ap=held.ap, eer=held.eer,
                     seen_roc_auc=seen.roc_auc if seen is not None else math.nan,
                     num_real=held.num_real, num_fake=held.num_fake, wall_s=round(wall_s, 2),
                     correlation_roc_auc=table(split.test, column=1).roc_auc)


def train_and_score(size: BenchSize, variant: str, seed: int, split: HoldOutSplit, cache_dir: Path, run_dir: Path,
                    device: str) -> dict[str, tuple[float, float]]:
    """Train one run on the split's training clips (resuming a cut run) and score its test fold.

    The run folder keeps ``model/`` (weights, config, logs) and ``scores.csv``; the training view
    and Lightning's ``last.ckpt`` are removed once the weights are written.
    """
    from avcorr.train.fit import LAST_CHECKPOINT, fit  # lazy: pulls torch and lightning into the light bench package

    scores_path = run_dir / "scores.csv"
    if scores_path.exists():
        return read_scores(scores_path)
    model_dir = run_dir / "model"
    if not (model_dir / "model.safetensors").exists():
        view = subset_view(cache_dir, split.train, run_dir / "train_cache")  # fit trains on exactly these clips
        config = run_config(size, variant, seed, device)
        fit(config, view, model_dir, resume=(model_dir / LAST_CHECKPOINT).exists(), progress=False)
        shutil.rmtree(view)
        (model_dir / LAST_CHECKPOINT).unlink(missing_ok=True)
    scores = score_test_fold(model_dir, cache_dir, split.test + split.seen_test, device)
    write_scores(scores_path, scores)
    return scores


def calibrate_training(size: BenchSize, device: str) -> float:
    """Training frames per second of this size's network on this machine, now (the faster of two
    timed steps after a warm-up). The network stays on the CPU; ``device`` only picks the config."""
    import torch

    from avcorr.models.detector import build_detector  # lazy: torch

    config = run_config(size, "full", 0, device)
    model = build_detector(config.model)
    optimizer = torch.optim.Adam(model.parameters())
    frames_per_clip = config.data.train_crop_frames or 50
    batch = max(1, config.data.max_batch_frames // frames_per_clip)
    s = config.model.visual.frame_size
    video = torch.randint(0, 255, (batch, frames_per_clip, s, s), dtype=torch.uint8)
    audio = torch.randn(batch, 4 * frames_per_clip, 13)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        out = model(audio, video)
        (out.frame_logits.float().mean() + out.correlation.mean()).backward()
        optimizer.step()
        optimizer.zero_grad()
        times.append(time.perf_counter() - start)
    return batch * frames_per_clip / min(times[1:])
