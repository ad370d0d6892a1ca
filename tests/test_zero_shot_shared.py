"""Acceptance on the shared real clips: real vs the same videos with other speakers' audio.

The lip model scoring a clip is fitted on the other clips only (5 folds), so no clip is scored
by a model that saw it. Skips without ../shared/data.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.shared]


@pytest.fixture(scope="module")
def evaluation(shared_data: Path):
    from avcorr.media.face import FaceTracker
    from avcorr.teachers.phonetic.audio import PhoneRecognizer
    from avcorr.teachers.phonetic.crossval import analyse_clip, evaluate_swaps

    with open(shared_data / "catalog.csv", newline="") as handle:
        real = [shared_data / row["file"] for row in csv.DictReader(handle) if row["label"] == "real"]
    recognizer, tracker = PhoneRecognizer(), FaceTracker()
    clips = [analyse_clip(path, recognizer, tracker) for path in real]
    return evaluate_swaps(clips, folds=5, rounds=3, seed=0)


def test_soft_labels_are_higher_on_real_clips(evaluation) -> None:
    real, swapped = evaluation.real_soft_label, evaluation.swapped_soft_label
    assert real.mean() > swapped.mean() + 0.03, (real.mean(), swapped.mean())


def test_zero_shot_separates_real_from_swapped_audio(evaluation) -> None:
    assert len(evaluation.real_scores) >= 30 and len(evaluation.swapped_scores) == 3 * len(evaluation.real_scores)
    assert evaluation.roc_auc >= 0.90, evaluation.roc_auc
    assert np.median(evaluation.real_scores) < 0.5 < np.median(evaluation.swapped_scores)
