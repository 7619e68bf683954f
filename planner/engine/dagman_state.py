"""What condor_dagman leaves beside a DAG, read so either engine can take over from the other.

HTCondor DAGMan (checked against its source, ``dagman_main.cpp`` and ``dag.cpp``):

* ``<dag>.lock`` holds the running DAGMan's process id (``PPID = ...``, ``PID = ...``,
  ...); DAGMan deletes it when it exits on its own. A DAGMan that finds it at start-up
  aborts when the process it names is still alive, else enters *recovery mode*: it
  rebuilds the state of the last run from its node log instead of starting afresh.
* ``<dag>.nodes.log`` is that node log (the submit files' ``log`` is written by the jobs
  but never read by DAGMan). Without a lock file DAGMan truncates it at start-up.
* ``<dag>.rescueNNN`` are rescue files; the newest is applied with or without recovery.

The embedded engine therefore never writes ``<dag>.lock`` or ``<dag>.nodes.log``; its own
lock and node log carry a ``.wfplan`` infix. The functions here are pure except
:func:`live_dagman` and :func:`running_dagman`, which look at ``/proc`` and the lock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from planner.engine.dagfile import Dag
from planner.engine.userlog import ABORTED, POST_TERMINATED, SUBMIT, TERMINATED, LogEvent

__all__ = [
    "Recovered",
    "dagman_lock",
    "dagman_nodes_log",
    "engine_lock",
    "engine_nodes_log",
    "live_dagman",
    "lock_pid",
    "recover",
    "running_dagman",
]

_PID = re.compile(r"^PID = (\d+)\s*$", re.MULTILINE)


def dagman_lock(dag_path: Path) -> Path:
    """DAGMan's lock file (its presence means recovery mode to the next DAGMan)."""
    return dag_path.with_name(dag_path.name + ".lock")


def dagman_nodes_log(dag_path: Path) -> Path:
    """DAGMan's default node log, the one it replays in recovery mode."""
    return dag_path.with_name(dag_path.name + ".nodes.log")


def engine_lock(dag_path: Path) -> Path:
    """The embedded engine's lock: a name DAGMan never looks at."""
    return dag_path.with_name(dag_path.name + ".wfplan.lock")


def engine_nodes_log(dag_path: Path) -> Path:
    """The embedded engine's node log (cluster ids are pids, so never DAGMan's name)."""
    return dag_path.with_name(dag_path.name + ".wfplan.nodes.log")


def lock_pid(text: str) -> int | None:
    """The ``PID`` a DAGMan lock file names; None when the text is not DAGMan's.

    >>> lock_pid("PPID = 1\\nPID = 4242\\nPRECISION = 1\\n")
    4242
    >>> lock_pid("") is None
    True
    """
    m = _PID.search(text)
    return int(m.group(1)) if m else None


def live_dagman(pid: int) -> bool:
    """Whether ``pid`` is a condor_dagman running on this host (a reused pid is not)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")
    except OSError:
        return False
    return bool(argv) and Path(argv[0].decode(errors="replace")).name == "condor_dagman"


def running_dagman(dag_path: Path) -> int | None:
    """The pid of the condor_dagman on this host whose lock this DAG has, if any."""
    try:
        text = dagman_lock(dag_path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    pid = lock_pid(text)
    return pid if pid is not None and live_dagman(pid) else None


@dataclass(frozen=True, slots=True)
class Recovered:
    """What DAGMan's recovery mode would conclude from its node log."""

    done: frozenset[str]
    unfinished: frozenset[str]  # submitted, no final event yet: maybe still in a queue


def recover(dag: Dag, events: Iterable[LogEvent]) -> Recovered:
    """Replay a DAGMan node log the way recovery mode does: a node is done when its last
    attempt ended well (the POST script's result when it has one, else the job's).

    A job whose POST script has not reported yet is not done: its node runs again (DAGMan
    would rerun only the POST script; rerunning the node is the safe superset).
    """
    by_cluster: dict[int, str] = {}
    state: dict[str, str] = {}
    for ev in events:
        if ev.code == SUBMIT and ev.node in dag.nodes:
            by_cluster[ev.cluster] = ev.node
            state[ev.node] = "submitted"
        elif ev.code == POST_TERMINATED and ev.node in dag.nodes:
            state[ev.node] = "done" if ev.return_value == 0 else "failed"
        elif ev.code in (TERMINATED, ABORTED) and ev.cluster in by_cluster:
            name = by_cluster[ev.cluster]
            if dag.nodes[name].post is not None:
                state[name] = "post"
            else:
                ok = ev.code == TERMINATED and ev.return_value == 0
                state[name] = "done" if ok else "failed"
    return Recovered(
        done=frozenset(n for n, s in state.items() if s == "done"),
        unfinished=frozenset(n for n, s in state.items() if s == "submitted"),
    )
