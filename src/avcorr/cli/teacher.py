"""``avcorr teacher``: fit and inspect the phonetic teacher's lip viseme model."""
from __future__ import annotations

from pathlib import Path

import typer

from avcorr.cli.common import print_json


def _videos(paths: list[Path]) -> list[Path]:
    from avcorr.media.decode import find_videos

    out: list[Path] = []
    for path in paths:
        out += find_videos(path) if path.is_dir() else [path]
    return out


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The phonetic teacher's lip viseme model.", no_args_is_help=True)
    app.add_typer(group, name="teacher")

    @group.command("fit-lips")
    def fit_lips(
        paths: list[Path] = typer.Argument(..., help="Real talking-face videos, or folders of them."),
        out: Path = typer.Option(..., "--out", help="Where to write the model (.npz)."),
        regularization: float = typer.Option(0.01, help="Inverse L2 strength (sklearn's C); small = strong."),
        context: int = typer.Option(2, help="Frames of context on each side."),
        transcripts: bool = typer.Option(True, help="Force-align known transcripts (<video>.txt, GRID names)."),
        as_json: bool = typer.Option(False, "--json", help="Print the fit report as JSON."),
    ) -> None:
        """Fit the landmark → viseme model on labels pocketsphinx makes from each clip's own audio."""
        from avcorr.cli.common import progress
        from avcorr.prepare.lip_fitting import fit_from_videos

        videos = _videos(paths)
        model, failures = fit_from_videos(videos, context, regularization, transcripts,
                                          progress=None if as_json else progress)
        model.provenance["command"] = "avcorr teacher fit-lips " + " ".join(str(p) for p in paths) + f" --out {out.name}"
        model.save(out)
        report = {"out": str(out), "provenance": model.provenance, "failures": [{"path": p, "error": e} for p, e in failures]}
        if as_json:
            print_json(report)
        else:
            typer.echo(f"wrote {out}: {model.provenance['frames']} frames from {model.provenance['clips']} clips "
                       f"({model.provenance['synth_clips']} with synth phone timings, {model.provenance['aligned_clips']} force-aligned)")
            for path, error in failures:
                typer.echo(f"failed: {error}", err=True)
