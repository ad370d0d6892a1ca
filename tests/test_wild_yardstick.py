"""What keeps the wild yardstick honest: no real source group dominates, false alarms per source
group, and the rule that picks the default detector."""
from __future__ import annotations

from pathlib import Path

import pytest

from avcorr.data.catalog import cap_real_groups
from avcorr.bench.wild.report import ScoreRow, build_report, choose_default
from avcorr.data.catalog import CatalogClip
from avcorr.errors import AvcorrError


def _clip(clip_id: str, label: int, group: str, notes: str = "", repo: str = "r", path_in_repo: str = "") -> CatalogClip:
    return CatalogClip(clip_id=clip_id, path=Path(f"{clip_id}.mp4"), label=label, generator="G" if label else "",
                       family="G" if label else "real", manipulation="lip-sync" if label else "none",
                       source_group=group, repo=repo, path_in_repo=path_in_repo or f"{clip_id}.mp4", notes=notes,
                       width=64, height=64, fps=25.0, duration_s=3.0, license="MIT")


def test_cap_keeps_at_most_n_reals_per_group_paired_reals_first_and_every_fake():
    grid = [_clip(f"grid{i}", 0, "GRID") for i in range(10)]
    paired_real = _clip("lsreal", 0, "LS", repo="org/ls", path_in_repo="assets/input.mp4")
    others = [_clip(f"ls{i}", 0, "LS", repo="org/ls") for i in range(5)]
    fake = _clip("lsfake", 1, "LS", repo="org/ls", notes="pairs with real assets/input.mp4")
    clips = [*grid, paired_real, *others, fake, _clip("solo", 0, "solo")]
    capped = cap_real_groups(clips, 3)
    ids = [c.clip_id for c in capped]
    assert sum(c.source_group == "GRID" for c in capped) == 3
    assert sum(c.source_group == "LS" and c.label == 0 for c in capped) == 3
    assert "lsreal" in ids and "lsfake" in ids and "solo" in ids
    assert ids == [c.clip_id for c in clips if c.clip_id in ids]  # catalog order kept
    assert cap_real_groups(list(reversed(clips)), 3) == list(reversed(capped))  # the choice does not depend on order
    assert cap_real_groups(clips, None) == clips
    with pytest.raises(AvcorrError):
        cap_real_groups(clips, 0)


def _row(variant: str, clip_id: str, label: int, group: str, score: float, threshold: float = 0.5) -> ScoreRow:
    return ScoreRow(variant=variant, seed=0, fold="G|reals-1", clip_id=clip_id, label=label, family="G" if label else "real",
                    source_group=group, score=score, fake_threshold=threshold, uncertain_threshold=threshold - 0.2)


def test_false_alarms_per_real_source_group_and_the_default_rule():
    rows = []
    # "sharp": perfect ranking, but calls both B reals fake (2 of 4 reals: 50% false alarms)
    rows += [_row("sharp", "f1", 1, "x", 0.9), _row("sharp", "f2", 1, "x", 0.95),
             _row("sharp", "a1", 0, "A", 0.1), _row("sharp", "a2", 0, "A", 0.2),
             _row("sharp", "b1", 0, "B", 0.6), _row("sharp", "b2", 0, "B", 0.7)]
    # "careful": no false alarm, AUC 0.875 (one real above one fake)
    rows += [_row("careful", "f1", 1, "x", 0.45), _row("careful", "f2", 1, "x", 0.3),
             _row("careful", "a1", 0, "A", 0.1), _row("careful", "a2", 0, "A", 0.2),
             _row("careful", "b1", 0, "B", 0.35), _row("careful", "b2", 0, "B", 0.25)]
    document = build_report(rows, {"command": "test"}, n_boot=200)
    by_variant = {v["variant"]: v for v in document["variants"]}
    groups = {g["source_group"]: g for g in by_variant["sharp"]["real_groups"]}
    assert groups["A"]["false_alarm_rate"] == 0.0 and groups["B"]["false_alarm_rate"] == 1.0
    assert groups["B"]["num_clips"] == 2
    assert by_variant["careful"]["overall"]["roc_auc"]["value"] == pytest.approx(7 / 8)
    choice = document["default_choice"]
    assert choice["chosen"] == "careful" and choice["ineligible"] == ["sharp"]
    # with a looser limit the better-ranking variant wins
    assert choose_default(document["variants"], max_false_alarm_rate=0.6)["chosen"] == "sharp"
