"""The benchmarks' shared plumbing: the corpus locator, the results writer, and that prepare's
failures reach the corpus tables (two bugs of the first wild benchmark)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from avcorr.bench import results
from avcorr.cli.bench import _default_corpus
from avcorr.cues.corpus import prepare_corpus
from avcorr.data.catalog import CatalogClip

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_the_checkout_is_found_from_the_results_module():
    assert results.CHECKOUT == REPO_ROOT
    assert (results.CHECKOUT / "pyproject.toml").is_file()


def test_bench_default_corpus_honours_the_environment_and_the_checkout(tmp_path, monkeypatch):
    shared = tmp_path / "elsewhere"
    (shared / "data").mkdir(parents=True)
    (shared / "data" / "catalog.csv").write_text("file,label\n")
    monkeypatch.setenv(results.SHARED_ENV, str(shared))
    monkeypatch.chdir(tmp_path)
    assert _default_corpus() == shared / "data"
    monkeypatch.delenv(results.SHARED_ENV)
    beside_checkout = REPO_ROOT.parent / "shared" / "data"
    if (beside_checkout / "catalog.csv").is_file():  # a developer's machine: found from any working directory
        assert _default_corpus() == beside_checkout
    else:
        assert results.shared_data_dir() is None


def test_results_are_written_with_their_run_and_atomically(tmp_path):
    json_path, md_path = results.write_results(tmp_path / "out", "thing", {"value": float("nan"), "n": 3},
                                               lambda d: f"# thing\n\nn = {d['n']}")
    document = json.loads(json_path.read_text())
    assert document["value"] is None and document["n"] == 3
    assert set(document["run"]) == {"commit", "date", "machine"}
    assert "load_average_1_5_15" in document["run"]["machine"]
    assert md_path.read_text() == "# thing\n\nn = 3\n"
    assert not list((tmp_path / "out").glob(".*.tmp"))


@pytest.mark.slow
def test_prepare_corpus_returns_the_clips_it_could_not_prepare(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"this is not a video" * 10)
    clip = CatalogClip(clip_id="broken", path=broken, label=0, generator="", family="real", manipulation="none",
                       source_group="g", repo="", path_in_repo="", notes="", width=64, height=64, fps=25.0,
                       duration_s=1.0, license="")
    failures = prepare_corpus([clip], tmp_path / "cache", max_frames=50, workers=1)
    assert len(failures) == 1 and failures[0].startswith("broken (decode: ")
