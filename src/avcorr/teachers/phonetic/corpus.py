"""Fit the lip viseme model on a prepared cache's real clips, and its held-out posteriors by source group.

The shipped lip model (``phonetic_lips.npz``) is fitted on synthetic faces and ten GRID clips. A
clip cache of real footage prepared with the phonetic teacher holds what is needed to fit one on
real mouths instead: each clip's face-mesh ``landmarks`` and its audio side's
``audio_posteriors``, whose per-frame argmax is the label: forced alignment where the transcript
was known at prepare time (GRID names), else pocketsphinx's phone loop (the cache records which
in ``meta.extra["teacher_info"]["audio_mode"]``). The labels are a speech recogniser's, not
people's, so they are noisy in the wild; and since they come from the σ = 1 frame smoothed
posteriors, one-frame visemes between two longer ones can vanish.

Whether such a model carries content is measured, on held-out source groups, by
:mod:`avcorr.eval.lip_corpus`; here are the clips, the fit and the held-out posteriors it judges.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, TypeVar

import numpy as np

from avcorr.data.clip_cache import ClipCache, load_clip
from avcorr.errors import InputError
from avcorr.teachers.phonetic.audio import mix_uniform
from avcorr.teachers.phonetic.lips import lip_features
from avcorr.teachers.phonetic.visual_model import LipVisemeModel, fit_lip_viseme_model
from avcorr.teachers.visemes import VISEME_INDEX, VISEMES

T = TypeVar("T")
Progress = Callable[[Iterable[T], str], Iterable[T]]
SILENCE = VISEME_INDEX["sil"]


@dataclass
class CorpusClip:
    """One real clip of a cache: landmarks (T, 478, 3), audio posteriors (T, V) and where it came from."""

    clip_id: str
    group: str  # the clip's source group (meta.source_id)
    video_name: str  # file name of the source video (to recognise a model's own training clips)
    landmarks: np.ndarray
    audio_posteriors: np.ndarray
    label_mode: str  # "aligned" or "phone_loop"

    @property
    def labels(self) -> np.ndarray:
        """(T,) viseme index heard in each frame: the argmax of the audio side."""
        return self.audio_posteriors.argmax(axis=1)

    @property
    def num_frames(self) -> int:
        return len(self.landmarks)


def load_real_clips(cache_dir: str | Path, progress: Progress | None = None) -> list[CorpusClip]:
    """The real (label 0) clips of a cache prepared with the phonetic teacher, with landmarks."""
    cache = ClipCache(cache_dir)
    files = cache.clip_files()
    if not files:
        raise InputError(cache_dir, "no prepared clips (clips/*.npz) in this folder", stage="cache")
    clips = []
    for path in progress(files, "reading clips") if progress else files:
        record = load_clip(path, arrays=["landmarks", "audio_posteriors"])
        if record.meta.label != 0:
            continue
        audio, landmarks = record.arrays.get("audio_posteriors"), record.arrays.get("landmarks")
        if audio is None or landmarks is None:
            raise InputError(path, "a real clip without landmarks or audio_posteriors (prepare with --teacher phonetic)",
                             stage="cache")
        if audio.shape[1] != len(VISEMES) or (record.meta.vocabulary and list(record.meta.vocabulary) != VISEMES):
            raise InputError(path, f"audio posteriors are not over the {len(VISEMES)} visemes (another teacher?)", stage="cache")
        mode = str((record.meta.extra or {}).get("teacher_info", {}).get("audio_mode", "phone_loop"))
        clips.append(CorpusClip(record.meta.clip_id, record.meta.source_id or record.meta.clip_id,
                                Path(record.meta.video_path).name, np.asarray(landmarks), np.asarray(audio), mode))
    if not clips:
        raise InputError(cache_dir, "the cache holds no real (label 0) clips to fit on", stage="cache")
    return clips


@dataclass(frozen=True)
class LipFitOptions:
    """``context``: frames each side; ``regularization``: sklearn's C; ``class_weight``: None or
    ``"balanced"``; ``silence_keep``: share of silence frames kept for training (seeded by ``seed``)."""

    context: int = 2
    regularization: float = 0.01
    class_weight: str | None = None
    silence_keep: float = 1.0
    seed: int = 0


def fit_corpus_model(clips: Sequence[CorpusClip], options: LipFitOptions = LipFitOptions(),
                     provenance: dict[str, Any] | None = None) -> LipVisemeModel:
    """The lip viseme model fitted on ``clips``' frames, labels from their audio side."""
    rng = np.random.default_rng(options.seed)
    features, labels = [], []
    for clip in clips:
        x, y = lip_features(clip.landmarks, options.context), clip.labels
        if options.silence_keep < 1.0:
            keep = (y != SILENCE) | (rng.random(len(y)) < options.silence_keep)
            x, y = x[keep], y[keep]
        features.append(x)
        labels.append(y)
    modes = {m: sum(c.label_mode == m for c in clips) for m in sorted({c.label_mode for c in clips})}
    info = {"label_source": "argmax of the cache's audio_posteriors", "label_modes": modes,
            "groups": sorted({c.group for c in clips}), "silence_keep": options.silence_keep}
    return fit_lip_viseme_model(features, labels, options.context, options.regularization,
                                provenance={**info, **(provenance or {})}, class_weight=options.class_weight)


def clip_groups(clips: Sequence[CorpusClip]) -> np.ndarray:
    """(n,) each clip's source group."""
    return np.array([c.group for c in clips])


def held_out_posteriors(clips: Sequence[CorpusClip], options: LipFitOptions = LipFitOptions(), uniform: float = 0.02,
                        progress: Progress | None = None) -> list[np.ndarray]:
    """(T_i, V) visual posteriors of every clip from a model fitted on the *other* source groups."""
    groups = clip_groups(clips)
    out: list[np.ndarray] = [np.empty(0)] * len(clips)
    names = sorted(set(groups))
    for group in progress(names, "held-out groups") if progress else names:
        model = fit_corpus_model([c for c, g in zip(clips, groups) if g != group], options)
        for i in np.flatnonzero(groups == group):
            out[i] = mix_uniform(model.predict_proba(clips[i].landmarks), uniform)
    return out


def majority_posteriors(clips: Sequence[CorpusClip], uniform: float = 0.02) -> list[np.ndarray]:
    """The baseline: every frame of a held-out group gets the other groups' most frequent viseme."""
    groups = clip_groups(clips)
    out: list[np.ndarray] = [np.empty(0)] * len(clips)
    for group in set(groups):
        train = np.concatenate([c.labels for c, g in zip(clips, groups) if g != group])
        majority = int(np.bincount(train, minlength=len(VISEMES)).argmax())
        for i in np.flatnonzero(groups == group):
            onehot = np.zeros((clips[i].num_frames, len(VISEMES)), dtype=np.float32)
            onehot[:, majority] = 1.0
            out[i] = mix_uniform(onehot, uniform)
    return out


def held_out_visual(clips: Sequence[CorpusClip], variants: dict[str, LipFitOptions],
                    reference: LipVisemeModel | None = None, reference_name: str = "shipped", uniform: float = 0.02,
                    progress: Progress | None = None) -> dict[str, list[np.ndarray]]:
    """Every clip's (T, V) visual posteriors by model: the training folds' majority class,
    ``reference`` as it is (default: the shipped lip model), and each variant fitted on the other groups."""
    if len(set(clip_groups(clips))) < 2:
        raise ValueError("grouped cross-validation needs real clips from at least two source groups")
    reference = reference or LipVisemeModel.load()
    visual = {"majority": majority_posteriors(clips, uniform),
              reference_name: [mix_uniform(reference.predict_proba(c.landmarks), uniform) for c in clips]}
    for name, options in variants.items():
        visual[name] = held_out_posteriors(clips, options, uniform, progress)
    return visual


def default_variants(options: LipFitOptions = LipFitOptions()) -> dict[str, LipFitOptions]:
    """The model as asked (``corpus``), plus class weighting and silence subsampling variants of it."""
    variants = {"corpus": options}
    if options.class_weight is None:
        variants["corpus_balanced"] = replace(options, class_weight="balanced")
    if options.silence_keep >= 1.0:
        variants["corpus_silence_third"] = replace(options, silence_keep=1 / 3)
    return variants
