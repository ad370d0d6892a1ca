"""``avcorr train``: fit the student detector on a clip cache."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from avcorr.config import load_experiment_config


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train(
        data: Path = typer.Option(..., "--data", help="Clip cache folder (from `avcorr prepare`)."),
        out: Path = typer.Option(..., "--out", help="Run folder: model.safetensors, config.json, last.ckpt, logs/."),
        config: str = typer.Option("cpu", "--config", help="Config YAML, or a bundled name: paper, cpu, tiny."),
        resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last.ckpt."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress bar."),
        overrides: Optional[List[str]] = typer.Argument(
            None, help="Config overrides as section.key=value, e.g. trainer.max_epochs=3 optim.lr=1e-4."),
    ) -> None:
        """Train a detector (detection + correlation distillation + joint-modal losses)."""
        # The config is checked first: a bad key or value fails in one line before --data is looked at.
        experiment = load_experiment_config(config, overrides or [])
        from lightning.pytorch.utilities import rank_zero_only

        from avcorr.train.fit import fit  # lazy: lightning (seconds) would load at every avcorr start

        weights = fit(experiment, data, out, resume=resume, progress=progress)
        if rank_zero_only.rank == 0:  # under DDP every process returns here
            typer.echo(f"model written to {weights}", err=True)
