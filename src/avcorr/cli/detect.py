"""``avcorr detect``: judge videos, one verdict each, with the calibrated zero-shot detector (the
default, also ``--zero-shot``) or a model folder (``--checkpoint``: a student run or a cue model);
``--report DIR`` writes the HTML report (docs/detect.md)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from avcorr.cli.common import print_json, progress
from avcorr.detect import detect_videos, load
from avcorr.detect.batch import write_batch_report
from avcorr.detect.registry import resolve
from avcorr.detect.verdict import VideoVerdict, report_json
from avcorr.errors import ConfigError
from avcorr.media.decode import find_videos


def register(app: typer.Typer) -> None:
    @app.command("detect")
    def detect(
        paths: list[Path] = typer.Argument(..., help="Videos to judge, and folders to search for videos."),
        checkpoint: Optional[str] = typer.Option(None, "--detector", "--checkpoint", help="A detector: a name from `avcorr models` or a path (a model folder with config.json: a student run, a cue model from `avcorr fit-detector`, ...). Default: the shipped default (`avcorr models`)."),
        zero_shot: bool = typer.Option(False, "--zero-shot", help="The default, said explicitly: no trained detector, lip/speech content consistency with the phonetic teacher, calibrated on real clips."),
        audio: Optional[Path] = typer.Option(None, "--audio", help="Judge the (single) video against this audio file instead of its own track."),
        threshold: Optional[float] = typer.Option(None, help="Your own fake threshold instead of the calibrated bands (no \"uncertain\" band)."),
        calibration: Optional[Path] = typer.Option(None, "--calibration", help="Zero-shot: reference reals from `avcorr calibrate zero-shot` (default: the shipped file)."),
        report: Optional[Path] = typer.Option(None, "--report", help="Write a self-contained HTML report to this folder (index.html)."),
        teacher: str = typer.Option("none", "--teacher", help="Model mode: also compute this teacher's y_t (phonetic, deep_avsr; slower)."),
        device: str = typer.Option("cpu", "--device", help="Model mode: cpu, cuda, cuda:1, auto."),
        max_offset: Optional[int] = typer.Option(None, help="Zero-shot: audio/video offsets searched, in frames (±; default: the calibration's, 5)."),
        max_frames: int = typer.Option(1500, help="Analyse at most this many frames (25 fps) per video."),
        lip_model: Optional[Path] = typer.Option(None, help="Lip viseme model (.npz); default: the one shipped with avcorr."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document (docs/detect_schema.md)."),
        note: Optional[str] = typer.Option(None, "--note", help="A paragraph shown at the top of the --report page (e.g. what the detector is and how to read it)."),
    ) -> None:
        """Judge each video: a score and its band (fake, uncertain, no evidence of manipulation). Failing files are listed, the rest go on."""
        if zero_shot and checkpoint is not None:
            raise ConfigError("choose one detector: --detector NAME|PATH or --zero-shot (the default)")
        if audio is not None and len(paths) != 1:
            raise ConfigError("--audio pairs with exactly one video")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ConfigError("--threshold must lie in [0, 1]")
        if max_frames < 2:
            raise ConfigError(f"--max-frames must be at least 2, got {max_frames}")
        options: dict = {"threshold": threshold, "max_frames": max_frames,
                         "evidence_frames": 4 if report is not None else 0}
        kind, _ = resolve(checkpoint)
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
        detector = load(checkpoint, **options)
        if detector.warning:
            typer.echo(f"avcorr: warning: {detector.warning}", err=True)
        videos, empty = video_files(paths)
        try:
            verdicts = detect_videos(progress(videos, "detect", enabled=not as_json), detector,
                                     audio_paths=[audio] if audio is not None else None)
        finally:
            detector.close()
        verdicts += [VideoVerdict.failed(folder, detector.mode, f"{folder}: no video files in this folder") for folder in empty]
        if report is not None:
            page = write_batch_report(verdicts, detector, report, name=checkpoint, note=note)
            typer.echo(f"report: {page}", err=True)
        if as_json:
            print_json(report_json(verdicts))
        else:
            _print_table(verdicts, detector.operating_point)
        if any(v.error for v in verdicts):
            raise SystemExit(1)  # some videos failed (listed above); the others were judged


def video_files(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Files as given (a missing or bad one fails later, with its reason) and the video files
    found under folders (recursively, sorted); also the folders that held none."""
    files, empty = [], []
    for path in paths:
        if path.is_dir():
            found = find_videos(path)
            files += found
            if not found:
                empty.append(path)
        else:
            files.append(path)
    return files, empty


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


def _print_table(verdicts, point) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("video", "band", "score", "consistency", "offset (s)", "suspicious segments (s)")
    failures = []
    for v in verdicts:
        if v.error:
            failures.append(v)
            table.add_row(Path(v.path).name, "[red]error[/red]", "", "", "", v.error)
            continue
        spans = ", ".join(f"{s.start_s:.1f}–{s.end_s:.1f}" for s in v.segments[:4]) + (" …" if len(v.segments) > 4 else "")
        colour = _BAND_COLOURS.get(v.verdict, "white")
        consistency = v.details.get("mean_correlation")
        table.add_row(Path(v.path).name, f"[{colour}]{v.verdict}[/{colour}]", f"{v.score:.3f}",
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
