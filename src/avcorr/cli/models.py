"""``avcorr models``: the detectors shipped inside this install (avcorr/resources/models)."""
from __future__ import annotations

import typer

from avcorr.cli.common import print_json


def register(app: typer.Typer) -> None:
    @app.command("models")
    def models(as_json: bool = typer.Option(False, "--json", help="Print one JSON document.")) -> None:
        """List the bundled models: kind, feature groups, calibration, training clips, where they are.
        The one named `default` is what `avcorr detect` runs without --checkpoint or --zero-shot."""
        from avcorr.detect.bundled import BUNDLED_DIR, bundled_models

        found = bundled_models()
        if as_json:
            print_json({"folder": str(BUNDLED_DIR), "models": [m.to_dict() for m in found]})
            return
        if not found:
            typer.echo(f"no bundled model is installed (looked in {BUNDLED_DIR}); `avcorr detect` needs "
                       "--checkpoint DIR or --zero-shot")
            return
        for m in found:
            typer.echo(describe_model(m))


def describe_model(model) -> str:
    """A few lines on one bundled model (:class:`avcorr.detect.bundled.BundledModel`)."""
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
    else:
        calibration = "none (detect judges at 0.5, whose false-alarm rate is unknown)"
    labels = model.training_labels
    trained = f"{labels.get('real', '?')} real, {labels.get('fake', '?')} fake clips" if labels else "not recorded"
    return f"{head}\n  calibration: {calibration}\n  trained on: {trained}\n  path: {model.path}"
