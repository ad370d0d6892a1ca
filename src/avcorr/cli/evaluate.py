"""``avcorr evaluate``: the metric table of a trained detector on a clip cache."""
from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Optional

import typer

from avcorr.cli.common import print_json, progress
from avcorr.detect.localization import localize_cache
from avcorr.eval.evaluate import evaluate_cache, write_clip_scores


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate(
        checkpoint: Path = typer.Option(..., "--checkpoint", help="Run folder (or its model.safetensors)."),
        data: Path = typer.Option(..., "--data", help="Clip cache folder."),
        split: str = typer.Option("test", "--split", help="Which clips: a split name of the cache, or 'all'."),
        threshold: float = typer.Option(0.5, "--threshold", help="Clips scoring at least this are called fake."),
        device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1, ..."),
        out: Optional[Path] = typer.Option(None, "--out", help="Write per-clip scores to this CSV file."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON document instead of a table."),
        localization: bool = typer.Option(False, "--localization", help="Also score frame-level localization on partially forged clips (frame ROC-AUC, segment AP at IoU 0.5)."),
    ) -> None:
        """Score every clip (mean frame probability of fake) and report ACC, AUC, EER, ... per method."""
        bar = None if as_json else progress
        result = evaluate_cache(checkpoint, data, split=split, threshold=threshold, device=device, progress=bar)
        if out is not None:
            write_clip_scores(out, result.clips, threshold)
        located = None
        if localization:
            located = localize_cache(checkpoint, data, split=split, threshold=threshold, device=device, progress=bar)
        if as_json:
            payload = result.to_dict()
            if out is not None:
                payload["clip_scores"] = str(out)
            if located is not None:
                payload["localization"] = {**located[0].to_dict(), "failures": located[1]}
            print_json(payload)
        else:
            _print_table(result)
            if located is not None:
                _print_localization(*located)
            if out is not None:
                typer.echo(f"per-clip scores written to {out}", err=True)


def _print_localization(result, failures) -> None:  # noqa: ANN001 (avcorr.detect.localization.LocalizationResult)
    def fmt(value: float) -> str:
        return "—" if value is None or math.isnan(value) else f"{value:.3f}"

    typer.echo(f"localization on {result.num_clips} partially forged clip(s), {result.num_frames} frames "
               f"({result.num_fake_frames} fake): frame ROC-AUC {fmt(result.frame_roc_auc)}, frame AP {fmt(result.frame_ap)}, "
               f"segment AP@IoU{result.iou_threshold:g} {fmt(result.segment_ap)} "
               f"({result.num_predicted_segments} predicted / {result.num_true_segments} true segments), "
               f"mean frame IoU {fmt(result.mean_frame_iou)}")
    for note in result.notes:
        typer.echo(f"note: {note}")
    for failure in failures:
        typer.echo(f"failed {failure['clip_id']}: {failure['reason']}", err=True)


def _print_table(result) -> None:  # noqa: ANN001 (an avcorr.eval.evaluate.Evaluation)
    from rich.console import Console
    from rich.table import Table

    def fmt(value: float) -> str:
        return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"

    table = Table(title=f"{result.checkpoint} on {result.data_dir} (split {result.split}, threshold {result.threshold:g})")
    for column in ("clips", "real/fake", "ACC", "F1", "bACC", "real rec", "fake rec", "AUC", "AP", "EER",
                   "HTER", "TP/FP/TN/FN"):
        table.add_column(column, justify="left" if column == "clips" else "right", no_wrap=True)
    notes = []
    for row in result.table.rows:
        table.add_row(row.name, f"{row.num_real}/{row.num_fake}", fmt(row.acc), fmt(row.f1), fmt(row.balanced_acc),
                      fmt(row.real_recall), fmt(row.fake_recall), fmt(row.roc_auc), fmt(row.ap), fmt(row.eer),
                      fmt(row.hter), f"{row.tp}/{row.fp}/{row.tn}/{row.fn}")
        notes += [f"{row.name}: {note}" for note in row.notes]
    # A pipe or a log file gets the full table rather than rich's 80-column default.
    console = Console() if sys.stdout.isatty() else Console(width=140)
    console.print(table)
    for note in notes:
        console.print(f"note: {note}")
    for failure in result.failures:
        console.print(f"[red]failed[/red] {failure['clip_id']}: {failure['reason']}")
