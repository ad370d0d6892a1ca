"""detect under faults: exit codes, options checked at the edge, outputs checked before the batch
and written atomically, results appended per video and resumed after a kill, clean stops."""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from avcorr.cli.main import main
from avcorr.detect.results_log import ResultsLog, video_key
from media_fixtures import index_frames, tone, write_media
from serve_fixtures import WholeFrameTracker

TESTS = Path(__file__).resolve().parent
#: Runs ``avcorr`` in a subprocess with the whole frame as the face (no MediaPipe), like the fixture.
CLI = ("import sys; sys.path.insert(0, {tests!r}); from serve_fixtures import WholeFrameTracker; "
       "import avcorr.media.face as f; f.FaceTracker = WholeFrameTracker; "
       "from avcorr.cli.main import main; sys.exit(main(sys.argv[1:]))").format(tests=str(TESTS))


@pytest.fixture
def stub_tracker(monkeypatch):
    monkeypatch.setattr("avcorr.media.face.FaceTracker", WholeFrameTracker)


def _clip(path: Path, seconds: float = 2.4, shade: int = 0) -> Path:
    frames = index_frames(int(25 * seconds), (64, 64))
    return write_media(path, (frames + shade).astype(frames.dtype), tone(seconds, freq=200.0 + 10 * shade))


def _run(capsys, *args: str) -> tuple[int, dict | None, str]:
    code = main(["detect", *args])
    captured = capsys.readouterr()
    try:
        document = json.loads(captured.out) if captured.out.strip() else None
    except ValueError:
        document = None
    return code, document, captured.err


def _one_line_error(err: str) -> str:
    errors = [line for line in err.splitlines() if line.startswith("avcorr: error") or line.startswith("avcorr: internal")]
    assert len(errors) == 1, err
    assert "Traceback" not in err
    return errors[0]


# ------------------------------------------------------------------------------------ exit codes


def test_exit_0_when_all_judged_and_1_when_some_failed_with_the_json_complete(tmp_path, stub_tracker, capsys):
    good = _clip(tmp_path / "good.mp4")
    code, doc, err = _run(capsys, "--json", str(good))
    assert code == 0 and doc["videos"][0]["error"] is None
    assert f"detect [1/1] {good}" in err  # progress on stderr, also with --json
    code, doc, err = _run(capsys, "--json", str(good), str(tmp_path / "missing.mp4"))
    assert code == 1 and [v["error"] is None for v in doc["videos"]] == [True, False]
    assert "file not found" in doc["videos"][1]["error"]


@pytest.mark.parametrize("args, words", [
    (["--max-seconds", "0"], "--max-seconds"), (["--max-seconds", "-5"], "--max-seconds"),
    (["--max-seconds", "0.02"], "--max-seconds"), (["--max-seconds", "nan"], "--max-seconds"),
    (["--threshold", "1.5"], "--threshold"), (["--threshold", "-0.1"], "--threshold"),
    (["--max-offset", "-1"], "--max-offset"),
])
def test_bad_option_values_are_one_line_usage_errors_before_any_video(tmp_path, capsys, args, words):
    code, doc, err = _run(capsys, "--json", *args, str(tmp_path / "x.mp4"))
    assert code == 2 and doc is None
    assert words in _one_line_error(err)
    assert "detect [" not in err


def test_an_unexpected_exception_on_one_file_fails_that_file_only(tmp_path, stub_tracker, capsys, monkeypatch):
    from avcorr.detect.cue_detector import CueDetector  # the shipped default's kind (DEFAULT_DETECTOR)

    good, bad = _clip(tmp_path / "good.mp4"), _clip(tmp_path / "bad.mp4", shade=3)
    real = CueDetector.score

    def score(self, path, *args, **kwargs):
        if Path(path).name == "bad.mp4":
            raise ZeroDivisionError("a bug met on this file")
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(CueDetector, "score", score)
    code, doc, _ = _run(capsys, "--json", str(bad), str(good))
    assert code == 1
    assert doc["videos"][0]["error"] == f"{bad}: internal error: ZeroDivisionError: a bug met on this file"
    assert doc["videos"][1]["error"] is None and doc["videos"][1]["score"] is not None


def test_an_internal_error_after_the_batch_is_exit_3_with_the_json_of_what_finished(tmp_path, stub_tracker, capsys, monkeypatch):
    import avcorr.cli.detect as cli_detect

    def broken(*args, **kwargs):
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(cli_detect, "write_batch_report", broken)
    code, doc, err = _run(capsys, "--json", "--report", str(tmp_path / "rep"), str(_clip(tmp_path / "a.mp4")))
    assert code == 3
    assert "internal error: RuntimeError: renderer bug" in _one_line_error(err)
    assert len(doc["videos"]) == 1 and doc["videos"][0]["error"] is None


# ------------------------------------------------------------------------------------ outputs


def test_a_file_where_the_report_folder_should_be_is_refused_before_the_batch(tmp_path, capsys):
    target = tmp_path / "report.html"
    target.write_text("keep me")
    code, doc, err = _run(capsys, "--json", "--report", str(target), str(tmp_path / "a.mp4"))
    assert code == 2 and doc is None and "detect [" not in err
    assert "is a file, not a folder" in _one_line_error(err)
    assert target.read_text() == "keep me"
    code, _, err = _run(capsys, "--json", "--out", str(tmp_path), str(tmp_path / "a.mp4"))
    assert code == 2 and "is a folder" in _one_line_error(err)


def test_too_little_free_space_is_refused_before_the_batch(tmp_path, capsys, monkeypatch):
    import shutil

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=100 * 1024))
    code, doc, err = _run(capsys, "--report", str(tmp_path / "rep"), str(tmp_path / "a.mp4"))
    assert code == 2 and "only 100 kB free" in _one_line_error(err)


def test_a_report_that_cannot_be_written_leaves_the_old_one_and_the_json_still_comes(tmp_path, stub_tracker, capsys, monkeypatch):
    import avcorr.detect.report as report_module

    clip = _clip(tmp_path / "a.mp4")
    folder = tmp_path / "rep"
    code, _, _ = _run(capsys, "--report", str(folder), str(clip))
    assert code == 0
    before = (folder / "index.html").read_bytes()
    assert before.startswith(b"<!DOCTYPE html>") and before.rstrip().endswith(b"</html>")

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(report_module, "os", types.SimpleNamespace(**{**vars(os), "fsync": full_disk}))
    code, doc, err = _run(capsys, "--json", "--report", str(folder), str(clip), str(_clip(tmp_path / "b.mp4", shade=2)))
    assert code == 2
    line = _one_line_error(err)
    assert "cannot write the report (No space left on device)" in line and "unchanged" in line
    assert [v["error"] for v in doc["videos"]] == [None, None]
    assert (folder / "index.html").read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["index.html"]  # no temporary left


# ------------------------------------------------------------------------------------ results file


def test_the_results_file_drops_a_torn_line_and_failed_videos_and_keeps_the_rest(tmp_path):
    path = tmp_path / "r.jsonl"
    lines = [json.dumps({"path": "a.mp4", "error": None, "score": 0.1}), json.dumps({"path": "b.mp4", "error": "broken"}),
             json.dumps({"path": "./a.mp4", "error": None, "score": 0.1}), json.dumps({"path": "c.mp4", "error": None})]
    path.write_text("\n".join(lines) + "\n" + '{"path": "d.mp4", "sco')
    log = ResultsLog(path).open()
    assert [e["path"] for e in log.entries] == ["a.mp4", "c.mp4"]
    assert log.repaired == 3  # b failed (retried), ./a.mp4 repeats a.mp4, d was cut short
    assert log.done() == {video_key("a.mp4"), video_key("c.mp4")}
    assert path.read_text().splitlines() == [json.dumps(e, separators=(",", ":")) for e in log.entries]
    log.append({"path": "d.mp4", "error": None})
    assert json.loads(path.read_text().splitlines()[-1])["path"] == "d.mp4"
    assert ResultsLog(path).open().repaired == 0


def _wait_for_lines(path: Path, count: int, process: subprocess.Popen, limit_s: float = 120.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} did not reach {count} lines (exit {process.poll()})")


def test_a_sigkilled_batch_resumes_with_every_video_exactly_once(tmp_path):
    videos = [str(_clip(tmp_path / f"v{i}.mp4", 2.2 + 0.2 * i, shade=i)) for i in range(5)]
    out = tmp_path / "r.jsonl"
    process = subprocess.Popen([sys.executable, "-c", CLI, "detect", "--out", str(out), *videos],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    _wait_for_lines(out, 2, process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    first = out.read_text().splitlines()
    assert 2 <= len(first) < 5
    with out.open("a") as handle:
        handle.write('{"path": "' + videos[-1] + '", "score": 0.')  # what a kill mid-write would leave
    done = subprocess.run([sys.executable, "-c", CLI, "detect", "--json", "--out", str(out), *videos],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = out.read_text().splitlines()
    assert lines[: len(first)] == first  # what the killed run wrote is kept as it was
    assert sorted(json.loads(line)["path"] for line in lines) == sorted(videos)
    assert f"{len(first)} of 5 video(s) already judged" in done.stderr and "1 line(s) dropped" in done.stderr
    assert [v["path"] for v in json.loads(done.stdout)["videos"]] == videos  # the whole batch, in order


def test_sigterm_stops_the_batch_with_the_json_of_what_finished(tmp_path):
    videos = [str(_clip(tmp_path / f"v{i}.mp4", 2.2, shade=i)) for i in range(6)]
    out = tmp_path / "r.jsonl"
    process = subprocess.Popen([sys.executable, "-c", CLI, "detect", "--json", "--out", str(out), *videos],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    _wait_for_lines(out, 1, process)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    document = json.loads(stdout)
    assert document["stopped"] is True and "detect stopped after" in stderr and "Traceback" not in stderr
    written = [json.loads(line)["path"] for line in out.read_text().splitlines()]
    assert [v["path"] for v in document["videos"]] == written and 1 <= len(written) < 6


# ------------------------------------------------------------------------------------ per-file problems


def test_special_files_loops_and_long_names_each_fail_alone_with_their_reason(tmp_path, stub_tracker, capsys):
    good = _clip(tmp_path / "good.mp4")
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.mp4"
    loop.symlink_to(loop)
    long_name = tmp_path / ("n" * 300 + ".mp4")
    code, doc, _ = _run(capsys, "--json", str(fifo), str(loop), "/dev/zero", str(long_name), str(good))
    assert code == 1
    reasons = [v["error"] for v in doc["videos"]]
    assert "named pipe" in reasons[0]
    assert "link loop" in reasons[1]
    assert "character device" in reasons[2]
    assert "too long" in reasons[3]
    assert reasons[4] is None
