"""Training a trace detector on real clips and pseudo-fakes made from them (no genuine fake).

Every training draw cuts a window of ``window`` frames from a real clip; odd draws become a
pseudo-fake of that window (:mod:`avcorr.pseudo`, a type drawn from the mix), even draws stay
real, and both sides go through the same random degradation. A real clip and its own forgeries
share camera, codec and identity, so the only thing the net can learn is the forgery. The loop is
a plain one because it is budgeted in wall-clock minutes (the learning rate follows a cosine over
whichever of the step or time budget runs out first). A clip's score is the mean fake
probability of its windows.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from avcorr.data.clip_cache import ClipRecord, load_clip
from avcorr.errors import ConfigError
from avcorr.models.trace_net import TraceNet, TraceNetConfig, load_trace_net, save_trace_net
from avcorr.pseudo.clip import SourceClip
from avcorr.pseudo.degrade import DegradeOptions, degrade, plain_resize
from avcorr.pseudo.registry import PSEUDO_TYPES, PseudoMix, make_pseudo_fake

#: tries to draw a pseudo-fake that changes pixels (an audio-only splice is invisible to the net)
VISUAL_TRIES = 8


@dataclass(frozen=True)
class PseudoTrainOptions:
    """``types``: pseudo-fake types on (default weights); ``window`` frames at 25 fps and ``size``
    pixels per input; ``minutes`` and/or ``max_steps`` budget the run (the first reached ends it);
    ``max_frames`` kept per clip (memory); ``threads`` for torch; ``balance_sources``: every
    source (the clips' ``source_id``) is drawn equally often, not every clip (one studio corpus
    with many clips would otherwise fill most windows)."""

    types: tuple[str, ...] = tuple(PSEUDO_TYPES)
    window: int = 16
    size: int = 64
    widths: tuple[int, ...] = (16, 24, 48, 96)
    standardize: bool = True
    batch_size: int = 16
    minutes: float | None = 3.0
    max_steps: int | None = None
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 20
    max_frames: int = 250
    threads: int = 1
    balance_sources: bool = True
    degrade: DegradeOptions = field(default_factory=DegradeOptions)

    def __post_init__(self) -> None:
        if self.minutes is None and self.max_steps is None:
            raise ConfigError("pseudo training needs a budget: minutes or max_steps")
        PseudoMix.only(self.types)  # unknown types fail here, before any clip is read


@dataclass
class PseudoModel:
    """A trained trace net plus what its training recorded (``info``: options, clips, steps, losses)."""

    net: TraceNet
    info: dict[str, Any]

    def save(self, folder: str | Path) -> Path:
        return save_trace_net(folder, self.net, self.info)

    @classmethod
    def load(cls, folder: str | Path) -> "PseudoModel":
        net, info = load_trace_net(folder)
        return cls(net, info)


def load_real_clips(files: list[Path], max_frames: int, min_frames: int) -> list[SourceClip]:
    """The arrays pseudo-fakes need, first ``max_frames`` frames of each; clips under ``min_frames`` are left out."""
    clips = []
    for path in files:
        record = load_clip(path, arrays=["frames", "landmarks", "mfcc"])
        if record.num_frames < min_frames:
            continue
        a = record.arrays
        a["frames"], a["landmarks"] = a["frames"][:max_frames], a["landmarks"][:max_frames]
        if "mfcc" in a:
            a["mfcc"] = a["mfcc"][:4 * max_frames]
        clips.append(SourceClip.from_record(record))
    return clips


class PseudoWindows(torch.utils.data.Dataset):
    """Draw ``i`` (deterministic in ``seed`` and ``i``): a degraded window (T, S, S) in [0, 1] and
    its label — real for even ``i``, a pseudo-fake of the same kind of window for odd ``i``."""

    def __init__(self, clips: list[SourceClip], mix: PseudoMix, window: int, degrade_options: DegradeOptions,
                 seed: int, length: int = 10**9, balance_sources: bool = False) -> None:
        self.clips, self.mix, self.window = clips, mix, window
        self.degrade_options, self.seed, self.length = degrade_options, seed, length
        weights = np.ones(len(clips))
        if balance_sources:
            sources = [c.source_id or c.clip_id for c in clips]
            weights = np.array([1.0 / sources.count(s) for s in sources])
        self.clip_p = weights / weights.sum()

    def __len__(self) -> int:
        return self.length

    def sample(self, index: int) -> tuple[np.ndarray, int, str]:
        """(degraded frames (T, S, S) uint8, label, kind) of draw ``index``."""
        rng = np.random.default_rng([self.seed, index])
        clip = self.clips[int(rng.choice(len(self.clips), p=self.clip_p))]
        start = int(rng.integers(0, clip.num_frames - self.window + 1))
        span = (start, start + self.window)
        label = index % 2
        item = clip.real(span)
        if label:
            for _ in range(VISUAL_TRIES):
                item = make_pseudo_fake(clip, span, rng, self.mix)
                if item.visual:
                    break
        return degrade(item.frames, rng, self.degrade_options), label, item.kind

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        frames, label, _ = self.sample(index)
        return torch.from_numpy(frames).float().div_(255.0), torch.tensor(float(label))


def learning_rate(options: PseudoTrainOptions, step: int, progress: float) -> float:
    warm = min(1.0, (step + 1) / max(1, options.warmup_steps))
    return options.lr * warm * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))))


def fit_pseudo_detector(real_clip_files: list[Path], options: PseudoTrainOptions, seed: int,
                        log: Callable[[str], None] | None = None) -> PseudoModel:
    """Train a :class:`TraceNet` on windows of the real clips and their pseudo-fakes."""
    torch.set_num_threads(max(1, options.threads))
    torch.manual_seed(seed)
    clips = load_real_clips(list(real_clip_files), options.max_frames, options.window)
    if not clips:
        raise ConfigError(f"no real clip of at least {options.window} frames among {len(real_clip_files)} files")
    mix = PseudoMix.only(options.types)
    data = PseudoWindows(clips, mix, options.window, options.degrade, seed, balance_sources=options.balance_sources)
    loader = torch.utils.data.DataLoader(data, batch_size=options.batch_size, shuffle=False, num_workers=0)
    net = TraceNet(TraceNetConfig(size=options.degrade.size, frames=options.window, widths=options.widths,
                                   standardize=options.standardize))
    optimiser = torch.optim.AdamW(net.parameters(), lr=options.lr, weight_decay=options.weight_decay)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    budget_s = None if options.minutes is None else 60.0 * options.minutes
    started = time.monotonic()
    losses: list[float] = []
    step = 0
    net.train()
    for x, y in loader:
        elapsed = time.monotonic() - started
        progress = max(0.0 if options.max_steps is None else step / options.max_steps,
                       0.0 if budget_s is None else elapsed / budget_s)
        if progress >= 1.0:
            break
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(options, step, progress)
        loss = loss_fn(net(x), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
        step += 1
        if log is not None and step % 50 == 0:
            log(f"step {step}: loss {np.mean(losses[-50:]):.3f} ({elapsed:.0f} s)")
    net.eval()
    info = {"kind": "pseudo_trace_net", "seed": seed, "steps": step,
            "seconds": round(time.monotonic() - started, 1), "clips": len(clips),
            "clip_ids": [c.clip_id for c in clips], "sources": len({c.source_id or c.clip_id for c in clips}), "mix": mix.weights,
            "options": {**asdict(options), "types": list(options.types)},
            "loss_first_50": float(np.mean(losses[:50])) if losses else None,
            "loss_last_50": float(np.mean(losses[-50:])) if losses else None}
    return PseudoModel(net, info)


def window_scores(model: PseudoModel, record: ClipRecord, batch_size: int = 32) -> np.ndarray:
    """Fake probability of each window (``window`` frames, half-overlapping, the last one ending at
    the clip's end; a shorter clip is repeated to one window)."""
    net = model.net
    window = net.config.frames
    frames = plain_resize(np.asarray(record.arrays["frames"]), net.config.size)
    t = len(frames)
    starts = list(range(0, max(1, t - window + 1), max(1, window // 2)))
    if t > window and starts[-1] != t - window:
        starts.append(t - window)
    stacks = np.stack([frames[np.arange(s, s + window) % t] for s in starts])
    probabilities = []
    net.eval()
    with torch.no_grad():
        for i in range(0, len(stacks), batch_size):
            x = torch.from_numpy(stacks[i:i + batch_size]).float().div_(255.0)
            probabilities.append(torch.sigmoid(net(x)).numpy())
    return np.concatenate(probabilities).astype(np.float64)


def score_clip(model: PseudoModel, record: ClipRecord) -> float:
    """The clip's fake score in [0, 1]: mean window probability."""
    return float(window_scores(model, record).mean())
