"""One record of the corpus choices: its defaults, its checks, and the commands that start from it."""
from __future__ import annotations

import inspect

import pytest

from avcorr.data.corpus_options import DEFAULT_CORPUS, CorpusOptions
from avcorr.errors import ConfigError
from avcorr.media.normalise import NormaliseOptions
from avcorr.train.cue_model import fit_cue_detector


def test_defaults_and_canonical_resolution() -> None:
    assert (DEFAULT_CORPUS.crop_frames, DEFAULT_CORPUS.prepare_frames, DEFAULT_CORPUS.normalise_face_px,
            DEFAULT_CORPUS.workers, DEFAULT_CORPUS.false_alarm_rate) == (75, 150, 96, 2, 0.05)
    assert DEFAULT_CORPUS.normalise() == NormaliseOptions(face_px=96, jpeg_quality=75)
    assert CorpusOptions(normalise_face_px=0).normalise() is None


@pytest.mark.parametrize("changes", [{"crop_frames": 7}, {"crop_frames": 100, "prepare_frames": 99},
                                     {"false_alarm_rate": 0.0}, {"false_alarm_rate": 0.3, "uncertain_rate": 0.2}])
def test_validate_refuses_lengths_and_rates_that_cannot_work(changes: dict) -> None:
    with pytest.raises(ConfigError):
        CorpusOptions(**changes).validate()
    DEFAULT_CORPUS.validate()


def test_fit_cue_detector_starts_from_the_record() -> None:
    assert inspect.signature(fit_cue_detector).parameters["corpus"].default is DEFAULT_CORPUS
