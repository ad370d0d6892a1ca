"""Fixtures shared by the test suite.

``shared_data`` / ``shared_reference`` point at ``../shared`` beside the checkout (or
``$AVCORR_SHARED``); tests that use them skip cleanly on a user's machine where it is absent.
"""
from __future__ import annotations

import os

# Before torch is imported: its thread pools busy-wait on a loaded 2-core machine, and the
# tests' tiny tensors gain nothing from more than one thread (DDP workers inherit this too).
os.environ.setdefault("OMP_NUM_THREADS", "1")
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_root() -> Path:
    return Path(os.environ.get("AVCORR_SHARED", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_root() / "data"
    if not (path / "catalog.csv").exists():
        pytest.skip("../shared/data is absent (real clips are only on the developers' machines)")
    return path


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    path = shared_root() / "reference"
    if not (path / "paper_forward_reference.npz").exists():
        pytest.skip("../shared/reference is absent")
    return path
