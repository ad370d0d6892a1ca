"""``avcorr detect``: judge videos, one verdict each, with the shipped default (``avcorr models``),
``--zero-shot``, or ``--detector NAME|PATH`` (a bundled model, a cue or dynamics model folder, a
trace net, a student run); ``--report DIR`` writes the HTML report (docs/detect.md).

A batch never stops at a bad file: each becomes a failed verdict with its reason. Outputs are
checked before the first video (a file where the report folder should be, a folder that cannot be
written, a full disk), ``--out`` appends each verdict as it finishes (a rerun resumes), and the
JSON of the videos finished is printed on every way out: done, Ctrl-C / SIGTERM, a report that
cannot be written, an internal error. The exit statuses are in the command's help (docs/faults.md).
"""
from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

import typer

from avcorr.cli.common import print_json, stop_on_signals, stop_status
from avcorr.detect import load
from avcorr.detect.batch import ResumableBatch, write_batch_report
from avcorr.detect.registry import resolve
from avcorr.detect.results_log import ResultsLog
from avcorr.detect.verdict import SCHEMA_VERSION, VideoVerdict
from avcorr.errors import ConfigError, InputError
from avcorr.media.decode import find_videos

#: Least free space, bytes, on the disk of --report / --out before a batch starts (a report is
#: ~100-300 kB a video with its evidence frames; this catches a full disk, not a nearly full one).
MIN_FREE_BYTES = 1 << 20


def register(app: typer.Typer) -> None:
    @app.command("detect")
    def detect(
        paths: list[Path] = typer.Argument(..., help="Videos to judge, and folders to search for videos."),
        checkpoint: Optional[str] = typer.Option(None, "--detector", "--checkpoint", help="A detector: a name from `avcorr models` or a path (a model folder with config.json: a student run, a cue model from `avcorr fit-detector`, ...). Default: the shipped default (`avcorr models`)."),
        zero_shot: bool = typer.Option(False, "--zero-shot", help="The zero-shot detector: no trained model, lip/speech content consistency with the phonetic teacher, calibrated on real clips (not the default: see `avcorr models`)."),
        audio: Optional[Path] = typer.Option(None, "--audio", help="Judge the (single) video against this audio file instead of its own track."),
        threshold: Optional[float] = typer.Option(None, help="Your own fake threshold instead of the calibrated bands (no \"uncertain\" band)."),
        calibration: Optional[Path] = typer.Option(None, "--calibration", help="Zero-shot: reference reals from `avcorr calibrate zero-shot` (default: the shipped file)."),
        report: Optional[Path] = typer.Option(None, "--report", help="Write a self-contained HTML report to this folder (index.html)."),
        teacher: str = typer.Option("none", "--teacher", help="Model mode: also compute this teacher's y_t (phonetic, deep_avsr; slower)."),
        device: str = typer.Option("cpu", "--device", help="Model mode: cpu, cuda, cuda:1, auto."),
        max_offset: Optional[int] = typer.Option(None, help="Zero-shot: audio/video offsets searched, in frames (±; default: the calibration's, 5)."),
        max_seconds: Optional[float] = typer.Option(None, "--max-seconds", help="Analyse at most the first this many seconds of each video (default: all of it, streamed in bounded memory)."),
        lip_model: Optional[Path] = typer.Option(None, help="Lip viseme model (.npz); default: the one shipped with avcorr."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document (docs/detect_schema.md)."),
        note: Optional[str] = typer.Option(None, "--note", help="A paragraph shown at the top of the --report page (e.g. what the detector is and how to read it)."),
        out: Optional[Path] = typer.Option(None, "--out", help="Append each verdict to this JSON Lines file as soon as its video finishes; rerunning with the same file skips the videos judged there (resume after a crash or a kill) and retries the failed ones."),
    ) -> None:
        """Judge each video: a score and its band (fake, uncertain, no evidence of manipulation). Failing files are listed, the rest go on.

        Progress goes to stderr (also with --json). Exit status — 0: every video judged; 1: some
        videos failed (listed; the JSON is complete); 2: a usage error, or an output that cannot be
        written (one line); 3: an internal error (one line, after the JSON of the videos finished);
        130 / 143: stopped by Ctrl-C / SIGTERM (after the JSON of the videos finished).
        """
        if zero_shot and checkpoint is not None:
            raise ConfigError("choose one detector: --detector NAME|PATH or --zero-shot")
        if audio is not None and len(paths) != 1:
            raise ConfigError("--audio pairs with exactly one video")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ConfigError("--threshold must lie in [0, 1]")
        max_frames = None if max_seconds is None else frames_for_seconds(max_seconds)
        if max_offset is not None and not 0 <= max_offset <= 250:
            raise ConfigError(f"--max-offset must lie in [0, 250] frames, got {max_offset}")
        report_dir = check_report_folder(report) if report is not None else None
        results = open_results(out) if out is not None else None
        options: dict = {"threshold": threshold, "max_frames": max_frames,
                         "evidence_frames": 4 if report is not None else 0}
        name = "zero-shot" if zero_shot else checkpoint
        kind, _ = resolve(name)
        if kind.kind == "zero-shot":
            options.update(max_offset=max_offset, lip_model=lip_model)
            if calibration is not None:
                options["calibration"] = calibration
        elif calibration is not None or max_offset is not None or lip_model is not None:
            raise ConfigError("--calibration, --max-offset and --lip-model go with the zero-shot detector")
        if kind.kind == "model":
            options.update(device=device, teacher=teacher)
        elif teacher != "none":
            raise ConfigError("--teacher goes with a student checkpoint; other detectors run the teacher they were fitted with")
        detector = load(name, **options)
        if detector.warning:
            typer.echo(f"avcorr: warning: {detector.warning}", err=True)
        videos, empty = video_files(paths)
        batch = ResumableBatch(videos, audio, results, on_progress=progress_line)
        if batch.previous:
            typer.echo(f"avcorr: {len(batch.previous)} of {len(batch.keys)} video(s) already judged in {out}; "
                       f"{len(batch.todo)} to do", err=True)
        emit = Emitter(batch, as_json)
        try:
            with stop_on_signals():
                try:
                    batch.run(detector)
                finally:
                    detector.close()
        except KeyboardInterrupt as stop:
            emit(detector.operating_point, stopped=True)
            typer.echo(f"avcorr: detect stopped after {len(batch.new)} new video(s); "
                       + (f"a rerun with --out {out} goes on" if out is not None else "no report written"), err=True)
            raise SystemExit(stop_status(stop)) from None
        except Exception:
            emit(detector.operating_point)  # what finished, before main's one-line internal error (exit 3)
            raise
        batch.add([VideoVerdict.failed(folder, detector.mode, f"{folder}: no video files in this folder") for folder in empty])
        if report_dir is not None:
            try:
                page = write_batch_report(batch.verdicts(), detector, report_dir, name=checkpoint, note=note)
            except OSError as exc:  # a full disk, a folder gone read-only: the JSON still comes out, then one line (exit 2)
                emit(detector.operating_point)
                raise InputError(report_dir, f"cannot write the report ({exc.strerror or exc}); any earlier report there is unchanged",
                                 stage="output") from None
            except Exception:
                emit(detector.operating_point)
                raise
            typer.echo(f"report: {page}", err=True)
        emit(detector.operating_point)
        if batch.failed():
            raise SystemExit(1)  # some videos failed (listed above); the others were judged


def frames_for_seconds(seconds: float, fps: float = 25.0) -> int:
    """``--max-seconds`` as a frame budget at ``fps`` (detect's rate); at least 2 frames are needed."""
    frames = int(round(seconds * fps)) if math.isfinite(seconds) else 0  # NaN, infinity: refused
    if frames < 2:
        raise ConfigError(f"--max-seconds must be at least {2 / fps:g} s (two frames at {fps:g} fps), got {seconds:g}")
    return frames


def check_report_folder(folder: Path) -> Path:
    """``folder`` made ready for the report before any video is judged: a folder (created if
    needed) that can be written, on a disk with room; else a one-line :class:`ConfigError`."""
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--report {folder}: is a file, not a folder (the report is written to FOLDER/index.html)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--report {folder}: cannot create the folder ({exc.strerror or exc})") from None
    _check_writable(folder, "--report")
    return folder


def open_results(path: Path) -> ResultsLog:
    """The ``--out`` results file, checked (a file, in a folder that can be written, with room)
    and opened: what an earlier run judged is kept, a line cut short by a kill is dropped."""
    if path.is_dir():
        raise ConfigError(f"--out {path}: is a folder; give a file (results.jsonl)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {path}: cannot create its folder ({exc.strerror or exc})") from None
    _check_writable(path.parent, "--out")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"--out {path}: the file cannot be written (permission denied)")
    log = ResultsLog(path).open()
    if log.repaired:
        typer.echo(f"avcorr: --out {path}: {len(log.entries)} video(s) judged earlier are kept; {log.repaired} line(s) dropped "
                   "(failed videos, retried now, or a line cut short by a kill)", err=True)
    return log


def _check_writable(folder: Path, option: str) -> None:
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ConfigError(f"{option} {folder}: cannot write there ({exc.strerror or exc})") from None
    free = shutil.disk_usage(folder).free
    if free < MIN_FREE_BYTES:
        raise ConfigError(f"{option} {folder}: only {free // 1024} kB free on its disk (at least {MIN_FREE_BYTES >> 10} kB needed)")


def progress_line(verdict: VideoVerdict, done: int, total: int) -> None:
    """One video done, a line on stderr (a line per video, not a bar: it reads the same in a
    terminal, a log file and a pipe)."""
    if verdict.error:
        outcome = f"failed: {verdict.error}"
    elif verdict.score is not None:
        outcome = f"{verdict.verdict} ({verdict.score:.3f})"
    else:  # too little to judge
        outcome = f"{verdict.verdict}: {verdict.details.get('reason', '')}"
    sys.stderr.write(f"detect [{done}/{total}] {verdict.path}: {' '.join(outcome.split())}\n")
    sys.stderr.flush()


class Emitter:
    """Prints a batch's one JSON document (``--json``) or table of what finished, once: at the
    end, or at a stop, a failed report or an internal error."""

    def __init__(self, batch: ResumableBatch, as_json: bool) -> None:
        self.batch = batch
        self.as_json = as_json
        self.emitted = False

    def __call__(self, point: Any, stopped: bool = False) -> None:
        if self.emitted:
            return
        self.emitted = True
        if self.as_json:
            document: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "videos": self.batch.documents()}
            if stopped:
                document["stopped"] = True
            print_json(document)
        else:
            _print_table(self.batch.verdicts(), point)


def video_files(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Files as given (a missing or bad one fails later, with its reason) and the video files
    found under folders (recursively, sorted); also the folders that held none."""
    files, empty = [], []
    for path in paths:
        if _is_folder(path):
            found = find_videos(path)
            files += found
            if not found:
                empty.append(path)
        else:
            files.append(path)
    return files, empty


def _is_folder(path: Path) -> bool:
    """``path.is_dir()`` that never raises: a name too long, a link loop, a folder without search
    permission are not folders here; they fail as files, each with its true reason."""
    try:
        return path.is_dir()
    except OSError:
        return False


_BAND_COLOURS = {"fake": "red", "uncertain": "yellow", "no evidence of manipulation": "green"}


def describe_operating_point(point) -> str:
    """One line on how scores became bands: the thresholds and what they were calibrated on."""
    if point.calibrated:
        text = (f"fake at score >= {point.fake_threshold:.3g}, calibrated for {100 * point.false_alarm_rate:.0f}% false "
                f"alarms on {point.num_real_clips} real clips ({point.source})")
        if point.uncertain_threshold is not None:
            text += f"; uncertain at >= {point.uncertain_threshold:.3g}"
        return text
    return f"fake at score >= {point.fake_threshold:.3g} ({point.source}; no uncertain band)"


def describe_contributions(contributions: list[dict], count: int = 3) -> str:
    """One line on the features that moved the most suspicious window's score most (cues mode)."""
    parts = [f"{c['feature']} {c['logit']:+.2f}" for c in contributions[:count]]
    return "driven by " + ", ".join(parts) + " (logit contributions; + toward fake)"


def _analysed(details: dict) -> str:
    """Seconds analysed, with the source's length where the video was cut (e.g. ``60.0 of 612.3``)."""
    analysed, source = details.get("analysed_s"), details.get("source_s")
    if analysed is None:
        return "—"
    return f"{analysed:.1f}" if not source or source - analysed < 0.5 else f"{analysed:.1f} of {source:.1f}"


def _print_table(verdicts, point) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("video", "band", "score", "analysed (s)", "consistency", "offset (s)", "suspicious segments (s)")
    failures = []
    for v in verdicts:
        if v.error:
            failures.append(v)
            table.add_row(Path(v.path).name, "[red]error[/red]", "", "", "", "", v.error)
            continue
        if v.score is None:  # too little to judge
            table.add_row(Path(v.path).name, f"[grey50]{v.verdict}[/grey50]", "", _analysed(v.details), "", "",
                          str(v.details.get("reason", "")))
            continue
        spans = ", ".join(f"{s.start_s:.1f}–{s.end_s:.1f}" for s in v.segments[:4]) + (" …" if len(v.segments) > 4 else "")
        colour = _BAND_COLOURS.get(v.verdict, "white")
        consistency = v.details.get("mean_correlation")
        table.add_row(Path(v.path).name, f"[{colour}]{v.verdict}[/{colour}]", f"{v.score:.3f}", _analysed(v.details),
                      "—" if consistency is None else f"{consistency:.3f}",
                      "—" if v.details.get("offset_s") is None else f"{v.details['offset_s']:+.2f}", spans)
    Console().print(table)
    for v in verdicts:
        if not v.error and v.details.get("contributions"):
            Console().print(f"{Path(v.path).name}: {describe_contributions(v.details['contributions'])}",
                            highlight=False, markup=False)
    Console().print(f"bands: {describe_operating_point(point)}", highlight=False, markup=False)
    if failures:
        Console(stderr=True).print(f"{len(failures)} of {len(verdicts)} video(s) failed")
