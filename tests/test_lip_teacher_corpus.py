"""Fitting the lip viseme model on a prepared cache's real clips, and its grouped cross-validation."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from avcorr.data.clip_cache import ClipCache, ClipMeta, ClipRecord
from avcorr.errors import InputError
from avcorr.teachers.phonetic.audio import mix_uniform
from avcorr.eval.lip_corpus import METRICS, _weighted_auc, evaluate_on_corpus, swap_pairs_by_group
from avcorr.teachers.phonetic.corpus import LipFitOptions, default_variants, fit_corpus_model, load_real_clips
from avcorr.teachers.phonetic.visual_model import LipVisemeModel
from avcorr.teachers.visemes import VISEME_INDEX, VISEMES

UPPER_LIP = [13, 0, 82, 312, 37, 267, 81, 311, 80, 310]
LOWER_LIP = [14, 17, 87, 317, 84, 314, 178, 402, 88, 318, 181, 405]
CORNERS = {61: 1.0, 78: 1.0, 291: -1.0, 308: -1.0}
# viseme → (mouth opening, lip narrowing): what the synthetic mouths show
SHAPES = {"sil": (0.0, 0.0), "aa": (1.0, 0.0), "ou": (0.4, 1.0), "PP": (-0.3, 0.0)}


def _clip(rng: np.random.Generator, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """A face mesh whose lower lip and corners follow a random viseme sequence (mostly silence, as
    in speech): (landmarks, labels)."""
    names = list(SHAPES)
    labels = np.repeat(rng.choice(len(names), size=num_frames // 6 + 1, p=[0.5, 0.2, 0.15, 0.15]), 6)[:num_frames]
    base = rng.uniform(20, 80, size=(478, 3))
    base[33], base[263] = (30, 40, 0), (70, 40, 0)
    base[UPPER_LIP, 1] = 70.0 + rng.uniform(-0.5, 0.5, len(UPPER_LIP))
    base[LOWER_LIP, 1] = 75.0 + rng.uniform(-0.5, 0.5, len(LOWER_LIP))
    base[list(CORNERS), 0] = [40.0, 42.0, 60.0, 58.0]
    landmarks = np.repeat(base[None], num_frames, axis=0) + rng.normal(0, 0.05, size=(num_frames, 478, 3))
    for t, k in enumerate(labels):
        opening, narrowing = SHAPES[names[k]]
        landmarks[t, LOWER_LIP, 1] += 6.0 * opening
        for index, side in CORNERS.items():
            landmarks[t, index, 0] += side * 3.0 * narrowing
    return landmarks.astype(np.float32), np.array([VISEME_INDEX[names[k]] for k in labels])


def _write_cache(root: Path, groups: int = 3, per_group: int = 3, num_frames: int = 60) -> ClipCache:
    rng = np.random.default_rng(0)
    cache = ClipCache(root)
    for g in range(groups):
        for k in range(per_group + 1):
            landmarks, labels = _clip(rng, num_frames)
            onehot = np.eye(len(VISEMES), dtype=np.float32)[labels]
            label = int(k == per_group)  # one fake per group: must be left out
            meta = ClipMeta(clip_id=f"g{g}_c{k}", label=label, source_id=f"group{g}", num_frames=num_frames,
                            video_path=f"/videos/g{g}_c{k}.mp4", teacher="phonetic", vocabulary=list(VISEMES),
                            extra={"teacher_info": {"audio_mode": "aligned" if g == 0 else "phone_loop"}})
            cache.write(ClipRecord(meta, {"landmarks": landmarks, "audio_posteriors": mix_uniform(onehot, 0.02),
                                          "visual_posteriors": mix_uniform(onehot, 0.02)}))
    return cache


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lip_corpus")
    _write_cache(root)
    return root


def test_real_clips_are_read_with_labels_and_groups(cache_dir: Path) -> None:
    clips = load_real_clips(cache_dir)
    assert len(clips) == 9 and all(c.clip_id.split("_")[1] != "c3" for c in clips)
    assert sorted({c.group for c in clips}) == ["group0", "group1", "group2"]
    assert sum(c.label_mode == "aligned" for c in clips) == 3
    assert clips[0].labels.shape == (60,) and clips[0].video_name == "g0_c0.mp4"


def test_a_cache_without_real_clips_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no prepared clips"):
        load_real_clips(tmp_path)


def test_grouped_cross_validation_table(cache_dir: Path) -> None:
    clips = load_real_clips(cache_dir)
    evaluation = evaluate_on_corpus(clips, default_variants(LipFitOptions(regularization=1.0)), n_boot=40)
    names = {r.model for r in evaluation.rows}
    assert names == {"majority", "shipped", "corpus", "corpus_balanced", "corpus_silence_third"}
    for row in evaluation.rows:
        assert row.clips == 9 and row.groups == 3 and row.frames == 540
        for metric in METRICS:
            value = getattr(row, metric)
            if value is not None:
                assert 0.0 <= value.low <= value.high <= 1.0 and 0.0 <= value.value <= 1.0
        assert set(row.agreement_by_group) == {"group0", "group1", "group2"}
    majority, corpus = evaluation.row("majority"), evaluation.row("corpus")
    assert majority.zero_shot_auc is None and majority.speech_agreement.value == 0.0
    assert majority.macro_recall.value == pytest.approx(1 / 4)  # one of the four visemes, all recalled
    # the mouths show their visemes, so a model fitted on other groups reads them
    assert corpus.agreement.value > majority.agreement.value + 0.3
    assert corpus.zero_shot_auc is not None and corpus.zero_shot_auc.value > 0.8
    assert {"corpus - shipped", "corpus - majority"} <= set(evaluation.differences)
    diff = evaluation.differences["corpus - majority"]["agreement"]
    assert diff.value == pytest.approx(corpus.agreement.value - majority.agreement.value)
    assert evaluation.unseen_rows and evaluation.swap_pairs == {"zero_shot_auc": 27, "zero_shot_auc_same_group": 18}
    json.dumps(evaluation.to_dict())  # plain JSON
    by_group = evaluate_on_corpus(clips, {"corpus": LipFitOptions()}, n_boot=20, resample="group")
    assert by_group.resample == "group" and 0.0 <= by_group.row("corpus").agreement.low <= 1.0


def test_corpus_model_round_trips_without_pickle(cache_dir: Path, tmp_path: Path) -> None:
    clips = load_real_clips(cache_dir)
    model = fit_corpus_model(clips, LipFitOptions(class_weight="balanced"), provenance={"note": "test"})
    path = model.save(tmp_path / "lips.npz")
    with np.load(path, allow_pickle=False) as data:
        assert data["weight"].dtype == np.float32
    loaded = LipVisemeModel.load(path)
    np.testing.assert_array_equal(loaded.weight, model.weight.astype(np.float32))
    assert loaded.provenance["class_weight"] == "balanced" and loaded.provenance["note"] == "test"
    assert loaded.provenance["label_modes"] == {"aligned": 3, "phone_loop": 6}
    np.testing.assert_allclose(loaded.predict_proba(clips[0].landmarks), model.predict_proba(clips[0].landmarks), atol=1e-5)
    fewer = fit_corpus_model(clips, LipFitOptions(silence_keep=0.25))
    silence = sum(int((c.labels == VISEME_INDEX["sil"]).sum()) for c in clips)
    assert model.provenance["frames"] == 540 and fewer.provenance["frames"] < 540 - silence // 2


def test_swap_pairs_and_weighted_auc() -> None:
    groups = ["a", "a", "b", "c"]
    across = swap_pairs_by_group(groups, same_group=False, rounds=2)
    assert len(across) == 8 and all(groups[v] != groups[a] for v, a in across)
    assert swap_pairs_by_group(groups, same_group=True, rounds=2) == [(0, 1), (1, 0)]
    # reals 0.9, 0.5; swapped 0.5, 0.1: pairs won 1 + 1 + 0.5 (tie) + 1 of 4
    real, swapped = np.array([0.9, 0.5]), np.array([0.5, 0.1])
    assert _weighted_auc(real, swapped, np.ones((1, 2)), np.ones((1, 2)))[0] == pytest.approx(3.5 / 4)
    # weight 2 on the first real: 2·2 + 1.5 of 2·3 pairs
    assert _weighted_auc(real, swapped, np.array([[2.0, 1.0]]), np.ones((1, 2)))[0] == pytest.approx(5.5 / 6)


def test_cli_fits_and_prints_json(cache_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from avcorr.cli.main import main

    out = tmp_path / "lips.npz"
    code = main(["teacher", "fit-lips-corpus", str(cache_dir), "--out", str(out), "--json", "--boot", "20", "--no-variants"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and out.is_file()
    assert {r["model"] for r in report["cross_validation"]["rows"]} == {"majority", "shipped", "corpus"}
    assert len(report["provenance"]["clip_names"]) == 9
    assert LipVisemeModel.load(out).provenance["command"].startswith("avcorr teacher fit-lips-corpus")
