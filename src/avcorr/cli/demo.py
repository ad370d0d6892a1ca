"""``avcorr demo``: a first look at avcorr on data it makes itself, in a few minutes on 2 cores.

synth (real-looking talking faces rendered from scratch) → forge (avcorr's own forgery methods:
still-image animation, lip rewrite, face swap, audio swap) → the shipped default detector (what
``avcorr detect`` runs without a model flag) on every real and forged clip → an HTML report whose
note says what the default claims to catch, what it cannot, and what it did on these clips, plus
``summary.md`` (per clip: truth, band, score). Each CLI step is printed before it runs, so the
demo doubles as a tutorial.

``--train`` adds the longer research loop (minutes more): sources split by identity before
forging → prepare (phonetic teacher) → train a student briefly → evaluate on unseen identities →
a second report of the student's verdicts.
"""
from __future__ import annotations

import json
import math
import os
import shlex
import time
from collections import Counter
from pathlib import Path
from typing import Callable

import typer

import avcorr.detect
from avcorr.cli.demo_report import REAL, DemoVerdict, report_note, summary_markdown, tally
from avcorr.cli.main import main as run_cli
from avcorr.data.clip_cache import ClipCache
from avcorr.data.manifest import read_manifest, write_manifest
from avcorr.data.splits import assign_splits
from avcorr.detect.batch import detect_videos, write_batch_report
from avcorr.detect.bundled import DEFAULT_DETECTOR
from avcorr.detect.calibrate import checkpoint_calibration
from avcorr.detect.verdict import VideoVerdict

DEMO_METHODS = "still-talk,lip-rewrite,face-swap,audio-swap"
#: Suspicious frames kept per verdict for the report's evidence strip (as ``detect --report``).
EVIDENCE_FRAMES = 4


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        out: Path = typer.Option(Path("demo_run"), "--out", help="Folder for everything the demo makes."),
        clips: int = typer.Option(8, "--clips", min=2, help="Synthetic real clips (sources) to render."),
        methods: str = typer.Option(DEMO_METHODS, "--methods", help="Forgery methods to make."),
        size: int = typer.Option(256, "--size", min=64, max=1024, help="Frame side of the synthetic clips (pixels)."),
        seed: int = typer.Option(0, "--seed", help="One seed for every step."),
        workers: int = typer.Option(0, "--workers", help="Worker processes for synth/prepare (0: one per core)."),
        train: bool = typer.Option(False, "--train", help="Also prepare, train and evaluate a student (minutes more)."),
        epochs: int = typer.Option(20, "--epochs", min=1, help="--train: training epochs."),
        config: str = typer.Option("cpu", "--config", help="--train: training config (bundled name or YAML)."),
    ) -> None:
        """Synthesize clips, forge them, and judge them with the shipped default detector, with a report."""
        n_workers = workers or max(1, os.cpu_count() or 1)
        out.mkdir(parents=True, exist_ok=True)
        sources, forged, report = out / "sources", out / "forged", out / "report"
        timings: dict[str, float] = {}

        def step(name: str, argv: list[str]) -> None:
            typer.secho(f"\n── {name}: avcorr {shlex.join(argv)}", fg=typer.colors.CYAN, bold=True, err=True)
            start = time.perf_counter()
            code = run_cli(argv)
            timings[name] = round(time.perf_counter() - start, 1)
            if code != 0:
                typer.secho(f"{name} exited with {code} (see above)", fg=typer.colors.YELLOW, err=True)
                if name in ("synth", "forge", "prepare", "train"):
                    raise typer.Exit(code)

        def python_step(name: str, description: str, fn: Callable[[], None]) -> None:
            typer.secho(f"\n── {name}: {description}", fg=typer.colors.CYAN, bold=True, err=True)
            start = time.perf_counter()
            fn()
            timings[name] = round(time.perf_counter() - start, 1)

        step("synth", ["synth", "--out", str(sources), "--clips", str(clips), "--seed", str(seed), "--size", str(size),
                       "--workers", str(n_workers)])
        to_forge = sources / "manifest.csv"
        if train:
            # Split the *sources* before forging: forge then takes every donor (the other voice of an
            # audio swap, the other face of a face swap) from the same split. Splitting afterwards would
            # let a test speaker's voice train as "fake" inside a training clip — and invert the scores.
            to_forge = out / "sources_split.csv"
            python_step("split", f"source-disjoint train/test split of the sources → {to_forge}",
                        lambda: _split(sources / "manifest.csv", to_forge, seed))
        step("forge", ["forge", str(to_forge), "--out", str(forged), "--methods", methods, "--seed", str(seed), "--preview"])
        manifest = forged / "manifest.csv"

        rows: list[DemoVerdict] = []

        def judge() -> None:
            rows.extend(_judge_with_default(manifest, report, out / "verdicts.json"))

        python_step("detect", f"the shipped default ({DEFAULT_DETECTOR}) on every clip of {manifest} → {report}/", judge)
        tallies = tally(rows)
        summary = summary_markdown(DEFAULT_DETECTOR, rows, tallies)
        (out / "summary.md").write_text(summary)

        if train:
            cache, run, report_student = out / "cache", out / "run", out / "report_student"
            step("prepare", ["prepare", str(manifest), "--out", str(cache), "--teacher", "phonetic",
                             "--workers", str(n_workers)])
            step("train", ["train", "--config", config, "--data", str(cache), "--out", str(run),
                           f"trainer.max_epochs={epochs}", f"trainer.seed={seed}"])
            step("evaluate", ["evaluate", "--checkpoint", str(run), "--data", str(cache), "--split", "test",
                              "--out", str(out / "test_scores.csv")])
            note = _student_note(run, cache, config, epochs)
            typer.echo(f"\n  note: {note}", err=True)
            step("detect_student", ["detect", *_detect_examples(manifest), "--checkpoint", str(run),
                                    "--report", str(report_student), "--note", note])

        (out / "demo_timings.json").write_text(json.dumps(timings, indent=2) + "\n")
        typer.secho("\nDemo finished.", fg=typer.colors.GREEN, bold=True, err=True)
        typer.echo(summary)
        typer.echo(f"  sources and forgeries : {sources}/, {forged}/ (contact sheets in {forged}/preview/)")
        typer.echo(f"  HTML report           : {report / 'index.html'}")
        typer.echo(f"  summary               : {out / 'summary.md'} (verdicts as detect --json: {out / 'verdicts.json'})")
        if train:
            typer.echo(f"  trained student       : {out / 'run'}/ (test-set scores {out / 'test_scores.csv'}, "
                       f"report {out / 'report_student' / 'index.html'})")
        typer.echo(f"  step times (s)        : {', '.join(f'{k} {v}' for k, v in timings.items())}")


def _judge_with_default(manifest: Path, report: Path, verdicts_json: Path) -> list[DemoVerdict]:
    """Every clip of the forged ``manifest`` through the shipped default; writes the report (its
    note: the claims, the limits and this tally) and the verdicts as ``detect --json`` prints them."""
    listed = read_manifest(manifest)
    paths = [Path(r.video_path) if Path(r.video_path).is_absolute() else manifest.parent / r.video_path for r in listed]
    finished: list[VideoVerdict] = []

    def progress(verdict: VideoVerdict) -> None:
        finished.append(verdict)
        shown = f"failed: {verdict.error}" if verdict.error else f"{verdict.verdict} ({verdict.score:.3f})"
        typer.echo(f"detect [{len(finished)}/{len(paths)}] {Path(verdict.path).name}: {shown}", err=True)

    with avcorr.detect.load(None, evidence_frames=EVIDENCE_FRAMES) as detector:
        verdicts = detect_videos(paths, detector, on_done=progress)
        names = {r.clip_id: p.name for r, p in zip(listed, paths)}
        rows = [DemoVerdict.of(v, REAL if r.label == 0 else r.method, names.get(_source_clip(r.clip_id), p.name))
                for v, r, p in zip(verdicts, listed, paths)]
        write_batch_report(verdicts, detector, report, name=DEFAULT_DETECTOR, note=report_note(DEFAULT_DETECTOR, tally(rows)))
    verdicts_json.write_text(json.dumps({"videos": [v.to_dict() for v in verdicts]}, indent=1) + "\n")
    return rows


def _source_clip(clip_id: str) -> str:
    """The real clip a forgery was made from: forge names it ``<source clip>__<method>``."""
    return clip_id.split("__", 1)[0]


def _split(manifest: Path, out: Path, seed: int) -> None:
    rows = assign_splits(read_manifest(manifest), test_fraction=0.34, seed=seed, overwrite=True)
    write_manifest(out, rows, relative_to=out.parent)
    counts = Counter(f"{r.split}/{'fake' if r.label else 'real'}" for r in rows)
    typer.echo("  " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())), err=True)


def _detect_examples(manifest: Path, per_kind: int = 2) -> list[str]:
    """A few test-split videos: real ones and one fake of each method, for the report."""
    rows = [r for r in read_manifest(manifest) if r.split == "test"]
    chosen = [r for r in rows if r.label == 0][:per_kind]
    seen: set[str] = set()
    for r in rows:
        if r.label == 1 and r.method not in seen:
            chosen.append(r)
            seen.add(r.method)
    return [r.video_path for r in chosen]


def _expected_false_alarms(num_reals: int, rate: float) -> float:
    """The chance that a fresh real clip scores at or above a threshold fitted on ``num_reals``
    reals for ``rate`` (avcorr.eval.calibration.threshold_for_false_alarm lets k = ⌊rate·N⌋ of
    them above it): (k + 1) / (N + 1), well above ``rate`` for a few reals."""
    allowed = min(int(math.floor(rate * num_reals + 1e-9)), num_reals - 1)
    return (allowed + 1) / (num_reals + 1)


def _calibration_clips(num_reals: int, source: str) -> str:
    """``N real clips (source)``, or the source alone where it already starts with the count."""
    return source if source.startswith(f"{num_reals} ") else f"{num_reals} real clips ({source})"


def _student_note(run: Path, cache: Path, config: str, epochs: int) -> str:
    """What the demo's own detector is and how to read its verdicts (the report's note)."""
    trained = set(json.loads((run / "split.json").read_text())["train"])
    rows = [r for r in ClipCache(cache).read_manifest() if r["clip_id"] in trained]
    reals = sum(str(r.get("label", "")).strip() in ("0", "0.0") for r in rows)
    identities = len({r.get("source_id") or r["clip_id"] for r in rows})
    size = Path(config).stem if config.endswith((".yaml", ".yml")) else config
    text = (f"This detector is a {size}-size student network trained by this demo for {epochs} epoch"
            f"{'s' if epochs != 1 else ''} on {len(rows)} synthetic clips ({reals} real, {len(rows) - reals} forged "
            f"by avcorr) of {identities} synthetic identit{'y' if identities == 1 else 'ies'}")
    calibration = checkpoint_calibration(run)
    if calibration is None:
        return (text + ", with no calibration (its training split held no real clips), so it judges at 0.5, a threshold "
                "whose false-alarm rate is unknown. Its scores show the pipeline working, not the method's accuracy; "
                "real clips it calls fake are false alarms.")
    expected = _expected_false_alarms(calibration.num_real_clips, calibration.fake_false_alarm_rate)
    return (text + f", calibrated on {_calibration_clips(calibration.num_real_clips, calibration.source)}. Its scores show "
            "the pipeline working, not the method's accuracy. Real clips it calls fake are false alarms: the fake "
            f"threshold is fitted for {100 * calibration.fake_false_alarm_rate:.0f}% false alarms, but with "
            f"{calibration.num_real_clips} calibration clips a new real clip lands above it about "
            f"{100 * expected:.0f}% of the time.")
