"""avcorr.detect.ResumableBatch from the Python API: a batch killed part-way goes on from its
results log, judging only what is left (failed videos again), in the order the videos were given."""
from __future__ import annotations

from pathlib import Path

import pytest

from avcorr.detect import ResumableBatch
from avcorr.detect.results_log import ResultsLog
from avcorr.detect.verdict import VideoVerdict
from avcorr.errors import InputError


class ScoreByName:
    """Scores a video by its file name (``0.25.mp4`` → 0.25), fails ``bad*``, stops (as Ctrl-C
    would) at ``stop_at``; records what it was asked to judge."""

    mode = "by-name"

    def __init__(self, stop_at: str | None = None) -> None:
        self.stop_at = stop_at
        self.judged: list[str] = []

    def detect(self, path: str | Path, audio_path: str | Path | None = None) -> VideoVerdict:
        name = Path(path).stem
        if name == self.stop_at:
            raise KeyboardInterrupt
        self.judged.append(name)
        if name.startswith("bad"):
            raise InputError(path, "not a video")
        score = float(name)
        return VideoVerdict(path=str(path), score=score, verdict="fake" if score >= 0.5 else "no evidence of manipulation",
                            mode=self.mode, fps=25.0)


def test_a_stopped_batch_resumes_from_its_log_and_retries_failures(tmp_path: Path) -> None:
    videos = [tmp_path / n for n in ("0.25.mp4", "bad.mp4", "0.75.mp4", "0.5.mp4")]
    log_path = tmp_path / "results.jsonl"
    progress: list[tuple[str, int, int]] = []

    first = ScoreByName(stop_at="0.75")
    batch = ResumableBatch(videos + [videos[0]], results=ResultsLog(log_path).open(),  # a repeat is judged once
                           on_progress=lambda v, done, total: progress.append((Path(v.path).stem, done, total)))
    with pytest.raises(KeyboardInterrupt):
        batch.run(first)
    assert first.judged == ["0.25", "bad"]
    assert progress == [("0.25", 1, 4), ("bad", 2, 4)]
    assert len(log_path.read_text().splitlines()) == 2  # both on disk before the stop

    second = ScoreByName()
    reopened = ResultsLog(log_path).open()  # the failed video's line is dropped, to be retried
    assert reopened.repaired == 1
    resumed = ResumableBatch(videos, results=reopened)
    assert [p.stem for p in resumed.todo] == ["bad", "0.75", "0.5"]
    verdicts = resumed.run(second)
    assert second.judged == ["bad", "0.75", "0.5"]
    assert [Path(v.path).stem for v in verdicts] == ["0.25", "bad", "0.75", "0.5"]  # the order given
    assert [v.score for v in verdicts] == [0.25, None, 0.75, 0.5]
    assert resumed.failed() and "not a video" in verdicts[1].error
    assert [d["path"] for d in resumed.documents()] == [str(v) for v in videos]
