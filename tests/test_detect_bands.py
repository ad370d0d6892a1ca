"""Calibrated verdicts: the three bands in detect's JSON, CLI and report; a checkpoint's stored
calibration; the zero-shot mapping on reference reals and `avcorr calibrate zero-shot`."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from avcorr.config import load_experiment_config
from avcorr.detect.calibrate import (CalibrationFailure, checkpoint_calibration, fit_zero_shot_from_videos,
                                     reference_clips)
from avcorr.detect.model_detector import StudentDetector
from avcorr.detect.verdict import FAKE, NO_EVIDENCE, UNCERTAIN, OperatingPoint, VideoVerdict, report_json
from avcorr.detect.report import from_verdict, render_report
from avcorr.detect.zero_shot import ZeroShotCalibration, ZeroShotDetector
from avcorr.errors import CheckpointError, InputError
from avcorr.eval.calibration import Calibration, band
from avcorr.eval.scoring import ModelFrameScores
from avcorr.models.checkpoint import save_detector
from avcorr.models.detector import build_detector
from avcorr.teachers.zero_shot import zero_shot
from media_fixtures import StubTracker, index_frames, tone, write_media

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "src/avcorr/schemas/detect.schema.json").read_text())
UNCALIBRATED = "uncalibrated (no calibration in the checkpoint)"


def _validate(document: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(json.loads(json.dumps(document)), SCHEMA)


def _calibration(fake: float, uncertain: float, clips: int = 40, source: str = "training-side reals") -> Calibration:
    return Calibration(fake_threshold=fake, uncertain_threshold=uncertain, num_real_clips=clips, source=source)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    config = load_experiment_config("tiny")
    run = tmp_path_factory.mktemp("run")
    save_detector(run, build_detector(config.model).eval(), config)
    return run


def _with_calibration(run: Path, folder: Path, calibration: Calibration | None) -> Path:
    """A copy of ``run`` whose config.json carries ``calibration``, as training writes it."""
    shutil.copytree(run, folder)
    document = json.loads((folder / "config.json").read_text())
    if calibration is not None:
        document["calibration"] = calibration.to_dict()
    (folder / "config.json").write_text(json.dumps(document))
    return folder


def _frame_scores(score: float, num_frames: int = 50) -> ModelFrameScores:
    return ModelFrameScores(np.full(num_frames, score, np.float32), np.full(num_frames, 0.5, np.float32))


# ------------------------------------------------------------------------------ operating points


def test_operating_point_follows_the_calibration_rule():
    calibration = _calibration(0.6, 0.3)
    point = OperatingPoint.from_calibration(calibration)
    for score in np.linspace(0, 1, 101):
        assert point.band(score) == band(score, calibration)
    assert (point.band(0.6), point.band(0.5999), point.band(0.3), point.band(0.2999)) == (FAKE, UNCERTAIN, UNCERTAIN, NO_EVIDENCE)
    assert point.calibrated and point.false_alarm_rate == 0.05 and point.num_real_clips == 40
    user = OperatingPoint.user_threshold(0.7)
    assert {user.band(s) for s in np.linspace(0, 1, 101)} == {FAKE, NO_EVIDENCE}  # no uncertain band
    assert user.source == "user threshold" and not user.calibrated
    with pytest.raises(ValueError):
        point.band(float("nan"))


def test_checkpoint_calibration_gives_the_three_bands_in_the_json(tiny_run, tmp_path):
    run = _with_calibration(tiny_run, tmp_path / "calibrated", _calibration(0.6, 0.3))
    assert checkpoint_calibration(run) == _calibration(0.6, 0.3)
    assert checkpoint_calibration(run / "model.safetensors") == _calibration(0.6, 0.3)
    detector = StudentDetector(run)
    assert detector.warning is None and detector.threshold == 0.6
    verdicts = [detector.verdict_from_scores(f"{name}.mp4", _frame_scores(score), 25.0)
                for name, score in (("high", 0.7), ("middle", 0.45), ("low", 0.1))]
    verdicts.append(VideoVerdict.failed("broken.mp4", "model", "broken.mp4: no face"))
    document = report_json(verdicts)
    _validate(document)
    high, middle, low, broken = document["videos"]
    assert [v["band"] for v in (high, middle, low)] == [FAKE, UNCERTAIN, NO_EVIDENCE]
    assert all(v["verdict"] == v["band"] for v in (high, middle, low))
    assert middle["threshold"] == 0.6 and middle["uncertain_threshold"] == 0.3
    assert middle["false_alarm_rate"] == 0.05 and middle["calibration"] == "training-side reals"
    assert middle["calibration_clips"] == 40 and middle["score"] == pytest.approx(0.45)
    assert broken["band"] is None and broken["threshold"] is None and broken["calibration"] is None
    # --threshold wins over the stored calibration and disables the uncertain band
    user = StudentDetector(run, threshold=0.4).verdict_from_scores("middle.mp4", _frame_scores(0.45), 25.0).to_dict()
    assert (user["band"], user["threshold"], user["uncertain_threshold"], user["false_alarm_rate"], user["calibration"]) == \
        (FAKE, 0.4, None, None, "user threshold")


def test_a_checkpoint_without_calibration_is_uncalibrated_at_one_half(tiny_run, tmp_path):
    detector = StudentDetector(tiny_run)
    assert "no calibration" in detector.warning and "\n" not in detector.warning
    verdict = detector.verdict_from_scores("x.mp4", _frame_scores(0.45), 25.0).to_dict()
    assert (verdict["band"], verdict["threshold"], verdict["false_alarm_rate"], verdict["calibration"]) == \
        (NO_EVIDENCE, 0.5, None, UNCALIBRATED)
    bad = _with_calibration(tiny_run, tmp_path / "bad", None)
    document = json.loads((bad / "config.json").read_text())
    document["calibration"] = {"fake_threshold": 0.5}
    (bad / "config.json").write_text(json.dumps(document))
    with pytest.raises(CheckpointError, match="calibration lacks"):
        StudentDetector(bad)


def test_report_card_shows_the_band_and_its_calibration(tiny_run, tmp_path):
    run = _with_calibration(tiny_run, tmp_path / "calibrated", _calibration(0.6, 0.3))
    detector = StudentDetector(run)
    middle = from_verdict(detector.verdict_from_scores("middle.mp4", _frame_scores(0.45), 25.0))
    assert middle.verdict == UNCERTAIN and middle.uncertain_threshold == 0.3
    page = render_report([middle, from_verdict(detector.verdict_from_scores("low.mp4", _frame_scores(0.1), 25.0))])
    assert 'class="card uncertain"' in page and 'class="card real"' in page and "UNCERTAIN" in page
    assert "threshold 0.6, calibrated for 5% false alarms on 40 real clips (training-side reals)" in page
    assert "NO EVIDENCE OF MANIPULATION" in page
    uncalibrated = render_report([from_verdict(StudentDetector(tiny_run).verdict_from_scores("x.mp4", _frame_scores(0.7), 25.0))])
    assert f"threshold 0.5 ({UNCALIBRATED}; its false-alarm rate is unknown)" in uncalibrated


# ------------------------------------------------------------------------------ the CLI, end to end


def _detect_json(capsys, *args: str) -> tuple[dict, str]:
    from avcorr.cli.main import main

    code = main(["detect", "--json", *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    document = json.loads(captured.out)
    _validate(document)
    return document["videos"][0], captured.err


def test_cli_reports_the_band_a_checkpoint_calibration_puts_a_clip_in(tiny_run, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("avcorr.media.face.FaceTracker", StubTracker)
    video = write_media(tmp_path / "clip.mp4", index_frames(75, (64, 64)), tone(3.0))
    plain, err = _detect_json(capsys, "--checkpoint", str(tiny_run), str(video))
    assert "warning" in err and "no calibration" in err
    assert (plain["threshold"], plain["calibration"], plain["uncertain_threshold"]) == (0.5, UNCALIBRATED, None)
    score = plain["score"]
    assert plain["band"] == (FAKE if score >= 0.5 else NO_EVIDENCE)
    # Calibrations placed around the clip's (deterministic) score put it in each band in turn.
    for name, (fake, uncertain), expected in (("fake", (score - 0.02, score - 0.04), FAKE),
                                              ("uncertain", (score + 0.02, score - 0.02), UNCERTAIN),
                                              ("none", (score + 0.04, score + 0.02), NO_EVIDENCE)):
        run = _with_calibration(tiny_run, tmp_path / name, _calibration(fake, uncertain, 25, "reals of fold 1"))
        verdict, err = _detect_json(capsys, "--checkpoint", str(run), str(video))
        assert "warning" not in err
        assert verdict["score"] == pytest.approx(score, abs=1e-4)
        assert (verdict["band"], verdict["verdict"], verdict["threshold"], verdict["uncertain_threshold"]) == \
            (expected, expected, fake, uncertain)
        assert (verdict["false_alarm_rate"], verdict["calibration"], verdict["calibration_clips"]) == (0.05, "reals of fold 1", 25)
    verdict, _ = _detect_json(capsys, "--checkpoint", str(tmp_path / "uncertain"), "--threshold", "0.01", str(video))
    assert (verdict["band"], verdict["threshold"], verdict["calibration"]) == (FAKE, 0.01, "user threshold")


# ------------------------------------------------------------------------------ zero-shot mapping


def test_zero_shot_score_is_the_share_of_more_consistent_reals():
    calibration = ZeroShotCalibration([0.70, 0.50, 0.60, 0.65, 0.55], ["e", "a", "c", "d", "b"], "hand-made")
    assert calibration.mean_correlations == [0.50, 0.55, 0.60, 0.65, 0.70] and calibration.clips == list("abcde")
    assert calibration.score(0.62) == pytest.approx(0.4)  # 0.65 and 0.70 are more consistent
    assert calibration.score(0.60) == pytest.approx(0.4)  # strictly greater: ties do not count
    assert calibration.score(0.30) == 1.0 and calibration.score(0.90) == 0.0
    grid = np.linspace(0.2, 1.0, 161)
    scores = np.array([calibration.score(m) for m in grid])
    assert np.all(np.diff(scores) <= 0) and scores.min() >= 0 and scores.max() <= 1
    # own scores: the share of reals at least as consistent (itself counted), least consistent first
    np.testing.assert_allclose(calibration.reference_scores(), [1.0, 0.8, 0.6, 0.4, 0.2])


def test_zero_shot_thresholds_hold_their_false_alarm_rate():
    reals = np.linspace(0.50, 0.69, 20)
    calibration = ZeroShotCalibration(list(reals), [f"r{i}" for i in range(20)], "hand-made")
    thresholds = calibration.calibration()
    # 5% of 20 reals: 1 allowed at or above the fake threshold, 4 at or above the uncertain one
    assert thresholds.fake_threshold == np.nextafter(0.95, 1) and thresholds.uncertain_threshold == np.nextafter(0.80, 1)
    assert thresholds.num_real_clips == 20 and thresholds.source == "hand-made"
    point = OperatingPoint.from_calibration(thresholds)
    assert point.band(calibration.score(0.49)) == FAKE  # less consistent than every real
    assert point.band(calibration.score(0.505)) == UNCERTAIN  # only one real is less consistent
    assert point.band(calibration.score(0.525)) == UNCERTAIN  # three are
    assert point.band(calibration.score(0.535)) == NO_EVIDENCE  # four are
    # fresh reals from the reference distribution are called fake at about k / (N + 1) = 1/21
    rng = np.random.default_rng(0)
    rates = []
    for _ in range(300):
        reference = ZeroShotCalibration(list(rng.normal(size=20)), [str(i) for i in range(20)], "draw")
        fresh = np.array([reference.score(m) for m in rng.normal(size=40)])
        rates.append(np.mean(fresh >= reference.calibration().fake_threshold))
    assert np.mean(rates) == pytest.approx(1 / 21, abs=0.012)


def _posteriors(num_frames: int, seed: int, classes: int = 15) -> np.ndarray:
    rng = np.random.default_rng(seed)
    labels = np.repeat(rng.integers(0, classes, size=num_frames), 4)[:num_frames]
    p = np.full((num_frames, classes), 0.2 / (classes - 1))
    p[np.arange(num_frames), labels] = 0.8
    return p


def test_zero_shot_detector_uses_the_calibration(tmp_path, monkeypatch):
    visual = _posteriors(80, 0)
    audio = 0.5 * visual + 0.5 * _posteriors(80, 1)  # half consistent
    mean = zero_shot(audio, visual).mean_correlation
    names = [f"v{i}" for i in range(15)]
    below, above = [mean - 0.01 * (i + 1) for i in range(3)], [mean + 0.01 * (i + 1) for i in range(17)]
    calibration = ZeroShotCalibration(below + above, [f"real{i}" for i in range(20)], "hand-made reals")
    path = calibration.save(tmp_path / "zero_shot.json")
    assert ZeroShotCalibration.load(path) == calibration
    detector = ZeroShotDetector(teacher=object(), calibration=path)
    assert detector.warning is None and detector.options.max_offset == 5
    verdict = detector.verdict_from_posteriors("clip.mp4", audio, visual, 25.0, names)
    document = report_json([verdict])
    _validate(document)
    video = document["videos"][0]
    assert video["score"] == pytest.approx(17 / 20)  # 17 of the 20 reals are more consistent
    assert video["band"] == UNCERTAIN and video["calibration"] == "hand-made reals" and video["calibration_clips"] == 20
    assert video["details"]["reference_clips"] == 20
    assert "share of the 20 reference real clips" in from_verdict(verdict).score_meaning
    # the packaged file is the default; without it, zero-shot is uncalibrated and says so
    monkeypatch.setattr("avcorr.detect.zero_shot.PACKAGED_CALIBRATION", path)
    assert ZeroShotDetector(teacher=object()).calibration == calibration
    monkeypatch.setattr("avcorr.detect.zero_shot.PACKAGED_CALIBRATION", tmp_path / "absent.json")
    bare = ZeroShotDetector(teacher=object())
    assert bare.calibration is None and "uncalibrated" in bare.warning
    plain = bare.verdict_from_posteriors("clip.mp4", audio, visual, 25.0, names).to_dict()
    assert plain["score"] == pytest.approx(zero_shot(audio, visual).score, abs=1e-4)  # the teacher's prior
    assert plain["threshold"] == 0.5 and plain["calibration"] == "uncalibrated (no zero-shot calibration file)"
    user = ZeroShotDetector(teacher=object(), calibration=calibration, threshold=0.8)
    assert user.verdict_from_posteriors("clip.mp4", audio, visual, 25.0, names).to_dict()["band"] == FAKE
    from avcorr.teachers.zero_shot import ZeroShotOptions

    assert "max-offset" in ZeroShotDetector(teacher=object(), calibration=calibration,
                                            options=ZeroShotOptions(max_offset=2)).warning


def test_zero_shot_calibration_file_errors(tmp_path):
    (tmp_path / "other.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(InputError, match="other.json: not a zero-shot calibration"):
        ZeroShotCalibration.load(tmp_path / "other.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(InputError, match="not valid JSON"):
        ZeroShotCalibration.load(tmp_path / "broken.json")
    with pytest.raises(ValueError, match="at least two"):
        ZeroShotCalibration([0.5], ["a"], "one clip")


# ------------------------------------------------------------------------------ avcorr calibrate zero-shot


def test_calibrate_zero_shot_from_a_cache_round_trips(tmp_path, capsys):
    from avcorr.cli.main import main
    from avcorr.data.clip_cache import ClipMeta, ClipRecord, load_clip
    from synthetic_cache import SyntheticCacheSpec, write_synthetic_cache

    cache = write_synthetic_cache(tmp_path / "cache", SyntheticCacheSpec(num_sources=4, min_frames=30, max_frames=40))
    cache.write(ClipRecord(ClipMeta(clip_id="bare-real", label=0), {"frames": np.zeros((30, 8, 8), np.uint8)}))
    cache.rebuild_manifest()
    rows = cache.read_manifest()
    expected = {}
    for row in rows:
        if row["label"] == "0" and row["clip_id"] != "bare-real":
            arrays = load_clip(cache.root / row["file"]).arrays
            expected[row["clip_id"]] = zero_shot(arrays["audio_posteriors"], arrays["visual_posteriors"]).mean_correlation
    out = tmp_path / "zero_shot.json"
    code = main(["calibrate", "zero-shot", "--cache", str(cache.root), "--out", str(out), "--source", "synthetic reals",
                 "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["num_real_clips"] == len(expected) == 12 and summary["skipped_fakes"] == 12
    assert [f["clip"] for f in summary["failures"]] == ["bare-real"]
    assert "no teacher posteriors" in summary["failures"][0]["error"]
    assert "allows no false alarm" in captured.err  # 12 reals cannot hold a 5% rate
    loaded = ZeroShotCalibration.load(out)
    assert loaded.source == "synthetic reals" and loaded.teacher == "synthetic" and loaded.max_offset == 5
    assert loaded.window_frames is None and loaded.normalise is None  # clips never cut nor normalised
    assert summary["window_frames"] is None and summary["normalise"] is None
    assert dict(zip(loaded.clips, loaded.mean_correlations)) == pytest.approx(expected)
    stored = json.loads(out.read_text())
    assert Calibration.from_dict(stored["calibration"]) == loaded.calibration()
    assert stored["calibration"]["fake_threshold"] == summary["fake_threshold"]
    # the file drives detect: a cached clip's score is the share of the reference reals above it
    detector = ZeroShotDetector(teacher=object(), calibration=out)
    some_fake = next(r for r in rows if r["label"] == "1")
    arrays = load_clip(cache.root / some_fake["file"]).arrays
    verdict = detector.verdict_from_posteriors("fake.mp4", arrays["audio_posteriors"], arrays["visual_posteriors"], 25.0,
                                               [str(i) for i in range(5)])
    mean = zero_shot(arrays["audio_posteriors"], arrays["visual_posteriors"]).mean_correlation
    assert verdict.score == pytest.approx(np.mean(np.array(list(expected.values())) > mean))
    assert main(["calibrate", "zero-shot", "--out", str(out)]) == 2  # neither videos nor --cache
    assert "--cache" in capsys.readouterr().err


def test_calibrate_from_videos_lists_failures_and_goes_on(tmp_path, monkeypatch):
    from avcorr.teachers.base import TeacherOutput

    class Teacher:
        name = "stub"

        def posteriors(self, media, record):
            visual = _posteriors(record.num_frames, 3)
            return TeacherOutput(visual.astype(np.float32), visual.astype(np.float32), [f"v{i}" for i in range(15)])

    monkeypatch.setattr("avcorr.media.face.FaceTracker", StubTracker)
    folder = tmp_path / "reals"
    folder.mkdir()
    for i in range(2):
        write_media(folder / f"real{i}.mp4", index_frames(25, (64, 64)), tone(1.0, freq=200 + 50 * i))
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"clip_id,video_path,label\nm-real,{folder / 'real0.mp4'},0\nm-fake,{folder / 'real1.mp4'},1\n")
    clips, skipped = reference_clips([folder, tmp_path / "broken.mp4", manifest])
    assert [c.name for c in clips] == ["real0.mp4", "real1.mp4", "broken.mp4", "m-real"] and skipped == 1
    fit = fit_zero_shot_from_videos(clips, "two synthetic reals", teacher=Teacher(), progress=lambda items, _: items)
    assert fit.calibration.num_real_clips == 3 and fit.calibration.teacher == "stub"
    assert len(fit.failures) == 1 and isinstance(fit.failures[0], CalibrationFailure)
    assert fit.failures[0].name == "broken.mp4" and "\n" not in fit.failures[0].reason
    assert fit.calibration.window_frames is None and fit.calibration.normalise is None
    with pytest.raises(InputError, match="calibration needs at least 2"):
        fit_zero_shot_from_videos(clips[2:3], "broken only", teacher=Teacher())
    # windowed, as the benchmark measures a clip: each clip's centre window
    windowed = fit_zero_shot_from_videos(clips[:2], "centre windows", teacher=Teacher(), window_frames=10)
    visual = _posteriors(25, 3).astype(np.float32)
    assert windowed.calibration.window_frames == 10
    assert windowed.calibration.mean_correlations == pytest.approx([zero_shot(visual[7:17], visual[7:17]).mean_correlation] * 2)


def _cropped_cache(source, root: Path, length: int, normalise: dict | None, odd: dict | None = None) -> Path:
    """The real clips of ``source`` cut to their centre ``length`` frames (as bench wild cuts them),
    with ``normalise`` in their meta; ``odd``: clip index → (length, normalise) for one that differs."""
    from avcorr.data.cache_views import crop_record
    from avcorr.data.clip_cache import ClipCache, load_clip

    target = ClipCache(root)
    reals = [r for r in source.read_manifest() if r["label"] == "0"]
    for i, row in enumerate(reals):
        cut, norm = (odd or {}).get(i, (length, normalise))
        record = crop_record(load_clip(source.root / row["file"]), cut)
        if norm is not None:
            record.meta.extra["normalise"] = dict(norm, scale=0.5, measured_face_px=190.0)
        target.write(record)
    target.rebuild_manifest()
    return target.root


def test_calibration_from_a_cache_records_its_window_and_normalisation(tmp_path):
    from avcorr.data.clip_cache import ClipCache, load_clip, load_meta
    from avcorr.detect.calibrate import fit_zero_shot_from_cache
    from avcorr.media.normalise import NormaliseOptions
    from synthetic_cache import SyntheticCacheSpec, write_synthetic_cache

    source = write_synthetic_cache(tmp_path / "full", SyntheticCacheSpec(num_sources=4, min_frames=30, max_frames=40))
    lengths = sorted({load_meta(source.root / row["file"]).num_frames for row in source.read_manifest()})
    assert lengths[0] < 33 < lengths[-1]  # some clips are shorter than the cut: they stay whole, one window
    norm = {"face_px": 96, "jpeg_quality": 75, "blur_sigma": 0.0}
    fit = fit_zero_shot_from_cache(_cropped_cache(source, tmp_path / "cut", 33, norm), "cut reals")
    assert fit.calibration.window_frames == 33 and fit.calibration.num_real_clips == 12
    assert fit.calibration.normalise == NormaliseOptions(face_px=96, jpeg_quality=75)
    plain = fit_zero_shot_from_cache(source.root, "whole reals")  # never cut, never normalised
    assert plain.calibration.window_frames is None and plain.calibration.normalise is None
    with pytest.raises(InputError, match="different lengths \\(33 and 25 frames"):
        fit_zero_shot_from_cache(_cropped_cache(source, tmp_path / "mixed", 33, norm, {2: (25, norm)}), "mixed")
    other = dict(norm, face_px=64)
    with pytest.raises(InputError, match="different resolutions"):
        fit_zero_shot_from_cache(_cropped_cache(source, tmp_path / "res", 33, norm, {0: (33, other)}), "mixed")
    with pytest.raises(InputError, match="different resolutions"):
        fit_zero_shot_from_cache(_cropped_cache(source, tmp_path / "half", 33, norm, {0: (33, None)}), "mixed")
    mixed = ClipCache(_cropped_cache(source, tmp_path / "uncut", 33, None))
    whole = next(r for r in source.read_manifest() if r["label"] == "0")
    record = load_clip(source.root / whole["file"])
    record.meta.clip_id += "-whole"
    mixed.write(record)
    mixed.rebuild_manifest()
    with pytest.raises(InputError, match="12 clips are cut to a fixed length and 1 are not"):
        fit_zero_shot_from_cache(mixed.root, "mixed")
