"""Model-mode detect: verdicts from frame scores, the report's view of a verdict, and the CLI on
real clips end to end (skips without the shared clips)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from avcorr.config import load_experiment_config
from avcorr.detect.verdict import VideoVerdict, report_json
from avcorr.detect.model_detector import StudentDetector
from avcorr.detect.report import from_verdict, write_report
from avcorr.eval.scoring import ModelFrameScores
from avcorr.models.checkpoint import save_detector
from avcorr.models.detector import build_detector


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    torch.manual_seed(0)
    config = load_experiment_config("tiny")
    run = tmp_path_factory.mktemp("run")
    save_detector(run, build_detector(config.model).eval(), config)
    return run


def scores_with_window(num_frames: int = 100, window: tuple[int, int] = (40, 70)) -> ModelFrameScores:
    prob = np.full(num_frames, 0.2, np.float32)
    prob[window[0]:window[1]] = 0.9
    corr = np.where(prob > 0.5, 0.3, 0.8).astype(np.float32)
    return ModelFrameScores(prob, corr, teacher_correlation=np.full(num_frames, 0.6, np.float32))


def test_verdict_from_scores(tiny_run):
    detector = StudentDetector(tiny_run, threshold=0.4)
    verdict = detector.verdict_from_scores("clip.mp4", scores_with_window(), fps=25.0)
    assert verdict.mode == "model" and verdict.score == pytest.approx((70 * 0.2 + 30 * 0.9) / 100)
    assert verdict.verdict == "fake"  # 0.41 >= 0.4
    assert [(s.start_frame, s.end_frame) for s in verdict.segments] == [(40, 70)]
    assert verdict.frames[41].fake_probability == pytest.approx(0.9) and verdict.frames[41].t == pytest.approx(1.64)
    assert verdict.frames[0].correlation == pytest.approx(0.8) and verdict.frames[0].soft_label == pytest.approx(0.6)
    assert verdict.details["threshold"] == 0.4 and verdict.details["num_frames"] == 100
    document = json.loads(json.dumps(report_json([verdict])))
    video = document["videos"][0]
    assert video["segments"][0]["start_s"] == pytest.approx(1.6) and video["segments"][0]["end_s"] == pytest.approx(2.8)
    assert "evidence" not in video
    assert video["band"] == "fake" and video["threshold"] == 0.4 and video["calibration"] == "user threshold"
    lenient = StudentDetector(tiny_run, threshold=0.5).verdict_from_scores("clip.mp4", scores_with_window(), 25.0)
    # a local window does not flip the mean
    assert lenient.verdict == "no evidence of manipulation" and len(lenient.segments) == 1


def test_report_view_of_verdicts(tiny_run, tmp_path):
    verdict = StudentDetector(tiny_run).verdict_from_scores("a <b>.mp4", scores_with_window(), fps=25.0)
    view = from_verdict(verdict)
    assert view.verdict == verdict.verdict and view.threshold == 0.5 and view.mode == "model"
    np.testing.assert_allclose(view.fake_probability[40:70], 0.9, atol=1e-4)
    np.testing.assert_allclose(view.teacher_correlation, 0.6, atol=1e-4)
    failed = from_verdict(VideoVerdict.failed("x.mp4", "model", "x.mp4: no face"))
    assert failed.verdict == "error" and failed.error == "x.mp4: no face"
    page = write_report([view, failed], tmp_path).read_text()
    assert "a &lt;b&gt;.mp4" in page and "x.mp4: no face" in page


@pytest.mark.slow
@pytest.mark.shared
def test_cli_model_mode_json_and_report(tiny_run, shared_data, tmp_path, capsys):
    """``avcorr detect --checkpoint RUN --json --report DIR`` over a file, a folder, a broken file and
    an empty folder: schema-valid JSON, the batch goes on, exit code 1, and a report with every card."""
    jsonschema = pytest.importorskip("jsonschema")
    from avcorr.cli.main import main

    clips = sorted((shared_data / "clips").glob("*GRID*"))[:2]
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "clip.mpg").symlink_to(clips[1])
    (folder / "notes.txt").write_text("not a video")
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    code = main(["detect", "--checkpoint", str(tiny_run), "--threshold", "0.3", "--json", "--report", str(tmp_path / "report"),
                 str(clips[0]), str(folder), str(broken), str(empty)])
    captured = capsys.readouterr()
    assert code == 1
    document = json.loads(captured.out)
    schema = json.loads((Path(__file__).resolve().parents[1] / "src/avcorr/schemas/detect.schema.json").read_text())
    jsonschema.validate(document, schema)
    videos = document["videos"]
    assert [Path(v["path"]).name for v in videos] == [clips[0].name, "clip.mpg", "broken.mp4", "empty"]
    good = videos[0]
    assert good["mode"] == "model" and good["details"]["threshold"] == 0.3
    assert good["verdict"] == good["band"] == ("fake" if good["score"] >= 0.3 else "no evidence of manipulation")
    assert all(0 <= f["fake_probability"] <= 1 and 0 <= f["correlation"] <= 1 for f in good["frames"])
    assert videos[2]["error"] and videos[3]["error"].endswith("no video files in this folder")
    assert good["details"]["timings_s"]["model"] > 0
    page = (tmp_path / "report" / "index.html").read_text()
    assert "report:" in captured.err and page.count('class="card ') == 4 and page.count("FAILED") >= 2
    # Two analysed videos: a curves image each and four suspicious frames (face + mouth crops) each.
    assert page.count("data:image/png;base64,") == 2 * (1 + 4 * 2)
