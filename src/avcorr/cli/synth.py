"""``avcorr synth``: talking-face clips rendered from scratch (TTS speech, parametric faces)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from avcorr.cli.common import print_json, progress
from avcorr.forge.synth import SynthOptions, synthesize_dataset


def register(app: typer.Typer) -> None:
    @app.command("synth")
    def synth(
        out: Path = typer.Option(..., "--out", help="Output folder: <clip_id>.mp4, <clip_id>.phones.json, manifest.csv."),
        clips: int = typer.Option(8, "--clips", min=1, help="Number of clips (2–6 s each)."),
        seed: int = typer.Option(0, "--seed", help="Same seed, same clips (byte for byte)."),
        size: int = typer.Option(256, "--size", min=64, max=1024, help="Frame side in pixels (square frames)."),
        identities: Optional[int] = typer.Option(None, "--identities", min=1,
                                                 help="Number of synthetic people (default: one per two clips)."),
        workers: int = typer.Option(1, "--workers", min=1, help="Processes rendering in parallel."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON summary on stdout."),
    ) -> None:
        """Render talking faces that speak GRID sentences with eSpeak NG voices; writes a manifest of real clips.

        Each clip: mp4 (H.264 + AAC, 25 fps), and beside it the phone timings of its speech,
        sentence, voice and mouth opening per frame (<clip_id>.phones.json).
        """
        options = SynthOptions(clips=clips, seed=seed, size=size - size % 2, identities=identities, workers=workers)
        ticker = progress(range(clips), "rendering", total=clips, enabled=not as_json)
        start = time.perf_counter()
        result = synthesize_dataset(out, options, on_clip=lambda _: next(ticker, None))
        for _ in ticker:  # close the bar
            pass
        seconds = time.perf_counter() - start
        frames = sum(c.num_frames for c in result.clips)
        summary = {
            "manifest": str(result.manifest_path),
            "clips": len(result.clips),
            "frames": frames,
            "seconds": round(seconds, 2),
            "frames_per_second": round(frames / seconds, 1) if seconds > 0 else None,
            "failures": [{"clip_id": c, "reason": r} for c, r in result.failures],
        }
        if as_json:
            print_json(summary)
        else:
            typer.echo(f"wrote {result.manifest_path} ({len(result.clips)} clips, {frames} frames) in {seconds:.1f} s "
                       f"({summary['frames_per_second']} frames/s)")
            for clip_id, reason in result.failures:
                typer.echo(f"failed {clip_id}: {reason}", err=True)
        if result.failures and not result.clips:
            raise typer.Exit(1)
