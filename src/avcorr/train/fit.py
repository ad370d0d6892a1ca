"""One training run: config + clip cache → a run folder.

A run folder holds ``model.safetensors`` + ``config.json`` (the detector, loadable without
running code, and its ``calibration``: thresholds fitted on the run's real clips,
:mod:`avcorr.train.calibration`), ``last.ckpt`` (Lightning's full state, for ``--resume``),
``split.json`` (which clips trained and validated) and ``logs/version_N/metrics.csv`` (one
version per start).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Sequence

import lightning as L
import torch

from avcorr.config import ExperimentConfig, TrainerConfig, to_dict
from avcorr.errors import CheckpointError, ConfigError
from avcorr.losses import balanced_class_weights
from avcorr.models.checkpoint import save_detector
from avcorr.runtime import resolve_device
from avcorr.train.calibration import calibrate_run
from avcorr.train.datamodule import ClipDataModule
from avcorr.train.task import DetectorTask

LAST_CHECKPOINT = "last.ckpt"


class _ShareCpuCores(L.Callback):
    """DDP on CPU: give each process its share of the cores (else N processes × all-core thread
    pools oversubscribe the machine and spin-wait)."""

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if pl_module.device.type == "cpu" and trainer.world_size > 1:
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, trainer.num_devices)))


def resolve_accelerator(trainer: TrainerConfig) -> str:
    """``auto`` → ``cuda`` when a GPU is visible, else ``cpu`` (as :func:`avcorr.runtime.resolve_device`)."""
    if trainer.accelerator == "auto":
        return resolve_device("auto").type
    return trainer.accelerator


def resolve_precision(trainer: TrainerConfig, accelerator: str) -> str:
    """``auto`` → mixed float16 on CUDA (as the paper), full float32 elsewhere."""
    if trainer.precision != "auto":
        return trainer.precision
    return "16-mixed" if accelerator in ("cuda", "gpu") else "32-true"


def resolve_strategy(trainer: TrainerConfig, accelerator: str) -> Any:
    """``auto`` → DDP when more than one device or node (gloo on CPU, NCCL on GPUs)."""
    if trainer.strategy != "auto":
        return trainer.strategy
    devices = trainer.devices
    many = trainer.num_nodes > 1 or (isinstance(devices, int) and devices > 1) or (
        devices in ("auto", -1, "-1") and accelerator in ("cuda", "gpu") and torch.cuda.device_count() > 1)
    return "ddp" if many else "auto"


def quiet_lightning() -> None:
    """Keep Lightning's start-up chatter (device banners, tips, library deprecations) off the
    terminal: the progress bar and our own summary lines say what a user needs. Lightning sets
    its loggers' levels when imported, so this runs after the import (at the top of this module)."""
    import logging
    import warnings

    for name in ("lightning.pytorch", "lightning.fabric", "lightning", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for pattern in (r".*isinstance\(treespec, LeafSpec\).*", r".*smaller than the logging interval.*",
                    r".*does not have many workers.*", r".*Total length of .* across ranks is zero.*"):
        warnings.filterwarnings("ignore", message=pattern)


def build_trainer(config: ExperimentConfig, run_dir: Path, progress: bool = True,
                  callbacks: Sequence[L.Callback] = ()) -> L.Trainer:
    """The Lightning Trainer of a run: devices, precision, strategy, logs and checkpoints from config."""
    from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    quiet_lightning()
    cfg = config.trainer
    accelerator = resolve_accelerator(cfg)
    deterministic: bool | str = cfg.deterministic
    if cfg.deterministic and accelerator in ("cuda", "gpu"):
        # Some CUDA kernels (pooling backward, scatter) have no deterministic version: warn, do not fail.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        deterministic = "warn"
    checkpoint = ModelCheckpoint(dirpath=run_dir, save_last=True, save_top_k=0, every_n_epochs=1)
    checkpoint.CHECKPOINT_NAME_LAST = Path(LAST_CHECKPOINT).stem
    all_callbacks: list[L.Callback] = [checkpoint, LearningRateMonitor(logging_interval="epoch"), _ShareCpuCores(),
                                       *callbacks]
    if progress:
        from lightning.pytorch.callbacks import RichProgressBar

        all_callbacks.append(RichProgressBar())
    return L.Trainer(
        accelerator=accelerator,
        devices=cfg.devices,
        num_nodes=cfg.num_nodes,
        strategy=resolve_strategy(cfg, accelerator),
        precision=resolve_precision(cfg, accelerator),
        max_epochs=cfg.max_epochs,
        max_steps=cfg.max_steps,
        deterministic=deterministic,
        gradient_clip_val=cfg.gradient_clip_val,
        log_every_n_steps=cfg.log_every_n_steps,
        check_val_every_n_epoch=cfg.check_val_every_n_epoch,
        logger=CSVLogger(save_dir=run_dir, name="logs"),
        callbacks=all_callbacks,
        enable_progress_bar=progress,
        enable_model_summary=False,  # fit() prints its own one-line summary
        use_distributed_sampler=False,  # our batch sampler shards itself (equal batch counts per rank)
        num_sanity_val_steps=0,
    )


def fit(config: ExperimentConfig, data_dir: str | Path, out_dir: str | Path, resume: bool = False,
        progress: bool = True, callbacks: Sequence[L.Callback] = ()) -> Path:
    """Train a detector on the clip cache ``data_dir``; returns ``out_dir/model.safetensors``.

    ``resume`` continues from ``out_dir/last.ckpt`` (the epoch, optimizer and scheduler state
    are restored; the checkpoint is read with ``weights_only=True``, so it cannot run code).
    """
    run_dir = Path(out_dir)
    ckpt_path = run_dir / LAST_CHECKPOINT
    if resume and not ckpt_path.exists():
        raise CheckpointError(f"{ckpt_path}: nothing to resume (no last.ckpt in the run folder)")
    if not resume and ckpt_path.exists():
        raise ConfigError(f"{run_dir} already holds a run; pass --resume to continue it or choose another --out")
    data = ClipDataModule(config, data_dir)
    data.setup("fit")  # a missing or empty cache fails here, before the run folder is created
    run_dir.mkdir(parents=True, exist_ok=True)
    L.seed_everything(config.trainer.seed, workers=True, verbose=False)
    task = DetectorTask(to_dict(config))
    if config.loss.balance_classes:
        task.class_weights = balanced_class_weights([e.label for e in data.train_entries], config.model.num_classes)
    trainer = build_trainer(config, run_dir, progress=progress, callbacks=callbacks)
    if progress and trainer.is_global_zero:
        params = sum(p.numel() for p in task.model.parameters())
        reals = sum(1 for e in data.train_entries if e.label == 0)
        print(f"training {params / 1e6:.2f} M parameters on {len(data.train_entries)} clips ({reals} real, "
              f"{len(data.train_entries) - reals} fake), validating on {len(data.val_entries)}; "
              f"{trainer.accelerator.__class__.__name__.replace('Accelerator', '')} × {trainer.num_devices}, "
              f"precision {trainer.precision}; class weights {task.class_weights or 'off'}", file=sys.stderr)
    trainer.fit(task, datamodule=data, ckpt_path=str(ckpt_path) if resume else None,
                weights_only=True if resume else None)
    if trainer.is_global_zero:
        data.write_split(run_dir / "split.json")
        save_detector(run_dir, task.model.cpu(), config)

        # Thresholds fitted on the run's real clips, stored in config.json for detect's bands.
        calibration = calibrate_run(run_dir, data_dir, device="cuda" if resolve_accelerator(config.trainer) in ("cuda", "gpu") else "cpu")
        if progress:
            print(f"calibration: fake at >= {calibration.fake_threshold:.3g} ({calibration.source})" if calibration
                  else "calibration: none (no real clips; detect reports this run uncalibrated)", file=sys.stderr)
    return run_dir / "model.safetensors"
