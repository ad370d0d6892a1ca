"""A batch of videos through one detector: a failing file becomes a failed verdict, the rest go on."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Sequence

from avcorr.detect.base import Detector
from avcorr.detect.evidence import add_scenes
from avcorr.detect.report import from_verdict, write_report
from avcorr.detect.verdict import VideoVerdict
from avcorr.errors import AvcorrError


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
