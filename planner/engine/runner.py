"""The embedded DAGMan-compatible engine: run a ``.dag`` on local processes.

A node is PRE -> job -> POST and the last one that ran decides its result; RETRY reruns
the whole node; a node that fails for good makes its descendants unrunnable while the
rest of the DAG goes on; PRIORITY orders ready nodes; CATEGORY/MAXJOBS and ``slots``
(counted in ``request_cpus``) throttle jobs; ABORT-DAG-ON, FINAL and DONE behave as in
DAGMan. Files written beside ``<dag>``:

* ``<dag>.events``   one JSON object per node event (start, end, retry, ...), appended;
* ``<dag>.journal``  one line per finished node, written at once (fsynced in groups every
  50 ms): a restart (after Ctrl-C or ``kill -9``) rebuilds its state from it and never
  reruns a finished node;
* ``<dag>.status``   the latest counts and the failed nodes (``wfplan status/analyze``);
* ``<dag>.rescueNNN`` DAGMan rescue files (``DONE`` lines), written before FINAL runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import heapq
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

from catalogs.atomic import atomic_write_text
from planner.engine.dagfile import Dag, DagNode, Script, parse_dag, parse_rescue
from planner.engine.dagman_state import (
    Recovered,
    dagman_lock,
    dagman_nodes_log,
    engine_lock,
    engine_nodes_log,
    lock_pid,
    recover,
    running_dagman,
)
from planner.engine.forkserver import Forked, ForkServers, child_subreaper, reap_strays
from planner.engine.subdag import subdag_spec
from planner.engine.submitfile import JobSpec, read_submit_file, read_submit_text
from planner.engine.transfer import (
    OUTPUT_HOLD,
    copy_in,
    copy_out,
    removed_when_held,
    sandbox_executable,
)
from planner.engine.userlog import UserLogs, yield_events
from planner.errors import EngineError, TransferHold

__all__ = [
    "Engine",
    "RunResult",
    "TxSummary",
    "engine_running",
    "find_dag",
    "jobs_left_running",
    "newest_rescue",
    "rescue_from_journal",
    "status_path",
    "write_rescue",
]

MAX_SCRIPTS = 20  # DAGMan's default -maxpre / -maxpost
NEVER_RAN = -1001  # $RETURN when the job could not be started (DAGMan uses -100x codes)
# DAGMan's $RETURN for a job removed from the queue: what a job held for a failed file
# transfer becomes once its periodic_remove removes it (docs/engine.md)
TRANSFER_FAILED = -1002
STATUS_INTERVAL = 0.5
_WAKE = -1  # selector key of the signal wake-up pipe
FSYNC_INTERVAL = 0.05


def find_dag(path: str | Path) -> Path:
    """The ``.dag`` file of a submit directory (or ``path`` itself when it is a file)."""
    p = Path(path)
    if p.is_file():
        return p.resolve()
    if not p.is_dir():
        raise EngineError("no such submit directory or DAG file", source=str(p))
    dags = sorted(d for d in p.glob("*.dag") if d.is_file())
    if not dags:
        raise EngineError("no .dag file in the submit directory", source=str(p))
    if len(dags) > 1:
        names = ", ".join(d.name for d in dags)
        raise EngineError(f"several .dag files ({names}); name one", source=str(p))
    return dags[0].resolve()


def rescue_files(dag_path: Path) -> list[Path]:
    """Existing rescue files of a DAG, oldest first."""
    found = []
    for f in dag_path.parent.glob(dag_path.name + ".rescue*"):
        suffix = f.name[len(dag_path.name) + len(".rescue") :]
        if suffix.isdigit():
            found.append((int(suffix), f))
    return [f for _, f in sorted(found)]


def newest_rescue(dag_path: Path) -> Path | None:
    """The rescue file the next run applies, if any."""
    files = rescue_files(dag_path)
    return files[-1] if files else None


def status_path(dag_path: Path) -> Path:
    """Where the engine keeps the status of a DAG."""
    return dag_path.with_name(dag_path.name + ".status")


def read_status(submit_dir: str | Path) -> tuple[Path, dict[str, Any] | None]:
    """The DAG of a submit directory and its status document (None: not run yet)."""
    dag = find_dag(submit_dir)
    path = status_path(dag)
    if not path.exists():
        return dag, None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise EngineError(f"unreadable status file: {exc}", source=str(path))
    if not isinstance(doc, dict):
        raise EngineError("unreadable status file: not a JSON object", source=str(path))
    return dag, doc


@dataclass
class TxSummary:
    """Per-transformation totals for the end-of-run summary."""

    count: int = 0
    failures: int = 0
    retries: int = 0
    runs: int = 0
    runtime: float = 0.0

    @property
    def mean(self) -> float:
        return self.runtime / self.runs if self.runs else 0.0


@dataclass
class RunResult:
    """What a run ended with."""

    succeeded: bool
    done: int
    failed: list[str]
    unrunnable: list[str]
    rescue: Path | None
    aborted: bool
    elapsed: float
    nodes_run: int
    summary: dict[str, TxSummary] = field(default_factory=dict)


@dataclass
class _Proc:
    node: str
    phase: str  # pre | job | post
    popen: subprocess.Popen[bytes] | Forked
    started: float
    slots: int = 0
    scratch: Path | None = None
    pidfd: int = -1
    snapshot: dict[str, int] = field(default_factory=dict)


@dataclass
class _NodeRun:
    node: DagNode
    state: str = "waiting"  # waiting ready pre queued job post done failed unrunnable
    pending: int = 0
    attempt: int = 0
    job_rc: int | None = None
    spec: JobSpec | None = None
    last_rc: int | None = None
    last_phase: str = ""
    message: str = ""


def _start_ticks(pid: int) -> int | None:
    """The start time of a process in clock ticks (Linux), to tell it from a reused pid;
    None when it is gone or a zombie (it has ended; only its parent's wait is missing)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return None if fields[0] == "Z" else int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _stop_orphans(orphans: dict[int, int], grace: float = 5.0) -> int:
    """Stop jobs a killed engine started that still run (same pid and start time)."""
    alive = [pid for pid, ticks in orphans.items() if ticks >= 0 and _start_ticks(pid) == ticks]
    for pid in alive:
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    left = [pid for pid in alive if _start_ticks(pid) == orphans[pid]]
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = [pid for pid in left if _start_ticks(pid) == orphans[pid]]
    for pid in left:
        _signal_group(pid, signal.SIGKILL)
    return len(alive)


def _signal_group(pid: int, sig: int) -> None:
    """Signal a job's process group (jobs lead their own), else the process itself."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _read_journal(journal: Path, digest: str) -> tuple[bool, list[str], dict[int, int]]:
    """(same DAG text?, finished nodes, {pid: start ticks} of started processes)."""
    lines = journal.read_text(encoding="utf-8", errors="replace").splitlines()
    try:
        header = json.loads(lines[0]) if lines else {}
    except json.JSONDecodeError:
        header = {}
    same = isinstance(header, dict) and header.get("dag_sha256") == digest
    finished: list[str] = []
    orphans: dict[int, int] = {}
    for line in lines[1:]:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line from a kill: that node reruns
        if not isinstance(rec, dict):
            continue
        if isinstance(rec.get("done"), str):
            finished.append(rec["done"])
        elif isinstance(rec.get("pid"), int) and isinstance(rec.get("ticks"), int):
            orphans[rec["pid"]] = rec["ticks"]
    return same, finished, orphans


def _held(spec: JobSpec, hold: TransferHold, rc: int | None) -> str:
    """Why a node failed on a transfer hold, and what a pool would do with the job."""
    ran = f"job exited with {rc}; " if rc else ""
    what = "output" if hold.code == OUTPUT_HOLD else "input"
    said = f"{ran}{what} transfer failed: {hold.message}; HTCondor holds such a job (HoldReasonCode {hold.code})"
    if removed_when_held(spec, hold):
        return f"{said} and its periodic_remove removes it ($RETURN {TRANSFER_FAILED})"
    return (
        f"{said}, and nothing in {spec.submit_file.name} removes it: on a pool DAGMan would "
        "wait for it until released or removed by hand"
    )


def _open_streams(spec: JobSpec, handles: list[IO[bytes]]) -> tuple[Any, Any, Any]:
    """stdin, stdout and stderr for a job as subprocess takes them; every file opened is
    added to ``handles`` (the caller closes them once the job is spawned, even on error).
    An error file that is the output file shares its handle, as in HTCondor."""
    stdin: Any = subprocess.DEVNULL
    if spec.stdin is not None:
        stdin = open(spec.stdin, "rb")  # noqa: SIM115 (closed after the spawn)
        handles.append(stdin)
    stdout = _open_output(spec.stdout, handles)
    if spec.stderr is not None and spec.stderr == spec.stdout:
        return stdin, stdout, stdout
    return stdin, stdout, _open_output(spec.stderr, handles)


def _open_output(path: Path | None, handles: list[IO[bytes]]) -> Any:
    if path is None:
        return subprocess.DEVNULL
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "wb")  # noqa: SIM115 (closed after the spawn)
    handles.append(fh)
    return fh


def _cpu(seconds: float | None) -> dict[str, float]:
    """The ``cpu`` key of an end event: user + system seconds of the process (and of the
    children it waited for), from its exit; none for a job that never started."""
    return {} if seconds is None else {"cpu": round(seconds, 6)}


def _dag_digest(dag_path: Path) -> str:
    return hashlib.sha256(dag_path.read_bytes()).hexdigest()


class _Syncer(threading.Thread):
    """fsyncs the journal every FSYNC_INTERVAL when it changed, off the engine's loop (an
    fsync costs ~4 ms, more than starting a job). A kill -9 of the engine loses nothing
    (lines are written at once); a power cut loses at most the last interval, whose
    nodes simply run again."""

    def __init__(self, fd: int) -> None:
        super().__init__(name="wfplan-journal-sync", daemon=True)
        self.fd = fd
        self.dirty = False
        self.halt = threading.Event()

    def sync(self) -> None:
        if self.dirty:
            self.dirty = False
            os.fsync(self.fd)

    def run(self) -> None:
        while not self.halt.wait(FSYNC_INTERVAL):
            self.sync()

    def stop(self) -> None:
        self.halt.set()
        self.join()
        self.sync()


def _take_engine_lock(dag_path: Path) -> IO[str]:
    """Hold the engine's lock file (flock: released by the kernel even after kill -9)."""
    path = engine_lock(dag_path)
    while True:
        try:
            fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the run)
        except OSError as exc:
            raise EngineError(
                f"cannot write beside the DAG ({exc.strerror}): the engine keeps its journal, "
                "status and rescue files there",
                source=str(dag_path),
            )
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise EngineError("another 'wfplan run' is running this DAG", source=str(dag_path))
        try:
            same = os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            fh.truncate(0)
            fh.write(f"{os.getpid()}\n")
            fh.flush()
            return fh
        fh.close()  # the previous holder removed it between our open and flock


def engine_running(dag_path: Path) -> bool:
    """Whether an embedded engine holds this DAG's lock right now."""
    try:
        fh = open(engine_lock(dag_path), encoding="utf-8")  # noqa: SIM115
    except OSError:
        return False
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
    return False


def _remove(lock: Path) -> None:
    """Remove DAGMan's stale lock; left in place, it would send the next DAGMan into
    recovery mode over a node log this engine does not write."""
    try:
        lock.unlink(missing_ok=True)
    except OSError as exc:
        raise EngineError(
            f"cannot remove DAGMan's stale lock ({exc.strerror}); remove it, then run again",
            source=str(lock),
        )


def _refuse_live_dagman(dag_path: Path) -> None:
    """A condor_dagman that still runs this DAG owns it: never run beside it."""
    pid = running_dagman(dag_path)
    if pid is not None:
        raise EngineError(
            f"condor_dagman (pid {pid}) is running this DAG ({dagman_lock(dag_path).name}); "
            "wait for it to end or condor_rm it, then run again",
            source=str(dag_path),
        )


def write_rescue(dag: Dag, finished: set[str], failed: set[str]) -> Path:
    """Write the next ``<dag>.rescueNNN``: DONE lines in file order, FINAL never DONE, as
    DAGMan writes its partial rescue files (so either engine applies it)."""
    dag_path = dag.path
    existing = rescue_files(dag_path)
    number = 1
    if existing:
        number = int(existing[-1].name[len(dag_path.name) + len(".rescue") :]) + 1
    path = dag_path.with_name(f"{dag_path.name}.rescue{number:03d}")
    done = [n for n, node in dag.nodes.items() if n in finished and not node.final]
    bad = [n for n, node in dag.nodes.items() if n in failed and not node.final]
    lines = [
        f"# Rescue DAG file, created by wfplan run for {dag_path.name}",
        f"# Total number of nodes: {len(dag.nodes)}",
        f"# Nodes premarked DONE: {len(done)}",
        f"# Nodes that failed: {len(bad)}",
        "#   " + ",".join(bad) if bad else "#   (none)",
        "",
        *(f"DONE {n}" for n in done),
    ]
    atomic_write_text(path, "\n".join(lines) + "\n", error=EngineError)
    return path


def jobs_left_running(dag_path: Path) -> list[int]:
    """Pids of jobs a killed engine started that still run (same pid and start time)."""
    journal = dag_path.with_name(dag_path.name + ".journal")
    if not journal.exists():
        return []
    _, _, orphans = _read_journal(journal, "")
    return sorted(pid for pid, t in orphans.items() if t >= 0 and _start_ticks(pid) == t)


def rescue_from_journal(dag_path: Path) -> Path | None:
    """Put what the embedded engine's journal knows into a rescue file, for DAGMan.

    The journal is the engine's own record; after a Ctrl-C or a ``kill -9`` it holds
    finished nodes no rescue file has. Returns the rescue file written, or None when the
    newest rescue file already covers the journal or the journal belongs to another
    version of the DAG.
    """
    journal = dag_path.with_name(dag_path.name + ".journal")
    if not journal.exists():
        return None
    same, finished, _ = _read_journal(journal, _dag_digest(dag_path))
    if not same:
        return None
    dag = parse_dag(dag_path)
    known = {n for n, node in dag.nodes.items() if node.done}
    rescue = newest_rescue(dag_path)
    if rescue is not None:
        known.update(parse_rescue(rescue, dag))
    done = {n for n in finished if n in dag.nodes}
    if done <= known:
        return None
    return write_rescue(dag, done | known, set())


class Engine:
    """Run one DAG; see the module docstring. ``slots`` is ``-j``."""

    def __init__(
        self,
        dag_path: Path,
        slots: int | None = None,
        progress: bool | None = None,
        out: IO[str] | None = None,
        fresh: bool = False,
    ) -> None:
        self.dag_path = dag_path.resolve()
        self.fresh = fresh
        self.dag: Dag = parse_dag(self.dag_path)
        self.slots = max(1, slots or os.cpu_count() or 1)
        self.out = out if out is not None else sys.stderr
        self.progress = self.out.isatty() if progress is None else progress
        self.base = self.dag_path.parent
        self.runs: dict[str, _NodeRun] = {n: _NodeRun(node) for n, node in self.dag.nodes.items()}
        self.order = {name: i for i, name in enumerate(self.dag.nodes)}
        self.specs: dict[str, JobSpec] = {}
        self.texts: dict[Path, str] = {}
        self.free = self.slots
        self.cat_running: dict[str, int] = {}
        self.parked: dict[str, list[tuple[int, int, str]]] = {}
        self.ready_pre: list[tuple[int, int, str]] = []
        self.ready_job: list[tuple[int, int, str]] = []
        # Jobs ended whose POST script is still to start: started once the freed slots
        # have their next jobs, so that a slot never waits for a script's start-up.
        self.posts_due: deque[str] = deque()
        self.timers: list[tuple[float, int, str, str]] = []
        self.procs: dict[int, _Proc] = {}
        self.scripts_running = 0
        self.aborted = False
        self.stop_launch = False
        self.abort_code: int | None = None
        self.final_started = False
        self.summary: dict[str, TxSummary] = {}
        self.nodes_run = 0
        self.done_count = 0
        self.failed_count = 0
        self.started = time.monotonic()
        self.last_status = 0.0
        self.last_progress = 0.0
        self.rescue: Path | None = None
        self.stop_signal = 0
        self.selector = selectors.DefaultSelector()
        self._tick = 0
        self.forkserver: ForkServers | None = None  # set for the run when it can work

    # ---- set-up -------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        return self.dag_path.with_name(self.dag_path.name + name)

    def _node_dir(self, node: DagNode) -> Path:
        return self.base / node.directory if node.directory else self.base

    def _spec(self, name: str, retry: int) -> JobSpec:
        node = self.runs[name].node
        if node.subdag:
            return subdag_spec(node, self.base, self.slots)
        nd = self._node_dir(node)
        path = nd / node.submit_file
        text = self.texts.get(path)
        if text is None:  # many nodes share one submit file: read it once
            text = self.texts[path] = read_submit_file(path, name)
        return read_submit_text(text, path, node.vars, name, retry, nd)

    def _load_specs(self) -> None:
        for name, run in self.runs.items():
            if not run.node.noop and run.state != "done":
                self.specs[name] = self._spec(name, 0)

    def _commands(self) -> Iterator[tuple[str, Path, str | None]]:
        """(executable, directory, PATH) of every job and script left to run, each
        executable once."""
        seen: set[str] = set()
        path = os.environ.get("PATH")
        for name, run in self.runs.items():
            if run.state == "done":
                continue
            spec = self.specs.get(name)
            if spec is not None and spec.executable not in seen:
                seen.add(spec.executable)
                yield spec.executable, spec.initialdir, spec.environment.get("PATH", path)
            for script in (run.node.pre, run.node.post):
                if script is not None and script.executable not in seen:
                    seen.add(script.executable)
                    yield script.executable, self._node_dir(run.node), path

    def _restore(self) -> list[str]:
        """Mark DONE nodes from the DAG, the newest rescue file and the journal."""
        notes = []
        done = {n for n, r in self.runs.items() if r.node.done}
        rescue = None if self.fresh else newest_rescue(self.dag_path)
        if rescue is not None:
            marked = parse_rescue(rescue, self.dag)
            done.update(marked)
            notes.append(f"applied {rescue.name} ({len(marked)} nodes done)")
        notes.extend(self._take_over_from_dagman(done))
        journal = self._path(".journal")
        digest = _dag_digest(self.dag_path)
        if journal.exists():
            same_dag, finished, orphans = _read_journal(journal, digest)
            stopped = _stop_orphans(orphans)  # whatever version of the DAG started them
            if stopped:
                notes.append(f"stopped {stopped} job(s) an interrupted engine left running")
            if self.fresh or not same_dag:
                why = "--force" if self.fresh else "it belongs to another version of the DAG"
                notes.append(f"{journal.name} ignored: {why}")
                journal.unlink()
            else:
                kept = [n for n in finished if n in self.runs]
                done.update(kept)
                if kept:
                    notes.append(f"resumed from {journal.name} ({len(kept)} nodes done)")
        if not journal.exists():
            with open(journal, "w", encoding="utf-8") as fh:
                fh.write(json.dumps({"dag_sha256": digest}) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        for name in done:
            if not self.runs[name].node.final:
                self.runs[name].state = "done"
        self.done_count = sum(1 for r in self.runs.values() if r.state == "done")
        return notes

    def _take_over_from_dagman(self, done: set[str]) -> list[str]:
        """Continue where a condor_dagman that did not exit cleanly stopped (its lock is
        left; _refuse_live_dagman has checked that it no longer runs): add the nodes its
        node log shows done, as its recovery mode would, record them in a rescue file so
        a later DAGMan sees them too, then remove the lock so that DAGMan starts afresh
        from that rescue file instead of replaying a log this engine does not write."""
        lock = dagman_lock(self.dag_path)
        try:
            text = lock.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise EngineError(f"cannot read DAGMan's lock: {exc.strerror}", source=str(lock))
        if lock_pid(text) is None:
            # Not DAGMan's (an empty lock older wfplan versions left): no state behind it.
            _remove(lock)
            return [f"removed {lock.name}, a lock no DAGMan wrote"]
        notes = []
        if not self.fresh:
            recovered = self._dagman_log_state()
            new = recovered.done - done
            done.update(recovered.done)
            notes.append(
                f"took over from condor_dagman ({lock.name} left, no DAGMan running): "
                f"{len(recovered.done)} nodes done in {dagman_nodes_log(self.dag_path).name}"
            )
            if recovered.unfinished:
                names = ", ".join(sorted(recovered.unfinished))
                notes.append(
                    f"{len(recovered.unfinished)} job(s) DAGMan submitted never ended in its "
                    f"log and run again here ({names}); if that DAGMan is only held, "
                    "condor_rm it"
                )
            if new:
                notes.append(f"wrote {self._write_rescue_of(done).name} with them")
        _remove(lock)
        return notes

    def _dagman_log_state(self) -> Recovered:
        log = dagman_nodes_log(self.dag_path)
        try:
            with open(log, encoding="utf-8", errors="replace") as fh:
                return recover(self.dag, yield_events(fh))
        except FileNotFoundError:
            return recover(self.dag, ())

    # ---- bookkeeping --------------------------------------------------------------

    def _event(self, node: str, event: str, **extra: Any) -> None:
        rec = {"t": round(time.time(), 6), "node": node, "event": event, **extra}
        self.events.write(json.dumps(rec) + "\n")

    def _tx(self, name: str) -> TxSummary:
        run = self.runs[name]
        spec = self.specs.get(name)
        if run.node.noop or spec is None:
            key = "(noop)"
        else:
            key = ""
            for attr in ("wfplan_transformation", "pegasus_wf_xformation", "transformation"):
                if attr in spec.attributes:
                    key = spec.attributes[attr].strip().strip('"')
                    break
            key = key or os.path.basename(spec.executable)
        return self.summary.setdefault(key, TxSummary())

    def _write_status(self, state: str) -> None:
        counts: dict[str, int] = {}
        for r in self.runs.values():
            counts[r.state] = counts.get(r.state, 0) + 1
        failed = []
        for name, r in self.runs.items():
            if r.state != "failed":
                continue
            spec = self.specs.get(name)
            failed.append(
                {
                    "node": name,
                    "return": r.last_rc,
                    "phase": r.last_phase,
                    "job_return": r.job_rc,
                    "attempts": r.attempt + 1,
                    "message": r.message,
                    "command": spec.command_line if spec else None,
                    "stdout": str(spec.stdout) if spec and spec.stdout else None,
                    "stderr": str(spec.stderr) if spec and spec.stderr else None,
                    "submit_file": str(spec.submit_file) if spec else None,
                }
            )
        doc = {
            "dag": self.dag_path.name,
            "state": state,
            "pid": os.getpid(),
            "total": len(self.runs),
            "counts": dict(sorted(counts.items())),
            "running": sorted(p.node for p in self.procs.values())[:50],
            "failed": failed,
            "rescue": self.rescue.name if self.rescue else None,
            "elapsed": round(time.monotonic() - self.started, 3),
        }
        atomic_write_text(
            status_path(self.dag_path), json.dumps(doc, indent=1) + "\n", error=EngineError
        )
        self.last_status = time.monotonic()

    def _show_progress(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.progress or (not force and now - self.last_progress < 0.2):
            return
        self.last_progress = now
        total = len(self.runs)
        running = sum(1 for p in self.procs.values() if p.phase == "job")
        elapsed = now - self.started
        done_now = self.done_count - self.initial_done
        left = total - self.done_count - self.failed_count
        eta = "?"
        if done_now > 0 and left > 0:
            secs = int(elapsed / done_now * left)
            eta = f"{secs // 3600}:{secs % 3600 // 60:02d}:{secs % 60:02d}"
        elif left <= 0:
            eta = "0:00:00"
        line = (
            f"\rwfplan run: {self.done_count}/{total} done, {running} running, "
            f"{self.failed_count} failed, ETA {eta}   "
        )
        self.out.write(line)
        self.out.flush()

    # ---- scheduling ---------------------------------------------------------------

    def _key(self, name: str) -> tuple[int, int, str]:
        return (-self.runs[name].node.priority, self.order[name], name)

    def _make_ready(self, name: str) -> None:
        run = self.runs[name]
        run.state = "ready"
        if run.node.pre is not None:
            heapq.heappush(self.ready_pre, self._key(name))
        else:
            run.state = "queued"
            heapq.heappush(self.ready_job, self._key(name))

    def _launch(self) -> None:
        if self.stop_launch:
            return
        while self.ready_pre and self.scripts_running < MAX_SCRIPTS:
            _, _, name = heapq.heappop(self.ready_pre)
            run = self.runs[name]
            assert run.node.pre is not None
            self._start_script(name, "pre", run.node.pre)
        blocked: list[tuple[int, int, str]] = []
        while self.ready_job and self.free > 0:
            item = heapq.heappop(self.ready_job)
            name = item[2]
            run = self.runs[name]
            cat = run.node.category
            if (
                cat is not None
                and self.dag.maxjobs.get(cat, 0) > 0
                and self.cat_running.get(cat, 0) >= self.dag.maxjobs[cat]
            ):
                # parked until a job of its category ends: O(log n), not a rescan per launch
                heapq.heappush(self.parked.setdefault(cat, []), item)
                continue
            if run.node.noop:
                self._job_finished(name, 0, 0.0)
                continue
            spec = self.specs[name]
            need = min(spec.request_cpus, self.slots)
            if need > self.free:
                blocked.append(item)
                break  # keep priority order: wait for enough slots
            self._start_job(name, spec, need)
        for item in blocked:
            heapq.heappush(self.ready_job, item)

    def _category_freed(self, cat: str) -> None:
        self.cat_running[cat] -= 1
        parked = self.parked.get(cat)
        if parked:
            heapq.heappush(self.ready_job, heapq.heappop(parked))

    def _register(self, proc: _Proc) -> None:
        pid = proc.popen.pid
        self.procs[pid] = proc
        ticks = _start_ticks(pid)
        if ticks is not None:  # lets a restart stop what a killed engine left running
            self.journal.write(json.dumps({"start": proc.node, "pid": pid, "ticks": ticks}) + "\n")
            self.journal.flush()
        if hasattr(os, "pidfd_open"):
            try:
                proc.pidfd = os.pidfd_open(pid)
            except OSError:
                proc.pidfd = -1
            if proc.pidfd >= 0:
                self.selector.register(proc.pidfd, selectors.EVENT_READ, pid)

    def _start_script(self, name: str, phase: str, script: Script) -> None:
        run = self.runs[name]
        run.state = phase
        macros = {
            "$JOB": name,
            "$RETRY": str(run.attempt),
            "$MAX_RETRIES": str(run.node.retry),
            "$RETURN": str(run.job_rc if run.job_rc is not None else 0),
            "$DAG_STATUS": str(self._dag_status()),
            "$FAILED_COUNT": str(self.failed_count),
            "$JOBID": "1.0",
        }
        args = [macros.get(a, a) for a in script.arguments]
        nd = self._node_dir(run.node)
        exe = script.executable
        if not os.path.isabs(exe) and ("/" in exe or (nd / exe).exists()):
            exe = str(nd / exe)  # DAGMan resolves scripts against the node's directory
        self._event(name, f"{phase}_start", attempt=run.attempt, command=[exe, *args])
        try:
            popen = self._spawn(
                [exe, *args], nd, None, (subprocess.DEVNULL, self.scripts_out, subprocess.STDOUT)
            )
        except OSError as exc:
            run.message = f"{phase.upper()} script {exe} could not start: {exc.strerror}"
            self._script_finished(name, phase, 1, 0.0)
            return
        self.scripts_running += 1
        self._register(_Proc(name, phase, popen, time.monotonic()))

    def _spawn(
        self,
        argv: list[str],
        cwd: Path,
        env: dict[str, str] | None,
        streams: tuple[Any, Any, Any],
        new_session: bool = False,
    ) -> subprocess.Popen[bytes] | Forked:
        """Start a job or script: this package's console scripts through the fork server
        (no new interpreter), everything else, or all when the server is gone, as a new
        process. ``streams`` are what subprocess takes for stdin, stdout and stderr."""
        if self.forkserver is not None and cwd.is_dir():
            fds = [self.devnull if s == subprocess.DEVNULL else s for s in streams]
            fds = [fds[1] if s == subprocess.STDOUT else s for s in fds]
            fds = [f if isinstance(f, int) else f.fileno() for f in fds]
            forked = self.forkserver.start(
                argv[0],
                argv[1:],
                cwd=cwd,
                env=os.environ if env is None else env,
                fds=(fds[0], fds[1], fds[2]),
                new_session=new_session,
            )
            if forked is not None:
                return forked
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=streams[0],
            stdout=streams[1],
            stderr=streams[2],
            start_new_session=new_session,
        )

    def _job_env(self, spec: JobSpec, cwd: Path, slots: int) -> dict[str, str]:
        if spec.getenv:
            env = dict(os.environ)
        else:
            # HTCondor passes no submitter environment unless getenv; a PATH is kept so
            # that '#!/usr/bin/env python3' scripts work on this machine.
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        env.update(spec.environment)
        env["_CONDOR_SCRATCH_DIR"] = str(cwd)
        env["_CONDOR_JOB_IWD"] = str(spec.initialdir)
        env.setdefault("OMP_NUM_THREADS", str(slots))
        return env

    def _start_job(self, name: str, spec: JobSpec, slots: int) -> None:
        run = self.runs[name]
        self._claim_start(name, slots)
        scratch: Path | None = None
        snapshot: dict[str, int] = {}
        handles: list[IO[bytes]] = []
        self._event(name, "job_start", attempt=run.attempt, command=spec.command_line)
        try:
            if not spec.initialdir.is_dir():
                raise EngineError(f"initialdir {spec.initialdir} does not exist")
            cwd = spec.initialdir
            executable = spec.executable
            if spec.transfer:
                scratch = Path(tempfile.mkdtemp(prefix=f"wfplan-{name}-"))
                try:
                    snapshot = copy_in(spec, scratch)
                except TransferHold as hold:
                    self._release_start(name, spec, slots, scratch)
                    run.message = _held(spec, hold, None)
                    self._job_finished(name, TRANSFER_FAILED, 0.0)
                    return
                cwd = scratch
                if spec.transfer_executable:
                    executable = str(sandbox_executable(spec, scratch))
            popen = self._spawn(
                [executable, *spec.arguments],
                cwd,
                self._job_env(spec, cwd, slots),
                _open_streams(spec, handles),
                new_session=True,  # its own process group: stopping it stops its children
            )
        except (OSError, EngineError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            run.message = f"job could not start: {reason} ({spec.executable})"
            self._release_start(name, spec, slots, scratch)
            self._job_finished(name, NEVER_RAN, 0.0)
            return
        finally:
            for h in handles:
                h.close()
        self.nodes_run += 1
        for log in (self.nodes_log, spec.log):
            if log is not None:
                self.userlogs.started(log, popen.pid, name)
        self._register(
            _Proc(name, "job", popen, time.monotonic(), slots, scratch, snapshot=snapshot)
        )

    def _claim_start(self, name: str, slots: int) -> None:
        """Take the slots and the category place a starting job holds (see _release_start)."""
        run = self.runs[name]
        run.state = "job"
        cat = run.node.category
        if cat is not None:
            self.cat_running[cat] = self.cat_running.get(cat, 0) + 1
        self.free -= slots

    def _release_start(self, name: str, spec: JobSpec, slots: int, scratch: Path | None) -> None:
        """Give back what _start_job took for a job that did not start."""
        self.free += slots
        cat = self.runs[name].node.category
        if cat is not None:
            self._category_freed(cat)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)

    def _dag_status(self) -> int:
        if self.aborted:
            return 3 if self.abort_code is None else 4
        return 1 if self.failed_count else 0

    # ---- completions --------------------------------------------------------------

    def _reap(self, proc: _Proc, status: int, usage: Any) -> None:
        proc.popen.returncode = rc = os.waitstatus_to_exitcode(status)
        if proc.pidfd >= 0:
            self.selector.unregister(proc.pidfd)
            os.close(proc.pidfd)
        del self.procs[proc.popen.pid]
        elapsed = time.monotonic() - proc.started
        cpu = usage.ru_utime + usage.ru_stime
        if proc.phase == "job":
            self.free += proc.slots
            cat = self.runs[proc.node].node.category
            if cat is not None:
                self._category_freed(cat)
            spec = self.specs[proc.node]
            for log in (self.nodes_log, spec.log):
                if log is not None:
                    self.userlogs.terminated(
                        log, proc.popen.pid, rc, usage.ru_utime, usage.ru_stime
                    )
            if proc.scratch is not None:
                try:
                    copy_out(spec, proc.scratch, proc.snapshot)
                except TransferHold as hold:
                    self.runs[proc.node].message = _held(spec, hold, rc)
                    rc = TRANSFER_FAILED
                finally:
                    shutil.rmtree(proc.scratch, ignore_errors=True)
            self._job_finished(proc.node, rc, elapsed, cpu)
        else:
            self.scripts_running -= 1
            self._script_finished(proc.node, proc.phase, rc, elapsed, cpu)

    def _job_finished(self, name: str, rc: int, elapsed: float, cpu: float | None = None) -> None:
        run = self.runs[name]
        run.job_rc = rc
        if not run.node.noop:
            self._event(name, "job_end", attempt=run.attempt, rc=rc, runtime=round(elapsed, 6),
                        **_cpu(cpu))  # fmt: skip
            tx = self._tx(name)
            tx.runs += 1
            tx.runtime += elapsed
        if rc != 0 and not run.message:
            spec = self.specs.get(name)
            where = f"; stderr in {spec.stderr}" if spec and spec.stderr else ""
            run.message = f"job exited with {rc}{where}"
        if run.node.post is not None and not self.stop_launch:
            run.state = "post"
            self.posts_due.append(name)
        else:
            self._node_finished(name, rc, "job")

    def _start_posts(self) -> None:
        while self.posts_due:
            name = self.posts_due.popleft()
            run = self.runs[name]
            if run.node.post is None or self.stop_launch:
                self._node_finished(name, run.job_rc or 0, "job")
            else:
                self._start_script(name, "post", run.node.post)

    def _script_finished(
        self, name: str, phase: str, rc: int, elapsed: float, cpu: float | None = None
    ) -> None:
        run = self.runs[name]
        script = run.node.pre if phase == "pre" else run.node.post
        self._event(name, f"{phase}_end", attempt=run.attempt, rc=rc, runtime=round(elapsed, 6),
                    **_cpu(cpu))  # fmt: skip
        if script is not None and script.defer_status is not None and rc == script.defer_status:
            self._tick += 1
            when = time.monotonic() + script.defer_time
            heapq.heappush(self.timers, (when, self._tick, name, phase))
            return
        if phase == "pre":
            if run.node.pre_skip is not None and rc == run.node.pre_skip:
                self._node_finished(name, 0, "pre")
            elif rc != 0:
                run.message = run.message or f"PRE script exited with {rc}"
                self._node_finished(name, rc, "pre")
            else:
                run.state = "queued"
                heapq.heappush(self.ready_job, self._key(name))
        else:
            if rc != 0 and run.job_rc == 0:
                run.message = f"POST script exited with {rc}"
            elif rc == 0:
                run.message = ""
            self._node_finished(name, rc, "post")

    def _node_finished(self, name: str, rc: int, phase: str) -> None:
        run = self.runs[name]
        run.last_rc, run.last_phase = rc, phase
        if rc == 0:
            run.state = "done"
            self.done_count += 1
            self.journal.write(json.dumps({"done": name}) + "\n")
            self.journal.flush()  # in the kernel now: a kill -9 of the engine loses nothing
            self.syncer.dirty = True
            self._event(name, "node_success", attempt=run.attempt)
            if run.node.final:
                return
            self._tx(name).count += 1
            for c in run.node.children:
                child = self.runs[c]
                child.pending -= 1
                if child.pending == 0 and child.state == "waiting":
                    self._make_ready(c)
            return
        abort = run.node.abort_on
        if abort is not None and rc == abort[0]:
            self._event(name, "node_failure", attempt=run.attempt, rc=rc, abort=True)
            self._fail(name)
            self._abort(name, rc, abort[1])
            return
        if run.attempt < run.node.retry and rc != run.node.unless_exit and not self.aborted:
            run.attempt += 1
            run.job_rc = None
            run.message = ""
            self._tx(name).retries += 1
            self._event(name, "node_retry", attempt=run.attempt, rc=rc)
            if name in self.specs:
                self.specs[name] = self._spec(name, run.attempt)
            self._make_ready(name)
            return
        self._event(name, "node_failure", attempt=run.attempt, rc=rc)
        self._fail(name)

    def _fail(self, name: str) -> None:
        run = self.runs[name]
        run.state = "failed"
        self.failed_count += 1
        if run.node.final:
            return
        tx = self._tx(name)
        tx.count += 1
        tx.failures += 1
        queue = deque(run.node.children)
        while queue:
            c = queue.popleft()
            child = self.runs[c]
            if child.state == "waiting":
                child.state = "unrunnable"
                self._event(c, "node_unrunnable", because=name)
                queue.extend(child.node.children)

    def _abort(self, name: str, rc: int, code: int | None) -> None:
        self.aborted = True
        self.stop_launch = True
        self.abort_code = code
        self.out.write(f"wfplan run: node {name} exited with {rc}: ABORT-DAG-ON stops the DAG\n")
        for proc in list(self.procs.values()):
            _signal_group(proc.popen.pid, signal.SIGKILL)
        self.ready_pre.clear()
        self.ready_job.clear()
        self.parked.clear()

    # ---- the loop -----------------------------------------------------------------

    def _wait(self, timeout: float | None) -> None:
        if not hasattr(os, "pidfd_open"):
            deadline = time.monotonic() + (timeout if timeout is not None else 3600.0)
            while True:
                for pid, proc in list(self.procs.items()):
                    got, status, usage = os.wait4(pid, os.WNOHANG)
                    if got:
                        self._reap(proc, status, usage)
                        return
                if time.monotonic() >= deadline:
                    return
                time.sleep(0.002)
        for key, _ in self.selector.select(timeout):
            if key.data == _WAKE:
                with contextlib.suppress(BlockingIOError):
                    os.read(key.fd, 512)
                continue
            found = self.procs.get(key.data)
            if found is not None:
                _, status, usage = os.wait4(found.popen.pid, 0)
                self._reap(found, status, usage)
        for pid, proc in list(self.procs.items()):
            if proc.pidfd < 0:
                got, status, usage = os.wait4(pid, os.WNOHANG)
                if got:
                    self._reap(proc, status, usage)
        if self.forkserver is not None:
            reap_strays(self._own_child)

    def _own_child(self, pid: int) -> bool:
        return pid in self.procs or (self.forkserver is not None and pid in self.forkserver.pids())

    def _sync_journal(self, force: bool = False) -> None:
        if force:
            self.syncer.sync()

    def _fire_timers(self) -> None:
        now = time.monotonic()
        while self.timers and self.timers[0][0] <= now:
            _, _, name, phase = heapq.heappop(self.timers)
            run = self.runs[name]
            script = run.node.pre if phase == "pre" else run.node.post
            if script is not None and not self.stop_launch:
                self._start_script(name, phase, script)

    def _loop(self) -> None:
        while True:
            self._fire_timers()
            self._launch()
            while self.posts_due:
                # After the launch: the slots jobs freed take their next jobs first. A
                # POST that cannot start finishes its node, whose children launch now.
                self._start_posts()
                self._launch()
            idle = not self.procs and not self.ready_job and not self.ready_pre
            if idle and not self.timers:
                if self._start_final():
                    continue
                return
            timeout: float | None = None
            if self.timers:
                timeout = max(0.0, self.timers[0][0] - time.monotonic())
            if self.progress:
                timeout = 0.2 if timeout is None else min(timeout, 0.2)
            if time.monotonic() - self.last_status > STATUS_INTERVAL:
                self._write_status("running")
            self._wait(min(timeout, STATUS_INTERVAL) if timeout is not None else STATUS_INTERVAL)
            if self.stop_signal:
                raise KeyboardInterrupt
            self._show_progress()

    def _start_final(self) -> bool:
        final = self.dag.final
        if final is None or self.final_started:
            return False
        self.final_started = True
        if self.failed_count or self.aborted or self._unfinished():
            self.rescue = self._write_rescue()
        self.stop_launch = False  # FINAL runs even after ABORT-DAG-ON
        self._make_ready(final)
        return True

    def _unfinished(self) -> bool:
        return any(r.state != "done" for r in self.runs.values() if not r.node.final)

    def _write_rescue(self) -> Path:
        return self._write_rescue_of({n for n, r in self.runs.items() if r.state == "done"})

    def _write_rescue_of(self, finished: set[str]) -> Path:
        failed = {n for n, r in self.runs.items() if r.state == "failed"}
        return write_rescue(self.dag, finished, failed)

    def run(self) -> RunResult:
        """Run the DAG to the end; Ctrl-C stops the jobs and leaves a resumable state."""
        lock = _take_engine_lock(self.dag_path)
        try:
            _refuse_live_dagman(self.dag_path)
            with self._signals_as_stop(), child_subreaper() as adopting:
                # Jobs the fork server forks are handed to this process only while it
                # adopts orphans; without that, every job starts as a new process.
                self.forkserver = ForkServers() if adopting else None
                try:
                    return self._run_locked()
                finally:
                    if self.forkserver is not None:
                        self.forkserver.close()
                    self.forkserver = None
        finally:
            # Removed before it is released: a waiting engine then finds the path gone
            # (or a new file) and retries, so two engines never hold two different files.
            with contextlib.suppress(OSError):
                engine_lock(self.dag_path).unlink()
            lock.close()

    @contextlib.contextmanager
    def _signals_as_stop(self) -> Iterator[None]:
        """Ctrl-C and SIGTERM only set a flag (and wake the loop through a pipe), so a
        job is never half-registered; the loop then stops the jobs and keeps the state."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        rfd, wfd = os.pipe()
        os.set_blocking(rfd, False)
        os.set_blocking(wfd, False)
        self.selector.register(rfd, selectors.EVENT_READ, _WAKE)

        def handler(signum: int, frame: FrameType | None) -> None:
            self.stop_signal = signum

        old_fd = signal.set_wakeup_fd(wfd, warn_on_full_buffer=False)
        old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, previous in old.items():
                signal.signal(sig, previous)
            signal.set_wakeup_fd(old_fd)
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(rfd)
            os.close(rfd)
            os.close(wfd)

    def _run_locked(self) -> RunResult:
        notes = self._restore()
        self._load_specs()
        self.initial_done = self.done_count
        for note in notes:
            self.out.write(f"wfplan run: {note}\n")
        self.events = open(self._path(".events"), "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        self.journal = open(self._path(".journal"), "a", encoding="utf-8")  # noqa: SIM115
        self.userlogs = UserLogs()
        # Not DAGMan's <dag>.nodes.log: its cluster ids are pids, which a DAGMan in
        # recovery mode would take for its own jobs and abort on.
        self.nodes_log = engine_nodes_log(self.dag_path)
        self.syncer = _Syncer(self.journal.fileno())
        self.syncer.start()
        self.scripts_out = open(self._path(".scripts.out"), "ab")  # noqa: SIM115
        self.devnull = os.open(os.devnull, os.O_RDWR)
        if self.forkserver is not None:
            self.forkserver.stderr = self.scripts_out  # where its own troubles are told
            self.forkserver.prepare(self._commands())
        self._event("", "dag_start", pid=os.getpid(), slots=self.slots)
        try:
            for run in self.runs.values():
                if run.state == "done" or run.node.final:
                    continue
                run.pending = sum(1 for p in run.node.parents if self.runs[p].state != "done")
            for name, run in self.runs.items():
                if run.state == "waiting" and run.pending == 0 and not run.node.final:
                    self._make_ready(name)
            try:
                self._loop()
            except KeyboardInterrupt:
                self._interrupt()
                raise
            return self._finish()
        finally:
            self.events.close()
            self.syncer.stop()
            self.userlogs.close()
            self.journal.close()
            self.scripts_out.close()
            os.close(self.devnull)
            self.selector.close()

    def _interrupt(self) -> None:
        self._sync_journal(force=True)
        for proc in list(self.procs.values()):
            _signal_group(proc.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5.0
        for proc in list(self.procs.values()):
            try:
                proc.popen.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait()
            if proc.scratch is not None:
                shutil.rmtree(proc.scratch, ignore_errors=True)
        self._event("", "dag_interrupted")
        self._write_status("interrupted")
        if self.progress:
            self.out.write("\n")
        self.out.write("wfplan run: interrupted; run again to resume\n")

    def _finish(self) -> RunResult:
        self._sync_journal(force=True)
        final = self.dag.final
        failed = [n for n, r in self.runs.items() if r.state == "failed" and not r.node.final]
        unrunnable = [n for n, r in self.runs.items() if r.state == "unrunnable"]
        others_ok = not failed and not unrunnable and not self.aborted and not self._unfinished()
        if final is not None and self.runs[final].state in ("done", "failed"):
            succeeded = self.runs[final].state == "done"
        else:
            succeeded = others_ok
        if not others_ok and self.rescue is None:
            self.rescue = self._write_rescue()
        state = "succeeded" if succeeded else ("aborted" if self.aborted else "failed")
        self._write_status(state)
        self._event("", "dag_end", state=state)
        self._show_progress(force=True)
        if self.progress:
            self.out.write("\n")
        return RunResult(
            succeeded=succeeded,
            done=self.done_count,
            failed=failed + ([final] if final and self.runs[final].state == "failed" else []),
            unrunnable=unrunnable,
            rescue=self.rescue,
            aborted=self.aborted,
            elapsed=time.monotonic() - self.started,
            nodes_run=self.nodes_run,
            summary=dict(sorted(self.summary.items())),
        )
