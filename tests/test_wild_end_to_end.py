"""The wild benchmark end to end at a tiny size, on a corpus avcorr makes itself: synthetic real
clips (one source group each) and two "generators" (lip rewrite, still-image animation) whose
fakes come from their own source groups, described by a catalog.csv like ../shared/data's."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from avcorr.cli.main import main

CATALOG_COLUMNS = ["file", "label", "generator", "manipulation", "source_group", "repo", "notes", "license"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from avcorr.forge.forge import ForgeOptions, run_forge
    from avcorr.forge.synth import SynthOptions, synthesize_dataset

    root = tmp_path_factory.mktemp("wild_corpus")
    synthesize_dataset(root / "real", SynthOptions(clips=6, seed=3, size=128, identities=6))
    run_forge(root / "real" / "manifest.csv", root / "fake",
              ForgeOptions(methods=["lip-rewrite", "still-talk"], seed=1, max_seconds=2.0, include_real=False))
    rows = []
    for row in csv.DictReader((root / "real" / "manifest.csv").open()):
        path = (root / "real" / row["video_path"]).resolve()
        rows.append({"file": str(path.relative_to(root)), "label": "real", "generator": "", "manipulation": "none",
                     "source_group": f"studio-{row['source_id']}", "repo": "synth", "notes": "", "license": "Apache-2.0"})
    generators = {"lip-rewrite": ("RewriteNet", "lip-sync"), "still-talk": ("StillAnimator", "still-image animation")}
    for row in csv.DictReader((root / "fake" / "manifest.csv").open()):
        generator, manipulation = generators[row["method"]]
        path = (root / "fake" / row["video_path"]).resolve()
        rows.append({"file": str(path.relative_to(root)), "label": "fake", "generator": generator,
                     "manipulation": manipulation, "source_group": f"repo-{generator}", "repo": f"lab/{generator}",
                     "notes": "", "license": "MIT"})
    with (root / "catalog.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CATALOG_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return root


@pytest.mark.slow
def test_wild_benchmark_runs_end_to_end_and_resumes(corpus: Path, tmp_path: Path) -> None:
    work, out = tmp_path / "work", tmp_path / "results"
    args = ["bench", "wild", "--data", str(corpus), "--work", str(work), "--out", str(out), "--seeds", "0",
            "--variants", "shortcut,zero-shot,cues,detection-only", "--epochs", "1", "--student-config", "tiny",
            "--crop-frames", "25", "--prepare-frames", "50", "--real-shares", "3", "--workers", "1"]
    assert main(args) == 0
    document = json.loads((out / "wild.json").read_text())
    text = json.dumps(document)
    for name in ("shortcut", "zero-shot", "cues", "detection-only", "RewriteNet", "StillAnimator"):
        assert name in text
    folds = json.loads((work / "folds.json").read_text())
    assert len(folds) == 2 * 3  # two families × three real shares
    for fold in folds:
        test, train = set(fold["test_ids"]), set(fold["train_ids"])
        assert test and train and not test & train
    with (work / "scores.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {r["variant"] for r in rows} == {"shortcut", "zero-shot", "cues", "detection-only"}
    assert all(0.0 <= float(r["score"]) <= 1.0 for r in rows)
    # every row carries the thresholds of its own fold, fitted on that fold's training reals
    assert all(float(r["uncertain_threshold"]) <= float(r["fake_threshold"]) for r in rows)
    before = (work / "scores.csv").read_text()
    assert main(args) == 0  # resumed: nothing is run again
    assert (work / "scores.csv").read_text() == before
    assert main(args + ["--report-only"]) == 0
    assert "Wild benchmark" in (out / "wild.md").read_text()
