"""`avcorr fit-detector --kind dynamics`: a reference of the corpus's real clips only — no fake is
read — that `avcorr detect --detector` loads and `avcorr models` would list."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import avcorr.detect as detect
from avcorr.cli.main import main
from avcorr.cues.real_reference import RealReference
from avcorr.detect.bundled import DYNAMICS_KIND, describe
from avcorr.forge.synth import SynthOptions, synthesize_dataset
from avcorr.runtime import CONFIG_NAME

COLUMNS = ["file", "label", "generator", "manipulation", "repo", "source_group", "license"]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Four synthetic clips: three reals from three source groups and one "fake"."""
    folder = tmp_path_factory.mktemp("corpus")
    result = synthesize_dataset(folder, SynthOptions(clips=4, seed=5, size=128, identities=4))
    assert not result.failures
    with (folder / "catalog.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for i, clip in enumerate(result.clips):
            fake = i == 3
            writer.writerow({"file": clip.video_path.name, "label": "fake" if fake else "real",
                             "generator": "SynthGen" if fake else "", "manipulation": "lip-sync" if fake else "",
                             "repo": f"example/repo{i}", "source_group": f"group{i}", "license": "CC0-1.0"})
    return folder


def test_fit_dynamics_reads_reals_only_and_detect_loads_it(corpus, tmp_path, capsys):
    out = tmp_path / "model"
    code = main(["fit-detector", str(corpus), "--kind", "dynamics", "--cues", "accel,eyes", "--out", str(out),
                 "--work", str(tmp_path / "work"), "--workers", "1", "--crop-frames", "40", "--prepare-frames", "50",
                 "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["kind"] == "dynamics" and summary["real_clips"] == 3 and summary["cues"] == ["accel", "eyes"]
    reference = RealReference.load(out / CONFIG_NAME)
    assert reference.num_real_clips == 3 and len(reference.real_scores) == 3
    assert reference.extra["training_data"]["labels"] == {"real": 3, "fake": 0}  # the fake was never read
    assert reference.extra["crop_frames"] == 40 and "--kind dynamics" in reference.extra["command"]
    listed = describe(out)
    assert listed.kind == DYNAMICS_KIND and listed.error is None and listed.reference_clips == 3
    detector = detect.load(out)
    assert detector.mode == "dynamics" and detector.crop_frames == 40 and not detector.uses_teacher


def test_unknown_cue_is_a_usage_error(corpus, tmp_path):
    assert main(["fit-detector", str(corpus), "--kind", "dynamics", "--cues", "vibes", "--out",
                 str(tmp_path / "m")]) == 2
