"""``avcorr detect --zero-shot`` end to end: JSON on stdout, failures listed, batch goes on."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from avcorr.cli.main import main

SCHEMA = Path(__file__).resolve().parents[1] / "src" / "avcorr" / "schemas" / "detect.schema.json"


def test_detect_needs_a_mode(capsys) -> None:
    assert main(["detect", "whatever.mp4"]) == 2
    assert "--zero-shot" in capsys.readouterr().err


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
