"""A batch of videos through one detector: a failing file becomes a failed verdict, the rest go on;
with a results log (:class:`~avcorr.detect.results_log.ResultsLog`) the batch is resumable."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from avcorr.detect.base import Detector
from avcorr.detect.evidence import add_scenes
from avcorr.detect.report import from_verdict, write_report
from avcorr.detect.results_log import ResultsLog, video_key
from avcorr.detect.verdict import VideoVerdict
from avcorr.errors import AvcorrError, InputError


def detect_videos(paths: Iterable[str | Path], detector: Detector, audio_paths: Sequence[str | Path | None] | None = None,
                  on_done: Callable[[VideoVerdict], None] | None = None) -> list[VideoVerdict]:
    """Judge each video; a file that fails becomes a verdict with ``error`` set, and the batch goes on.

    Any exception on one file fails that file only: avcorr's own errors with their reason, others
    as ``internal error: <Type>: <message>`` (a bug to report; the batch still goes on). Only a
    stop (KeyboardInterrupt, SystemExit) ends the batch early; ``on_done`` has then seen every
    finished verdict."""
    paths = list(paths)
    audio_paths = list(audio_paths) if audio_paths is not None else [None] * len(paths)
    verdicts = []
    for path, audio_path in zip(paths, audio_paths):
        try:
            verdict = detector.detect(path, audio_path)
        except AvcorrError as exc:
            verdict = VideoVerdict.failed(path, detector.mode, str(exc).splitlines()[0], audio_path)
        except MemoryError:
            verdict = VideoVerdict.failed(path, detector.mode, f"{path}: out of memory while analysing this video", audio_path)
        except Exception as exc:  # noqa: BLE001 (a bug met on one file must not lose the batch)
            message = " ".join(str(exc).split())[:300]
            verdict = VideoVerdict.failed(path, detector.mode, f"{path}: internal error: {type(exc).__name__}: {message}", audio_path)
        verdicts.append(verdict)
        if on_done:
            on_done(verdict)
    return verdicts


def write_batch_report(verdicts: Sequence[VideoVerdict], detector: Detector, out_dir: str | Path,
                       name: str | Path | None = None, note: str | None = None) -> Path:
    """The HTML report of a batch (``out_dir/index.html``): the evidence frames' scenes are decoded
    here, then the page is rendered with the detector's settings. ``name``: the detector as the
    user named it (shown on the page)."""
    for verdict in verdicts:
        if verdict.evidence:
            add_scenes(verdict.evidence, verdict.path, verdict.fps or 25.0, verdict.details.get("start_s") or 0.0)
    point = detector.operating_point
    settings = {"mode": detector.mode, "threshold": f"{point.fake_threshold:.3g}", "calibration": point.source}
    if name is not None:
        settings["detector"] = str(name)
    return write_report([from_verdict(v) for v in verdicts], out_dir, settings=settings, note=note)


class ResumableBatch:
    """The videos of one batch: which are still to do (``results`` may hold some judged by an
    earlier run), and the verdicts as they finish, each appended to ``results`` before the next
    video starts (so a rerun with the same log goes on where a kill stopped this one).

    ``videos``: in the order given; a video given twice is judged once. ``audio``: one audio file
    every video is judged against (else each its own track). ``on_progress(verdict, done, total)``:
    called after each video, ``done`` counting the earlier run's too."""

    def __init__(self, videos: Sequence[str | Path], audio: str | Path | None = None, results: ResultsLog | None = None,
                 on_progress: Callable[[VideoVerdict, int, int], None] | None = None) -> None:
        self.audio = audio
        self.results = results
        self.on_progress = on_progress
        self.keys: list[str] = []
        self.paths: dict[str, Path] = {}
        for video in videos:
            key = video_key(video, audio)
            if key not in self.paths:
                self.keys.append(key)
                self.paths[key] = Path(video)
        earlier = {video_key(e["path"], e.get("audio_path")): e for e in (results.entries if results else [])}
        self.previous: dict[str, dict[str, Any]] = {k: earlier[k] for k in self.keys if k in earlier}
        self.todo: list[Path] = [self.paths[k] for k in self.keys if k not in self.previous]
        self.new: dict[str, VideoVerdict] = {}
        self.extra: list[VideoVerdict] = []

    def run(self, detector: Detector) -> list[VideoVerdict]:
        """Judge the videos still to do (:func:`detect_videos`); returns :meth:`verdicts`. A stop
        (KeyboardInterrupt) propagates, with every finished verdict already kept."""
        audio_paths = [self.audio] * len(self.todo) if self.audio is not None else None
        detect_videos(self.todo, detector, audio_paths=audio_paths, on_done=self.finished)
        return self.verdicts()

    def finished(self, verdict: VideoVerdict) -> None:
        """One video done: appended to ``results`` (on disk when this returns), then ``on_progress``."""
        self.new[video_key(verdict.path, verdict.audio_path)] = verdict
        if self.results is not None:
            try:
                self.results.append(verdict.to_dict())
            except OSError as exc:
                raise InputError(self.results.path, f"cannot append to the results file ({exc.strerror or exc})", stage="output") from None
        if self.on_progress is not None:
            self.on_progress(verdict, len(self.previous) + len(self.new), len(self.keys))

    def add(self, verdicts: Sequence[VideoVerdict]) -> None:
        """Verdicts from outside the videos (e.g. a folder that held none), listed after them."""
        self.extra += verdicts

    def verdicts(self) -> list[VideoVerdict]:
        """Every finished video in the order given (an earlier run's from ``results``), then the extras."""
        out = []
        for key in self.keys:
            if key in self.new:
                out.append(self.new[key])
            elif key in self.previous:
                out.append(VideoVerdict.from_dict(self.previous[key]))
        return out + self.extra

    def documents(self) -> list[dict[str, Any]]:
        """:meth:`verdicts` as the detect JSON's video entries (an earlier run's exactly as logged)."""
        videos = [self.previous[k] if k in self.previous else self.new[k].to_dict() for k in self.keys
                  if k in self.previous or k in self.new]
        return videos + [v.to_dict() for v in self.extra]

    def failed(self) -> bool:
        """Whether any finished video failed."""
        return any(v.error for v in self.verdicts())
