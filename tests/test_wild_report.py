"""The wild report: seeds pooled per clip, families against every real, rates at each fold's threshold."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from avcorr.bench.wild.report import ScoreRow, build_report, write_report

# clip: (label, family, fold, seed-0 score, seed-1 score). Fold A's thresholds: fake 0.5 (seed 0) and
# 0.6 (seed 1) → 0.55 pooled, uncertain 0.25; fold B's: fake 0.75, uncertain 0.35.
CLIPS = {
    "r1": (0, "real", "A", 0.1, 0.1), "r2": (0, "real", "A", 0.3, 0.3),
    "r3": (0, "real", "B", 0.3, 0.3), "r4": (0, "real", "B", 0.8, 0.8),
    "a1": (1, "famA", "A", 0.9, 0.9), "a2": (1, "famA", "A", 0.4, 0.8), "b1": (1, "famB", "B", 0.7, 0.7),
}
THRESHOLDS = {("A", 0): (0.5, 0.25), ("A", 1): (0.6, 0.25), ("B", 0): (0.75, 0.35), ("B", 1): (0.75, 0.35)}


def _rows(variant: str = "v", seeds: tuple[int, ...] = (0, 1)) -> list[ScoreRow]:
    rows = []
    for seed in seeds:
        for clip_id, (label, family, fold, *scores) in CLIPS.items():
            fake_t, unc_t = THRESHOLDS[(fold, seed)]
            rows.append(ScoreRow(variant=variant, seed=seed, fold=fold, clip_id=clip_id, label=label, family=family,
                                 source_group=f"g-{clip_id}", score=scores[seed], fake_threshold=fake_t,
                                 uncertain_threshold=unc_t))
    return rows


def test_pooled_blocks_by_hand() -> None:
    doc = build_report(_rows(), {"commit": "abc"}, n_boot=200)
    v = doc["variants"][0]
    assert v["variant"] == "v" and v["seeds"] == [0, 1] and doc["families"] == ["famA", "famB"]
    o = v["overall"]
    # Pooled: reals .1 .3 .3 .8; fakes a1 .9, a2 .6, b1 .7 → 10 of 12 pairs ranked right.
    assert (o["num_real"], o["num_fake"]) == (4, 3) and o["roc_auc"]["value"] == pytest.approx(10 / 12)
    # r4 ≥ 0.75 (fake), r2 in fold A's uncertain band; a1, a2 ≥ 0.55 called fake, b1 uncertain.
    assert (o["false_alarm_rate"], o["uncertain_share_real"]) == (0.25, 0.25)
    assert (o["fake_recall"], o["uncertain_share_fake"]) == (pytest.approx(2 / 3), pytest.approx(1 / 3))
    fam = {b["name"]: b for b in v["families"]}
    assert (fam["famA"]["num_real"], fam["famA"]["num_fake"]) == (4, 2)
    assert fam["famA"]["roc_auc"]["value"] == pytest.approx(7 / 8) and fam["famB"]["roc_auc"]["value"] == 0.75
    assert (fam["famA"]["fake_recall"], fam["famB"]["fake_recall"], fam["famB"]["uncertain_share_fake"]) == (1, 0, 1)
    assert fam["famA"]["false_alarm_rate"] == 0.25  # the same negatives for every family
    # Per seed, unpooled: seed 1 ties a2 with r4 (0.8) → 10.5 / 12.
    assert [s["roc_auc"] for s in v["per_seed"]] == [pytest.approx(10 / 12), pytest.approx(0.875)]
    assert v["per_seed"][0]["family_roc_auc"]["famA"] == pytest.approx(7 / 8)
    low, high = o["roc_auc"]["low"], o["roc_auc"]["high"]
    assert 0 <= low <= o["roc_auc"]["value"] <= high <= 1


def test_variants_nan_scores_and_files(tmp_path: Path) -> None:
    rows = _rows("v") + _rows("w", seeds=(0,))
    rows.append(ScoreRow("w", 1, "A", "a1", 1, "famA", "g", math.nan, 0.5, 0.25))
    header = {"config": {"n_boot": 100}, "seeds": [0, 1], "commit": "abc", "load": 1.5,
              "stage_seconds": {"features": 12.25, "runs": 3.0},
              "folds": [{"name": "A", "test_fakes": 2}, {"name": "B", "test_fakes": 1}]}
    doc = build_report(rows, header, n_boot=100)
    assert [v["variant"] for v in doc["variants"]] == ["v", "w"]
    assert doc["variants"][1]["num_nan_scores"] == 1 and doc["variants"][1]["seeds"] == [0]
    json_path, md_path = write_report(doc, tmp_path / "out")
    assert json.loads(json_path.read_text())["header"]["commit"] == "abc"
    md = md_path.read_text()
    assert "| variant | famA (2) | famB (1) | overall |" in md
    assert f"| v | {doc['variants'][0]['families'][0]['roc_auc']['value']:.3f} [" in md
    assert "- **commit**: abc" in md and "  - features: 12.25" in md and "| name | test_fakes |" in md
    assert "| 2 | 4 / 3 | 0.833 [" in md and "NaN scores dropped: w (1)." in md


def test_a_clip_scored_twice_in_one_seed_is_an_error() -> None:
    rows = _rows(seeds=(0,))
    with pytest.raises(ValueError, match="clip r1 scored twice"):
        build_report(rows + rows[:1], {}, n_boot=10)
