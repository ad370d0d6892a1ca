"""The metric table against values worked out by hand."""
from __future__ import annotations

import math

import pytest

from avcorr.eval.metrics import detection_metrics, equal_error_rate, metric_table

LABELS = [0, 0, 0, 1, 1, 1]
SCORES = [0.1, 0.4, 0.6, 0.35, 0.8, 0.9]


def test_hand_computed_example() -> None:
    m = detection_metrics(LABELS, SCORES, threshold=0.5)
    # predictions 0 0 1 0 1 1 → TP 2 (0.8, 0.9), FP 1 (0.6), TN 2, FN 1 (0.35)
    assert (m.tp, m.fp, m.tn, m.fn) == (2, 1, 2, 1)
    assert m.acc == pytest.approx(4 / 6)
    assert m.f1 == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert m.real_recall == pytest.approx(2 / 3) and m.fake_recall == pytest.approx(2 / 3)
    assert m.balanced_acc == pytest.approx(2 / 3) and m.hter == pytest.approx(1 / 3)
    assert m.roc_auc == pytest.approx(7 / 9)  # fake>real in 1 + 3 + 3 of 9 pairs
    assert m.ap == pytest.approx(1 / 3 + 1 / 3 + (1 / 3) * (3 / 5))  # precision 1, 1, 3/5 at each recall step
    assert m.eer == pytest.approx(1 / 3)
    assert m.notes == []


def test_threshold_is_inclusive_and_moves_counts() -> None:
    m = detection_metrics(LABELS, SCORES, threshold=0.35)
    assert (m.tp, m.fp, m.tn, m.fn) == (3, 2, 1, 0)
    assert m.fake_recall == 1.0 and m.real_recall == pytest.approx(1 / 3)


def test_eer_interpolates_between_roc_points() -> None:
    # ROC (fpr, fnr): (0,1) (0,.5) (1/3,.5) (1/3,0) ...: the curves meet inside a segment at 1/3.
    assert equal_error_rate([0, 0, 0, 1, 1], [0.1, 0.5, 0.7, 0.6, 0.9]) == pytest.approx(1 / 3)
    assert equal_error_rate([0, 1], [0.2, 0.8]) == 0.0
    assert equal_error_rate([0, 1], [0.8, 0.2]) == 1.0


def test_perfect_and_inverted_scores() -> None:
    perfect = detection_metrics([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert perfect.acc == 1.0 and perfect.roc_auc == 1.0 and perfect.ap == 1.0 and perfect.eer == 0.0
    assert perfect.hter == 0.0
    inverted = detection_metrics([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1])
    assert inverted.acc == 0.0 and inverted.roc_auc == 0.0 and inverted.eer == 1.0


def test_missing_class_gives_nan_and_a_note() -> None:
    m = detection_metrics([0, 0, 0], [0.2, 0.7, 0.1])
    assert m.acc == pytest.approx(2 / 3) and m.real_recall == pytest.approx(2 / 3)
    assert m.f1 == 0.0  # one real clip called fake: precision 0
    for name in ("fake_recall", "balanced_acc", "hter", "roc_auc", "ap", "eer"):
        assert math.isnan(getattr(m, name)), name
    assert m.notes and "no fake clips" in m.notes[0]
    assert m.to_dict()["roc_auc"] is None
    only_fake = detection_metrics([1, 1], [0.7, 0.2])
    assert only_fake.fake_recall == 0.5 and math.isnan(only_fake.real_recall) and "no real clips" in only_fake.notes[0]


def test_per_method_rows_pit_each_method_against_all_real_clips() -> None:
    table = metric_table([0, 0, 1, 1, 1], [0.1, 0.6, 0.9, 0.2, 0.7], ["real", "real", "b-method", "a-method", "a-method"])
    assert [row.name for row in table.rows] == ["overall", "real vs a-method", "real vs b-method"]
    a, b = table.per_method
    assert (a.num_real, a.num_fake, b.num_real, b.num_fake) == (2, 2, 2, 1)
    assert a.roc_auc == pytest.approx(3 / 4)  # 0.7 beats both real scores, 0.2 beats 0.1 only
    assert b.roc_auc == 1.0 and b.tp == 1 and b.fp == 1
    assert table.overall.num_clips == 5
    assert set(table.to_dict()) == {"overall", "per_method"}
