"""``avcorr calibrate``: fit detect's thresholds on real clips (docs/detect.md, "Calibration")."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from avcorr.cli.common import print_json, progress
from avcorr.data.corpus_options import DEFAULT_CORPUS as CORPUS, CorpusOptions
from avcorr.detect.calibrate import fit_zero_shot_from_cache, fit_zero_shot_from_videos, reference_clips
from avcorr.errors import ConfigError
from avcorr.teachers.phonetic.teacher import PhoneticTeacher
from avcorr.teachers.zero_shot import ZeroShotOptions


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Fit detect's thresholds on real clips.", no_args_is_help=True)
    app.add_typer(group, name="calibrate")

    @group.command("zero-shot")
    def zero_shot(
        paths: list[Path] = typer.Argument(None, help="Real videos, folders of them, or manifest CSVs (their label-0 rows)."),
        out: Path = typer.Option(..., "--out", help="Where to write the calibration (.json); `detect --zero-shot --calibration FILE` reads it."),
        cache: Optional[Path] = typer.Option(None, "--cache", help="Instead of videos: a prepared clip cache with phonetic-teacher posteriors (much faster)."),
        source: Optional[str] = typer.Option(None, "--source", help="What these clips are, in words (shown with every verdict)."),
        max_offset: int = typer.Option(5, help="Audio/video offsets searched, in frames (±); detect uses the same."),
        max_frames: int = typer.Option(1500, help="Analyse at most this many frames (25 fps) per video."),
        window_frames: Optional[int] = typer.Option(None, "--window-frames", min=0, help="Videos: measure each clip's centre this many frames, the window detect then scores (default 75, as the wild benchmark; 0: whole clips). With --cache: the clips' own length."),
        normalise_face_px: Optional[int] = typer.Option(None, "--normalise-face-px", min=0, help="Videos: bring every clip to this face height in pixels first, as detect then does (default 96; 0: off). With --cache: the cache's own."),
        normalise_jpeg_quality: Optional[int] = typer.Option(None, "--normalise-jpeg-quality", min=1, max=100, help="Videos: JPEG quality of the canonical codec (default 75)."),
        lip_model: Optional[Path] = typer.Option(None, help="Lip viseme model (.npz); default: the one shipped with avcorr."),
        fake_rate: float = typer.Option(CORPUS.false_alarm_rate, help="False-alarm rate on real clips of the fake threshold."),
        uncertain_rate: float = typer.Option(CORPUS.uncertain_rate, help="False-alarm rate on real clips of the uncertain threshold."),
        as_json: bool = typer.Option(False, "--json", help="Print a summary as JSON."),
    ) -> None:
        """Reference reals for zero-shot scores: each clip's mean lip/speech correlation, and the
        fake/uncertain thresholds at the given false-alarm rates. The file records the clips'
        length and canonical resolution, and detect processes videos the same way. Only real
        clips are used; failing clips are listed, the rest go on."""
        paths = list(paths or [])
        if (cache is None) == (not paths):
            raise ConfigError("give real videos / folders / manifests, or --cache DIR (not both)")
        if not 0.0 <= fake_rate <= uncertain_rate < 1.0:
            raise ConfigError("rates must satisfy 0 <= --fake-rate <= --uncertain-rate < 1")
        options = ZeroShotOptions(max_offset=max_offset)
        bar = (lambda items, label: progress(items, label, enabled=not as_json))
        if cache is not None:
            if lip_model is not None:
                raise ConfigError("--lip-model has no effect with --cache (the posteriors are already cached)")
            if (window_frames, normalise_face_px, normalise_jpeg_quality) != (None, None, None):
                raise ConfigError("--window-frames and --normalise-* go with videos; with --cache the clips' own "
                                  "length and resolution are recorded")
            fit = fit_zero_shot_from_cache(cache, source, options, bar, fake_rate, uncertain_rate)
        else:
            window = CORPUS.crop_frames if window_frames is None else window_frames
            if window == 1:
                raise ConfigError("--window-frames must be 0 (whole clips) or at least 2")
            normalise = CorpusOptions(
                normalise_face_px=CORPUS.normalise_face_px if normalise_face_px is None else normalise_face_px,
                normalise_jpeg_quality=normalise_jpeg_quality or CORPUS.normalise_jpeg_quality).normalise()
            clips, skipped = reference_clips(paths)
            fit = fit_zero_shot_from_videos(
                clips, source or "real clips of " + ", ".join(p.name or str(p) for p in paths),
                PhoneticTeacher(model_path=lip_model, use_transcripts=False), options, max_frames, bar,
                fake_rate, uncertain_rate, window_frames=window or None, normalise=normalise)
            fit.skipped_fakes = skipped
        fit.calibration.save(out)
        thresholds = fit.calibration.calibration()
        summary = {"out": str(out), "num_real_clips": fit.calibration.num_real_clips, "source": fit.calibration.source,
                   "fake_threshold": thresholds.fake_threshold, "fake_false_alarm_rate": fake_rate,
                   "uncertain_threshold": thresholds.uncertain_threshold, "uncertain_false_alarm_rate": uncertain_rate,
                   "window_frames": fit.calibration.window_frames,
                   "normalise": None if fit.calibration.normalise is None else fit.calibration.normalise.to_dict(),
                   "skipped_fakes": fit.skipped_fakes,
                   "failures": [{"clip": f.name, "error": f.reason} for f in fit.failures]}
        if as_json:
            print_json(summary)
        else:
            typer.echo(f"wrote {out}: {summary['num_real_clips']} real clips ({summary['source']}); fake at score >= "
                       f"{thresholds.fake_threshold:.3g} ({100 * fake_rate:g}% false alarms), uncertain at >= "
                       f"{thresholds.uncertain_threshold:.3g} ({100 * uncertain_rate:g}%); "
                       + (f"windows of {fit.calibration.window_frames} frames" if fit.calibration.window_frames
                          else "whole clips") + ", "
                       + (f"face at {fit.calibration.normalise.face_px} px, JPEG {fit.calibration.normalise.jpeg_quality}"
                          if fit.calibration.normalise else "not normalised"))
        for failure in fit.failures:
            typer.echo(f"failed: {failure.name}: {failure.reason}", err=True)
        if fit.skipped_fakes:
            typer.echo(f"left out {fit.skipped_fakes} fake clip(s): calibration uses real clips only", err=True)
        if fake_rate > 0 and fit.calibration.num_real_clips * fake_rate < 1:
            typer.echo(f"avcorr: warning: with {fit.calibration.num_real_clips} real clips a {100 * fake_rate:g}% rate "
                       f"allows no false alarm at all; the fake threshold is coarse (use at least "
                       f"{int(round(1 / fake_rate))} clips)", err=True)
