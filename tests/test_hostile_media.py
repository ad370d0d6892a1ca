"""About 45 hostile files (tests/hostile_media.py) through ``detect`` in one batch: each gets its
expected outcome, none a traceback or an internal error, none hangs, and the clean clips score the
same in that company as alone."""
from __future__ import annotations

import contextlib
import io
import re
import time

import pytest

import avcorr.detect as detect
from hostile_media import TOO_LITTLE, build_hostile_set, outcome
from serve_fixtures import WholeFrameTracker

#: Generous bound on one file's wall time (a hang guard on a loaded 2-core machine, not a speed test).
PER_FILE_LIMIT_S = 120.0


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The hostile set, judged in one batch by the shipped default detector (the whole frame as the
    face: tracking is not under test), with each file's wall time and whatever went to stderr."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("avcorr.media.face.FaceTracker", WholeFrameTracker)
        items = build_hostile_set(tmp_path_factory.mktemp("hostile"))
        detector = detect.load()
        seconds: dict[str, float] = {}
        clock = [time.monotonic()]

        def timed(verdict):
            now = time.monotonic()
            seconds[verdict.path] = now - clock[0]
            clock[0] = now

        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            verdicts = detect.detect_videos([i.path for i in items], detector, on_done=timed)
        detector.close()
        alone = {}
        for item in (i for i in items if i.good):
            with detect.load() as fresh:
                alone[str(item.path)] = fresh.detect(item.path).score
        yield items, [v.to_dict() for v in verdicts], seconds, stderr.getvalue(), alone


@pytest.mark.timeout(900)
def test_every_hostile_file_gets_its_expected_outcome(batch):
    items, verdicts, seconds, stderr, _ = batch
    assert len(verdicts) == len(items) >= 40
    wrong = [f"{i.path.name!r} ({i.kind}): {outcome(v)}  [expected {i.expect}]"
             for i, v in zip(items, verdicts) if i.expect != TOO_LITTLE and not re.search(i.expect, outcome(v))]
    assert not wrong, "\n".join(wrong)
    assert "Traceback" not in stderr
    assert not [v["error"] for v in verdicts if v["error"] and "internal error" in v["error"]]
    for item, verdict in zip(items, verdicts):
        assert verdict["path"] == str(item.path)
        if verdict["error"]:
            assert "\n" not in verdict["error"].replace(str(item.path), "")  # one line (the name itself may hold one)
    slow = {p: s for p, s in seconds.items() if s > PER_FILE_LIMIT_S}
    assert not slow


@pytest.mark.timeout(900)
def test_fragments_are_too_little_to_judge(batch):
    items, verdicts, *_ = batch
    wrong = [f"{i.path.name!r}: {outcome(v)}" for i, v in zip(items, verdicts) if i.expect == TOO_LITTLE and not re.search(TOO_LITTLE, outcome(v))]
    assert not wrong, "\n".join(wrong)


@pytest.mark.timeout(900)
def test_clean_clips_score_the_same_alone_as_among_hostile_files(batch):
    items, verdicts, _, _, alone = batch
    in_batch = {v["path"]: v["score"] for v in verdicts}
    assert len(alone) >= 3
    for path, score in alone.items():
        assert score is not None and in_batch[path] == round(score, 4)


def test_outcome_lines_name_what_happened():
    assert outcome({"error": None, "band": "fake", "score": 0.9}) == "judged"
    assert outcome({"error": "x.mp4: no video stream", "band": None, "score": None}) == "failed: x.mp4: no video stream"
    line = outcome({"error": "x.mp4: only 0.40 s could be decoded (at least 2 s is needed to judge)", "score": None})
    assert line.startswith("too little: ")
    assert outcome({"error": None, "band": "too little to judge", "score": None,
                    "details": {"reason": "only 10% decoded"}}) == "too little: only 10% decoded"
