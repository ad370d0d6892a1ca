"""The benchmark scripts keep working as the package changes (a smoke run at the tiny size;
the timings themselves live in benchmarks/results/, never in tests)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_train_speed_measures_a_tiny_detector() -> None:
    result = _load("train_speed").bench_one("tiny", "cpu", 0, 1, 50, 25)
    assert result["train_frames_per_s"] > 0 and result["infer_frames_per_s"] > 0


@pytest.mark.parametrize("script", sorted(p.stem for p in BENCHMARKS.glob("*.py")))
def test_every_benchmark_script_parses_its_arguments(script: str) -> None:
    out = subprocess.run([sys.executable, str(BENCHMARKS / f"{script}.py"), "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-500:]
