"""Fit the feature-based ("cue") detector that ``detect`` runs by default, calibrated and self-describing.

One logistic model over the named per-clip features of a catalogued corpus
(:mod:`avcorr.cues.corpus`), fitted on every clip that has a feature table. Its thresholds come
from the real clips' *grouped out-of-fold* scores — each real scored by a model that did not see
its ``source_group`` — so the stored false-alarm rate is not an in-sample one. ``info`` says what
the model was trained on (counts per label, generator, manipulation and family; the sources by
repository with their licences), how its features were measured (groups, window and prepare
lengths, teacher) and by which command, so that ``avcorr models`` and a model card can show it.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

import numpy as np

import avcorr
from avcorr.cues.classifier import FeatureClassifier, fit_classifier, out_of_fold_scores
from avcorr.cues.corpus import CONSISTENCY, CONTAINER, FEATURE_GROUPS, feature_names
from avcorr.data.catalog import CatalogClip
from avcorr.data.corpus_options import DEFAULT_CORPUS, CorpusOptions
from avcorr.errors import ConfigError
from avcorr.eval.calibration import calibrate
from avcorr.eval.metrics import roc_auc

#: The feature groups a detector may use: everything but the container (metadata) shortcut.
DETECTOR_GROUPS: tuple[str, ...] = tuple(g for g in FEATURE_GROUPS if g != CONTAINER)
DEFAULT_GROUPS: tuple[str, ...] = DETECTOR_GROUPS
PHONETIC = "phonetic"
T = TypeVar("T")
Progress = Callable[[Iterable[T], str], Iterable[T]]


def check_groups(groups: Sequence[str]) -> list[str]:
    """``groups`` in canonical order; a :class:`ConfigError` for ``container`` or an unknown group."""
    wanted = [g.strip() for g in groups if g.strip()]
    if CONTAINER in wanted:
        raise ConfigError(f"feature group {CONTAINER!r} is file metadata (resolution, codec, duration: the shortcut "
                          f"baseline) and is never part of a detector; choose from {', '.join(DETECTOR_GROUPS)}")
    unknown = sorted(set(wanted) - set(DETECTOR_GROUPS))
    if unknown:
        raise ConfigError(f"unknown feature group(s) {', '.join(unknown)}; choose from {', '.join(DETECTOR_GROUPS)}")
    if not wanted:
        raise ConfigError(f"no feature groups given; choose from {', '.join(DETECTOR_GROUPS)}")
    return [g for g in DETECTOR_GROUPS if g in wanted]


def training_summary(clips: Sequence[CatalogClip]) -> dict[str, Any]:
    """What a model was trained on: clip counts per label, per generator / manipulation (fakes),
    per family (all clips), and the sources by repository with their licences and counts."""
    fakes = [c for c in clips if c.label == 1]
    sources: dict[str, dict[str, Any]] = {}
    for clip in clips:
        repo = clip.repo or clip.source_group
        entry = sources.setdefault(repo, {"repo": repo, "licenses": set(), "real": 0, "fake": 0})
        entry["licenses"].add(clip.license or "unknown")
        entry["fake" if clip.label else "real"] += 1
    return {
        "clips": len(clips),
        "labels": {"real": len(clips) - len(fakes), "fake": len(fakes)},
        "generators": dict(sorted(Counter(c.generator or "unknown" for c in fakes).items())),
        "manipulations": dict(sorted(Counter(c.manipulation or "unknown" for c in fakes).items())),
        "families": dict(sorted(Counter(c.family for c in clips).items())),
        "sources": [{**e, "licenses": sorted(e["licenses"])} for _, e in sorted(sources.items())],
    }


def fit_cue_detector(clips: Sequence[CatalogClip], tables: Mapping[str, Mapping[str, float]],
                     groups: Sequence[str] = DEFAULT_GROUPS, c: float = 0.1, corpus: CorpusOptions = DEFAULT_CORPUS,
                     command: str = "", folds: int = 5) -> FeatureClassifier:
    """The calibrated cue detector of a corpus (save it with ``.save(folder)``).

    ``tables``: clip id → ``group.name`` features (:func:`avcorr.cues.corpus.corpus_features`);
    clips without one, or without any measured feature of ``groups``, are left out. ``groups`` must not include ``container``. ``c``: inverse L2
    strength. ``corpus``: how the features were measured (detect cuts videos into windows of its
    ``crop_frames`` and prepares them at its canonical resolution) and the false-alarm rates the
    thresholds are fitted for, on the real clips' out-of-fold scores over ``folds`` folds grouped
    by ``source_group``. Raises :class:`ConfigError` when the corpus cannot make a calibrated model.
    """
    chosen = check_groups(groups)
    corpus.validate()
    names = feature_names({clip.clip_id: tables[clip.clip_id] for clip in clips if clip.clip_id in tables}, chosen)
    if not names:
        raise ConfigError(f"no features of group(s) {', '.join(chosen)} in the tables (were they computed?)")
    # a clip with no measured feature of these groups (e.g. it failed to prepare) would train as the median clip
    used = sorted((clip for clip in clips if clip.clip_id in tables
                   and any(np.isfinite(tables[clip.clip_id].get(n, np.nan)) for n in names)),
                  key=lambda clip: clip.clip_id)
    labels = [clip.label for clip in used]
    if len(set(labels)) < 2:
        raise ConfigError(f"{len(used)} clip(s) with features, not both real and fake ones: nothing to fit")
    rows = [tables[clip.clip_id] for clip in used]
    model = fit_classifier(rows, labels, names, c=c)
    groups_of = [clip.source_group for clip in used]
    inner = out_of_fold_scores(rows, labels, groups_of, names, folds=folds, c=c)
    reals = [float(s) for s, y in zip(inner, labels) if y == 0 and np.isfinite(s)]
    if not reals:
        raise ConfigError(f"no real clip could be scored out of fold ({len(set(groups_of))} source group(s)): "
                          "calibration needs real and fake clips in at least two source groups")
    source = (f"{len(reals)} real clips of the training corpus, scored out of fold "
              f"({min(folds, len(set(groups_of)))} folds grouped by source_group)")
    model.calibration = calibrate(reals, source, fake_false_alarm_rate=corpus.false_alarm_rate,
                                  uncertain_false_alarm_rate=corpus.uncertain_rate).to_dict()
    scored = np.isfinite(inner)
    auc = roc_auc(np.asarray(labels)[scored], inner[scored]) if scored.any() else math.nan
    model.info = {
        "groups": chosen,
        "crop_frames": int(corpus.crop_frames),
        "prepare_frames": int(corpus.prepare_frames),
        "normalise": None if corpus.normalise() is None else corpus.normalise().to_dict(),
        "teacher": PHONETIC if any(n.split(".", 1)[0] == CONSISTENCY for n in names) else None,
        "training_data": training_summary(used),
        "out_of_fold": {"clips_scored": int(scored.sum()), "roc_auc": None if math.isnan(auc) else round(auc, 4),
                        "note": "grouped by source_group within the training corpus; not a held-out-family estimate"},
        "avcorr_version": avcorr.__version__,
        "command": command,
    }
    return model
