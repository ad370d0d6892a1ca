"""``avcorr detect`` end to end (the shipped default and ``--zero-shot``): JSON on stdout, failures listed, batch goes on."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from avcorr.cli.main import main
from avcorr.detect import bundled

SCHEMA = Path(__file__).resolve().parents[1] / "src" / "avcorr" / "schemas" / "detect.schema.json"


def test_detect_without_a_flag_runs_the_shipped_default(tmp_path: Path, capsys) -> None:
    """No model flag: the shipped default (:data:`bundled.DEFAULT_DETECTOR`, chosen by the wild
    benchmark's rule) with its stored calibration; a missing file fails alone (exit 1), listed with its reason."""
    from avcorr.forge.synth import SynthOptions, synthesize_dataset

    result = synthesize_dataset(tmp_path, SynthOptions(clips=1, seed=1, size=128, identities=1))
    assert not result.failures
    missing = tmp_path / "whatever.mp4"
    assert main(["detect", "--json", "--max-seconds", "3", str(result.clips[0].video_path), str(missing)]) == 1
    good, bad = json.loads(capsys.readouterr().out)["videos"]
    default = next(m for m in bundled.bundled_models() if m.is_default)
    assert default.name == bundled.DEFAULT_DETECTOR and default.error is None and default.calibration is not None
    assert good["error"] is None and good["mode"] == "cues" and 0 <= good["score"] <= 1
    assert good["band"] in ("fake", "uncertain", "no evidence of manipulation")
    assert good["threshold"] == pytest.approx(default.calibration["fake_threshold"])
    assert good["false_alarm_rate"] == default.calibration["fake_false_alarm_rate"]
    assert good["details"]["feature_groups"] == default.groups
    assert bad["mode"] == "cues" and bad["score"] is None and "whatever.mp4" in bad["error"]


@pytest.mark.shared
def test_zero_shot_json_on_real_clips(shared_data: Path, tmp_path: Path, capsys) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    clips = sorted((shared_data / "clips").glob("*GRID*"))
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    code = main(["detect", "--zero-shot", "--json", str(clips[0]), str(broken)])
    out = capsys.readouterr().out
    assert code == 1  # one file failed
    doc = json.loads(out)
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    good, bad = doc["videos"]
    assert good["error"] is None and good["mode"] == "zero-shot" and good["fps"] == 25.0
    assert 0 <= good["score"] <= 1 and good["verdict"] == good["band"]
    assert good["band"] in ("fake", "uncertain", "no evidence of manipulation")
    assert len(good["frames"]) == pytest.approx(75, abs=2)  # a 3 s GRID clip at 25 fps
    assert abs(good["details"]["offset_frames"]) <= 5
    assert bad["score"] is None and bad["error"] and "\n" not in bad["error"]


@pytest.mark.shared
def test_zero_shot_with_separate_audio(shared_data: Path, capsys) -> None:
    """--audio replaces the video's track: its own track given as a file changes nothing,
    another clip's audio changes the judgement (which way is the AUC test's business)."""
    clips = sorted((shared_data / "clips").glob("*GRID*"))
    assert main(["detect", "--zero-shot", "--json", str(clips[0])]) == 0
    plain = json.loads(capsys.readouterr().out)["videos"][0]
    assert main(["detect", "--zero-shot", "--json", str(clips[0]), "--audio", str(clips[0])]) == 0
    own = json.loads(capsys.readouterr().out)["videos"][0]
    assert main(["detect", "--zero-shot", "--json", str(clips[0]), "--audio", str(clips[5])]) == 0
    swapped = json.loads(capsys.readouterr().out)["videos"][0]
    assert own["score"] == pytest.approx(plain["score"], abs=1e-3)
    assert swapped["audio_path"] == str(clips[5]) and swapped["score"] != pytest.approx(own["score"], abs=1e-3)


def test_report_note_is_an_escaped_paragraph_above_the_summary() -> None:
    from avcorr.detect.report import render_report
    from report_fixtures import clean_video

    page = render_report([clean_video()], note="trained on <9> clips & calibrated on 3")
    note = page.index("<b>Note:</b> trained on &lt;9&gt; clips &amp; calibrated on 3")
    assert note < page.index('class="summary"') < page.index("Treat every verdict as a lead")
    assert "<b>Note:</b>" not in render_report([clean_video()])
