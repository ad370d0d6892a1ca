"""The detection-with-distillation task: the step logic of training, nothing else.

The Trainer owns devices, precision and checkpoints; the data module owns batches; the network
is :func:`avcorr.models.detector.build_detector`. Losses come from :mod:`avcorr.losses`, with
the weights of ``config.loss``. Validation logs the same losses plus the clip-level ROC-AUC of
the video score (mean frame probability of "fake").
"""
from __future__ import annotations

import math
from typing import Any

import lightning as L
import numpy as np
import torch

from avcorr.config import ExperimentConfig, from_dict, to_dict
from avcorr.data.dataset import ClipBatch
from avcorr.errors import InputError
from avcorr.eval.metrics import roc_auc
from avcorr.losses import compute_losses
from avcorr.models.detector import build_detector


def use_channels_last(model: torch.nn.Module) -> torch.nn.Module:
    """Put the 2-D conv weights of the visual frontend in channels-last layout (in place).

    oneDNN (CPU) and cuDNN then run those convs, and the batch norms and ReLUs between them, in
    NHWC; the frames enter in NCHW and are converted once by the first conv. Only the frontend's
    per-frame ResNet has 2-D convs; the 3-D stem and the 1-D temporal convs are left as they are."""
    for module in model.visual_frontend.modules():
        if isinstance(module, torch.nn.Conv2d):
            module.to(memory_format=torch.channels_last)
    return model


class DetectorTask(L.LightningModule):
    """Trains a :class:`CorrelationDetector` with L = L_ce + λ_cd·L_cd + λ_jm·L_jm."""

    def __init__(self, config: dict[str, Any] | ExperimentConfig) -> None:
        super().__init__()

        values = to_dict(config) if isinstance(config, ExperimentConfig) else dict(config)
        # Plain dicts only: the Lightning checkpoint must load with torch.load(weights_only=True).
        self.save_hyperparameters({"config": values})
        self.config: ExperimentConfig = from_dict(ExperimentConfig, values)
        self.model = build_detector(self.config.model)
        if self.config.trainer.channels_last:
            use_channels_last(self.model)
        self.class_weights: list[float] | None = None
        self._val_records: list[tuple[str, float, float]] = []

    def forward(self, mfcc: torch.Tensor, frames: torch.Tensor) -> Any:
        return self.model(mfcc, frames)

    def _losses(self, batch: ClipBatch) -> tuple[Any, Any]:
        output = self.model(batch.mfcc, batch.frames)
        soft: torch.Tensor | None = batch.soft_label
        if any(batch.soft_label_missing):  # known on the CPU side: no device sync
            if self.config.loss.lambda_cd > 0 or self.config.loss.lambda_jm > 0:
                bad = [cid for cid, missing in zip(batch.clip_ids, batch.soft_label_missing) if missing]
                raise InputError(bad[0], "clip has no soft correlation label (prepare it with a teacher, "
                                 "or train with loss.lambda_cd=0 loss.lambda_jm=0)", stage="train")
            soft = None
        weights = None if self.class_weights is None else torch.tensor(self.class_weights, device=output.frame_logits.device)
        terms = compute_losses(output, batch.frame_labels, soft, batch.clip_label, self.config.loss, class_weights=weights)
        return output, terms

    def training_step(self, batch: ClipBatch, batch_idx: int) -> torch.Tensor:
        _, terms = self._losses(batch)
        self._log_terms("train", terms, batch, on_step=True)
        self.log("train/frames", float(len(batch) * batch.num_frames), on_step=True, on_epoch=False,
                 batch_size=len(batch), reduce_fx="sum")
        return terms.total

    def validation_step(self, batch: ClipBatch, batch_idx: int) -> None:
        output, terms = self._losses(batch)
        self._log_terms("val", terms, batch, on_step=False)
        fake_prob = output.fake_probability.mean(dim=1)
        for clip_id, score, label in zip(batch.clip_ids, fake_prob.tolist(), batch.clip_label.tolist()):
            self._val_records.append((clip_id, score, label))

    def on_validation_epoch_start(self) -> None:
        self._val_records = []

    def on_validation_epoch_end(self) -> None:
        records = self._val_records
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            gathered: list[Any] = [None] * torch.distributed.get_world_size()
            torch.distributed.all_gather_object(gathered, records)
            records = [r for part in gathered for r in part]
        unique = {clip_id: (score, label) for clip_id, score, label in records}  # DDP padding repeats clips
        scores = np.array([s for s, _ in unique.values()])
        labels = np.array([lab for _, lab in unique.values()])
        auc = roc_auc(labels, scores) if len(labels) else math.nan
        self.log("val/roc_auc", auc, prog_bar=True, sync_dist=False, rank_zero_only=False)
        self._val_records = []

    def _log_terms(self, stage: str, terms: Any, batch: ClipBatch, on_step: bool) -> None:
        size = len(batch)
        self.log(f"{stage}/loss", terms.total.detach(), prog_bar=True, on_step=on_step, on_epoch=True,
                 batch_size=size, sync_dist=True)
        for name in ("detection", "distillation", "joint_modal"):
            self.log(f"{stage}/{name}", getattr(terms, name).detach(), on_step=on_step, on_epoch=True,
                     batch_size=size, sync_dist=True)

    def configure_optimizers(self) -> Any:
        optim = self.config.optim
        optimizer = torch.optim.Adam(self.parameters(), lr=optim.lr, weight_decay=optim.weight_decay)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=optim.lr_gamma)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}
