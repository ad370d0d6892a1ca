"""``avcorr convert-checkpoint``: legacy PyTorch checkpoints → safetensors + config.json."""
from __future__ import annotations

from pathlib import Path

import typer

from avcorr.cli.common import print_json
from avcorr.errors import ConfigError
from avcorr.models.convert_paper import convert_paper_checkpoint


def register(app: typer.Typer) -> None:
    @app.command("convert-checkpoint")
    def convert_checkpoint(
        path: Path = typer.Argument(..., help="The authors' released checkpoint (a PyTorch state dict)."),
        source: str = typer.Option("paper", "--from", help="Checkpoint family; 'paper' = Yu et al.'s release."),
        out: Path = typer.Option(..., "--out", help="Output folder (model.safetensors, config.json, teachers/)."),
        as_json: bool = typer.Option(False, "--json", help="Print the conversion report as JSON."),
    ) -> None:
        """Convert a released checkpoint (read with weights_only=True) into avcorr's format."""
        if source != "paper":
            raise ConfigError(f"--from {source!r}: only 'paper' is supported")
        report = convert_paper_checkpoint(path, out)
        if as_json:
            print_json(report.__dict__)
        else:
            typer.echo(f"placed {report.placed} detector tensors; teachers: {report.teacher_keys or 'none'}")
            if report.unused:
                typer.echo(f"known but unused by the forward pass ({len(report.unused)}): {', '.join(report.unused)}")
            typer.echo(f"unplaced keys ({len(report.unplaced)}): {', '.join(report.unplaced) if report.unplaced else 'none'}")
            for output in report.outputs:
                typer.echo(f"wrote {output}")
