"""``avcorr bench``: benchmarks that measure the paper's claims on avcorr's own forgeries."""
from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Benchmarks (tables under benchmarks/results/).", no_args_is_help=True)
    app.add_typer(group, name="bench")

    @group.command("generalization")
    def generalization(
        size: str = typer.Option("cpu", "--size", help="cpu (2 cores, ~1 h), paper (one GPU), quick (pipeline check)."),
        clips: Optional[int] = typer.Option(None, "--clips", min=0, help="Synth clips (default: the size's)."),
        seeds: str = typer.Option("0,1,2", "--seeds", help="Comma-separated seeds; seed i tests fold i mod folds."),
        methods: Optional[str] = typer.Option(None, "--methods", help="Comma-separated forgery methods (default: the size's)."),
        variants: str = typer.Option("full,detection-only,distillation-only,zero-shot", "--variants",
                                     help="Which of full, detection-only, distillation-only, zero-shot."),
        epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Training epochs per run (default: the size's)."),
        out: Optional[Path] = typer.Option(None, "--out", help="Where generalization.{json,md} go "
                                           "(default: benchmarks/results for cpu/paper, WORK/results for quick)."),
        work: Optional[Path] = typer.Option(None, "--work", help="Work folder: sources, forgeries, cache, runs "
                                            "(default: runs/bench-generalization-SIZE)."),
        shared: Optional[Path] = typer.Option(None, "--shared-data", help="Folder with catalog.csv whose real clips join "
                                              "the sources (default: ../shared/data when present)."),
        no_shared: bool = typer.Option(False, "--no-shared", help="Synth clips only."),
        resume: bool = typer.Option(False, "--resume", help="Continue the benchmark in --work."),
        report_only: bool = typer.Option(False, "--report-only", help="Only rewrite the tables from the runs "
                                         "finished in --work (safe beside a benchmark in progress)."),
        workers: int = typer.Option(0, "--workers", min=0, help="Processes for synth and prepare (0: one per core)."),
        device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    ) -> None:
        """Leave-one-forgery-family-out: full model vs detection-only vs distillation-only vs zero-shot teacher.

        Builds sources, forges every method, prepares them with the phonetic teacher (all once,
        under --work), then for each seed and held-out family trains on real + the other families
        and tests on unseen real clips + the held-out family. Writes ROC-AUC, AP and EER per
        held-out family and their mean (± std over seeds) as JSON and markdown.
        """
        from avcorr.bench.generalization import BenchOptions, run_benchmark

        options = BenchOptions(
            size=size,
            work_dir=work or Path("runs") / f"bench-generalization-{size}",
            out_dir=out or (Path("benchmarks/results") if size in ("cpu", "paper") else None),
            clips=clips,
            seeds=parse_ints(seeds),
            methods=[m.strip() for m in methods.split(",") if m.strip()] if methods else None,
            variants=[v.strip() for v in variants.split(",") if v.strip()],
            epochs=epochs,
            shared_data=shared,
            use_shared=not no_shared,
            resume=resume,
            report_only=report_only,
            workers=workers or None,
            device=device,
        )
        options.command = canonical_command(options)
        start = time.perf_counter()
        document = run_benchmark(options, log=lambda message: typer.echo(message, err=True))
        out_dir = options.out_dir or options.work_dir / "results"
        typer.echo(f"{document['status']}: {out_dir / 'generalization.md'} in {(time.perf_counter() - start) / 60:.1f} min")


def canonical_command(options) -> str:  # noqa: ANN001 (BenchOptions)
    """The command line that reproduces ``options`` (what the results record)."""
    parts = ["avcorr", "bench", "generalization", "--size", options.size, "--seeds", ",".join(map(str, options.seeds))]
    if options.clips is not None:
        parts += ["--clips", str(options.clips)]
    if options.methods:
        parts += ["--methods", ",".join(options.methods)]
    if options.epochs is not None:
        parts += ["--epochs", str(options.epochs)]
    if options.variants != ["full", "detection-only", "distillation-only", "zero-shot"]:
        parts += ["--variants", ",".join(options.variants)]
    if not options.use_shared:
        parts.append("--no-shared")
    if options.device != "auto":
        parts += ["--device", options.device]
    return " ".join(shlex.quote(p) for p in parts)


def parse_ints(text: str) -> list[int]:
    from avcorr.errors import ConfigError

    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--seeds {text!r}: expected comma-separated integers, e.g. 0,1,2") from None
