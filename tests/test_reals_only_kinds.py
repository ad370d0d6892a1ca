"""The detector kinds that never saw a fake — dynamics (a reals-only reference) and pseudo-trace
(a trace net trained on reals and pseudo-fakes) — built from files by ``avcorr.detect.load`` and
judging a video exactly as the benchmark measures a clip, window by window."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import avcorr.detect as detect
from avcorr.cues.real_reference import fit_reference, reference_columns
from avcorr.data.cache_views import crop_record
from avcorr.data.windows import Windowing
from avcorr.data.clip_cache import ClipCache
from avcorr.detect.dynamics_detector import DynamicsDetector, unlike_reals, window_table
from avcorr.detect.trace_detector import TraceDetector
from avcorr.eval.calibration import calibrate
from avcorr.forge.synth import SynthOptions, synthesize_dataset
from avcorr.prepare.pipeline import PrepareOptions, prepare_clip
from avcorr.runtime import CONFIG_NAME
from avcorr.teachers.phonetic.teacher import PhoneticTeacher
from avcorr.train.pseudo import PseudoTrainOptions, fit_pseudo_detector, score_clip

WINDOW = 40
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("synth")
    result = synthesize_dataset(folder, SynthOptions(clips=3, seed=11, size=128, identities=3))
    assert not result.failures
    return [c.video_path for c in result.clips]


@pytest.fixture(scope="module")
def records(videos):
    teacher = PhoneticTeacher(use_transcripts=False)
    options = PrepareOptions(max_frames=120, store_stft=False)
    return [prepare_clip(v, None, options, teacher=teacher).record for v in videos]


def _windows(record):
    length = min(WINDOW, record.num_frames)
    return [crop_record(record, length, start=s) for s, _ in Windowing.for_calibrated_clips(WINDOW).bounds(record.num_frames)]


def test_dynamics_kind_scores_a_video_as_the_reference_scores_its_windows(tmp_path, videos, records):
    names = reference_columns(("accel", "eyes", "consistency"))
    rows = [window_table(w, v, names) for v, r in zip(videos[1:], records[1:]) for w in _windows(r)]
    reference = fit_reference(rows, names, groups=[f"g{i}" for i in range(len(rows))])
    reference.extra = {"crop_frames": WINDOW, "normalise": None}
    folder = tmp_path / "dynamics"
    reference.save(folder / CONFIG_NAME)

    detector = detect.load(folder, max_frames=120)
    assert isinstance(detector, DynamicsDetector) and detector.mode == "dynamics"
    verdict = detector.detect(videos[0])
    expected = unlike_reals(reference.score([window_table(w, videos[0], names) for w in _windows(records[0])]))
    assert verdict.score == pytest.approx(float(np.mean(expected)), abs=1e-9)
    assert 0.0 <= verdict.score <= 1.0 and verdict.verdict in detect.verdict.BANDS
    assert verdict.details["windows"] == len(expected)
    assert verdict.operating_point.false_alarm_rate == 0.05
    assert verdict.operating_point.fake_threshold == pytest.approx(calibrate(
        [float(unlike_reals(s)) for s in reference.real_scores], "x").fake_threshold)
    assert detect.load(folder / CONFIG_NAME).reference.names == names  # the bare JSON file loads too


def test_pseudo_trace_kind_scores_a_video_as_the_net_scores_its_windows(tmp_path, videos, records):
    cache = ClipCache(tmp_path / "cache")
    cache_files = [cache.write(record) for record in records[1:]]
    model = fit_pseudo_detector(cache_files, PseudoTrainOptions(minutes=None, max_steps=3, window=8, batch_size=4),
                                seed=0)
    reals = [score_clip(model, w) for w in _windows(records[1])]
    model.info.update({"crop_frames": WINDOW, "normalise": None,
                       "calibration": calibrate(reals, "held-back reals").to_dict()})
    folder = model.save(tmp_path / "trace")

    detector = detect.load(folder, max_frames=120)
    assert isinstance(detector, TraceDetector) and detector.mode == "pseudo-trace"
    verdict = detector.detect(videos[0])
    prepared = prepare_clip(videos[0], None, detector.detect_options()).record  # the face mesh at detect's rate
    expected = [score_clip(detector.model, w) for w in _windows(prepared)]
    assert verdict.score == pytest.approx(float(np.mean(expected)), abs=1e-6)
    assert verdict.operating_point.calibrated and verdict.verdict in detect.verdict.BANDS
    assert len(verdict.frames) == records[0].num_frames
