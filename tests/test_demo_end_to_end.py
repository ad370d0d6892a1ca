"""``avcorr demo`` at a tiny size, as a new user runs it: synth → forge → the shipped default on every
clip, with a report and a summary that say what the default claims, what it cannot catch, and what it
did here; and ``--train``, the longer loop (split → prepare → train → evaluate → the student's report)."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from avcorr.cli.demo_report import CANNOT, CLAIMS
from avcorr.cli.main import main
from avcorr.detect.bundled import DEFAULT_DETECTOR, bundled_models
from avcorr.detect.verdict import BANDS


def _verdicts(out: Path) -> dict[str, dict]:
    return {Path(v["path"]).name: v for v in json.loads((out / "verdicts.json").read_text())["videos"]}


@pytest.mark.slow
def test_demo_judges_every_clip_with_the_shipped_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--clips", "4", "--size", "128", "--methods", "still-talk,audio-swap",
                 "--workers", "1"])
    assert code == 0
    forged = list(csv.DictReader((out / "forged" / "manifest.csv").open()))
    assert sorted(r["method"] for r in forged) == ["audio-swap"] * 4 + ["real"] * 4 + ["still-talk"] * 4
    # every clip judged by the default, none failed
    verdicts = _verdicts(out)
    assert sorted(verdicts) == sorted(Path(r["video_path"]).name for r in forged)
    default = next(m for m in bundled_models() if m.is_default)
    for verdict in verdicts.values():
        assert verdict["error"] is None and verdict["band"] in BANDS and 0.0 <= verdict["score"] <= 1.0
        assert verdict["threshold"] == pytest.approx(default.calibration["fake_threshold"])
    # it reads the frames only: an audio swap (the source's frames, another voice) scores as its source
    for name, verdict in verdicts.items():
        if name.endswith("__audio-swap.mp4"):
            source = verdicts[name.split("__")[0] + ".mp4"]
            assert (verdict["score"], verdict["band"]) == (source["score"], source["band"])
    # summary.md: one row per clip with its truth, band and score as judged, and the tally they add up to
    summary = (out / "summary.md").read_text()
    truth = {Path(r["video_path"]).name: ("real" if r["label"] == "0" else r["method"]) for r in forged}
    table = dict((m[0], m[1:]) for m in re.findall(r"^\| (\S+\.mp4) \| (\S+) \| ([^|]+) \| ([0-9.]+) \|$", summary, re.M))
    assert set(table) == set(verdicts)
    for name, (row_truth, band, score) in table.items():
        assert (row_truth, band) == (truth[name], verdicts[name]["band"])
        assert float(score) == pytest.approx(verdicts[name]["score"], abs=6e-4)  # 3 decimals of the JSON's 4
    for kind in ("real", "still-talk", "audio-swap"):
        bands = [verdicts[n]["band"] for n in verdicts if truth[n] == kind]
        # a forgery against the real clip it was made from (forge names it <source>__<method>)
        above = sum(verdicts[n]["score"] > verdicts[n.split("__")[0].removesuffix(".mp4") + ".mp4"]["score"]
                    for n in verdicts if truth[n] == kind)
        assert kind != "audio-swap" or above == 0  # the same frames: never above its source
        paired = "-" if kind == "real" else above
        assert f"| {kind} | 4 | {bands.count('fake')} | {bands.count('uncertain')} | 0 | {paired} |" in summary
    caught = sum(verdicts[n]["band"] == "fake" for n in verdicts if truth[n] != "real")
    false_alarms = sum(verdicts[n]["band"] == "fake" for n in verdicts if truth[n] == "real")
    outcome = f"it called {caught} of the demo's 8 forgeries fake, and {false_alarms} of its 4 real clips."
    assert CLAIMS in summary and CANNOT in summary and outcome in summary
    # the report: every clip, with the note on what the default is, claims, cannot catch and did here
    html = (out / "report" / "index.html").read_text()
    assert "avcorr detection report" in html and all(name in html for name in verdicts)
    note = html[html.index("<b>Note:</b>"):]
    assert f"shipped default detector ({DEFAULT_DETECTOR})" in note and "It cannot catch: audio swaps" in note
    assert outcome.replace("'", "&#x27;") in note
    timings = json.loads((out / "demo_timings.json").read_text())
    assert set(timings) == {"synth", "forge", "detect"}  # no student unless --train
    assert not (out / "run").exists()
    printed = capsys.readouterr().out
    assert summary in printed and str(out / "report" / "index.html") in printed


@pytest.mark.slow
def test_demo_train_adds_the_student_loop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--clips", "4", "--size", "128", "--train", "--epochs", "1",
                 "--config", "tiny", "--methods", "audio-swap,lip-rewrite", "--workers", "1"])
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
    html = (out / "report_student" / "index.html").read_text()
    assert "calibrated for 5% false alarms on 2 real clips" in html
    assert ("<b>Note:</b> This detector is a tiny-size student network trained by this demo for 1 epoch on 6 synthetic "
            "clips (2 real, 4 forged by avcorr) of 1 synthetic identity") in html
    assert "Real clips it calls fake are false alarms" in html and "about 33% of the time" in html  # 1 / (2 + 1)
    timings = json.loads((out / "demo_timings.json").read_text())
    assert set(timings) == {"synth", "split", "forge", "detect", "prepare", "train", "evaluate", "detect_student"}
    # the shipped default still judges every clip
    assert len(_verdicts(out)) == len(forged) and (out / "report" / "index.html").is_file()
    assert str(out / "report_student" / "index.html") in capsys.readouterr().out
