"""Fit the dynamics detector of a corpus: a reals-only reference over its *real* clips' features.

No fake is read: the reference holds, per scored feature, the values of the corpus's real clips
(each source group weighing one clip in the tails), and its own out-of-fold real scores for the
bands. What it records (``extra``) is what detect needs to process a video the same way: the
canonical resolution, the window length, the cues, and the training data for the model card.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

import avcorr
from avcorr.cues.real_reference import CUES, RealReference, fit_reference, reference_columns
from avcorr.data.catalog import CatalogClip
from avcorr.data.corpus_options import DEFAULT_CORPUS, CorpusOptions
from avcorr.errors import ConfigError
from avcorr.train.cue_model import training_summary

#: The cues of the shipped dynamics detector unless told otherwise.
DEFAULT_CUES: tuple[str, ...] = tuple(c for c in CUES if c != "consistency")


def check_cues(cues: Sequence[str]) -> list[str]:
    """``cues`` in canonical order; :class:`ConfigError` for an unknown or empty list."""
    wanted = [c.strip() for c in cues if c.strip()]
    unknown = sorted(set(wanted) - set(CUES))
    if unknown or not wanted:
        raise ConfigError(f"unknown or no cue(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(CUES)}")
    return [c for c in CUES if c in wanted]


def fit_dynamics_detector(clips: Sequence[CatalogClip], tables: Mapping[str, Mapping[str, float]],
                          cues: Sequence[str] = DEFAULT_CUES, corpus: CorpusOptions = DEFAULT_CORPUS,
                          command: str = "") -> RealReference:
    """The reference of the corpus's real clips (fakes are ignored); save it with ``.save(folder / "config.json")``."""
    chosen = check_cues(cues)
    names = reference_columns(chosen)
    reals = sorted((c for c in clips if c.label == 0 and c.clip_id in tables
                    and any(np.isfinite(tables[c.clip_id].get(n, np.nan)) for n in names)), key=lambda c: c.clip_id)
    if len({c.source_group for c in reals}) < 2:
        raise ConfigError(f"{len(reals)} real clip(s) with features from fewer than 2 source groups: the bands need "
                          "real clips scored without their own source group")
    reference = fit_reference([tables[c.clip_id] for c in reals], names, groups=[c.source_group for c in reals])
    normalise = corpus.normalise()
    reference.extra = {
        "kind": "dynamics", "cues": chosen, "crop_frames": int(corpus.crop_frames),
        "prepare_frames": int(corpus.prepare_frames),
        "normalise": None if normalise is None else normalise.to_dict(),
        "teacher": "phonetic" if "consistency" in chosen else None,
        "false_alarm_rate": corpus.false_alarm_rate, "uncertain_rate": corpus.uncertain_rate,
        "training_data": training_summary(reals), "avcorr_version": avcorr.__version__, "command": command,
    }
    return reference
