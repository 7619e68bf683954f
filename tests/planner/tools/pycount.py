"""Count Python interpreter starts: a ``sitecustomize`` on PYTHONPATH that appends the
pid of every interpreter that starts to a file (tests of the one-interpreter promise)."""

from __future__ import annotations

from pathlib import Path

HOOK = """\
import os
_path = os.environ.get("WFPLAN_TEST_PYCOUNT")
if _path:
    with open(_path, "a") as _fh:
        _fh.write(f"{os.getpid()}\\n")
"""


def interpreter_counter(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """(environment variables that make every interpreter started with them count itself,
    the file it counts in)."""
    hook = tmp_path / "pycount-hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK)
    counts = tmp_path / "pycount.txt"
    counts.touch()
    return {"PYTHONPATH": str(hook), "WFPLAN_TEST_PYCOUNT": str(counts)}, counts


def started(counts: Path) -> int:
    """How many interpreters have started so far."""
    return len(counts.read_text().split())


def pids(counts: Path) -> list[int]:
    return [int(p) for p in counts.read_text().split()]
