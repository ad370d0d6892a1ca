"""``avcorr demo``: the main job end to end on data avcorr makes itself.

synth → split by identity → forge → prepare (phonetic teacher) → train (cpu.yaml, briefly) →
evaluate on unseen sources → detect with an HTML report. Every step is the same subcommand a
user would run (printed before it runs), so the demo doubles as a tutorial.
"""
from __future__ import annotations

import json
import os
import shlex
from collections import Counter
import time
from pathlib import Path
from typing import Callable

import typer

DEMO_METHODS = "audio-swap,tts-dub,lip-rewrite,still-talk,face-swap"


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        out: Path = typer.Option(Path("demo_run"), "--out", help="Folder for everything the demo makes."),
        clips: int = typer.Option(24, "--clips", min=4, help="Synthetic real clips (sources) to render."),
        epochs: int = typer.Option(20, "--epochs", min=1, help="Training epochs (cpu.yaml)."),
        methods: str = typer.Option(DEMO_METHODS, "--methods", help="Forgery methods to make."),
        config: str = typer.Option("cpu", "--config", help="Training config (bundled name or YAML)."),
        seed: int = typer.Option(0, "--seed", help="One seed for every step."),
        workers: int = typer.Option(0, "--workers", help="Worker processes for synth/prepare (0: one per core)."),
    ) -> None:
        """Run synth → forge → prepare → train → evaluate → detect on embedded data, with a report."""
        from avcorr.cli.main import main as run_cli

        n_workers = workers or max(1, os.cpu_count() or 1)
        out.mkdir(parents=True, exist_ok=True)
        sources, forged, cache, run, report = out / "sources", out / "forged", out / "cache", out / "run", out / "report"
        timings: dict[str, float] = {}

        def step(name: str, argv: list[str]) -> None:
            typer.secho(f"\n── {name}: avcorr {shlex.join(argv)}", fg=typer.colors.CYAN, bold=True, err=True)
            start = time.perf_counter()
            code = run_cli(argv)
            timings[name] = round(time.perf_counter() - start, 1)
            if code != 0:
                typer.secho(f"{name} exited with {code} (see above)", fg=typer.colors.YELLOW, err=True)
                if name in ("synth", "prepare", "train"):
                    raise typer.Exit(code)

        def python_step(name: str, description: str, fn: Callable[[], None]) -> None:
            typer.secho(f"\n── {name}: {description}", fg=typer.colors.CYAN, bold=True, err=True)
            start = time.perf_counter()
            fn()
            timings[name] = round(time.perf_counter() - start, 1)

        step("synth", ["synth", "--out", str(sources), "--clips", str(clips), "--seed", str(seed), "--workers", str(n_workers)])
        # Split the *sources* before forging: forge then takes every donor (the other voice of an
        # audio swap, the other face of a face swap) from the same split. Splitting afterwards would
        # let a test speaker's voice train as "fake" inside a training clip — and invert the scores.
        split_sources = out / "sources_split.csv"
        python_step("split", f"source-disjoint train/test split of the sources → {split_sources}",
                    lambda: _split(sources / "manifest.csv", split_sources, seed))
        step("forge", ["forge", str(split_sources), "--out", str(forged), "--methods", methods,
                       "--seed", str(seed), "--preview"])
        split_manifest = forged / "manifest.csv"
        step("prepare", ["prepare", str(split_manifest), "--out", str(cache), "--teacher", "phonetic", "--workers", str(n_workers)])
        step("train", ["train", "--config", config, "--data", str(cache), "--out", str(run),
                       f"trainer.max_epochs={epochs}", f"trainer.seed={seed}"])
        step("evaluate", ["evaluate", "--checkpoint", str(run), "--data", str(cache), "--split", "test",
                          "--out", str(out / "test_scores.csv")])
        examples = _detect_examples(split_manifest)
        step("detect", ["detect", *examples, "--checkpoint", str(run), "--report", str(report)])

        (out / "demo_timings.json").write_text(json.dumps(timings, indent=2) + "\n")
        typer.secho("\nDemo finished.", fg=typer.colors.GREEN, bold=True, err=True)
        typer.echo(f"  sources and forgeries : {sources}/, {forged}/ (contact sheets in {forged}/preview/)")
        typer.echo(f"  clip cache            : {cache}/ (manifest.csv, failures.csv)")
        typer.echo(f"  trained detector      : {run}/model.safetensors + config.json")
        typer.echo(f"  test-set scores       : {out / 'test_scores.csv'}")
        typer.echo(f"  HTML report           : {report / 'index.html'}")
        typer.echo(f"  step times (s)        : {', '.join(f'{k} {v}' for k, v in timings.items())}")
        typer.echo("\nHow to read it: this detector saw a few minutes of training on a handful of synthetic identities, so\n"
                   "its test scores show the pipeline working, not what the method can do: a few test identities make\n"
                   "ROC-AUC swing widely, and a real model needs many identities and epochs (configs/paper.yaml on a GPU).\n"
                   "The zero-shot teacher needs no training: try `avcorr detect VIDEO --zero-shot`.")


def _split(manifest: Path, out: Path, seed: int) -> None:
    from avcorr.data.manifest import read_manifest, write_manifest
    from avcorr.data.splits import assign_splits

    rows = assign_splits(read_manifest(manifest), test_fraction=0.34, seed=seed, overwrite=True)
    write_manifest(out, rows, relative_to=out.parent)
    counts = Counter(f"{r.split}/{'fake' if r.label else 'real'}" for r in rows)
    typer.echo("  " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())), err=True)


def _detect_examples(manifest: Path, per_kind: int = 2) -> list[str]:
    """A few test-split videos: real ones and one fake of each method, for the report."""
    from avcorr.data.manifest import read_manifest

    rows = [r for r in read_manifest(manifest) if r.split == "test"]
    chosen = [r for r in rows if r.label == 0][:per_kind]
    seen: set[str] = set()
    for r in rows:
        if r.label == 1 and r.method not in seen:
            chosen.append(r)
            seen.add(r.method)
    return [r.video_path for r in chosen]
