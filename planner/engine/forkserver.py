"""The embedded engine's fork server: one preloaded Python that starts the Python-tool jobs.

Every node of a planned workflow has a POST script (``wfplan-exitcode``) and most jobs are
this package's console scripts (``wfplan-transfer``, ``wfplan-cluster``, the Montage
wrappers). Starting each as a new interpreter costs more than the work of most of them.
The engine instead starts, once per run, a server process that imports every console
script's module (and what they import lazily), and asks it for each such command; the
server forks a child that sets up its working directory, environment, session and
standard streams as subprocess would and runs the entry point (planner/tools/entrypoints.py).

The child must still be the engine's own child, so that the engine waits for it, reads its
exit status and CPU usage, and signals it exactly like a job it started itself. The engine
becomes a child subreaper (Linux ``PR_SET_CHILD_SUBREAPER``) for the run, and the server
forks twice: the intermediate process exits at once, and the kernel hands its child, the
job, to the engine. The server answers only after the intermediate has been reaped, so
the pid it returns is already the engine's child.

Whatever is not one of this environment's console scripts, or needs an interpreter that
starts differently (other ``PYTHON*`` variables), is started with subprocess as before; so
is everything when the server cannot start or has died.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import json
import os
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, Any

from planner.tools.entrypoints import (
    JobProcess,
    entry_point,
    heavy,
    preload_all,
    same_interpreter,
    spawn,
)

__all__ = ["ForkServers", "Forked", "child_subreaper", "reap_strays"]

_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37
_MAX_MESSAGE = 1 << 20
READY_TIMEOUT = 60.0  # importing numpy and astropy on a loaded machine


@contextlib.contextmanager
def child_subreaper() -> Iterator[bool]:
    """Make this process adopt its orphaned descendants for the duration; yields whether
    that worked (Linux only). The previous setting comes back afterwards."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        old = ctypes.c_int(0)
        if libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(old), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl")
        if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl")
    except (OSError, AttributeError):
        yield False
        return
    try:
        yield True
    finally:
        libc.prctl(_PR_SET_CHILD_SUBREAPER, old.value, 0, 0, 0)


def reap_strays(known: Callable[[int], bool]) -> None:
    """Reap exited children this process does not know (descendants of jobs that a
    subreaper adopted when their parent ended), so they do not pile up as zombies."""
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None or known(info.si_pid):
            return  # a job of ours: its own wait collects it
        with contextlib.suppress(ChildProcessError):
            os.waitpid(info.si_pid, 0)


class Forked:
    """A job or script the fork server started, seen as the engine sees a Popen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child to end (it is this process's child); its exit code."""
        if self.returncode is not None:
            return self.returncode
        if timeout is None:
            _, status = os.waitpid(self.pid, 0)
        else:
            status = self._poll_until(timeout)
        self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def _poll_until(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return status
            if time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired([str(self.pid)], timeout)
            time.sleep(0.01)


class ForkServers:
    """The engine's handle on its two fork servers, each launched when a run needs it: one
    with every tool imported, for those that preload modules (the Montage wrappers load
    MontagePy) or run other tools (``wfplan-cluster``), and one with only the others
    (transfers, POST scripts), whose smaller memory makes each fork cheaper.

    :meth:`start` returns the job it started, or None when the command is not for a
    server or its server is unusable (the caller then uses subprocess).
    """

    def __init__(self, stderr: IO[bytes] | None = None) -> None:
        self.env = dict(os.environ)  # what the servers' interpreters start with
        self.servers = {kind: _Server(kind, self.env) for kind in (False, True)}
        self.stderr = stderr

    @property
    def stderr(self) -> IO[bytes] | None:
        return self.servers[False].stderr

    @stderr.setter
    def stderr(self, value: IO[bytes] | None) -> None:
        for server in self.servers.values():
            server.stderr = value

    @property
    def started(self) -> int:
        return sum(s.started for s in self.servers.values())

    def start(
        self,
        executable: str,
        argv: Sequence[str],
        *,
        cwd: str | os.PathLike[str],
        env: Mapping[str, str],
        fds: tuple[int, int, int],
        new_session: bool,
    ) -> Forked | None:
        if not same_interpreter(env, self.env):
            return None
        target = entry_point(executable, cwd, env.get("PATH", os.defpath))
        if target is None:
            return None
        request = {
            "target": target,
            "argv": [executable, *argv],
            "cwd": os.fspath(cwd),
            "env": dict(env),
            "session": new_session,
        }
        return self.servers[_heavy(target)].start(request, fds)

    def prepare(self, commands: Iterable[tuple[str, str | os.PathLike[str], str | None]]) -> None:
        """Launch, without waiting, the servers that these commands (executable, working
        directory, PATH) will use, so that their imports overlap the first jobs."""
        wanted: set[bool] = set()
        for executable, cwd, path in commands:
            target = entry_point(executable, cwd, path)
            if target is not None:
                wanted.add(_heavy(target))
                if len(wanted) == 2:
                    break
        for kind in sorted(wanted):
            self.servers[kind].launch()

    def pids(self) -> set[int]:
        return {s.proc.pid for s in self.servers.values() if s.proc is not None}

    def close(self) -> None:
        """Stop the servers (jobs they started are the engine's and are not touched)."""
        for server in self.servers.values():
            server.close()


@functools.cache
def _heavy(target: str) -> bool:
    return heavy(target)


class _Server:
    def __init__(self, heavy_ones: bool, env: dict[str, str]) -> None:
        self.heavy = heavy_ones
        self.env = env
        self.stderr: IO[bytes] | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.pending: socket.socket | None = None  # launched, not known to be ready yet
        self.broken = False
        self.started = 0

    def start(self, request: dict[str, Any], fds: tuple[int, int, int]) -> Forked | None:
        sock = self._connected()
        if sock is None:
            return None
        try:
            socket.send_fds(sock, [json.dumps(request).encode()], list(fds))
            reply = json.loads(sock.recv(_MAX_MESSAGE) or b"null")
        except (OSError, ValueError):
            reply = None
        if isinstance(reply, dict) and "error" in reply:
            return None  # this one command (say, a tool that does not import) starts itself
        if not isinstance(reply, dict) or not isinstance(reply.get("pid"), int):
            self._give_up()
            return None
        self.started += 1
        return Forked(reply["pid"])

    def launch(self) -> None:
        """Start the server process without waiting for it to be ready."""
        if self.proc is not None or self.broken:
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from planner.engine.forkserver import main; main()",
                 str(theirs.fileno()), "heavy" if self.heavy else "light"],
                pass_fds=(theirs.fileno(),),
                cwd="/",  # nothing in the engine's directory shadows a module
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self.stderr,
                start_new_session=True,  # Ctrl-C reaches the engine, which stops the jobs
                env=self.env,
            )  # fmt: skip
        except OSError:
            ours.close()
            self.broken = True
            return
        finally:
            theirs.close()
        self.pending = ours

    def _connected(self) -> socket.socket | None:
        if self.sock is not None:
            return self.sock
        self.launch()
        ours, self.pending = self.pending, None
        if ours is None:
            return None
        try:
            ours.settimeout(READY_TIMEOUT)
            ready = ours.recv(_MAX_MESSAGE)
            ours.settimeout(None)
        except OSError:
            ready = b""
        if ready != b"ready":
            ours.close()
            self._give_up()
            return None
        self.sock = ours
        return ours

    def _give_up(self) -> None:
        """The server died or misbehaved: its commands start with subprocess from now on."""
        self.broken = True
        self.close()

    def close(self) -> None:
        if self.pending is not None:
            self.pending.close()
            self.pending = None
        if self.sock is not None:
            self.sock.close()  # the server ends when it reads the end of its socket
            self.sock = None
        if self.proc is not None:
            try:
                self.proc.wait(5.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


# ---- the server process -----------------------------------------------------------------


def main() -> None:
    """The server: preload, say ready, then fork one job per request until the engine
    closes the socket."""
    sock = socket.socket(fileno=int(sys.argv[1]))
    heavy_ones = sys.argv[2:] == ["heavy"]
    sys.argv = sys.argv[:1]
    sys.path[0] = sysconfig.get_path("scripts")  # where a console script's Python looks first
    functions = preload_all(heavy_ones)
    # Out of the collector's sight from now on: a collection in a child would touch every
    # object and so copy every page the child shares with this process.
    gc.freeze()
    sock.send(b"ready")
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, _MAX_MESSAGE, 3)
        except OSError:
            return
        if not data:
            return
        try:
            reply: dict[str, Any] = {"pid": _serve(functions, json.loads(data), fds)}
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            for fd in fds:
                os.close(fd)
        try:
            sock.send(json.dumps(reply).encode())
        except OSError:
            return


def _serve(
    functions: Mapping[str, Callable[[], object]], req: Mapping[str, Any], fds: list[int]
) -> int:
    func = functions[req["target"]]
    if len(fds) != 3:
        raise ValueError(f"expected 3 descriptors, got {len(fds)}")
    rd, wr = os.pipe()
    middle = os.fork()
    if middle == 0:  # exits at once so that the kernel gives the job to the engine
        code = 1
        try:
            os.close(rd)
            job = JobProcess(
                req["argv"], req["cwd"], req["env"], (fds[0], fds[1], fds[2]), bool(req["session"])
            )
            pid = spawn(func, job)
            os.write(wr, str(pid).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(wr)
    try:
        text = os.read(rd, 64)  # written in one piece before the intermediate exits
    finally:
        os.close(rd)
        os.waitpid(middle, 0)
    return int(text)
