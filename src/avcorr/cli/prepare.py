"""``avcorr prepare``: turn the videos of a manifest into a clip cache."""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Optional

import typer
import yaml

from avcorr.cli.common import print_json, progress, stop_on_signals, stop_status
from avcorr.data.adapters import paper_csv_rows
from avcorr.data.manifest import ManifestRow, read_manifest
from avcorr.errors import ConfigError, InputError
from avcorr.media.normalise import NormaliseOptions
from avcorr.prepare.pipeline import PrepareOptions, parse_shard, prepare_manifest


def register(app: typer.Typer) -> None:
    @app.command("prepare")
    def prepare(
        manifest: Path = typer.Argument(..., help="Manifest CSV (avcorr's columns, or the paper's CSV header)."),
        out: Path = typer.Option(..., "--out", help="Clip cache folder (created; a rerun skips clips already there)."),
        workers: int = typer.Option(0, "--workers", min=0, help="Worker processes (0: one per CPU core)."),
        shard: Optional[str] = typer.Option(None, "--shard", help="i/n: prepare only the i-th of n shards (1-based)."),
        teacher: str = typer.Option("none", "--teacher", help="Teacher whose posteriors are cached: none, phonetic, deep_avsr."),
        teacher_option: Optional[list[str]] = typer.Option(
            None, "--teacher-option",
            help="key=value passed to the teacher, repeatable; e.g. for deep_avsr: audio_model=PATH video_model=PATH visual_frontend=PATH.",
        ),
        max_frames: int = typer.Option(1000, "--max-frames", min=0, help="Frames kept per clip at 25 fps (0: no cap; memory grows ~100 kB/frame)."),
        face_size: int = typer.Option(112, "--face-size", min=8, help="Side of the grayscale face crop in pixels."),
        mouth_size: int = typer.Option(112, "--mouth-size", min=8, help="Side of the grayscale mouth crop in pixels."),
        normalise_face_px: int = typer.Option(
            0, "--normalise-face-px", min=0,
            help="Canonical resolution: rescale each clip so its face is at most this many pixels high (0: off; 96 recommended).",
        ),
        normalise_jpeg_quality: int = typer.Option(75, "--normalise-jpeg-quality", min=1, max=100, help="With --normalise-face-px: JPEG quality of the round trip every frame goes through."),
        normalise_blur_sigma: float = typer.Option(0.0, "--normalise-blur-sigma", min=0.0, help="With --normalise-face-px: Gaussian blur (pixels of the rescaled frame) before the JPEG round trip."),
        root: Optional[Path] = typer.Option(None, "--root", help="For the paper's CSV: folder its media paths are remapped to."),
        force: bool = typer.Option(False, "--force", help="Redo clips already in the cache."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON summary (no progress bar)."),
    ) -> None:
        """Decode, track the face, crop, compute MFCC/STFT (and teacher posteriors) for every clip.

        Exits 1 when any clip failed (each is listed with its stage and reason in CACHE/failures.csv).
        Ctrl-C or SIGTERM stops at once (exit 130 / 143): the clips written are kept, a rerun goes on.
        """
        rows = load_any_manifest(manifest, root)
        normalise = (NormaliseOptions(face_px=normalise_face_px, jpeg_quality=normalise_jpeg_quality, blur_sigma=normalise_blur_sigma)
                     if normalise_face_px > 0 else None)
        options = PrepareOptions(face_size=face_size, mouth_size=mouth_size, max_frames=max_frames or None, normalise=normalise)
        try:
            with stop_on_signals():
                summary = prepare_manifest(
                    rows, out, options, workers=workers or os.cpu_count() or 1, shard=parse_shard(shard), teacher=teacher,
                    teacher_options=parse_teacher_options(teacher_option or []), force=force,
                    progress=None if as_json else (lambda items, total: progress(items, "prepare", total=total)),
                )
        except KeyboardInterrupt as stop:
            typer.echo(f"avcorr: prepare stopped; the clips written are kept in {out} (rerun to go on)", err=True)
            raise SystemExit(stop_status(stop)) from None
        failures = out / "failures.csv"
        if as_json:
            print_json({"cache": str(out), "done": summary.done, "skipped": summary.skipped, "failed": summary.failed,
                        "failures": str(failures) if summary.failed else None,
                        "failed_clips": [{"clip_id": o.clip_id, "stage": o.stage, "reason": o.reason} for o in summary.outcomes if o.status == "failed"]})
        else:
            typer.echo(f"{out}: {summary.done} prepared, {summary.skipped} already there, {summary.failed} failed", err=True)
        if summary.failed:
            if not as_json:
                for outcome in [o for o in summary.outcomes if o.status == "failed"][:10]:
                    typer.echo(f"  {outcome.clip_id}: [{outcome.stage}] {outcome.reason}", err=True)
            typer.echo(f"avcorr: {summary.failed} clip(s) failed; see {failures}", err=True)
            raise SystemExit(1)  # not typer.Exit: the entry point runs click with standalone_mode=False


def parse_teacher_options(items: list[str]) -> dict[str, object]:
    """``key=value`` strings → keyword options (values parsed as YAML: numbers, booleans, paths)."""
    options: dict[str, object] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--teacher-option {item!r} is not of the form key=value")
        options[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
    return options


def load_any_manifest(path: Path, root: Optional[Path] = None) -> list[ManifestRow]:
    """Rows from an avcorr manifest or from the paper's CSV (detected by its header)."""
    if not path.exists():
        raise InputError(path, "manifest not found", stage="manifest")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header = [h.strip() for h in next(csv.reader(handle), [])]
    if "ID_Name" in header and "ENtire_Label" in header:
        return paper_csv_rows(path, root if root is not None else path.parent)
    return read_manifest(path)
