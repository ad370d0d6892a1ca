"""What a worker does with one stored upload: judge it with a detector, keep its report.

:func:`load_detector` is the one place that turns a detector name into a detector (loaded once
per worker, never per scan); :func:`judge` runs it on one file and never raises: a file that is
not a video, or any other failure, becomes a failed verdict with a one-line reason, so a worker
(and the server) keeps going. The report is the one ``avcorr detect --report`` writes
(:mod:`avcorr.detect.report`), written atomically to ``reports/<id>/index.html``.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import avcorr.detect
from avcorr.detect.base import Detector
from avcorr.detect.registry import detector_kinds
from avcorr.detect.bundled import BUNDLED_DIR, DEFAULT_DETECTOR, bundled_models
from avcorr.detect.evidence import add_scenes
from avcorr.detect.report import REPORT_NAME, from_verdict, render_report
from avcorr.detect.verdict import VideoVerdict
from avcorr.errors import AvcorrError, ConfigError

#: Suspicious frames kept per verdict for the report's evidence strip (as ``detect --report``).
EVIDENCE_FRAMES = 4
REPORT_TITLE = "avcorr scan report"


def detector_names() -> list[str]:
    """The detectors a client may ask for by name: the shipped ones (``avcorr models``) that are
    usable, the default first. Never a path: a remote client cannot point the server at files."""
    usable = [m for m in bundled_models() if m.error is None]
    return [m.name for m in sorted(usable, key=lambda m: not m.is_default)]  # stable: the rest keep their order


def check_detector(name: str | None, known: list[str] | None = None) -> str:
    """``name`` (default when empty) if it is one of ``known`` (default :func:`detector_names`),
    else ConfigError naming the choices."""
    name = (name or "").strip() or DEFAULT_DETECTOR
    known = detector_names() if known is None else known
    if name not in known:
        raise ConfigError(f"unknown detector {name[:80]!r}; choose one of: {', '.join(known)}")
    return name


def load_detector(name: str) -> Detector:
    """The detector called ``name`` (:func:`detector_names`), keeping evidence frames for the report.
    A registered kind (``zero-shot``) is loaded by its name; a bundled model by its folder, never by a
    path relative to the server's directory."""
    target = name if name == DEFAULT_DETECTOR or name in detector_kinds() else BUNDLED_DIR / name
    return avcorr.detect.load(target, evidence_frames=EVIDENCE_FRAMES)


@dataclass
class Judgement:
    """One scan's outcome: the detect JSON verdict (schema v2, ``path`` = the display name), the
    one-line error (None when judged) and the report page (None when it could not be written)."""

    result: dict[str, Any]
    error: str | None
    report: Path | None


def judge(detector: Detector, stored_path: str | Path, display_name: str, report_dir: str | Path) -> Judgement:
    """Judge one stored upload and write its report; never raises (see the module docstring)."""
    try:
        verdict = detector.detect(stored_path)
    except AvcorrError as error:
        verdict = VideoVerdict.failed(stored_path, detector.mode, str(error))
    except Exception as error:  # noqa: BLE001 - a scan must fail, never the worker
        verdict = VideoVerdict.failed(stored_path, detector.mode, f"could not be judged ({type(error).__name__}: {error})")
    if verdict.error is not None:
        verdict.error = _reason(verdict.error, stored_path, display_name)
    try:
        report = write_scan_report(detector, verdict, stored_path, display_name, report_dir)
    except Exception:  # noqa: BLE001 - the verdict stands without its page
        report = None
    verdict.path = display_name
    return Judgement(result=verdict.to_dict(), error=verdict.error, report=report)


def write_scan_report(detector: Detector, verdict: VideoVerdict, stored_path: str | Path, display_name: str,
                      report_dir: str | Path) -> Path:
    """The ``detect --report`` page of one verdict, naming the client's file (the evidence scenes
    are decoded from the stored one), written to a temporary file in ``report_dir`` and renamed
    onto ``index.html``: a reader never sees half a page."""
    if verdict.evidence:
        add_scenes(verdict.evidence, stored_path, verdict.fps or 25.0, verdict.details.get("start_s") or 0.0)
    video = from_verdict(verdict)
    video.path = display_name
    point = detector.operating_point
    settings = {"mode": detector.mode, "threshold": f"{point.fake_threshold:.3g}", "calibration": point.source}
    page = render_report([video], title=REPORT_TITLE, settings=settings)
    folder = Path(report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".index-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(page)
        os.replace(temporary, folder / REPORT_NAME)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return folder / REPORT_NAME


def _reason(text: str, stored_path: str | Path, display_name: str) -> str:
    """One line, naming the client's file rather than the server's path."""
    line = " ".join(text.split()).replace(str(stored_path), display_name)
    return line[:400]
