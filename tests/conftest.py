"""Fixtures shared by the test suite.

``shared_data`` / ``shared_reference`` point at ``../shared`` beside the checkout (or
``$AVCORR_SHARED``); tests that use them skip cleanly on a user's machine where it is absent.
"""
from __future__ import annotations

import os
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
