"""``avcorr fit-pseudo``: train the trace detector on the real clips of a prepared cache and
pseudo-fakes made from them on the fly (no genuine fake is read)."""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Optional

import typer

from avcorr.cli.common import print_json
from avcorr.data.clip_cache import ClipCache
from avcorr.errors import InputError
from avcorr.pseudo.degrade import DegradeOptions
from avcorr.train.pseudo import PseudoTrainOptions, fit_pseudo_detector


def register(app: typer.Typer) -> None:
    @app.command("fit-pseudo")
    def fit_pseudo(
        cache_dir: Path = typer.Argument(..., help="Prepared clip cache (`avcorr prepare`); only its real clips are used."),
        out: Path = typer.Option(..., "--out", help="Model folder to write (model.safetensors + config.json)."),
        minutes: Optional[float] = typer.Option(3.0, "--minutes", min=0.01, help="Wall-clock training budget."),
        steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Step budget (the first budget reached ends training)."),
        types: str = typer.Option("lower_face,still,self_blend,av_splice", "--types",
                                  help="Pseudo-fake types on: lower_face, still, self_blend, av_splice."),
        window: int = typer.Option(16, "--window", min=4, help="Frames per input window (25 fps)."),
        size: int = typer.Option(64, "--size", min=16, help="Input side in pixels (face crops are resized)."),
        batch_size: int = typer.Option(16, "--batch-size", min=2, help="Windows per step (half real, half pseudo-fake)."),
        threads: int = typer.Option(1, "--threads", min=1, help="Torch threads."),
        seed: int = typer.Option(0, "--seed", help="Seed of the draws and the weights."),
        standardize: bool = typer.Option(True, "--standardize/--no-standardize", help="Divide each input channel "
                                         "by its RMS over the window (overall sharpness, noise and motion stop counting)."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON document."),
    ) -> None:
        """Train a TraceNet (docs: avcorr.train.pseudo) on windows of CACHE_DIR's real clips, half
        of them turned into pseudo-fakes of the chosen types, and save it to OUT."""
        cache = ClipCache(cache_dir)
        if not (cache.root / "clips").is_dir():
            raise InputError(cache_dir, "not a clip cache (no clips/ folder); run `avcorr prepare` first")
        rows = cache.read_manifest()
        files = [cache.root / r["file"] for r in rows if r.get("label") == "0"]
        if not files:
            raise InputError(cache_dir, "the cache holds no real clip (label 0)")
        options = PseudoTrainOptions(types=tuple(t.strip() for t in types.split(",") if t.strip()), window=window,
                                     batch_size=batch_size, minutes=minutes, max_steps=steps, threads=threads,
                                     standardize=standardize,
                                     degrade=DegradeOptions(size=size))
        say = None if as_json else (lambda message: typer.echo(message, err=True))
        model = fit_pseudo_detector(files, options, seed, log=say)
        words = ["avcorr", "fit-pseudo", str(cache_dir), "--out", str(out), "--types", ",".join(options.types),
                 "--window", str(window), "--size", str(size), "--batch-size", str(batch_size),
                 "--threads", str(threads), "--seed", str(seed), "--standardize" if standardize else "--no-standardize",
                 *(["--minutes", f"{minutes:g}"] if minutes is not None else []),
                 *(["--steps", str(steps)] if steps is not None else [])]
        model.info["command"] = " ".join(shlex.quote(w) for w in words)
        model.info["cache"] = str(cache_dir)
        folder = model.save(out)
        summary = {"model": str(folder), "real_clips": model.info["clips"], "steps": model.info["steps"],
                   "seconds": model.info["seconds"], "types": list(options.types),
                   "loss_first_50": model.info["loss_first_50"], "loss_last_50": model.info["loss_last_50"]}
        if as_json:
            print_json(summary)
            return
        typer.echo(f"model: {folder}")
        typer.echo(f"trained on {summary['real_clips']} real clips for {summary['steps']} steps "
                   f"({summary['seconds']:.0f} s); types: {', '.join(options.types)}")
        typer.echo(f"loss: {summary['loss_first_50']:.3f} (first 50 steps) -> {summary['loss_last_50']:.3f} (last 50)")
