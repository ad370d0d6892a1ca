"""Zero-shot consistency scoring from teacher posteriors, and the detect JSON it produces."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from avcorr.detect.pipeline import NO_EVIDENCE, SCHEMA_VERSION, VideoVerdict, report_json
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
