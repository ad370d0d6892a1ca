"""The whole job at a tiny size: synth → split → forge → prepare (phonetic) → train → evaluate →
detect with a report, through the same `avcorr demo` a new user runs."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from avcorr.cli.main import main


@pytest.mark.slow
def test_demo_runs_end_to_end_at_tiny_size(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--clips", "4", "--epochs", "1", "--config", "tiny",
                 "--methods", "audio-swap,lip-rewrite", "--workers", "1"])
    assert code == 0
    forged = list(csv.DictReader((out / "forged" / "manifest.csv").open()))
    assert {r["method"] for r in forged} == {"real", "audio-swap", "lip-rewrite"}
    # identity-disjoint: a source's real clip and its fakes share a split, and both splits exist
    split_of_source = {}
    for r in forged:
        assert split_of_source.setdefault(r["source_id"], r["split"]) == r["split"]
    assert set(split_of_source.values()) == {"train", "test"}
    cache = list(csv.DictReader((out / "cache" / "manifest.csv").open()))
    assert len(cache) == len(forged) and all(r["teacher"] == "phonetic" for r in cache)
    assert (out / "run" / "model.safetensors").exists()
    scores = list(csv.DictReader((out / "test_scores.csv").open()))
    assert scores and {r["split"] for r in scores} == {"test"}
    assert all(0.0 <= float(r["score"]) <= 1.0 for r in scores)
    html = (out / "report" / "index.html").read_text()
    assert "avcorr detection report" in html and html.count("data:image/png;base64,") >= 2
    assert set(json.loads((out / "demo_timings.json").read_text())) >= {"synth", "forge", "prepare", "train", "evaluate", "detect"}
