"""``avcorr fit-detector``: fit the calibrated cue detector of a catalogued corpus (the bundled
default is made this way; docs/detect.md, "The cue detector")."""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Optional

import typer

from avcorr.cli.common import print_json, progress
from avcorr.cues.corpus import corpus_tables
from avcorr.data.catalog import cap_real_groups, read_catalog
from avcorr.data.corpus_options import DEFAULT_CORPUS as CORPUS, CorpusOptions
from avcorr.errors import ConfigError
from avcorr.runtime import CONFIG_NAME
from avcorr.train.cue_model import check_groups, fit_cue_detector
from avcorr.train.real_reference import DEFAULT_CUES, check_cues, fit_dynamics_detector


def register(app: typer.Typer) -> None:
    @app.command("fit-detector")
    def fit_detector(
        corpus: Path = typer.Argument(..., help="Corpus folder: catalog.csv and the clips it names."),
        out: Path = typer.Option(..., "--out", help="Model folder to write (config.json, and model.safetensors for cues)."),
        kind: str = typer.Option("cues", "--kind", help="cues: a logistic model over cue features, fitted on real "
                                 "and fake clips; dynamics: a reference of the real clips only (no fake is read), "
                                 "scoring how unlike real footage a clip's dynamics are."),
        cues: str = typer.Option(",".join(DEFAULT_CUES), "--cues", help="dynamics: the cues scored (noise, coupling, "
                                 "accel, eyes, pulse, consistency)."),
        catalog: Optional[Path] = typer.Option(None, "--catalog", help="Catalog CSV (default: CORPUS/catalog.csv)."),
        groups: str = typer.Option("trace,anim,bg,zs", "--groups", help="Feature groups: trace (visual traces), anim "
                                   "(still-image animation), bg (background motion), zs (phonetic lip/speech "
                                   "consistency). container (metadata) is never allowed."),
        work: Path = typer.Option(Path("runs/fit-detector"), "--work", help="Work folder: cache_full/ (prepared "
                                  "clips), cache/ (cropped), features.json — the layout of `avcorr bench wild`, so "
                                  "--work runs/bench-wild reuses the benchmark's prepared clips and features."),
        workers: int = typer.Option(CORPUS.workers, "--workers", min=1, help="Processes for prepare."),
        c: float = typer.Option(0.1, "--c", min=1e-6, help="Inverse L2 strength of the logistic model."),
        crop_frames: int = typer.Option(CORPUS.crop_frames, "--crop-frames", min=8, help="Every clip is cut to its centre N frames "
                                        "(detect judges videos in windows of N)."),
        prepare_frames: int = typer.Option(CORPUS.prepare_frames, "--prepare-frames", min=8, help="Prepare at most N frames per clip."),
        false_alarm_rate: float = typer.Option(CORPUS.false_alarm_rate, "--false-alarm-rate", help="Fake threshold's false-alarm rate on real clips."),
        uncertain_rate: float = typer.Option(CORPUS.uncertain_rate, "--uncertain-rate", help="Uncertain threshold's false-alarm rate."),
        normalise_face_px: int = typer.Option(CORPUS.normalise_face_px, "--normalise-face-px", min=0, help="Bring every clip to this face "
                                              "height (pixels) and one JPEG codec before tracking, as `bench wild` "
                                              "does; detect then prepares videos the same way (0: off)."),
        normalise_jpeg_quality: int = typer.Option(CORPUS.normalise_jpeg_quality, "--normalise-jpeg-quality", min=1, max=100,
                                                   help="JPEG quality of that canonical codec."),
        max_reals_per_group: int = typer.Option(8, "--max-reals-per-group", min=0, help="Keep at most this many real "
                                                "clips per source group (paired ones first), as `bench wild` does, so "
                                                "no recording source dominates the model or its thresholds (0: all)."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON document."),
    ) -> None:
        """Prepare, crop and measure every clip of CORPUS (resumable under --work), fit the cue
        detector on all of them, calibrate it on the real clips' grouped out-of-fold scores, save it.

        Prepared clips, crops and feature tables already under --work are reused; with
        --work runs/bench-wild the wild benchmark's are (same layout, same --crop-frames,
        --prepare-frames and --normalise-face-px; another crop length or normalisation is
        refused). Use the model with `avcorr detect --checkpoint OUT`, or copy it to
        avcorr/resources/models/default to make it the bundled default.
        """
        if kind not in ("cues", "dynamics"):
            raise ConfigError(f"--kind {kind!r}: choose cues or dynamics")
        chosen = check_groups(groups.split(",")) if kind == "cues" else check_cues(cues.split(","))
        options = CorpusOptions(prepare_frames=prepare_frames, crop_frames=crop_frames, workers=workers,
                                normalise_face_px=normalise_face_px, normalise_jpeg_quality=normalise_jpeg_quality,
                                false_alarm_rate=false_alarm_rate, uncertain_rate=uncertain_rate)
        options.validate()
        clips = cap_real_groups(read_catalog(corpus, catalog), max_reals_per_group or None)
        say = (lambda message: typer.echo(message, err=True))
        made = corpus_tables(clips, work, prepare_frames=prepare_frames, crop_frames=crop_frames, workers=workers,
                             normalise=options.normalise(), progress=lambda items, what: progress(items, what, enabled=not as_json), log=say)
        # the command that reproduces this model, from the options (not sys.argv: also right when called in-process)
        words = ["avcorr", "fit-detector", str(corpus), "--out", str(out), *(["--catalog", str(catalog)] if catalog else []),
                 "--kind", kind, *(["--groups", ",".join(chosen), "--c", f"{c:g}"] if kind == "cues" else
                                   ["--cues", ",".join(chosen)]),
                 "--work", str(work), "--max-reals-per-group", str(max_reals_per_group), "--crop-frames", str(crop_frames),
                 "--prepare-frames", str(prepare_frames), "--false-alarm-rate", f"{false_alarm_rate:g}",
                 "--uncertain-rate", f"{uncertain_rate:g}", "--normalise-face-px", str(normalise_face_px),
                 "--normalise-jpeg-quality", str(normalise_jpeg_quality)]
        command = " ".join(shlex.quote(w) for w in words)
        if kind == "dynamics":
            reference = fit_dynamics_detector(clips, made.tables, chosen, corpus=options, command=command)
            path = reference.save(out / CONFIG_NAME)
            data = reference.extra["training_data"]
            summary = {"model": str(out), "kind": "dynamics", "cues": chosen, "config": str(path),
                       "real_clips": data["clips"], "source_groups": len({s["repo"] for s in data["sources"]}),
                       "columns": reference.names, "prepare_failures": made.prepare_failures,
                       "feature_failures": made.feature_failures, "work": str(work)}
            if as_json:
                print_json(summary)
            else:
                typer.echo(f"model: {out} (dynamics: {', '.join(chosen)}; {data['clips']} real clips, no fake read)")
            return
        model = fit_cue_detector(clips, made.tables, chosen, c=c, corpus=options, command=command)
        folder = model.save(out)
        data = model.info["training_data"]
        summary = {
            "model": str(folder), "kind": "feature_logistic", "groups": chosen,
            "clips": {"catalog": len(clips), "used": data["clips"], **data["labels"]},
            "features": len(model.feature_names), "calibration": model.calibration,
            "normalise": model.info["normalise"],
            "out_of_fold": model.info["out_of_fold"],
            "prepare_failures": made.prepare_failures, "feature_failures": made.feature_failures,
            "features_reused": made.reused, "work": str(work),
        }
        if as_json:
            print_json(summary)
            return
        cal = model.calibration or {}
        typer.echo(f"model: {folder}")
        typer.echo(f"clips: {data['clips']} used of {len(clips)} ({data['labels']['real']} real, "
                   f"{data['labels']['fake']} fake); {len(made.prepare_failures)} failed to prepare")
        typer.echo(f"features: {len(model.feature_names)} ({', '.join(chosen)})")
        typer.echo(f"calibration: fake at score >= {cal.get('fake_threshold', float('nan')):.3g} for "
                   f"{100 * cal.get('fake_false_alarm_rate', float('nan')):.0f}% false alarms, uncertain at >= "
                   f"{cal.get('uncertain_threshold', float('nan')):.3g}; {cal.get('source')}")
        auc = model.info["out_of_fold"]["roc_auc"]
        if auc is not None:
            typer.echo(f"out-of-fold ROC-AUC (grouped by source, same corpus; not held-out families): {auc:.3f}")
