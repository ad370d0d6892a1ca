"""The detectors the wild benchmark compares, and how each is fitted and scored on one fold.

Five kinds: ``features`` (a calibrated linear classifier over named per-clip features: the
metadata shortcut baseline, the cue detectors, the fused score), ``zero-shot`` (the phonetic
teacher's consistency, mapped to a score by the training side's real clips only), ``student``
(the paper's network trained on the fold's training clips), ``reals-only`` (the dynamics cues and
the two-sided consistency, scored by how extreme a clip is among the training side's *real*
clips: :mod:`avcorr.cues.real_reference`) and ``pseudo`` (a trace network trained on the training
side's real clips and pseudo-fakes made from them: :mod:`avcorr.train.pseudo`). Every kind
returns the held-out clips' scores and a calibration fitted on training-side real clips only.

The ``reals-only`` and ``pseudo`` kinds never see a genuine fake, so every generator is unseen by
them; a ``pseudo`` network is trained once per (real share, seed) on the reals that are on the
training side of every fold of that share, and serves all of the share's folds.
"""
from __future__ import annotations

import csv
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from avcorr.bench.wild.folds import Fold
from avcorr.bench.wild.report import ScoreRow
from avcorr.config import load_experiment_config
from avcorr.cues.classifier import fit_classifier, out_of_fold_scores
from avcorr.cues.corpus import ANIMATION, BACKGROUND, CONSISTENCY, CONTAINER, DYNAMICS, TRACE, feature_names
from avcorr.cues.real_reference import CUES as REAL_CUES, fit_reference, reference_columns
from avcorr.data.cache_views import subset_view
from avcorr.data.catalog import CatalogClip
from avcorr.data.clip_cache import ClipCache, load_clip
from avcorr.data.dataset import list_clips
from avcorr.detect.zero_shot import ZeroShotCalibration
from avcorr.eval.calibration import Calibration, calibrate
from avcorr.eval.evaluate import load_run, score_clips
from avcorr.pseudo.registry import PSEUDO_TYPES
from avcorr.train.pseudo import PseudoTrainOptions, fit_pseudo_detector, score_clip



#: fewer out-of-group real scores than this and a feature variant calibrates on clip-level inner folds
MIN_CALIBRATION_REALS = 10


@dataclass(frozen=True)
class WildVariant:
    """One row of the comparison. ``groups``: the feature groups a ``features`` variant uses;
    ``lambda_cd``/``lambda_jm``: a ``student`` variant's loss weights."""

    name: str
    kind: str
    description: str
    groups: tuple[str, ...] = ()
    lambda_cd: float = 0.0
    lambda_jm: float = 0.0
    cues: tuple[str, ...] = ()
    pseudo_types: tuple[str, ...] = ()

    @property
    def trained_network(self) -> bool:
        return self.kind in ("student", "pseudo")


WILD_VARIANTS: dict[str, WildVariant] = {v.name: v for v in (
    WildVariant("shortcut", "features", "metadata-only baseline: resolution, fps, duration, bitrate, codec, audio "
                "rate, global sharpness and noise (logistic regression)", groups=(CONTAINER,)),
    WildVariant("zero-shot", "zero-shot", "phonetic teacher's content consistency, no training; score mapped by "
                "the training side's real clips"),
    WildVariant("detection-only", "student", "student detector, detection loss only (λ_cd = λ_jm = 0)"),
    WildVariant("full", "student", "student detector with the paper's losses (λ_cd = λ_jm = 1)",
                lambda_cd=1.0, lambda_jm=1.0),
    WildVariant("cues-trace", "features", "visual traces of generation (mouth texture, flicker, blending "
                "boundary, landmark jitter)", groups=(TRACE,)),
    WildVariant("cues-animation", "features", "still-image animation cues (head vs background motion, blinks, "
                "identity and texture drift)", groups=(ANIMATION, BACKGROUND)),
    WildVariant("cues", "features", "all visual cues (traces + animation)", groups=(TRACE, ANIMATION, BACKGROUND)),
    WildVariant("consistency", "features", "the zero-shot consistency alone, mapped by a classifier fitted on the "
                "training side (the form a shipped model takes)", groups=(CONSISTENCY,)),
    WildVariant("consistency-animation", "features", "the zero-shot consistency + still-image animation cues",
                groups=(CONSISTENCY, ANIMATION, BACKGROUND)),
    WildVariant("fused", "features", "all visual cues + the zero-shot consistency, fitted on the training side",
                groups=(TRACE, ANIMATION, BACKGROUND, CONSISTENCY)),
    WildVariant("cues-dynamics", "features", "the dynamics features, fitted as a classifier on the training side "
                "(genuine fakes of the other families included)", groups=(DYNAMICS,)),
    WildVariant("cues-trace-dynamics", "features", "visual traces + dynamics features, fitted on the training side",
                groups=(TRACE, DYNAMICS)),
)}


def _reals_only_variants() -> list[WildVariant]:
    """``dynamics`` (every reals-only cue), one ablation per cue (``dynamics-no-<cue>``), and the
    consistency alone, two-sided (``consistency-two-sided``)."""
    every = tuple(REAL_CUES)
    out = [WildVariant("dynamics", "reals-only", "still-image-animation dynamics + two-sided consistency, scored "
                       "against training-side reals only (no fake seen)", cues=every),
           WildVariant("consistency-two-sided", "reals-only", "the zero-shot consistency alone, two-sided against "
                       "training-side reals (over- or under-consistent)", cues=("consistency",))]
    out += [WildVariant(f"dynamics-no-{cue}", "reals-only", f"dynamics without the {cue} cue (ablation)",
                        cues=tuple(c for c in every if c != cue)) for cue in every]
    return out


def _pseudo_variants() -> list[WildVariant]:
    """``pseudo`` (trace net, every pseudo-fake type) and one ablation per type (``pseudo-no-<type>``)."""
    every = tuple(PSEUDO_TYPES)
    out = [WildVariant("pseudo", "pseudo", "trace network on face crops trained on training-side reals and "
                       "pseudo-fakes made from them (no genuine fake seen)", pseudo_types=every)]
    out += [WildVariant(f"pseudo-no-{kind}", "pseudo", f"pseudo without the {kind} pseudo-fakes (ablation)",
                        pseudo_types=tuple(k for k in every if k != kind)) for kind in every]
    out += [WildVariant(f"pseudo-only-{kind}", "pseudo", f"pseudo with the {kind} pseudo-fakes alone (ablation)",
                        pseudo_types=(kind,)) for kind in every]
    return out


for _variant in (*_reals_only_variants(), *_pseudo_variants()):
    WILD_VARIANTS[_variant.name] = _variant


def calibration_from_reals(real_scores: Sequence[float], false_alarm_rate: float, uncertain_rate: float,
                           source: str) -> Calibration:
    """Thresholds at the two false-alarm rates on training-side real clips (NaN scores left out)."""
    finite = [float(s) for s in real_scores if np.isfinite(s)]
    return calibrate(finite, source, fake_false_alarm_rate=false_alarm_rate, uncertain_false_alarm_rate=uncertain_rate)


def rows_for(variant: str, seed: int, fold: Fold, clips: Mapping[str, CatalogClip], scores: Mapping[str, float],
             calibration: Calibration) -> list[ScoreRow]:
    """The fold's held-out clips as score rows (clips without a score are left out)."""
    rows = []
    for clip_id in fold.test_ids:
        if clip_id not in scores or not np.isfinite(scores[clip_id]):
            continue
        clip = clips[clip_id]
        rows.append(ScoreRow(variant=variant, seed=seed, fold=fold.name, clip_id=clip_id, label=clip.label,
                             family=clip.family, source_group=clip.source_group, score=float(scores[clip_id]),
                             fake_threshold=calibration.fake_threshold,
                             uncertain_threshold=calibration.uncertain_threshold))
    return rows


def run_features(variant: WildVariant, fold: Fold, clips: Mapping[str, CatalogClip],
                 tables: Mapping[str, Mapping[str, float]], false_alarm_rate: float, uncertain_rate: float,
                 c: float = 0.1) -> tuple[dict[str, float], Calibration]:
    """Fit the variant's classifier on the fold's training clips; score its test clips.

    The threshold comes from training-side real clips scored by grouped inner folds (models that
    did not see the clip's source group), not from in-sample scores."""
    names = feature_names(tables, variant.groups)
    train = [i for i in fold.train_ids if i in tables]
    labels = [clips[i].label for i in train]
    rows = [tables[i] for i in train]
    model = fit_classifier(rows, labels, names, c=c)
    inner = out_of_fold_scores(rows, labels, [clips[i].source_group for i in train], names, c=c)
    reals = [s for s, y in zip(inner, labels) if y == 0 and np.isfinite(s)]
    how = "grouped inner folds"
    if len(reals) < MIN_CALIBRATION_REALS:
        # every training real comes from one source group: inner folds can only split its clips
        inner = out_of_fold_scores(rows, labels, train, names, c=c)
        reals = [s for s, y in zip(inner, labels) if y == 0 and np.isfinite(s)]
        how = "clip-level inner folds (the training reals share one source group)"
    calibration = calibration_from_reals(reals, false_alarm_rate, uncertain_rate,
                                         f"{len(reals)} training-side real clips, {how}")
    test = [i for i in fold.test_ids if i in tables]
    return dict(zip(test, model.score([tables[i] for i in test]).tolist())), calibration


def run_zero_shot(fold: Fold, clips: Mapping[str, CatalogClip], consistency: Mapping[str, float],
                  false_alarm_rate: float, uncertain_rate: float) -> tuple[dict[str, float], Calibration]:
    """Zero-shot scores from the training side's real clips only (their mean correlations are the
    reference); thresholds from those reals' leave-one-out scores."""
    reference = {i: consistency[i] for i in fold.train_ids
                 if clips[i].label == 0 and np.isfinite(consistency.get(i, np.nan))}
    mapping = ZeroShotCalibration(mean_correlations=list(reference.values()), clips=list(reference),
                                  source=f"{len(reference)} training-side real clips",
                                  fake_false_alarm_rate=false_alarm_rate, uncertain_false_alarm_rate=uncertain_rate)
    scores = {i: mapping.score(consistency[i]) for i in fold.test_ids if np.isfinite(consistency.get(i, np.nan))}
    return scores, mapping.calibration()


def run_student(variant: WildVariant, fold: Fold, seed: int, clips: Mapping[str, CatalogClip], cache_dir: Path,
                run_dir: Path, config_name: str, overrides: Sequence[str], epochs: int,
                false_alarm_rate: float, uncertain_rate: float) -> tuple[dict[str, float], Calibration]:
    """Train the student on the fold's training clips (resuming a cut run), score the held-out
    clips and the training reals; the threshold comes from the training reals (in-sample: the
    network has seen them, so its held-out false-alarm rate is what the report checks)."""
    from avcorr.train.fit import LAST_CHECKPOINT, fit  # lazy: lightning and matplotlib, for the trained variants only

    scores_path = run_dir / "scores.csv"
    if not scores_path.exists():
        model_dir = run_dir / "model"
        if not (model_dir / "model.safetensors").exists():
            prepared = {p.stem for p in ClipCache(cache_dir).clip_files()}  # a clip prepare failed on is left out
            view = subset_view(cache_dir, [i for i in fold.train_ids if i in prepared], run_dir / "train_cache")
            config = load_experiment_config(config_name, [
                *overrides, f"loss.lambda_cd={variant.lambda_cd}", f"loss.lambda_jm={variant.lambda_jm}",
                f"trainer.seed={seed}", f"trainer.max_epochs={epochs}", "data.val_fraction=0.0",
                "trainer.devices=1", "trainer.accelerator=cpu"])
            fit(config, view, model_dir, resume=(model_dir / LAST_CHECKPOINT).exists(), progress=False)
            shutil.rmtree(view)
            (model_dir / LAST_CHECKPOINT).unlink(missing_ok=True)
        wanted = list(fold.test_ids) + [i for i in fold.train_ids if clips[i].label == 0]
        write_scores(scores_path, score_student(model_dir, cache_dir, wanted))
    scores = read_scores(scores_path)
    reals = [scores[i] for i in fold.train_ids if clips[i].label == 0 and i in scores]
    calibration = calibration_from_reals(reals, false_alarm_rate, uncertain_rate,
                                         f"{len(reals)} training real clips (in-sample)")
    return {i: scores[i] for i in fold.test_ids if i in scores}, calibration


def score_student(model_dir: Path, cache_dir: Path, clip_ids: Sequence[str]) -> dict[str, float]:
    """The mean frame probability of fake of each clip, by the one long-clip scorer."""
    wanted = set(clip_ids)
    entries = [e for e in list_clips(ClipCache(cache_dir)) if e.clip_id in wanted]
    model, config = load_run(model_dir, device="cpu")
    scored, _ = score_clips(model, entries, config.model.visual.frame_size, config.data.max_clip_frames)
    return {c.clip_id: c.score for c in scored}


def write_scores(path: Path, scores: Mapping[str, float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["clip_id", "score"])
        writer.writerows([[k, f"{v:.6f}"] for k, v in scores.items()])


def read_scores(path: Path) -> dict[str, float]:
    with path.open(newline="") as handle:
        return {r["clip_id"]: float(r["score"]) for r in csv.DictReader(handle)}


def run_reals_only(variant: WildVariant, fold: Fold, clips: Mapping[str, CatalogClip],
                   tables: Mapping[str, Mapping[str, float]], false_alarm_rate: float,
                   uncertain_rate: float) -> tuple[dict[str, float], Calibration]:
    """Fit a :class:`~avcorr.cues.real_reference.RealReference` on the fold's training *reals*
    (no fake), score the test clips; thresholds on the reals' own scores, each computed against a
    reference without that clip's source group (cross-fitted by group)."""
    reals = [i for i in fold.train_ids if clips[i].label == 0 and i in tables]
    names = reference_columns(variant.cues)
    reference = fit_reference([tables[i] for i in reals], names, groups=[clips[i].source_group for i in reals])
    test = [i for i in fold.test_ids if i in tables]
    scores = dict(zip(test, reference.score([tables[i] for i in test]).tolist()))
    calibration = calibration_from_reals(reference.real_scores, false_alarm_rate, uncertain_rate,
                                         f"{len(reals)} training-side real clips, cross-fitted by source group")
    return scores, calibration


def pseudo_training_reals(folds: Sequence[Fold], share: str, clips: Mapping[str, CatalogClip],
                          prepared: set[str]) -> list[str]:
    """The real clips on the training side of *every* fold of ``share`` (so one network serves them all)."""
    sides = [set(f.train_ids) for f in folds if f.real_share == share]
    common = set.intersection(*sides) if sides else set()
    return sorted(i for i in common if clips[i].label == 0 and i in prepared)


def split_for_calibration(clip_ids: Sequence[str], clips: Mapping[str, CatalogClip],
                          every: int = 5) -> tuple[list[str], list[str]]:
    """(training, calibration) clips: every ``every``-th real source group (by CRC-32 of its name)
    is kept out of training, so the thresholds come from reals the network never saw."""
    groups = sorted({clips[i].source_group for i in clip_ids}, key=lambda g: zlib.crc32(g.encode()))
    held = {g for k, g in enumerate(groups) if k % every == every - 1}
    return ([i for i in clip_ids if clips[i].source_group not in held],
            [i for i in clip_ids if clips[i].source_group in held])


def run_pseudo(variant: WildVariant, fold: Fold, folds: Sequence[Fold], seed: int, clips: Mapping[str, CatalogClip],
               cache_dir: Path, run_root: Path, minutes: float, false_alarm_rate: float,
               uncertain_rate: float) -> tuple[dict[str, float], Calibration]:
    """The share's network (trained on first use, then reused; resumable), its scores of every
    prepared clip, and thresholds from the held-back training reals' scores."""
    cache = ClipCache(cache_dir)
    prepared = {p.stem for p in cache.clip_files()}
    run_dir = run_root / variant.name / f"seed{seed}" / fold.real_share
    scores_path = run_dir / "scores.csv"
    train_ids, calibration_ids = split_for_calibration(
        pseudo_training_reals(folds, fold.real_share, clips, prepared), clips)
    if not scores_path.exists():
        options = PseudoTrainOptions(types=variant.pseudo_types, minutes=minutes)
        model = fit_pseudo_detector([cache.path_for(i) for i in train_ids], options, seed)
        model.save(run_dir / "model")
        write_scores(scores_path, {i: score_clip(model, load_clip(cache.path_for(i)))
                                   for i in sorted(prepared) if i in clips})
    scores = read_scores(scores_path)
    reals = [scores[i] for i in calibration_ids if i in scores]
    calibration = calibration_from_reals(reals, false_alarm_rate, uncertain_rate,
                                         f"{len(reals)} training-side real clips held back from training")
    return {i: scores[i] for i in fold.test_ids if i in scores}, calibration
