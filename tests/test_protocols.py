"""The leave-one-family-out protocol: split invariants, folds, aggregation math, and one tiny
end-to-end pass (train, score, metrics) on the synthetic test cache."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from avcorr.bench.generalization.protocols import (
    VARIANTS,
    BenchClip,
    HoldOutSplit,
    RunResult,
    aggregate,
    assign_folds,
    check_split,
    families,
    fold_of,
    leave_one_out,
    mean_std,
    method_family,
    replicate_fold,
)

METHODS = ["audio-swap", "audio-swap-self", "tts-dub", "lip-rewrite", "lip-rewrite-self", "face-swap"]


def fake_manifest(num_sources: int = 12, folds: int = 3) -> list[BenchClip]:
    """Sources in folds; each source has a real clip and one fake per method. Audio donors of
    the swapped methods are another source of the same fold (as forge picks them)."""
    fold = assign_folds([f"p{i:02d}" for i in range(num_sources)], folds, seed=3)
    members: dict[int, list[str]] = {}
    for source, k in sorted(fold.items()):
        members.setdefault(k, []).append(source)
    clips = []
    for source, k in sorted(fold.items()):
        peers = members[k]
        donor = peers[(peers.index(source) + 1) % len(peers)]
        clips.append(BenchClip(f"{source}", 0, "real", source, source, k))
        for method in METHODS:
            audio = {"audio-swap": donor, "tts-dub": "tts:en-us+m3"}.get(method, source)
            clips.append(BenchClip(f"{source}__{method}", 1, method, source, audio, k))
    return clips


def test_method_families_merge_self_variants() -> None:
    assert method_family("lip-rewrite-self") == "lip-rewrite"
    assert method_family("real") == "real"
    assert families(["real", *METHODS]) == ["audio-swap", "tts-dub", "lip-rewrite", "face-swap"]
    assert fold_of("fold2") == 2
    with pytest.raises(ValueError):
        fold_of("train")


def test_folds_are_balanced_deterministic_and_stratified() -> None:
    sources = [f"s{i}" for i in range(10)] + [f"r{i}" for i in range(7)]
    strata = {s: s[0] for s in sources}
    folds = assign_folds(sources, 3, seed=0, strata=strata)
    assert folds == assign_folds(list(reversed(sources)), 3, seed=0, strata=strata)
    sizes = np.bincount(list(folds.values()), minlength=3)
    assert sizes.max() - sizes.min() <= 1
    for prefix, count in (("s", 10), ("r", 7)):
        per_fold = np.bincount([folds[s] for s in sources if s[0] == prefix], minlength=3)
        assert per_fold.sum() == count and per_fold.max() - per_fold.min() <= 2
    assert assign_folds(sources, 3, seed=1) != assign_folds(sources, 3, seed=0)


def test_every_family_is_held_out_once_per_seed_without_leakage() -> None:
    clips = fake_manifest()
    by_id = {c.clip_id: c for c in clips}
    fams = families(c.method for c in clips)
    for replicate in range(3):
        test_fold = replicate_fold(replicate, 3)
        splits = [leave_one_out(clips, held, test_fold) for held in fams]
        assert [s.held_out for s in splits] == fams
        for split in splits:
            train = [by_id[i] for i in split.train]
            test = [by_id[i] for i in split.test]
            # the held-out family (with its -self twin) never trains; it is all the test's fakes
            assert all(method_family(c.method) != split.held_out for c in train)
            assert {method_family(c.method) for c in test if c.label == 1} == {split.held_out}
            # test clips come from unseen sources only, and no recording crosses over
            assert {c.source_id for c in train}.isdisjoint({c.source_id for c in test})
            assert {c.audio_source_id for c in train if not c.audio_source_id.startswith("tts:")}.isdisjoint(
                {c.source_id for c in test})
            assert all(c.fold == test_fold for c in test) and all(c.fold != test_fold for c in train)
            # every test-fold fake of a trained family is in the diagnostic set, nothing else
            seen = {by_id[i].clip_id for i in split.seen_test}
            assert seen == {c.clip_id for c in clips if c.fold == test_fold and c.label == 1
                            and method_family(c.method) != split.held_out}
            # nothing is dropped: train + test + seen + other families of the training folds cover all
            unused = [c for c in clips if c.fold != test_fold and method_family(c.method) == split.held_out]
            assert len(split.train) + len(split.test) + len(split.seen_test) + len(unused) == len(clips)
    assert sorted({replicate_fold(r, 3) for r in range(3)}) == [0, 1, 2]


def test_check_split_catches_leaks() -> None:
    clips = fake_manifest()
    good = leave_one_out(clips, "lip-rewrite", 0)
    by_id = {c.clip_id: c for c in clips}
    test_fake = next(i for i in good.test if by_id[i].label == 1)
    with pytest.raises(ValueError, match="both sides"):
        check_split(HoldOutSplit("lip-rewrite", 0, good.train + [test_fake], good.test), clips)
    self_twin = next(c.clip_id for c in clips if c.method == "lip-rewrite-self" and c.fold != 0)
    with pytest.raises(ValueError, match="held-out family is in training"):
        check_split(HoldOutSplit("lip-rewrite", 0, good.train + [self_twin], good.test), clips)
    # a training fake whose audio donor is a test source leaks that recording
    test_source = by_id[good.test[0]].source_id
    leaky = BenchClip("leak", 1, "audio-swap", "p99", test_source, 1)
    with pytest.raises(ValueError, match="recordings in both"):
        check_split(HoldOutSplit("lip-rewrite", 0, good.train + ["leak"], good.test), clips + [leaky])
    other_fake = next(c.clip_id for c in clips if c.fold == 0 and c.method == "face-swap")
    with pytest.raises(ValueError, match="another family"):
        check_split(HoldOutSplit("lip-rewrite", 0, good.train, good.test + [other_fake]), clips)


def test_mean_std_is_the_sample_std_and_skips_nan() -> None:
    stat = mean_std([0.7, 0.8, 0.9, math.nan])
    assert stat.n == 3 and stat.mean == pytest.approx(0.8) and stat.std == pytest.approx(0.1)
    assert mean_std([0.5]).n == 1 and math.isnan(mean_std([0.5]).std)
    assert mean_std([]).n == 0 and mean_std([]).format() == "—"
    assert mean_std([0.7, 0.9]).format() == "0.800 ± 0.141"


def _result(variant: str, held: str, seed: int, auc: float) -> RunResult:
    return RunResult(variant, held, seed, seed % 3, roc_auc=auc, ap=auc - 0.1, eer=1 - auc, seen_roc_auc=0.9,
                     num_real=5, num_fake=5)


def test_aggregate_matches_hand_computed_values() -> None:
    aucs = {  # (variant, held, seed) → ROC-AUC
        ("full", "a", 0): 0.9, ("full", "a", 1): 0.7, ("full", "a", 2): 0.8,
        ("full", "b", 0): 0.6, ("full", "b", 1): 0.8, ("full", "b", 2): 0.7,
        ("detection-only", "a", 0): 0.8, ("detection-only", "a", 1): 0.6, ("detection-only", "a", 2): 0.7,
        ("detection-only", "b", 0): 0.5, ("detection-only", "b", 1): 0.9, ("detection-only", "b", 2): math.nan,
    }
    summary = aggregate([_result(v, h, s, auc) for (v, h, s), auc in aucs.items()])
    cell = summary.cells["full"]["a"]["roc_auc"]
    assert cell.mean == pytest.approx(0.8) and cell.std == pytest.approx(0.1) and cell.n == 3
    assert summary.cells["detection-only"]["b"]["roc_auc"].n == 2
    # per-seed means over families: full 0.75, 0.75, 0.75; detection-only 0.65, 0.75 (seed 2 lacks b)
    full = summary.means["full"]["roc_auc"]
    assert full.mean == pytest.approx(0.75) and full.std == pytest.approx(0.0) and full.n == 3
    det = summary.means["detection-only"]["roc_auc"]
    assert det.n == 2 and det.mean == pytest.approx(0.70) and det.std == pytest.approx(np.std([0.65, 0.75], ddof=1))
    # paired over the seeds both have: 0.75 − 0.65 = 0.10 and 0.75 − 0.75 = 0
    diff = summary.paired["roc_auc"]
    assert diff.n == 2 and diff.mean == pytest.approx(0.05) and diff.std == pytest.approx(np.std([0.1, 0.0], ddof=1))
    # EER = 1 − AUC here, so its mean mirrors
    assert summary.means["full"]["eer"].mean == pytest.approx(0.25)
    doc = summary.to_dict()
    assert doc["mean_over_held_out"]["full"]["roc_auc"]["n"] == 3
    assert RunResult.from_dict(_result("full", "a", 0, math.nan).to_dict()).roc_auc != 0.0


def test_variants_set_the_loss_weights() -> None:
    assert VARIANTS["full"].overrides() == ["loss.lambda_cd=1.0", "loss.lambda_jm=1.0"]
    assert (VARIANTS["detection-only"].lambda_cd, VARIANTS["detection-only"].lambda_jm) == (0.0, 0.0)
    assert (VARIANTS["distillation-only"].lambda_cd, VARIANTS["distillation-only"].lambda_jm) == (1.0, 0.0)
    assert not VARIANTS["zero-shot"].trained


def test_one_split_trains_and_scores_end_to_end(tmp_path: Path) -> None:
    """tiny.yaml, 2 epochs, on the synthetic test cache with its sources dealt into 2 folds:
    a training view holds exactly the split's clips, and the metrics cover the test clips."""
    import csv
    import json

    from avcorr.data.clip_cache import load_clip, save_clip
    from avcorr.bench.generalization import BenchSize, bench_clips, split_metrics, train_and_score
    from synthetic_cache import SyntheticCacheSpec, write_synthetic_cache

    cache = write_synthetic_cache(tmp_path / "cache", SyntheticCacheSpec(num_sources=6, min_frames=30, max_frames=40))
    folds = assign_folds(sorted({m.source_id for m in cache}), 2, seed=0)
    for path in cache.clip_files():  # the benchmark's caches carry foldK splits
        record = load_clip(path)
        record.meta.split = f"fold{folds[record.meta.source_id]}"
        save_clip(path, record)
    cache.rebuild_manifest()
    clips = bench_clips(cache.root)
    split = leave_one_out(clips, "audio-swap", 0)
    size = BenchSize("test", 0, 0, None, 32, "tiny", ["data.train_crop_frames=25"], epochs=2, methods=[], folds=2)
    run_dir = tmp_path / "run"
    scores = train_and_score(size, "full", 0, split, cache.root, run_dir, "cpu")
    assert set(scores) == set(split.test) | set(split.seen_test)
    assert not (run_dir / "train_cache").exists() and (run_dir / "model" / "model.safetensors").exists()
    trained_on = json.loads((run_dir / "model" / "split.json").read_text())["train"]
    assert sorted(trained_on) == sorted(split.train)
    result = split_metrics(split, clips, scores, "full", 0, 1.0)
    n_real = sum("-real" in i for i in split.test)  # the synthetic cache names its real clips sNN-realK
    assert result.num_real == n_real and result.num_fake == len(split.test) - n_real
    assert 0.0 <= result.roc_auc <= 1.0 and 0.0 <= result.eer <= 1.0 and 0.0 <= result.seen_roc_auc <= 1.0
    assert 0.0 <= result.correlation_roc_auc <= 1.0
    # a second call reads the scores back instead of training again
    again = train_and_score(size, "full", 0, split, cache.root, run_dir, "cpu")
    assert set(again) == set(scores)
    assert all(np.allclose(again[i], scores[i], atol=1e-6) for i in scores)
    assert all(0.0 <= s <= 1.0 and 0.0 <= c <= 1.0 for s, c in scores.values())
    with (run_dir / "scores.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == len(scores)


def test_a_face_donor_from_a_test_identity_is_a_leak() -> None:
    clips = fake_manifest()
    good = leave_one_out(clips, "lip-rewrite", 0)
    test_source = next(c.source_id for c in clips if c.clip_id in good.test)
    swapped = BenchClip("swap", 1, "face-swap", "p98", "p98", 1, donors=(test_source,))
    with pytest.raises(ValueError, match="recordings in both"):
        check_split(HoldOutSplit("lip-rewrite", 0, good.train + ["swap"], good.test), clips + [swapped])


def test_face_donors_are_read_from_the_forge_log(tmp_path: Path) -> None:
    import json

    from avcorr.data.manifest import ManifestRow, write_manifest
    from avcorr.bench.generalization import face_donors

    write_manifest(tmp_path / "manifest.csv", [
        ManifestRow("a1", "videos/a1.mp4", 0, source_id="alice"), ManifestRow("b1", "videos/b1.mp4", 0, source_id="bob"),
        ManifestRow("a1__face-swap", "videos/x.mp4", 1, method="face-swap", source_id="alice")])
    entries = [{"clip_id": "a1__face-swap", "face_donor": "b1"}, {"clip_id": "a1__audio-swap", "face_donor": None}]
    (tmp_path / "forgeries.jsonl").write_text("\n".join(json.dumps(e) for e in entries) + "\n")
    assert face_donors(tmp_path) == {"a1__face-swap": ("bob",)}
