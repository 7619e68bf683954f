"""Shared test set-up: an empty HTCondor configuration and the shared data folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# The htcondor bindings warn without a configuration; tests need none.
os.environ.setdefault("CONDOR_CONFIG", "/dev/null")

# CI (CI=true) draws the same examples every run, so a red run is one anyone can repeat and
# a landing never hangs on a lucky draw; a developer's runs keep drawing new ones and
# hypothesis's database replays what they found.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

# Helpers any test folder imports by name: the diamond workflows every emitter, command and
# end-to-end test plans (tests/planner/emit/diamonds.py), and tests/helpers/*.
sys.path.insert(0, str(Path(__file__).resolve().parent / "planner" / "emit"))
sys.path.insert(0, str(Path(__file__).resolve().parent / "helpers"))

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip, loudly, without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent")
    return SHARED_DATA
