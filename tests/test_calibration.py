"""Thresholds for a target false-alarm rate on real scores, the bands, and the stored calibration."""
from __future__ import annotations

import json

import numpy as np
import pytest

from avcorr.errors import ConfigError
from avcorr.eval.calibration import (
    FAKE,
    NO_EVIDENCE,
    UNCERTAIN,
    Calibration,
    band,
    calibrate,
    false_alarm_rate,
    recall,
    threshold_for_false_alarm,
)

REALS = np.arange(1, 101) / 100  # 0.01 … 1.00


def test_five_percent_of_one_hundred_reals() -> None:
    t = threshold_for_false_alarm(REALS, 0.05)
    assert t == np.nextafter(0.95, 1.0) and 0.95 < t < 0.96
    assert int((REALS >= t).sum()) == 5 and false_alarm_rate(REALS, t) == 0.05


def test_uncertain_threshold_at_twenty_percent() -> None:
    t = threshold_for_false_alarm(REALS, 0.20)
    assert t == np.nextafter(0.80, 1.0) and int((REALS >= t).sum()) == 20


def test_rate_zero_is_above_the_max_and_float_rounding_is_harmless() -> None:
    t = threshold_for_false_alarm(REALS, 0.0)
    assert t > 1.0 and t == np.nextafter(1.0, 2.0) and false_alarm_rate(REALS, t) == 0.0
    assert int((REALS >= threshold_for_false_alarm(REALS, 0.29)).sum()) == 29  # 0.29 * 100 = 28.999…


def test_ties_allow_fewer_reals_never_more() -> None:
    reals = np.array([0.9, 0.9, 0.9, 0.5, 0.4, 0.3, 0.2, 0.1, 0.1, 0.0])
    t = threshold_for_false_alarm(reals, 0.2)  # 2 allowed, but 3 tie at 0.9: none may stay above
    assert t == np.nextafter(0.9, 1.0) and false_alarm_rate(reals, t) == 0.0
    assert false_alarm_rate(reals, 0.9) == 0.3  # the next threshold down breaks the rate
    t = threshold_for_false_alarm(reals, 0.4)  # 4 allowed: the 5th largest is 0.4
    assert t == np.nextafter(0.4, 1.0) and false_alarm_rate(reals, t) == 0.4


@pytest.mark.parametrize("scores, rate", [([], 0.05), ([0.5], 1.0), ([0.5], -0.1), ([0.5, np.nan], 0.05)])
def test_bad_inputs(scores: list[float], rate: float) -> None:
    with pytest.raises(ValueError):
        threshold_for_false_alarm(scores, rate)


def test_band_edges_and_rates() -> None:
    c = Calibration(fake_threshold=0.7, uncertain_threshold=0.4, num_real_clips=10, source="unit test")
    assert c.fake_false_alarm_rate == 0.05 and c.uncertain_false_alarm_rate == 0.20
    assert band(0.7, c) == FAKE and band(1.0, c) == FAKE
    assert band(float(np.nextafter(0.7, 0.0)), c) == UNCERTAIN and band(0.4, c) == UNCERTAIN
    assert band(float(np.nextafter(0.4, 0.0)), c) == NO_EVIDENCE and band(0.0, c) == NO_EVIDENCE
    assert NO_EVIDENCE == "no evidence of manipulation"
    assert recall([0.7, 0.69, 0.9, 0.1], 0.7) == 0.5 and np.isnan(recall([], 0.7))
    with pytest.raises(ValueError):
        band(float("nan"), c)


def test_calibrate_and_round_trip() -> None:
    c = calibrate(REALS, source="training-side reals")
    assert c.fake_threshold == np.nextafter(0.95, 1.0) and c.uncertain_threshold == np.nextafter(0.80, 1.0)
    assert c.num_real_clips == 100
    again = Calibration.from_dict(json.loads(json.dumps(c.to_dict())))
    assert again == c
    minimal = {k: v for k, v in c.to_dict().items() if not k.endswith("false_alarm_rate")}
    assert Calibration.from_dict(minimal).fake_false_alarm_rate == 0.05


def test_from_dict_errors_are_config_errors() -> None:
    good = calibrate(REALS, source="x").to_dict()
    with pytest.raises(ConfigError, match=r"config\.json: calibration lacks fake_threshold"):
        Calibration.from_dict({k: v for k, v in good.items() if k != "fake_threshold"}, origin="config.json")
    with pytest.raises(ConfigError, match="unknown key"):
        Calibration.from_dict({**good, "extra": 1})
    with pytest.raises(ConfigError, match="above the fake threshold"):
        Calibration.from_dict({**good, "uncertain_threshold": 0.99})
    with pytest.raises(ConfigError, match="must be an object"):
        Calibration.from_dict([1, 2])  # type: ignore[arg-type]
