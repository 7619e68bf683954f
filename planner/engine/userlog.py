"""HTCondor job event logs (the submit file's ``log``), written by the embedded engine.

The text is HTCondor's classic user-log format, so ``htcondor.JobEventLog`` and tools
that follow DAGMan logs read it: ``000`` submitted (with ``DAG Node:``), ``001``
executing, ``005`` terminated (return value or signal, CPU usage). The cluster id is
the job's process id. Lines come from pure generators; :class:`UserLogs` appends them.

>>> print("".join(yield_submit_lines(42, "A", "2026-01-02 03:04:05")), end="")
000 (042.000.000) 2026-01-02 03:04:05 Job submitted from host: <127.0.0.1:0>
    DAG Node: A
...
001 (042.000.000) 2026-01-02 03:04:05 Job executing on host: <127.0.0.1:0>
...
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["UserLogs", "yield_submit_lines", "yield_terminated_lines"]

HOST = "<127.0.0.1:0>"


def _id(cluster: int) -> str:
    return f"({cluster:03d}.000.000)"


def _usage(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 86400} {s % 86400 // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def yield_submit_lines(cluster: int, node: str, when: str) -> Iterator[str]:
    """The submit and execute events of a job that just started."""
    yield f"000 {_id(cluster)} {when} Job submitted from host: {HOST}\n"
    yield f"    DAG Node: {node}\n"
    yield "...\n"
    yield f"001 {_id(cluster)} {when} Job executing on host: {HOST}\n"
    yield "...\n"


def yield_terminated_lines(
    cluster: int, when: str, rc: int, user: float = 0.0, system: float = 0.0
) -> Iterator[str]:
    """The terminated event: ``rc`` >= 0 is a return value, < 0 minus a signal number."""
    yield f"005 {_id(cluster)} {when} Job terminated.\n"
    if rc >= 0:
        yield f"\t(1) Normal termination (return value {rc})\n"
    else:
        yield f"\t(0) Abnormal termination (signal {-rc})\n"
        yield "\t(0) No core file\n"
    usage = f"Usr {_usage(user)}, Sys {_usage(system)}"
    for what in ("Run Remote", "Run Local", "Total Remote", "Total Local"):
        yield f"\t\t{usage}  -  {what} Usage\n"
    for what in ("Run Bytes Sent", "Run Bytes Received", "Total Bytes Sent"):
        yield f"\t0  -  {what} By Job\n"
    yield "\t0  -  Total Bytes Received By Job\n"
    yield "...\n"


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())


class UserLogs:
    """Append events to the logs jobs name; one open handle per log file."""

    def __init__(self) -> None:
        self.handles: dict[Path, IO[str]] = {}

    def _write(self, path: Path, lines: Iterator[str]) -> None:
        fh = self.handles.get(path)
        if fh is None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
            except OSError:
                return  # a log that cannot be written must not fail the job
            self.handles[path] = fh
        fh.write("".join(lines))
        fh.flush()

    def started(self, path: Path, cluster: int, node: str) -> None:
        self._write(path, yield_submit_lines(cluster, node, _now()))

    def terminated(self, path: Path, cluster: int, rc: int, user: float, system: float) -> None:
        self._write(path, yield_terminated_lines(cluster, _now(), rc, user, system))

    def close(self) -> None:
        for fh in self.handles.values():
            fh.close()
        self.handles.clear()
