"""``avcorr forge``: cross-modal deepfakes made from real talking-face clips."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from avcorr.cli.common import print_json, progress
from avcorr.forge.forge import DEFAULT_METHODS, ForgeOptions, run_forge, sources_from_path


def register(app: typer.Typer) -> None:
    @app.command("forge")
    def forge(
        sources: Path = typer.Argument(..., help="Sources manifest CSV (its real rows are used), or a folder of videos."),
        out: Path = typer.Option(..., "--out", help="Output folder: videos/, manifest.csv, forgeries.jsonl, failures.csv."),
        methods: Optional[str] = typer.Option(None, "--methods", help="Comma-separated methods (default: all). "
                                              "audio-swap, audio-swap-self, tts-dub, lip-rewrite, lip-rewrite-self, "
                                              "still-talk, still-talk-self, face-swap."),
        per_source: int = typer.Option(1, "--per-source", help="Forgeries per source and method (K)."),
        seed: int = typer.Option(0, "--seed", help="Same seed, same forgeries."),
        partial: bool = typer.Option(False, "--partial", help="Manipulate only a random time window per fake (recorded)."),
        preview: bool = typer.Option(False, "--preview", help="Write preview/<method>.png contact sheets."),
        max_seconds: Optional[float] = typer.Option(None, "--max-seconds", help="Use at most this much of each source."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON summary on stdout."),
    ) -> None:
        """Forge audio-swap, TTS-dub, lip-rewrite, still-talk and face-swap fakes (and -self variants) from real clips.

        The output manifest holds the sources re-encoded as real rows and every fake with
        label, audio_label, video_label, sync_label, method, source_id, audio_source_id and,
        with --partial, fake_start_s/fake_end_s. Failures are listed, never fatal.
        """
        chosen = [m.strip() for m in methods.split(",") if m.strip()] if methods else list(DEFAULT_METHODS)
        options = ForgeOptions(methods=chosen, per_source=per_source, seed=seed, partial=partial, preview=preview,
                               max_seconds=max_seconds)
        options.validate()
        rows = sources_from_path(sources)
        total = len(rows) * len(chosen) * per_source
        ticker = progress(range(total), "forging", total=total, enabled=not as_json)
        report = run_forge(rows, out, options, on_step=lambda _: next(ticker, None))
        for _ in ticker:  # close the bar
            pass
        summary = report.summary()
        if as_json:
            print_json(summary)
            return
        clips = ", ".join(f"{n} {m}" for m, n in summary["clips"].items())
        typer.echo(f"wrote {report.manifest_path} ({clips}) in {summary['seconds']:.1f} s "
                   f"({summary['frames_per_second']} frames/s)")
        for path in report.previews:
            typer.echo(f"preview: {path}")
        for failure in report.failures:
            typer.echo(f"failed {failure.clip_id} [{failure.method}] at {failure.stage}: {failure.reason}", err=True)
