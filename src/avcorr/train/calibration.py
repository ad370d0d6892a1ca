"""Calibration stored with a trained student run (docs/design.md §9: calibration is part of a model).

After training, the run's real clips are scored with the one long-clip scorer
(:func:`avcorr.eval.evaluate.score_clips`, as ``evaluate`` and ``detect`` score them) and two
thresholds fitted on those scores (:func:`avcorr.eval.calibration.calibrate`: fake at 5% false
alarms, uncertain at 20%) are written as the top-level ``calibration`` of the run's
``config.json``, which ``detect --checkpoint RUN`` reads for its bands. The reals are the
validation clips of ``split.json`` (the model never trained on them); a split without validation
reals falls back to the training reals, and ``source`` says so, because a model scores the clips
it trained on lower than fresh ones, so the false-alarm rate is then optimistic.
"""
from __future__ import annotations

import json
from pathlib import Path

from avcorr.runtime import CONFIG_NAME, read_json_object
from avcorr.data.clip_cache import ClipCache
from avcorr.data.dataset import ClipEntry, list_clips

from avcorr.eval.calibration import Calibration, calibrate
from avcorr.eval.evaluate import load_run, score_clips

SPLIT_NAME = "split.json"  # as avcorr.train.fit writes it


def calibration_reals(run_dir: str | Path, cache_dir: str | Path) -> tuple[list[ClipEntry], str]:
    """The real clips to calibrate on and which split they come from (``validation`` or
    ``training``): the run's validation reals (``split.json``), else its training reals."""
    split = read_json_object(Path(run_dir) / SPLIT_NAME)
    reals = [e for e in list_clips(ClipCache(cache_dir)) if e.label == 0]
    for key, name in (("val", "validation"), ("train", "training")):
        ids = set(split.get(key) or [])
        chosen = [e for e in reals if e.clip_id in ids]
        if chosen:
            return chosen, name
    return [], "validation"


def calibrate_run(run_dir: str | Path, cache_dir: str | Path, device: str = "cpu",
                  fake_false_alarm_rate: float = 0.05, uncertain_false_alarm_rate: float = 0.20) -> Calibration | None:
    """Fit the run's thresholds on its real clips of the clip cache ``cache_dir`` and store them
    in ``run_dir/config.json``; returns the calibration, or None (nothing written) when the run
    has no real clip that could be scored."""
    run_dir, cache_dir = Path(run_dir), Path(cache_dir)
    entries, split_name = calibration_reals(run_dir, cache_dir)
    if not entries:
        return None
    model, config = load_run(run_dir, device=device)
    clips, _failures = score_clips(model, entries, config.model.visual.frame_size, config.data.max_clip_frames)
    if not clips:
        return None
    source = f"{len(clips)} {split_name} real clips of the training cache {cache_dir.name}/"
    if split_name == "training":
        source += ("; no validation reals, and the model trained on these, so it calls more new real clips fake "
                   "than the stated rate")
    calibration = calibrate([c.score for c in clips], source, fake_false_alarm_rate, uncertain_false_alarm_rate)
    config_path = run_dir / CONFIG_NAME
    document = read_json_object(config_path)
    document["calibration"] = calibration.to_dict()
    config_path.write_text(json.dumps(document, indent=2) + "\n")
    return calibration
