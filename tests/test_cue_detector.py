"""Cue mode: fit-detector on a tiny synthetic corpus → safetensors folder → detect (windows, bands,
contributions), bundled models (listed, not the default), and the per-frame background-motion series."""
from __future__ import annotations

import csv
import json
import math
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from avcorr.cli.main import main
from avcorr.cues import animation
from avcorr.cues.classifier import FeatureClassifier
from avcorr.cues.corpus import CONTAINER, clip_features
from avcorr.data.cache_views import crop_record
from avcorr.data.windows import Windowing, centre_window
from avcorr.data.catalog import read_catalog
from avcorr.data.clip_cache import ClipCache, ClipMeta, ClipRecord, load_clip
from avcorr.detect import bundled
from avcorr.detect.cue_detector import CueDetector, window_features
from avcorr.detect.zero_shot import ZeroShotCalibration
from avcorr.errors import ConfigError
from avcorr.forge.synth import SynthOptions, synthesize_dataset
from avcorr.train.cue_model import fit_cue_detector

SCHEMA = Path(__file__).resolve().parents[1] / "src" / "avcorr" / "schemas" / "detect.schema.json"
CROP, PREPARE = 40, 50
COLUMNS = ["file", "label", "generator", "manipulation", "repo", "source_group", "license"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Four synthetic clips, labels assigned arbitrarily: two source groups of one real + one fake."""
    folder = tmp_path_factory.mktemp("corpus")
    result = synthesize_dataset(folder, SynthOptions(clips=4, seed=3, size=128, identities=4))
    assert not result.failures
    with (folder / "catalog.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for i, clip in enumerate(result.clips):
            fake = i % 2 == 1
            writer.writerow({"file": clip.video_path.name, "label": "fake" if fake else "real",
                             "generator": "SynthGen-HQ" if fake else "", "manipulation": "lip-sync" if fake else "",
                             "repo": f"example/repo{i // 2}", "source_group": f"group{i // 2}",
                             "license": "CC0-1.0" if i < 2 else "MIT"})
    return folder


@pytest.fixture(scope="module")
def fitted(corpus: Path, tmp_path_factory) -> tuple[Path, Path]:
    """(model folder, work folder) from `avcorr fit-detector`."""
    root = tmp_path_factory.mktemp("fit")
    code = main(["fit-detector", str(corpus), "--out", str(root / "model"), "--work", str(root / "work"),
                 "--workers", "1", "--crop-frames", str(CROP), "--prepare-frames", str(PREPARE), "--json"])
    assert code == 0
    return root / "model", root / "work"


@pytest.fixture(scope="module")
def video(corpus: Path) -> Path:
    return sorted(corpus.glob("synth_*.mp4"))[0]


@pytest.fixture(scope="module")
def verdicts(fitted, video):
    detector = CueDetector(fitted[0], evidence_frames=2)
    try:
        return detector.detect(video), detector.detect(video)
    finally:
        detector.close()


def _same(a: dict[str, float], b: dict[str, float]) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        assert (math.isnan(a[name]) and math.isnan(b[name])) or a[name] == b[name], name


# ------------------------------------------------------------------------------------ fitting


def test_fit_writes_only_safetensors_and_a_calibrated_config(fitted, monkeypatch):
    model_dir, _ = fitted
    assert sorted(p.name for p in model_dir.iterdir()) == ["config.json", "model.safetensors"]
    config = json.loads((model_dir / "config.json").read_text())
    assert config["kind"] == "feature_logistic"
    assert not any(n.startswith(f"{CONTAINER}.") for n in config["feature_names"])
    assert {n.split(".")[0] for n in config["feature_names"]} == {"trace", "anim", "bg", "zs"}
    calibration = config["calibration"]
    assert calibration["fake_false_alarm_rate"] == 0.05 and calibration["uncertain_false_alarm_rate"] == 0.2
    assert calibration["num_real_clips"] == 2 and 0 <= calibration["fake_threshold"] <= 1
    assert calibration["uncertain_threshold"] <= calibration["fake_threshold"]
    info = config["info"]
    assert info["groups"] == ["trace", "anim", "bg", "zs"] and info["teacher"] == "phonetic"
    assert (info["crop_frames"], info["prepare_frames"]) == (CROP, PREPARE)
    assert info["normalise"]["face_px"] == 96 and info["normalise"]["jpeg_quality"] == 75  # as bench wild
    data = info["training_data"]
    assert data["labels"] == {"real": 2, "fake": 2} and data["generators"] == {"SynthGen-HQ": 2}
    assert data["manipulations"] == {"lip-sync": 2} and data["families"]["real"] == 2
    assert data["sources"] == [{"repo": "example/repo0", "licenses": ["CC0-1.0"], "real": 1, "fake": 1},
                               {"repo": "example/repo1", "licenses": ["MIT"], "real": 1, "fake": 1}]
    assert info["command"].startswith("avcorr fit-detector") and info["avcorr_version"]

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used while loading a cue model")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(np, "load", refuse)
    from safetensors.numpy import load_file

    model = FeatureClassifier.load(model_dir)
    np.testing.assert_array_equal(model.coef, load_file(str(model_dir / "model.safetensors"))["coef"])
    assert model.calibration == calibration


def test_refit_reuses_the_work_folder_and_gives_the_same_model(corpus, fitted, tmp_path, capsys):
    model_dir, work = fitted
    capsys.readouterr()
    code = main(["fit-detector", str(corpus), "--out", str(tmp_path / "again"), "--work", str(work),
                 "--workers", "1", "--crop-frames", str(CROP), "--prepare-frames", str(PREPARE), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["features_reused"] == 4 and summary["clips"]["used"] == 4
    assert summary["features"] == len(FeatureClassifier.load(model_dir).feature_names)
    assert (tmp_path / "again" / "model.safetensors").read_bytes() == (model_dir / "model.safetensors").read_bytes()
    # the crops were cut to CROP frames: asking for longer windows from the same work folder is refused
    assert main(["fit-detector", str(corpus), "--out", str(tmp_path / "x"), "--work", str(work), "--workers", "1",
                 "--crop-frames", "30", "--prepare-frames", str(PREPARE)]) == 2
    assert "--crop-frames" in capsys.readouterr().err
    # prepared at face height 96: reusing the work folder without normalising is refused
    assert main(["fit-detector", str(corpus), "--out", str(tmp_path / "y"), "--work", str(work), "--workers", "1",
                 "--crop-frames", str(CROP), "--prepare-frames", str(PREPARE), "--normalise-face-px", "0"]) == 2
    assert "normalise" in capsys.readouterr().err


def test_fit_refuses_the_container_group(corpus, fitted, capsys):
    from avcorr.cues.classifier import load_rows

    clips = read_catalog(corpus)
    tables = load_rows(fitted[1] / "features.json")
    with pytest.raises(ConfigError, match="container"):
        fit_cue_detector(clips, tables, ["container", "trace"])
    with pytest.raises(ConfigError, match="unknown"):
        fit_cue_detector(clips, tables, ["trace", "faces"])
    assert main(["fit-detector", str(corpus), "--out", "unused", "--groups", "trace,container"]) == 2
    assert "never part of a detector" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ windows


def _record(t: int = 30) -> ClipRecord:
    arrays = {"frames": np.arange(t, dtype=np.uint8)[:, None, None].repeat(4, 1).repeat(4, 2),
              "face_boxes": np.arange(4 * t, dtype=np.float32).reshape(t, 4),
              "mfcc": np.arange(4 * t * 13, dtype=np.float32).reshape(4 * t, 13), "phones": np.array([7])}
    return ClipRecord(meta=ClipMeta(clip_id="c", label=0, num_frames=t, extra={"start_s": 1.0}), arrays=arrays)


def test_crop_record_from_a_start_frame_and_by_default_the_centre():
    record = _record(30)
    window = crop_record(record, 10, start=5)
    assert window.arrays["frames"][:, 0, 0].tolist() == list(range(5, 15))
    np.testing.assert_array_equal(window.arrays["mfcc"], record.arrays["mfcc"][20:60])
    assert window.arrays["phones"].tolist() == [7]  # not per frame: kept whole
    assert window.meta.extra["start_s"] == pytest.approx(1.0 + 5 / 25)
    assert window.meta.extra["crop"] == {"start_frame": 5, "frames": 10, "source_frames": 30}
    assert window.meta.num_frames == 10 and window.meta.duration_s == pytest.approx(0.4)
    tail = crop_record(record, 10, start=25)  # runs off the end: the frames that are there
    assert tail.num_frames == 5 and tail.arrays["mfcc"].shape == (20, 13)
    centre = crop_record(record, 10)
    assert centre.arrays["frames"][:, 0, 0].tolist() == list(range(10, 20)) == list(range(30))[centre_window(30, 10)]
    with pytest.raises(ValueError):
        crop_record(record, 10, start=30)


def test_windows_cover_the_clip_full_length_and_frames_average_their_windows():
    windowing = Windowing.for_calibrated_clips(40)
    assert windowing.bounds(100) == [(0, 40), (40, 80), (60, 100)]
    assert windowing.bounds(80) == [(0, 40), (40, 80)]
    assert windowing.bounds(30) == [(0, 30)] and windowing.bounds(40) == [(0, 40)]
    per_frame = windowing.aggregate(100, windowing.bounds(100), [0.2, 0.4, 0.8])
    assert per_frame[0] == pytest.approx(0.2) and per_frame[50] == pytest.approx(0.4)
    assert per_frame[70] == pytest.approx(0.6) and per_frame[99] == pytest.approx(0.8)  # 60..79 in two windows


def _prepared(fitted, video) -> ClipRecord:
    return load_clip(ClipCache(fitted[1] / "cache_full").root / "clips" / f"{video.stem}.npz")


def test_motion_series_windows_equal_background_motion_of_each_window(fitted, video):
    record = _prepared(fitted, video)
    boxes, fps = np.asarray(record.arrays["face_boxes"]), 25.0
    start_s = float(record.meta.extra.get("start_s") or 0.0)
    gray, height = animation.small_gray_frames(video, start_s, record.num_frames, fps)
    series = animation.motion_series(gray, height, boxes, fps)
    assert series.num_frames == record.num_frames and len(series.bg) == record.num_frames - 1
    for start, length in ((0, CROP), (17, CROP), (record.num_frames - CROP, CROP), (5, 2)):
        alone = animation.background_motion(video, boxes[start:start + length], start_s + start / fps, 100, fps)
        _same(animation.window_background_motion(series, start, length), alone)
    assert np.isfinite(animation.window_background_motion(series, 0, CROP)["face_motion"])


def test_window_features_are_the_benchmarks_features_of_that_window(fitted, video):
    record = _prepared(fitted, video)
    gray, height = animation.small_gray_frames(video, 0.0, record.num_frames, 25.0)
    series = animation.motion_series(gray, height, record.arrays["face_boxes"], 25.0)
    groups = ["trace", "anim", "bg", "zs"]
    for start in (0, record.num_frames - CROP):
        benchmark, failures = clip_features(video, crop_record(record, CROP, start=start))
        assert not failures
        expected = {k: v for k, v in benchmark.items() if k.split(".", 1)[0] in groups}
        _same(window_features(record, start, CROP, groups, video_path=video, motion=series), expected)
        _same(window_features(record, start, CROP, groups, video_path=video), expected)  # decoding the window


# ------------------------------------------------------------------------------------ detect


def test_detect_is_deterministic_and_reports_windows_and_drivers(verdicts, fitted):
    first, second = verdicts
    assert first.error is None and first.mode == "cues"
    assert first.score == second.score
    assert [f.fake_probability for f in first.frames] == [f.fake_probability for f in second.frames]
    details = first.details
    windows = details["window_scores"]
    assert details["windows"] == len(windows) == len(Windowing.for_calibrated_clips(CROP).bounds(len(first.frames)))
    assert first.score == pytest.approx(np.mean([w["score"] for w in windows]), abs=1e-4)
    assert first.frames[0].fake_probability == pytest.approx(windows[0]["score"], abs=1e-4)
    names = FeatureClassifier.load(fitted[0]).feature_names
    top = details["contributions"]
    assert 1 <= len(top) <= 5 and all(c["feature"] in names for c in top)
    assert [abs(c["logit"]) for c in top] == sorted((abs(c["logit"]) for c in top), reverse=True)
    point = first.operating_point
    assert point.calibrated and point.false_alarm_rate == 0.05 and first.verdict == point.band(first.score)
    assert details["teacher"] == "phonetic" and "mean_correlation" in details
    assert CueDetector(fitted[0]).normalise.face_px == 96  # videos prepared as the training clips were


def test_report_and_table_show_what_drove_the_score(verdicts, capsys):
    from avcorr.cli.detect import _print_table
    from avcorr.detect.report import from_verdict, render_report

    verdict = verdicts[0]
    page = render_report([from_verdict(verdict)])
    assert "What drove the score" in page and verdict.details["contributions"][0]["feature"] in page
    _print_table([verdict], verdict.operating_point)
    out = capsys.readouterr().out
    assert "driven by " + verdict.details["contributions"][0]["feature"] in out


def test_detect_json_with_a_bundled_cue_model_as_checkpoint(fitted, video, tmp_path, monkeypatch, capsys):
    jsonschema = pytest.importorskip("jsonschema")
    shelf = tmp_path / "models"
    shutil.copytree(fitted[0], shelf / "default")
    monkeypatch.setattr(bundled, "BUNDLED_DIR", shelf)
    assert bundled.bundled_cue_model() == shelf / "default"  # found, but run only with --checkpoint
    assert main(["detect", "--json", "--checkpoint", str(shelf / "default"), str(video)]) == 0
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    (entry,) = doc["videos"]
    assert entry["mode"] == "cues" and entry["band"] in ("fake", "uncertain", "no evidence of manipulation")
    assert entry["false_alarm_rate"] == 0.05 and entry["calibration_clips"] == 2
    assert entry["details"]["contributions"] and entry["details"]["model"] == str(shelf / "default")
    assert main(["detect", "--checkpoint", str(fitted[0]), "--teacher", "phonetic", str(video)]) == 2
    assert "--teacher" in capsys.readouterr().err


def _zero_shot_file(path: Path) -> Path:
    from avcorr.media.normalise import NormaliseOptions

    return ZeroShotCalibration([0.5 + 0.01 * i for i in range(20)], [f"r{i}" for i in range(20)], "hand-made reals",
                               window_frames=75, normalise=NormaliseOptions(face_px=96, jpeg_quality=75)).save(path)


def test_models_lists_zero_shot_as_the_default_and_the_bundled_models(fitted, tmp_path, monkeypatch, capsys):
    shelf = tmp_path / "models"
    shutil.copytree(fitted[0], shelf / "default")
    (shelf / "notes").mkdir()  # no config.json: not a model
    monkeypatch.setattr(bundled, "BUNDLED_DIR", shelf)
    monkeypatch.setattr(bundled, "DEFAULT_DETECTOR", "default")  # the shelf's model is the default here
    monkeypatch.setattr("avcorr.detect.zero_shot.PACKAGED_CALIBRATION", _zero_shot_file(tmp_path / "zs.json"))
    assert main(["models", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    zs, model = doc["models"]
    assert zs["name"] == "zero-shot" and not zs["default"] and zs["kind"] == "calibrated consistency"
    assert zs["reference_clips"] == 20 and zs["window_frames"] == 75 and zs["normalise"]["face_px"] == 96
    assert zs["calibration"]["num_real_clips"] == 20 and zs["calibration"]["source"] == "hand-made reals"
    assert zs["path"] == str(tmp_path / "zs.json") and zs["error"] is None
    config = json.loads((fitted[0] / "config.json").read_text())
    assert model["name"] == "default" and model["default"] and model["kind"] == "feature_logistic"
    assert model["groups"] == ["trace", "anim", "bg", "zs"] and model["num_features"] == len(config["feature_names"])
    assert model["calibration"] == config["calibration"] and model["training_labels"] == {"real": 2, "fake": 2}
    assert model["path"] == str(shelf / "default") and model["error"] is None
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "zero-shot: calibrated consistency" in out and "window: 75 frames (3 s" in out
    assert "reference clips: 20 real clips" in out and "face at most 96 px high, JPEG quality 75" in out
    assert "default (default): feature_logistic" in out and "run it: avcorr detect\n" in out + "\n"


def test_without_bundled_models_or_calibration_models_lists_zero_shot_uncalibrated(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bundled, "BUNDLED_DIR", tmp_path / "none")
    monkeypatch.setattr("avcorr.detect.zero_shot.PACKAGED_CALIBRATION", tmp_path / "absent.json")
    (entry,) = bundled.bundled_models()
    assert entry.name == "zero-shot" and not entry.is_default and bundled.bundled_cue_model() is None
    assert entry.calibration is None and entry.error is None  # detect runs it uncalibrated, with a warning
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("zero-shot: calibrated consistency\n  calibration: none installed (")
    assert "teacher's fixed prior" in out
    (tmp_path / "absent.json").write_text("{")
    assert "not valid JSON" in bundled.describe_zero_shot().error
