"""``avcorr models``: the detectors shipped inside this install — the calibrated zero-shot detector
and the model folders in avcorr/resources/models; the one marked (default) is what ``avcorr detect``
runs without a detector flag."""
from __future__ import annotations

import typer

from avcorr.cli.common import print_json
from avcorr.detect.bundled import BUNDLED_DIR, ZERO_SHOT_KIND, bundled_models


def register(app: typer.Typer) -> None:
    @app.command("models")
    def models(as_json: bool = typer.Option(False, "--json", help="Print one JSON document.")) -> None:
        """List the shipped detectors: kind, calibration, reference or training clips, where they are.
        The one marked (default) is what `avcorr detect` runs without --detector (chosen by the wild benchmark's rule)."""
        found = bundled_models()
        if as_json:
            print_json({"folder": str(BUNDLED_DIR), "models": [m.to_dict() for m in found]})
            return
        for m in found:
            typer.echo(describe_model(m))


def describe_model(model) -> str:
    """A few lines on one shipped detector (:class:`avcorr.detect.bundled.BundledModel`)."""
    head = f"{model.name}{' (default)' if model.is_default else ''}: {model.kind}"
    if model.error is not None:
        return f"{head}\n  unusable: {model.error}\n  path: {model.path}"
    if model.groups:
        head += f", feature groups {','.join(model.groups)}, {model.num_features} features"
    cal = model.calibration
    if cal:
        calibration = (f"fake at score >= {cal['fake_threshold']:.3g}, calibrated for "
                       f"{100 * cal['fake_false_alarm_rate']:.0f}% false alarms on {cal['num_real_clips']} real clips "
                       f"({cal['source']}); uncertain at >= {cal['uncertain_threshold']:.3g}")
    elif model.kind == ZERO_SHOT_KIND:
        calibration = (f"none installed ({model.path} is missing): scores are the teacher's fixed prior, judged at "
                       "0.5, whose false-alarm rate is unknown (fit one: avcorr calibrate zero-shot)")
    else:
        calibration = "none (detect judges at 0.5, whose false-alarm rate is unknown)"
    if model.kind == ZERO_SHOT_KIND:
        window = (f"{model.window_frames} frames ({model.window_frames / 25:g} s at 25 fps); the score is the mean window score"
                  if model.window_frames else "the whole clip")
        norm = model.normalise
        normalisation = (f"face at most {norm['face_px']} px high, JPEG quality {norm['jpeg_quality']}" if norm
                         else "none (frames as decoded)")
        lines = [head, f"  calibration: {calibration}"]
        if model.reference_clips:
            lines.append(f"  reference clips: {model.reference_clips} real clips")
        lines += [f"  window: {window}", f"  normalisation: {normalisation}", f"  path: {model.path}",
                  f"  run it: avcorr detect{'' if model.is_default else ' --zero-shot'}"]
        return "\n".join(lines)
    labels = model.training_labels
    trained = f"{labels.get('real', '?')} real, {labels.get('fake', '?')} fake clips" if labels else "not recorded"
    run = "avcorr detect" if model.is_default else f"avcorr detect --detector {model.name}"
    return f"{head}\n  calibration: {calibration}\n  trained on: {trained}\n  path: {model.path}\n  run it: {run}"
