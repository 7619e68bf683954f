"""HTCondor job event logs: written by the embedded engine, read back from DAGMan's.

The text is HTCondor's classic user-log format, so ``htcondor.JobEventLog`` and tools
that follow DAGMan logs read it: ``000`` submitted (with ``DAG Node:``), ``001``
executing, ``005`` terminated (return value or signal, CPU usage). The cluster id is
the job's process id. Lines come from pure generators; :class:`UserLogs` appends them.
:func:`yield_events` reads the same format (what DAGMan leaves in ``<dag>.nodes.log``)
into :class:`LogEvent` values.

>>> print("".join(yield_submit_lines(42, "A", "2026-01-02 03:04:05")), end="")
000 (042.000.000) 2026-01-02 03:04:05 Job submitted from host: <127.0.0.1:0>
    DAG Node: A
...
001 (042.000.000) 2026-01-02 03:04:05 Job executing on host: <127.0.0.1:0>
...
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, NamedTuple

__all__ = ["LogEvent", "UserLogs", "yield_events", "yield_submit_lines", "yield_terminated_lines"]

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


# Event codes DAGMan acts on (HTCondor's ULogEventNumber).
SUBMIT, EXECUTE, TERMINATED, ABORTED, POST_TERMINATED = 0, 1, 5, 9, 16

_HEADER = re.compile(r"(\d{3}) \((-?\d+)\.(-?\d+)\.(-?\d+)\) ")
_NORMAL = re.compile(r"\(1\) Normal termination \(return value (-?\d+)\)")
_SIGNAL = re.compile(r"\(0\) Abnormal termination \(signal (\d+)\)")
_NODE = re.compile(r"DAG Node: (\S+)")


class LogEvent(NamedTuple):
    """One event of a classic user log, reduced to what DAGMan's recovery reads."""

    code: int
    cluster: int
    proc: int
    node: str | None = None
    return_value: int | None = None
    signal: int | None = None


def _event(code: int, cluster: int, proc: int, body: list[str]) -> LogEvent:
    node = rv = sig = None
    for line in body:
        if (m := _NODE.search(line)) is not None:
            node = m.group(1)
        elif (m := _NORMAL.search(line)) is not None:
            rv = int(m.group(1))
        elif (m := _SIGNAL.search(line)) is not None:
            sig = int(m.group(1))
    return LogEvent(code, cluster, proc, node, rv, sig)


def yield_events(lines: Iterable[str]) -> Iterator[LogEvent]:
    """The events of a classic-format user log; a torn last event (no ``...``) is dropped,
    as HTCondor's reader waits for it to be completed.

    >>> text = "000 (7.000.000) 01/02 03:04:05 Job submitted from host: <h>\\n    DAG Node: A\\n...\\n"
    >>> list(yield_events(text.splitlines()))
    [LogEvent(code=0, cluster=7, proc=0, node='A', return_value=None, signal=None)]
    """
    head: tuple[int, int, int] | None = None
    body: list[str] = []
    for line in lines:
        if head is None:
            m = _HEADER.match(line)
            if m is not None:
                head = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
                body = [line[m.end() :]]
        elif line.rstrip() == "...":
            yield _event(*head, body)
            head = None
        else:
            body.append(line)
