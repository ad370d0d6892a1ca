"""The media reader under mutated container bytes returns a clip that keeps its invariants or
refuses with InputError, nothing else: a bounded hypothesis run over mutations of tiny valid clips
(benchmarks/fuzz_media.py runs the long version), and every input that once crashed it."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load_fuzz():
    spec = importlib.util.spec_from_file_location("bench_fuzz_media", BENCHMARKS / "fuzz_media.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


fuzz = _load_fuzz()
#: Crashes the fuzzer found, each kept as a regression input (none open: each was fixed in avcorr/media).
OPEN_CRASHES: dict[str, str] = {}


def _replay(path: Path):
    reason = OPEN_CRASHES.get(path.name)
    return pytest.param(path, id=path.name, marks=[pytest.mark.xfail(strict=True, reason=reason)] if reason else [])


MUTATIONS = st.builds(fuzz.Mutation, kind=st.sampled_from(fuzz.KINDS), at=st.floats(0.0, 1.0, exclude_max=True),
                      size=st.sampled_from([1, 4, 16, 64, 512, 4096]), value=st.integers(0, 2**31 - 1))


def test_mutations_do_what_they_say():
    data = bytes(range(8))
    M = fuzz.Mutation
    assert fuzz.mutate(data, [M("flip", 0.0, value=1)]) == b"\x02" + data[1:]
    assert fuzz.mutate(data, [M("set", 0.5, value=0x1FF)]) == data[:4] + b"\xff" + data[5:]
    assert fuzz.mutate(data, [M("zero", 0.25, size=2)]) == data[:2] + b"\x00\x00" + data[4:]
    assert fuzz.mutate(data, [M("delete", 0.25, size=2)]) == data[:2] + data[4:]
    assert fuzz.mutate(data, [M("duplicate", 0.0, size=2)]) == data[:2] + data
    assert len(fuzz.mutate(data, [M("insert", 0.5, size=5, value=3)])) == 13
    assert fuzz.mutate(data, [M("truncate", 0.5)]) == data[:4]
    assert fuzz.mutate(data, [M("size", 0.0, value=5)]) == b"\xff\xff\xff\xff" + data[4:]
    assert fuzz.mutate(b"", [M("flip", 0.3)]) == b""


@pytest.fixture(scope="module")
def seed_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz_seeds")
    fuzz.make_seeds(folder)
    return folder


@pytest.mark.parametrize("name", fuzz.SEED_NAMES)
def test_the_seeds_are_valid_clips(seed_dir, name):
    assert fuzz.read_or_refuse(seed_dir / name).startswith("clip: 30 frames 32x32")


@pytest.mark.timeout(600)
@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(fuzz.SEED_NAMES), mutations=st.lists(MUTATIONS, min_size=1, max_size=4))
def test_mutated_containers_give_a_clip_or_a_reason(tmp_path, seed_dir, name, mutations):
    seed = seed_dir / name
    path = tmp_path / f"input{seed.suffix}"
    path.write_bytes(fuzz.mutate(seed.read_bytes(), mutations))
    assert fuzz.read_or_refuse(path).startswith(("clip: ", "refused: "))


@pytest.mark.parametrize("crash", [_replay(p) for p in sorted(fuzz.REGRESSIONS.glob("*.bin"))])
def test_inputs_that_once_crashed_the_reader_give_a_clip_or_a_reason(crash):
    assert fuzz.read_or_refuse(crash).startswith(("clip: ", "refused: "))
