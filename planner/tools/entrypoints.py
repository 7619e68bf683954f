"""Run this package's console scripts in a forked child of an already started Python.

Every job-side tool (``wfplan-cluster``, ``wfplan-exitcode``, the Montage wrappers, ...)
is a console script of the ``wfplan`` distribution: a tiny file that starts Python, imports
one module and calls one function. Starting that Python and importing numpy and astropy
costs more than most Montage jobs compute. A process that has imported the tool modules
once can instead fork a child per job: the child gets its own pid, working directory,
environment and standard streams, calls the entry point with ``sys.argv`` set, and exits
with the code the console script would have exited with. Nothing a job does reaches the
parent or the next job, since each one starts from the parent's state after its imports.

A command is run this way only when its executable is the console script this very
environment installed (same resolved path, same ``from MODULE import FUNC`` line) and its
environment asks nothing of the interpreter that a forked child cannot honour
(:func:`same_interpreter`); anything else starts as a normal process.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib
import io
import os
import shutil
import signal
import sys
import sysconfig
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

__all__ = [
    "PRELOAD_ATTRIBUTE",
    "RUNS_TOOLS_ATTRIBUTE",
    "JobProcess",
    "entry_point",
    "heavy",
    "load",
    "preload_all",
    "run_here",
    "same_interpreter",
    "spawn",
]

DISTRIBUTION = "wfplan"
# A tool module may name the heavy modules its function imports lazily (to keep --help
# fast); a process that forks many jobs imports them once beforehand.
PRELOAD_ATTRIBUTE = "FORK_PRELOAD"
# A tool that runs other tools sets this true: it forks from the process with all of them.
RUNS_TOOLS_ATTRIBUTE = "FORK_RUNS_TOOLS"
# PYTHON* variables a forked child applies itself; any other one that differs from the
# forking process's environment changes how an interpreter starts, so the job needs one.
_APPLIED = frozenset({"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"})


@cache
def _scripts() -> dict[str, str]:
    """{resolved path of an installed console script: "module:function"}."""
    try:
        eps = metadata.distribution(DISTRIBUTION).entry_points
    except metadata.PackageNotFoundError:
        return {}
    where = Path(sysconfig.get_path("scripts"))
    found: dict[str, str] = {}
    for ep in eps:
        if ep.group != "console_scripts":
            continue
        path = where / ep.name
        module, _, func = ep.value.partition(":")
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        # the file at that path is the generated script, not something put in its place
        if f"from {module.strip()} import {func.strip()}" in text:
            found[os.path.realpath(path)] = ep.value
    return found


def entry_point(executable: str, cwd: str | os.PathLike[str], path: str | None) -> str | None:
    """The ``module:function`` behind ``executable`` when it is one of this environment's
    console scripts, else None. A bare name is looked up on ``path`` (the PATH the process
    would get), a relative path against ``cwd``, as exec would."""
    if "/" not in executable:
        found = shutil.which(executable, path=path)
        if found is None:
            return None
        executable = found
    elif not os.path.isabs(executable):
        executable = os.path.join(os.fspath(cwd), executable)
    return _scripts().get(os.path.realpath(executable))


def same_interpreter(env: Mapping[str, str], base: Mapping[str, str] | None = None) -> bool:
    """Whether a fresh interpreter started with ``env`` would start like this process
    (started with ``base``, default its own environment): same PYTHON* variables."""
    mine = os.environ if base is None else base
    keys = {k for k in (*env, *mine) if k.startswith("PYTHON") and k not in _APPLIED}
    return all(env.get(k) == mine.get(k) for k in keys)


def load(target: str) -> Callable[[], object]:
    """Import ``module:function`` (and the modules it asks to preload) and return it."""
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name.strip())
    for name in getattr(module, PRELOAD_ATTRIBUTE, ()):
        with contextlib.suppress(ImportError):  # the job itself then says what is missing
            importlib.import_module(name)
    func: Callable[[], object] = getattr(module, attr.strip())
    return func


def heavy(target: str) -> bool:
    """Whether the console script's module names heavy modules to preload, or runs other
    tools (wfplan-cluster). Those fork from a process that has preloaded every tool; the
    others from a small one, whose forks cost less."""
    try:
        module = importlib.import_module(target.partition(":")[0].strip())
    except Exception:
        return False
    return bool(getattr(module, PRELOAD_ATTRIBUTE, ())) or bool(
        getattr(module, RUNS_TOOLS_ATTRIBUTE, False)
    )


def preload_all(heavy_ones: bool) -> dict[str, Callable[[], object]]:
    """Load the console scripts' functions, all of them or only the light ones:
    {"module:function": function}."""
    loaded: dict[str, Callable[[], object]] = {}
    for target in sorted(set(_scripts().values())):
        if not heavy_ones and heavy(target):
            continue
        try:
            loaded[target] = load(target)
        except Exception:  # a broken tool fails when run, in its own process
            continue
    return loaded


@dataclass(frozen=True, slots=True)
class JobProcess:
    """What a forked child becomes before it runs its job: the console script's ``argv``,
    its working directory and whole environment, the descriptors that become its stdin,
    stdout and stderr, and whether it leads a session of its own (as a job DAGMan's
    schedd starts does)."""

    argv: Sequence[str]
    cwd: str | os.PathLike[str]
    env: Mapping[str, str]
    fds: tuple[int, int, int]
    new_session: bool = False


def spawn(func: Callable[[], object], job: JobProcess) -> int:
    """Fork a child that runs ``func`` as the console script ``job.argv[0]`` would; its pid.

    ``job.fds`` become the child's stdin, stdout and stderr; every other descriptor is
    closed in the child, as subprocess does. The parent reaps the child like any other.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 127  # as a shell says of a command that could not be started
    try:
        _become_job(job)
        code = _run(func)
    except BaseException:  # nothing may return into the parent's code
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            # a full disk or a closed pipe: the exit code still counts
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _become_job(job: JobProcess) -> None:
    if job.new_session:
        os.setsid()
    # moved out of the way first: a descriptor given for stdout may be 0 itself
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 3) for fd in job.fds]
    for target, fd in enumerate(high):
        os.dup2(fd, target)
    _close_others()
    # what Python sets up at start-up, whatever the forking process changed
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_DFL)
    atexit._clear()
    os.environ.clear()
    os.environ.update(job.env)
    sys.dont_write_bytecode = bool(job.env.get("PYTHONDONTWRITEBYTECODE"))
    _new_streams(unbuffered=bool(job.env.get("PYTHONUNBUFFERED")))
    os.chdir(job.cwd)
    sys.argv = list(job.argv)
    if "numpy" in sys.modules:  # a fresh process would not share its parent's seed
        sys.modules["numpy"].random.seed()


def _close_others() -> None:
    """Close every descriptor above 2, as subprocess does: only the open ones, since
    walking up to the limit (often 10^4..10^6) costs more than the job itself."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        return
    for fd in fds:
        if fd > 2:
            with contextlib.suppress(OSError):  # the listing's own descriptor is gone
                os.close(fd)


def _new_streams(unbuffered: bool) -> None:
    """sys.stdin/stdout/stderr over the new descriptors 0, 1, 2, buffered as at start-up."""
    old = (sys.stdin, sys.stdout, sys.stderr)
    made = []
    for fd, stream in enumerate(old):
        encoding = getattr(stream, "encoding", None) or "utf-8"
        errors = getattr(stream, "errors", None) or "strict"
        raw = io.FileIO(fd, "rb" if fd == 0 else "wb", closefd=False)
        buffered: io.BufferedReader | io.BufferedWriter = (
            io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw)
        )
        tty = os.isatty(fd)
        made.append(
            io.TextIOWrapper(
                buffered,
                encoding=encoding,
                errors=errors,
                line_buffering=fd != 0 and (tty or fd == 2),
                write_through=fd != 0 and unbuffered,
            )
        )
    sys.stdin, sys.stdout, sys.stderr = made
    for name, stream in zip(("__stdin__", "__stdout__", "__stderr__"), made, strict=True):
        setattr(sys, name, stream)  # what the interpreter's own start-up objects would be


def run_here(func: Callable[[], object], argv: Sequence[str]) -> int:
    """Call a console script's function in this very process as the script ``argv[0]``
    would run: ``sys.argv`` set, the exit status its ``sys.exit(main())`` would give, its
    exit handlers run when it returns (and forgotten: a process ends once), its streams
    flushed; an uncaught KeyboardInterrupt ends the process by SIGINT, as it would end
    the script."""
    saved = sys.argv
    sys.argv = list(argv)
    try:
        return _run(func)
    finally:
        sys.argv = saved
        atexit._clear()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()


def _run(func: Callable[[], object]) -> int:
    """Call a console script's function and return the exit status the script's
    ``sys.exit(main())`` would give; an uncaught KeyboardInterrupt ends by SIGINT."""
    try:
        try:
            result = func()
        finally:
            atexit._run_exitfuncs()
    except SystemExit as exc:
        return _status(exc.code)
    except KeyboardInterrupt:
        traceback.print_exc()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        return 130
    except BaseException:
        traceback.print_exc()
        return 1
    return _status(result)


def _status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1
