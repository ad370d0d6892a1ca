"""The wild report: pairs only inside one fold model, seeds pooled per (fold, clip), rates at each fold's threshold."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from avcorr.bench.wild.report import ScoreRow, beats, build_report, write_report

# Folds (family, real share): reals r1, r2 are share 1, r3, r4 share 2; every fake is in both folds of
# its family. Scores per fold: (seed 0, seed 1); only a2 in A|1 differs (0.2 / 0.8 → 0.5 pooled).
# Thresholds (fake, uncertain): A|1 fake 0.5 / 0.6 → 0.55, uncertain 0.25; A|2 (a model scoring high)
# 0.85, 0.7; B|* 0.75, 0.35.
SCORES = {
    "famA|reals-1": {"a1": (0.9, 0.9), "a2": (0.2, 0.8), "r1": (0.1, 0.1), "r2": (0.3, 0.3)},
    "famA|reals-2": {"a1": (0.95, 0.95), "a2": (0.8, 0.8), "r3": (0.75, 0.75), "r4": (0.9, 0.9)},
    "famB|reals-1": {"b1": (0.7, 0.7), "r1": (0.3, 0.3), "r2": (0.8, 0.8)},
    "famB|reals-2": {"b1": (0.5, 0.5), "r3": (0.5, 0.5), "r4": (0.2, 0.2)},
}
THRESHOLDS = {"famA|reals-1": ((0.5, 0.25), (0.6, 0.25)), "famA|reals-2": ((0.85, 0.7), (0.85, 0.7)),
              "famB|reals-1": ((0.75, 0.35), (0.75, 0.35)), "famB|reals-2": ((0.75, 0.35), (0.75, 0.35))}


def _rows(variant: str = "v", seeds: tuple[int, ...] = (0, 1), constant: float | None = None) -> list[ScoreRow]:
    rows = []
    for seed in seeds:
        for fold, clips in SCORES.items():
            fake_t, unc_t = THRESHOLDS[fold][seed]
            for clip_id, scores in clips.items():
                label = int(clip_id[0] != "r")
                rows.append(ScoreRow(variant=variant, seed=seed, fold=fold, clip_id=clip_id, label=label,
                                     family=f"fam{clip_id[0].upper()}" if label else "real", source_group=f"g-{clip_id}",
                                     score=scores[seed] if constant is None else constant, fake_threshold=fake_t,
                                     uncertain_threshold=unc_t))
    return rows


def test_pairs_stay_inside_a_fold_model() -> None:
    doc = build_report(_rows(), {"commit": "abc"}, n_boot=200)
    v = doc["variants"][0]
    assert v["variant"] == "v" and v["seeds"] == [0, 1] and doc["families"] == ["famA", "famB"]
    fam = {b["name"]: b for b in v["families"]}
    # famA: A|1 4 of 4 pairs right (a2 pooled 0.5 > 0.3); A|2 3 of 4 (a2 0.8 < r4 0.9) → 7/8.
    # famB: B|1 1 of 2; B|2 a tie and a win → 1.5 of 2 → 2.5/4. Overall 9.5/12.
    assert fam["famA"]["roc_auc"]["value"] == pytest.approx(7 / 8) and fam["famB"]["roc_auc"]["value"] == 0.625
    o = v["overall"]
    assert (o["num_real"], o["num_fake"], o["num_folds"], o["num_pairs"]) == (4, 3, 4, 12)
    assert o["roc_auc"]["value"] == pytest.approx(9.5 / 12)
    assert 0 <= o["roc_auc"]["low"] <= o["roc_auc"]["value"] <= o["roc_auc"]["high"] <= 1
    # Within-fold AP: A|1 1, A|2 (a1, r4, a2, r3) ½ + ½ · ⅔ = ⅚, B|1 ½, B|2 (b1 ties r3) ½; weights 4, 4, 2, 2.
    assert fam["famA"]["ap"] == pytest.approx(11 / 12) and fam["famB"]["ap"] == pytest.approx(0.5)
    assert o["ap"] == pytest.approx((4 + 4 * 5 / 6 + 1 + 1) / 12)
    # Reals at their fold's thresholds: r4 in A|2 and r2 in B|1 are false alarms (2 of 8 instances);
    # r2 in A|1, r3 in A|2 and r3 in B|2 are uncertain. Fakes: a1 twice called fake, the rest uncertain.
    assert (o["false_alarm_rate"], o["uncertain_share_real"]) == (0.25, 0.375)
    assert (o["fake_recall"], o["uncertain_share_fake"]) == (pytest.approx(1 / 3), pytest.approx(2 / 3))
    assert (fam["famA"]["fake_recall"], fam["famA"]["false_alarm_rate"]) == (0.5, 0.25)
    assert (fam["famB"]["fake_recall"], fam["famB"]["uncertain_share_fake"]) == (0, 1)
    shares = {s["share"]: s for s in v["shares"]}
    assert doc["shares"] == ["reals-1", "reals-2"]
    assert (shares["reals-1"]["false_alarms"], shares["reals-1"]["num_real_instances"]) == (1, 4)
    assert (shares["reals-2"]["false_alarm_rate"], shares["reals-2"]["uncertain_share_real"]) == (0.25, 0.5)
    # Per seed: seed 0 has a2 at 0.2 < r2 in A|1 → famA 6/8, overall 8.5/12; seed 1 → 9.5/12.
    assert [s["roc_auc"] for s in v["per_seed"]] == [pytest.approx(8.5 / 12), pytest.approx(9.5 / 12)]
    assert v["per_seed"][0]["family_roc_auc"]["famA"] == pytest.approx(6 / 8)


def test_paired_differences_against_the_baselines() -> None:
    rows = (_rows("shortcut", constant=0.5) + _rows("v") + _rows("detection-only", constant=0.5)
            + _rows("full"))
    doc = build_report(rows, {}, n_boot=200)
    pairs = [(c["variant"], c["baseline"]) for c in doc["comparisons"]]
    assert pairs == [("v", "shortcut"), ("detection-only", "shortcut"), ("full", "shortcut"),
                     ("full", "detection-only")]
    v = doc["comparisons"][0]
    fam = {b["name"]: b for b in v["families"]}
    # The shortcut ties every pair (½ each): the difference is the AUC − ½ over the same pairs.
    assert fam["famA"]["difference"]["value"] == pytest.approx(7 / 8 - 0.5) and fam["famA"]["num_pairs"] == 8
    assert v["overall"]["difference"]["value"] == pytest.approx(9.5 / 12 - 0.5)
    same = doc["comparisons"][1]["overall"]["difference"]
    assert (same["value"], same["low"], same["high"]) == (0, 0, 0) and beats(doc["comparisons"][1]) == []
    fake = {"families": [{"name": "famA", "difference": {"value": 0.3, "low": 0.1, "high": 0.5}},
                         {"name": "famB", "difference": {"value": 0.1, "low": -0.1, "high": 0.3}}],
            "overall": {"name": "overall", "difference": {"value": 0.2, "low": 0.0, "high": 0.4}}}
    assert beats(fake) == ["famA"]


def test_markdown_and_files(tmp_path: Path) -> None:
    rows = _rows("shortcut", constant=0.5) + _rows("v") + _rows("w", seeds=(0,))
    rows.append(ScoreRow("w", 1, "famA|reals-1", "a1", 1, "famA", "g", math.nan, 0.5, 0.25))
    header = {"config": {"n_boot": 100}, "commit": "abc", "stage_seconds": {"features": 12.25},
              "folds": [{"name": "famA|reals-1", "test_fakes": 2}, {"name": "famB|reals-1", "test_fakes": 1}]}
    doc = build_report(rows, header, n_boot=100)
    assert [v["variant"] for v in doc["variants"]] == ["shortcut", "v", "w"]
    w = doc["variants"][2]
    assert w["num_nan_scores"] == 1 and w["seeds"] == [0, 1] and len(w["per_seed"]) == 2
    json_path, md_path = write_report(doc, tmp_path / "out")
    assert json.loads(json_path.read_text())["header"]["commit"] == "abc"
    md = md_path.read_text()
    assert "| variant | famA (2) | famB (1) | overall |" in md
    assert f"| v | {doc['variants'][1]['families'][0]['roc_auc']['value']:.3f} [" in md
    assert "- **commit**: abc" in md and "  - features: 12.25" in md and "| famA\\|reals-1 | 2 |" in md
    assert "| v | 2 | 4 / 3 | 4 | 12 | 0.792 [" in md and "NaN scores dropped: w (1)." in md
    assert "| shortcut | 0.000 (0/4); 1.000 | 0.000 (0/4); 0.500 |" in md  # 0.5 < A|2's 0.7
    assert "| v − shortcut | +0.375 [" in md and "## Against the shortcut baseline" in md
    assert "- **v** beats shortcut on" in md and "weighted by fakes × reals" in md


def test_a_clip_scored_twice_in_one_fold_is_an_error() -> None:
    rows = _rows(seeds=(0,))
    with pytest.raises(ValueError, match="clip a1 scored twice in fold famA\\|reals-1"):
        build_report(rows + rows[:1], {}, n_boot=10)
