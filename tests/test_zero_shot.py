"""Zero-shot consistency scoring from teacher posteriors, and the detect JSON it produces."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from avcorr.data.windows import Windowing
from avcorr.detect.verdict import NO_EVIDENCE, SCHEMA_VERSION, VideoVerdict, report_json
from avcorr.detect.zero_shot import ZeroShotDetector
from avcorr.teachers.zero_shot import ZeroShotOptions, fake_probability, match_probability, offset_pair, zero_shot

SCHEMA = Path(__file__).resolve().parents[1] / "src" / "avcorr" / "schemas" / "detect.schema.json"
V = 15


def _sequence(num_frames: int, rng: np.random.Generator, confidence: float = 0.8) -> np.ndarray:
    """Viseme runs of 2–6 frames as soft one-hot rows."""
    classes = np.repeat(rng.integers(0, V, size=num_frames), rng.integers(2, 7, size=num_frames))[:num_frames]
    p = np.full((num_frames, V), (1 - confidence) / (V - 1))
    p[np.arange(num_frames), classes] = confidence
    return p


def test_match_probability_by_hand() -> None:
    p = np.array([[1.0, 0.0], [0.5, 0.5]])
    q = np.array([[0.8, 0.2], [0.2, 0.8]])
    # the clip prior q̄ = q.mean(0) = [0.5, 0.5]
    r = np.array([0.8 / 0.5, 0.5 * 0.2 / 0.5 + 0.5 * 0.8 / 0.5])
    np.testing.assert_allclose(match_probability(p, q), r / (1 + r))
    # lips that say nothing (constant q) give exactly chance
    np.testing.assert_allclose(match_probability(p, np.full((2, 2), 0.5)), 0.5)


def test_offset_pair_and_fake_probability() -> None:
    a, v = np.arange(10)[:, None], np.arange(10)[:, None] * 10
    a2, v2, kept = offset_pair(a, v, 3)
    assert a2[0, 0] == 3 and v2[0, 0] == 0 and kept == slice(0, 7)
    a3, v3, kept = offset_pair(a, v, -2)
    assert a3[0, 0] == 0 and v3[0, 0] == 20 and kept == slice(2, 10)
    options = ZeroShotOptions()
    assert fake_probability(options.decision_match, options) == pytest.approx(0.5)
    assert fake_probability(0.9) < 0.01 < 0.99 < fake_probability(0.3)


def test_matching_audio_beats_other_audio_and_offset_is_found() -> None:
    rng = np.random.default_rng(0)
    visual = _sequence(200, rng)
    own = np.roll(visual, 2, axis=0)  # the sound for video frame t arrives at audio frame t + 2
    other = _sequence(200, np.random.default_rng(1))
    real, fake = zero_shot(own, visual), zero_shot(other, visual)
    assert real.offset == 2
    assert real.mean_correlation > 0.8 and fake.mean_correlation < 0.5  # r averages 1 when unrelated; c = r/(1+r) is concave
    assert real.score < 0.01 and fake.score > 0.5
    assert np.isnan(real.correlation[-2:]).all() and np.isfinite(real.correlation[:-2]).all()
    assert (real.audio_class[:-2] == visual.argmax(1)[:-2]).all()


def _verdicts() -> list[VideoVerdict]:
    rng = np.random.default_rng(2)
    visual = _sequence(60, rng)
    # posteriors given directly: no teacher runs; uncalibrated, so the score is the teacher's prior
    detector = ZeroShotDetector(teacher=object(), calibration=None)
    names = [f"v{i}" for i in range(V)]
    good = detector.verdict_from_posteriors("real.mp4", visual, visual, 25.0, names)
    bad = detector.verdict_from_posteriors("swapped.mp4", _sequence(60, np.random.default_rng(3)), visual, 25.0, names, "other.wav")
    return [good, bad, VideoVerdict.failed("broken.mp4", "zero-shot", "broken.mp4: no face found in 50 frames")]


def test_report_json_follows_the_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    doc = json.loads(json.dumps(report_json(_verdicts())))  # must survive plain JSON (no NaN)
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    assert doc["schema_version"] == SCHEMA_VERSION == 2
    good, bad, broken = doc["videos"]
    assert good["verdict"] == good["band"] == NO_EVIDENCE and bad["verdict"] == bad["band"] == "fake"
    assert good["threshold"] == 0.5 and good["false_alarm_rate"] is None and good["uncertain_threshold"] is None
    assert good["calibration"].startswith("uncalibrated (")
    assert broken["band"] is None and broken["threshold"] is None
    assert broken["score"] is None and broken["error"].startswith("broken.mp4")
    assert len(good["frames"]) == 60 and good["frames"][1]["t"] == pytest.approx(0.04)
    assert bad["audio_path"] == "other.wav" and 0 <= bad["score"] <= 1
    assert bad["segments"], "a fully mismatched clip has suspicious segments"
    with pytest.raises(Exception):
        broken_doc = dict(doc)
        broken_doc["videos"] = [dict(good, score=1.5)]
        jsonschema.validate(broken_doc, json.loads(SCHEMA.read_text()))


# ------------------------------------------------------------------------------ windows and processing


def _calibration(window_frames: int | None = 10, normalise=None):
    from avcorr.detect.zero_shot import ZeroShotCalibration

    return ZeroShotCalibration([0.40 + 0.02 * i for i in range(20)], [f"real{i}" for i in range(20)], "hand-made reals",
                               window_frames=window_frames, normalise=normalise)


def test_windowed_score_is_the_mean_of_the_window_scores() -> None:
    rng = np.random.default_rng(4)
    visual = _sequence(37, rng)
    audio = np.concatenate([visual[:20], _sequence(17, np.random.default_rng(5))])  # consistent, then swapped
    calibration = _calibration(window_frames=10)
    verdict = ZeroShotDetector(teacher=object(), calibration=calibration).verdict_from_posteriors(
        "clip.mp4", audio, visual, 25.0, [f"v{i}" for i in range(V)])
    starts = [s for s, _ in Windowing.for_calibrated_clips(10).bounds(37)]
    assert starts == [0, 10, 20, 27]  # the last window moved back to be full length
    expected = [calibration.score(zero_shot(audio[s:s + 10], visual[s:s + 10]).mean_correlation) for s in starts]
    assert verdict.score == pytest.approx(np.mean(expected))
    details = verdict.details
    assert details["window_frames"] == 10 and details["windows"] == 4 and details["score_is"].startswith("mean of window")
    assert [w["score"] for w in details["window_scores"]] == pytest.approx(expected, abs=1e-4)
    assert [w["start_s"] for w in details["window_scores"]] == [0.0, 0.4, 0.8, 1.08]
    assert details["window_scores"][0]["mean_correlation"] > details["window_scores"][-1]["mean_correlation"]
    assert expected[0] < expected[-1]  # the swapped end is the suspicious part
    # the curves stay the whole clip's per-frame consistency; the mean correlation shown is the whole clip's
    whole = zero_shot(audio, visual)
    assert details["mean_correlation"] == pytest.approx(whole.mean_correlation, abs=1e-4)
    finite = np.isfinite(whole.correlation)
    assert np.allclose([f.fake_probability for f, ok in zip(verdict.frames, finite) if ok], 1 - whole.correlation[finite])
    # a clip shorter than one window is one window: the whole clip's score
    short = ZeroShotDetector(teacher=object(), calibration=_calibration(window_frames=75))
    one = short.verdict_from_posteriors("short.mp4", audio, visual, 25.0, [f"v{i}" for i in range(V)])
    assert one.details["windows"] == 1 and one.details["window_frames"] == 37
    assert one.score == calibration.score(whole.mean_correlation)


def test_calibration_records_its_processing_and_round_trips(tmp_path: Path) -> None:
    from avcorr.detect.zero_shot import FORMAT_VERSION, ZeroShotCalibration
    from avcorr.media.normalise import NormaliseOptions

    calibration = _calibration(window_frames=75, normalise=NormaliseOptions(face_px=96, jpeg_quality=75))
    path = calibration.save(tmp_path / "zs.json")
    stored = json.loads(path.read_text())
    assert stored["version"] == FORMAT_VERSION == 2 and stored["window_frames"] == 75
    assert stored["normalise"] == NormaliseOptions(face_px=96, jpeg_quality=75).to_dict()
    loaded = ZeroShotCalibration.load(path)
    assert loaded == calibration and loaded.normalise == NormaliseOptions(face_px=96, jpeg_quality=75)
    detector = ZeroShotDetector(teacher=object(), calibration=path)
    assert detector.window_frames == 75 and detector.normalise.face_px == 96
    # a version-1 file (no window, no normalisation) still loads: whole clips, frames as decoded
    old = {k: v for k, v in stored.items() if k not in ("window_frames", "normalise")}
    (tmp_path / "v1.json").write_text(json.dumps({**old, "version": 1}))
    v1 = ZeroShotCalibration.load(tmp_path / "v1.json")
    assert v1.window_frames is None and v1.normalise is None and v1.mean_correlations == calibration.mean_correlations
    rng = np.random.default_rng(6)
    visual = _sequence(40, rng)
    verdict = ZeroShotDetector(teacher=object(), calibration=v1).verdict_from_posteriors(
        "clip.mp4", visual, visual, 25.0, [f"v{i}" for i in range(V)])
    assert verdict.details["windows"] == 1 and verdict.score == v1.score(zero_shot(visual, visual).mean_correlation)
    (tmp_path / "v9.json").write_text(json.dumps({**stored, "version": 9}))
    from avcorr.errors import InputError

    with pytest.raises(InputError, match="version 9"):
        ZeroShotCalibration.load(tmp_path / "v9.json")
    (tmp_path / "bad.json").write_text(json.dumps({**stored, "normalise": {"face_px": 96, "colour": 1}}))
    with pytest.raises(InputError, match="bad zero-shot calibration"):
        ZeroShotCalibration.load(tmp_path / "bad.json")


def test_detect_zero_shot_reads_the_packaged_calibration(tmp_path: Path, monkeypatch, capsys) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from avcorr.cli.main import main
    from avcorr.forge.synth import SynthOptions, synthesize_dataset
    from avcorr.media.normalise import NormaliseOptions

    result = synthesize_dataset(tmp_path / "synth", SynthOptions(clips=1, seed=1, size=128, identities=1))
    assert not result.failures
    packaged = _calibration(window_frames=20, normalise=NormaliseOptions(face_px=48, jpeg_quality=80)).save(tmp_path / "zs.json")
    monkeypatch.setattr("avcorr.detect.zero_shot.PACKAGED_CALIBRATION", packaged)
    assert main(["detect", "--zero-shot", "--json", "--max-seconds", "2", str(result.clips[0].video_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    (entry,) = doc["videos"]
    assert entry["error"] is None and entry["mode"] == "zero-shot"
    assert entry["band"] in ("fake", "uncertain", "no evidence of manipulation")
    assert entry["calibration"] == "hand-made reals" and entry["calibration_clips"] == 20
    details = entry["details"]
    assert details["normalise"]["face_px"] == 48 and details["window_frames"] == 20  # prepared and cut as calibrated
    assert details["windows"] == len(details["window_scores"]) >= 2
    assert entry["score"] == pytest.approx(np.mean([w["score"] for w in details["window_scores"]]), abs=1e-3)
