"""The whole job at a tiny size: synth → split → forge → prepare (phonetic) → train (calibrated) →
evaluate → detect with a report (and with the shipped default detector, when it is installed
calibrated), through the same `avcorr demo` a new user runs."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from avcorr.cli.main import main
from avcorr.detect.bundled import bundled_models


@pytest.mark.slow
def test_demo_runs_end_to_end_at_tiny_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--clips", "4", "--epochs", "1", "--config", "tiny",
                 "--methods", "audio-swap,lip-rewrite", "--workers", "1"])
    assert code == 0
    forged = list(csv.DictReader((out / "forged" / "manifest.csv").open()))
    assert {r["method"] for r in forged} == {"real", "audio-swap", "lip-rewrite"}
    # identity-disjoint: a source's real clip and its fakes share a split, and both splits exist
    split_of_source = {}
    for r in forged:
        assert split_of_source.setdefault(r["source_id"], r["split"]) == r["split"]
    assert set(split_of_source.values()) == {"train", "test"}
    cache = list(csv.DictReader((out / "cache" / "manifest.csv").open()))
    assert len(cache) == len(forged) and all(r["teacher"] == "phonetic" for r in cache)
    assert (out / "run" / "model.safetensors").exists()
    scores = list(csv.DictReader((out / "test_scores.csv").open()))
    assert scores and {r["split"] for r in scores} == {"test"}
    assert all(0.0 <= float(r["score"]) <= 1.0 for r in scores)
    # the run carries its calibration: tiny.yaml validates on nothing, so on the 2 training reals, said so
    calibration = json.loads((out / "run" / "config.json").read_text())["calibration"]
    assert calibration["fake_false_alarm_rate"] == 0.05 and calibration["num_real_clips"] == 2
    assert calibration["source"].startswith("2 training real clips") and "no validation reals" in calibration["source"]
    html = (out / "report" / "index.html").read_text()
    assert "avcorr detection report" in html and html.count("data:image/png;base64,") >= 2
    # the detect step reports calibrated bands and opens with the note on what this detector is
    assert "calibrated for 5% false alarms on 2 real clips" in html
    assert ("<b>Note:</b> This detector is a tiny-size student network trained by this demo for 1 epoch on 6 synthetic "
            "clips (2 real, 4 forged by avcorr) of 1 synthetic identity") in html
    assert "Real clips it calls fake are false alarms" in html and "about 33% of the time" in html  # 1 / (2 + 1)
    err = capsys.readouterr()
    timings = json.loads((out / "demo_timings.json").read_text())
    assert set(timings) >= {"synth", "forge", "prepare", "train", "evaluate", "detect"}
    shipped = out / "report_shipped" / "index.html"
    default = next((m for m in bundled_models() if m.is_default and m.error is None and m.calibration), None)
    if default is None:
        assert "detect (shipped default): skipped: no bundled model is installed" in err.err
        assert not shipped.exists() and "detect_shipped" not in timings
        assert "HTML report (shipped) : none (no bundled model is installed)" in err.out
    else:
        page = shipped.read_text()
        assert "<b>Note:</b> This is avcorr&#x27;s shipped default detector" in page
        assert "outside that distribution" in page and "a pipeline check, not a measurement" in page
        assert f"calibrated for 5% false alarms on {default.calibration['num_real_clips']} real clips" in page
        assert "detect_shipped" in timings and str(shipped) in err.out
    assert str(out / "report" / "index.html") in err.out
