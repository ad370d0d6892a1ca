"""No verdict on a fragment: a video shorter than the minimum once decoded, or mostly undecodable,
gets "too little to judge" with its reason — in the JSON (schema-valid), the table and the report —
never a confident band."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from avcorr.cli.main import main
from avcorr.detect.report import from_verdict, render_report
from avcorr.detect.verdict import TOO_LITTLE, VideoVerdict, report_json
from avcorr.detect.zero_shot import ZeroShotDetector
from avcorr.media.coverage import MIN_JUDGE_SECONDS
from media_fixtures import StubTracker, index_frames, tone, write_media

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "src/avcorr/schemas/detect.schema.json").read_text())


def test_a_one_second_clip_is_too_little_to_judge(tmp_path, monkeypatch):
    monkeypatch.setattr("avcorr.media.face.FaceTracker", StubTracker)
    video = write_media(tmp_path / "short.mp4", index_frames(25, (64, 64)), tone(1.0))
    verdict = ZeroShotDetector(teacher=object()).detect(video)  # the teacher is never asked: no scoring
    assert verdict.verdict == verdict.band == TOO_LITTLE and verdict.score is None and verdict.error is None
    assert f"at least {MIN_JUDGE_SECONDS:g} s" in verdict.details["reason"]
    assert verdict.details["analysed_s"] == 1.0 and not verdict.judged
    document = report_json([verdict])
    jsonschema.validate(document, SCHEMA)
    entry = document["videos"][0]
    assert entry["threshold"] is None and entry["false_alarm_rate"] is None
    page = render_report([from_verdict(verdict)])
    assert "TOO LITTLE TO JUDGE" in page and "at least 2 s" in page
    assert VideoVerdict.from_dict(entry).verdict == TOO_LITTLE


def test_the_cli_lists_it_with_its_reason_and_does_not_count_it_as_failed(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("avcorr.media.face.FaceTracker", StubTracker)
    monkeypatch.setenv("COLUMNS", "300")  # one table row per line
    video = write_media(tmp_path / "short.mp4", index_frames(30, (64, 64)), tone(1.2))
    code = main(["detect", str(video)])
    out = capsys.readouterr().out
    assert code == 0
    assert TOO_LITTLE in out and "1.2" in out
