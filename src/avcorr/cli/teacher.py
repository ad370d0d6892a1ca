"""``avcorr teacher``: fit and inspect the phonetic teacher's lip viseme model."""
from __future__ import annotations

from pathlib import Path

import typer

from avcorr.cli.common import print_json, progress
from avcorr.errors import InputError
from avcorr.eval.lip_corpus import evaluate_on_corpus, markdown_table
from avcorr.media.decode import find_videos
from avcorr.prepare.lip_fitting import fit_from_videos
from avcorr.teachers.phonetic.corpus import LipFitOptions, default_variants, fit_corpus_model, load_real_clips


def _videos(paths: list[Path]) -> list[Path]:
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

    @group.command("fit-lips-corpus")
    def fit_lips_corpus(
        cache_dir: Path = typer.Argument(..., help="A clip cache prepared with the phonetic teacher (its real clips are used)."),
        out: Path = typer.Option(..., "--out", help="Where to write the model (.npz)."),
        regularization: float = typer.Option(0.01, help="Inverse L2 strength (sklearn's C); small = strong."),
        context: int = typer.Option(2, help="Frames of context on each side."),
        class_weight: str = typer.Option("none", help="'none' or 'balanced' (every viseme weighs as much as silence)."),
        silence_keep: float = typer.Option(1.0, help="Share of silence frames kept for training (0 < s ≤ 1)."),
        variants: bool = typer.Option(True, help="Also cross-validate class-weighted and silence-subsampled variants."),
        boot: int = typer.Option(1000, help="Bootstrap replicates for the intervals."),
        resample: str = typer.Option("clip", help="Bootstrap unit: 'clip' or 'group' (whole source groups)."),
        as_json: bool = typer.Option(False, "--json", help="Print the fit report as JSON."),
    ) -> None:
        """Fit the lip model on a cache's real clips (labels: the audio side) and print its
        leave-one-source-group-out agreement table against the shipped model and the majority class."""
        import time

        if class_weight not in ("none", "balanced"):
            raise typer.BadParameter(f"--class-weight must be 'none' or 'balanced', got {class_weight!r}")
        if not 0.0 < silence_keep <= 1.0:
            raise typer.BadParameter(f"--silence-keep must be in (0, 1], got {silence_keep}")
        if resample not in ("clip", "group"):
            raise typer.BadParameter(f"--resample must be 'clip' or 'group', got {resample!r}")
        bar = None if as_json else progress
        options = LipFitOptions(context, regularization, None if class_weight == "none" else class_weight, silence_keep)
        clips = load_real_clips(cache_dir, bar)
        if len({c.group for c in clips}) < 2:
            raise InputError(cache_dir, "grouped cross-validation needs real clips of at least two source groups", stage="cache")
        evaluation = evaluate_on_corpus(clips, default_variants(options) if variants else {"corpus": options},
                                        n_boot=boot, resample=resample, progress=bar)
        corpus = evaluation.row("corpus")
        model = fit_corpus_model(clips, options, provenance={
            "command": f"avcorr teacher fit-lips-corpus {cache_dir.name} --out {out.name} --regularization {regularization} "
                       f"--context {context} --class-weight {class_weight} --silence-keep {silence_keep}",
            "fitted_at": time.strftime("%Y-%m-%d"), "clip_names": sorted({c.video_name for c in clips}),
            "held_out_agreement": round(corpus.agreement.value, 4),
            "held_out_zero_shot_auc": round(corpus.zero_shot_auc.value, 4) if corpus.zero_shot_auc else None})
        model.save(out)
        if as_json:
            print_json({"out": str(out), "provenance": model.provenance, "cross_validation": evaluation.to_dict()})
            return
        typer.echo(f"wrote {out}: {model.provenance['frames']} frames from {model.provenance['clips']} real clips "
                   f"of {len(evaluation.frames_by_group)} source groups (labels: {evaluation.label_modes})")
        typer.echo(f"\nheld out by source group (95% bootstrap over {resample}s, {boot} replicates):")
        typer.echo("\n".join(markdown_table(evaluation.rows)))
        for name, metrics in evaluation.differences.items():
            typer.echo(f"{name}: " + ", ".join(f"{m} {e}" for m, e in metrics.items()))
