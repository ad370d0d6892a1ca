"""``avcorr detect``: judge videos, one verdict each (zero-shot now; a trained model later)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from avcorr.cli.common import print_json


def register(app: typer.Typer) -> None:
    @app.command("detect")
    def detect(
        paths: list[Path] = typer.Argument(..., help="Videos to judge."),
        zero_shot: bool = typer.Option(False, "--zero-shot", help="No trained detector: score lip/speech content consistency with the phonetic teacher."),
        audio: Optional[Path] = typer.Option(None, "--audio", help="Judge the (single) video against this audio file instead of its own track."),
        threshold: float = typer.Option(0.5, help="Score at or above which a video is called fake."),
        max_offset: int = typer.Option(5, help="Audio/video offsets searched, in frames (±)."),
        max_frames: int = typer.Option(1500, help="Analyse at most this many frames (25 fps) per video."),
        lip_model: Optional[Path] = typer.Option(None, help="Lip viseme model (.npz); default: the one shipped with avcorr."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document (docs/detect_schema.md)."),
    ) -> None:
        """Score each video's probability of being a cross-modal fake. Failing files are listed, the rest go on."""
        from avcorr.cli.common import progress
        from avcorr.errors import ConfigError
        from avcorr.eval.detect import ZeroShotDetector, detect_videos, report_json
        from avcorr.teachers.phonetic.teacher import PhoneticTeacher
        from avcorr.teachers.zero_shot import ZeroShotOptions

        if not zero_shot:
            raise ConfigError("choose a detector: --zero-shot (no trained model needed)")
        if audio is not None and len(paths) != 1:
            raise ConfigError("--audio pairs with exactly one video")
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError("--threshold must lie in [0, 1]")
        detector = ZeroShotDetector(
            teacher=PhoneticTeacher(model_path=lip_model, use_transcripts=False),
            options=ZeroShotOptions(max_offset=max_offset, threshold=threshold),
            max_frames=max_frames,
        )
        verdicts = detect_videos(progress(paths, "detect", enabled=not as_json), detector,
                                 audio_paths=[audio] if audio is not None else None)
        if as_json:
            print_json(report_json(verdicts))
        else:
            _print_table(verdicts)
        if any(v.error for v in verdicts):
            raise SystemExit(1)  # some videos failed (listed above); the others were judged


def _print_table(verdicts) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("video", "verdict", "score", "consistency", "offset (s)", "suspicious segments (s)")
    failures = []
    for v in verdicts:
        if v.error:
            failures.append(v)
            table.add_row(Path(v.path).name, "[red]error[/red]", "", "", "", v.error)
            continue
        spans = ", ".join(f"{s.start_s:.1f}–{s.end_s:.1f}" for s in v.segments[:4]) + (" …" if len(v.segments) > 4 else "")
        colour = "red" if v.verdict == "fake" else "green"
        table.add_row(Path(v.path).name, f"[{colour}]{v.verdict}[/{colour}]", f"{v.score:.3f}",
                      f"{v.details.get('mean_correlation', float('nan')):.3f}", f"{v.details.get('offset_s', 0):+.2f}", spans)
    Console().print(table)
    if failures:
        Console(stderr=True).print(f"{len(failures)} of {len(verdicts)} video(s) failed")
