"""Source-disjoint splits."""
from __future__ import annotations

from avcorr.data.manifest import ManifestRow
from avcorr.data.splits import assign_splits


def _rows() -> list[ManifestRow]:
    rows = []
    for s in range(10):
        rows.append(ManifestRow(clip_id=f"real{s}", video_path=f"{s}.mp4", label=0, source_id=f"src{s}"))
        rows.append(ManifestRow(clip_id=f"fake{s}", video_path=f"f{s}.mp4", label=1, method="audio-swap", source_id=f"src{s}"))
    return rows


def test_sources_never_cross_splits_and_fractions_hold() -> None:
    rows = assign_splits(_rows(), test_fraction=0.3, val_fraction=0.1, seed=3)
    by_source: dict[str, set[str]] = {}
    for r in rows:
        by_source.setdefault(r.source_id, set()).add(r.split)
    assert all(len(splits) == 1 for splits in by_source.values())
    counts = {s: sum(1 for v in by_source.values() if s in v) for s in ("train", "val", "test")}
    assert counts == {"train": 6, "val": 1, "test": 3}


def test_deterministic_and_existing_splits_kept() -> None:
    assert [r.split for r in assign_splits(_rows(), seed=1)] == [r.split for r in assign_splits(_rows(), seed=1)]
    assert [r.split for r in assign_splits(_rows(), seed=1)] != [r.split for r in assign_splits(_rows(), seed=2)]
    rows = _rows()
    rows[0].split = "val"
    assert assign_splits(rows, seed=1)[0].split == "val"


def test_two_groups_still_get_a_test_group() -> None:
    rows = _rows()[:4]
    assert sorted({r.split for r in assign_splits(rows, test_fraction=0.2)}) == ["test", "train"]
