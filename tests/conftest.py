"""Shared test set-up: an empty HTCondor configuration and the shared data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The htcondor bindings warn without a configuration; tests need none.
os.environ.setdefault("CONDOR_CONFIG", "/dev/null")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip, loudly, without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent")
    return SHARED_DATA
