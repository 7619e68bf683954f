"""Helpers for the engine tests: write small DAGs whose nodes run /bin/sh snippets."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from planner.engine.runner import Engine, RunResult


def _sh_submit(script: str, extra: str = "") -> str:
    """A submit description running ``sh -c script`` with $(JOB).out/.err in initialdir."""
    quoted = script.replace("'", "''").replace('"', '""')
    return (
        "universe = vanilla\n"
        "executable = /bin/sh\n"
        f"arguments = \"-c '{quoted}'\"\n"
        "output = $(JOB).out\n"
        "error = $(JOB).err\n"
        f"{extra}"
        "queue\n"
    )


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write ``text`` to ``tmp_path/name`` and return the path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def run_dag() -> Callable[..., tuple[RunResult, str]]:
    """Run a DAG in-process; return the result and what the engine printed."""

    def _run(dag: Path, slots: int = 2) -> tuple[RunResult, str]:
        out = io.StringIO()
        result = Engine(dag, slots=slots, progress=False, out=out).run()
        return result, out.getvalue()

    return _run


def _events(dag: Path) -> list[dict[str, object]]:
    path = dag.with_name(dag.name + ".events")
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def sh_submit() -> Callable[..., str]:
    """A submit description running ``sh -c script`` with $(JOB).out/.err in initialdir."""
    return _sh_submit


@pytest.fixture
def events() -> Callable[[Path], list[dict[str, object]]]:
    """The engine's JSONL event log of a DAG."""
    return _events
