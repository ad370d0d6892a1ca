"""``avcorr bench``: benchmarks that measure the paper's claims — on avcorr's own forgeries
(``generalization``) and on genuine forgeries of unseen generators (``wild``)."""
from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Optional

import typer

from avcorr.bench.generalization import BenchOptions, run_benchmark
from avcorr.bench.results import SHARED_ENV, shared_data_dir
from avcorr.bench.wild.run import DEFAULT_VARIANTS, WildOptions, run_wild
from avcorr.cli.common import progress
from avcorr.data.corpus_options import DEFAULT_CORPUS as CORPUS, CorpusOptions
from avcorr.errors import ConfigError


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


    @group.command("wild")
    def wild(
        data: Optional[Path] = typer.Option(None, "--data", help="Corpus folder with catalog.csv and the clips it names "
                                            "(default: ../shared/data when present)."),
        catalog: Optional[Path] = typer.Option(None, "--catalog", help="Catalog CSV (default: DATA/catalog.csv)."),
        seeds: str = typer.Option("0,1,2", "--seeds", help="Comma-separated seeds for the trained networks."),
        variants: str = typer.Option("", "--variants", help="Comma-separated variants (default: all of shortcut, "
                                      "zero-shot, detection-only, full, cues-trace, cues-animation, cues, consistency, consistency-animation, fused)."),
        epochs: int = typer.Option(6, "--epochs", min=1, help="Training epochs per student run."),
        pseudo_minutes: float = typer.Option(2.0, "--pseudo-minutes", min=0.1, help="Training minutes of each pseudo "
                                             "trace network (one per real share and seed)."),
        student_config: str = typer.Option("cpu", "--student-config", help="Config of the student networks "
                                           "(bundled name or YAML)."),
        crop_frames: int = typer.Option(CORPUS.crop_frames, "--crop-frames", min=8, help="Every clip is cut to its centre N frames."),
        prepare_frames: int = typer.Option(CORPUS.prepare_frames, "--prepare-frames", min=8, help="Frames prepared per clip."),
        false_alarm_rate: float = typer.Option(CORPUS.false_alarm_rate, "--false-alarm-rate", help="Target false-alarm rate of the "
                                               "operating threshold, on training-side real clips."),
        normalise_face_px: int = typer.Option(CORPUS.normalise_face_px, "--normalise-face-px", min=0, help="Bring every "
                                              "clip to this face height (pixels) and one JPEG codec before tracking (0: off)."),
        real_shares: int = typer.Option(3, "--real-shares", min=1, help="Real source groups are dealt into this many "
                                        "shares; a fold holds out one family's fakes and one share's reals."),
        max_reals_per_group: int = typer.Option(8, "--max-reals-per-group", min=0, help="Keep at most this many real "
                                                "clips per source group, so no group dominates a threshold or an AUC "
                                                "(0: all)."),
        work: Path = typer.Option(Path("runs/bench-wild"), "--work", help="Work folder (resumable)."),
        out: Path = typer.Option(Path("benchmarks/results"), "--out", help="Where wild.{json,md} go."),
        report_only: bool = typer.Option(False, "--report-only", help="Only rewrite the tables from the runs "
                                         "finished in --work."),
        workers: int = typer.Option(CORPUS.workers, "--workers", min=1, help="Processes for prepare."),
    ) -> None:
        """Leave-one-generator-family-out on genuine forgeries, beside a metadata-only shortcut baseline.

        Every fold holds out all fakes of one generator family plus a share of the real source
        groups (no source group on both sides). Reports ROC-AUC and AP with 95% bootstrap CIs,
        the false-alarm rate on held-out reals and the fake recall at each fold's threshold.
        """
        corpus = data or _default_corpus()
        options = WildOptions(data_dir=corpus, catalog=catalog, work_dir=work, out_dir=out, seeds=parse_ints(seeds),
                              variants=[v.strip() for v in variants.split(",") if v.strip()] or list(DEFAULT_VARIANTS),
                              epochs=epochs, pseudo_minutes=pseudo_minutes, report_only=report_only, real_shares=real_shares,
                              corpus=CorpusOptions(crop_frames=crop_frames, prepare_frames=prepare_frames,
                                                   false_alarm_rate=false_alarm_rate, workers=workers,
                                                   normalise_face_px=normalise_face_px),
                              student_config=student_config, max_reals_per_group=max_reals_per_group or None)
        options.command = " ".join(shlex.quote(p) for p in [
            "avcorr", "bench", "wild", "--seeds", seeds, "--epochs", str(epochs), "--crop-frames", str(crop_frames),
            "--real-shares", str(real_shares), "--normalise-face-px", str(normalise_face_px),
            "--max-reals-per-group", str(max_reals_per_group), "--pseudo-minutes", str(pseudo_minutes),
            "--student-config", student_config,
            "--variants", ",".join(options.variants)])
        start = time.perf_counter()
        run_wild(options, log=lambda message: typer.echo(message, err=True),
                 progress=lambda items, label: progress(items, label))
        typer.echo(f"wild: {out / 'wild.md'} in {(time.perf_counter() - start) / 60:.1f} min")


def _default_corpus() -> Path:
    corpus = shared_data_dir()
    if corpus is None:
        raise ConfigError(f"no corpus given and no ../shared/data/catalog.csv (nor ${SHARED_ENV}/data): pass --data FOLDER")
    return corpus


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
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--seeds {text!r}: expected comma-separated integers, e.g. 0,1,2") from None
