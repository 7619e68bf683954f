"""Interpret HTCondor submit descriptions (semantics.md §4) for local execution.

Macros ``$(x)`` expand (with the node's VARS, ``$(DOLLAR)``, ``$ENV(X)`` and
``$(x:default)``), keys are case-insensitive, and ``arguments``/``environment`` follow
condor_submit's two syntaxes::

    >>> parse_arguments('"1 \\'two words\\' \\'it\\'\\'s\\'"')
    ['1', 'two words', "it's"]
    >>> parse_arguments("a b")
    ['a', 'b']
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from planner.engine.textlines import logical_lines
from planner.errors import EngineError, UnsupportedFeature

__all__ = [
    "JobSpec",
    "parse_arguments",
    "parse_environment",
    "parse_v2_raw",
    "quote_arguments",
    "read_submit",
    "read_submit_file",
    "read_submit_text",
]


@dataclass(frozen=True)
class JobSpec:
    """What one node job needs to run here: resolved paths and parsed values."""

    submit_file: Path
    universe: str
    executable: str
    arguments: tuple[str, ...]
    environment: dict[str, str]
    getenv: bool
    initialdir: Path
    stdin: Path | None
    stdout: Path | None
    stderr: Path | None
    log: Path | None
    request_cpus: int
    transfer: bool
    transfer_inputs: tuple[str, ...]
    transfer_outputs: tuple[str, ...] | None
    output_remaps: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    # with file transfer, HTCondor copies the executable into the sandbox and runs the
    # copy unless transfer_executable is false
    transfer_executable: bool = False
    periodic_remove: str | None = None  # the job's PeriodicRemove expression, if any

    @property
    def command_line(self) -> str:
        """The command as one readable line (for analyze and the event log)."""
        return shlex.join([self.executable, *self.arguments])


class _ArgError(ValueError):
    pass


def parse_v2_raw(text: str) -> list[str]:
    """Split condor's V2 raw form: whitespace separates, ``'...'`` groups, ``''`` is ``'``."""
    args: list[str] = []
    buf: list[str] = []
    have = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "'":
            have = True
            i += 1
            while True:
                if i >= n:
                    raise _ArgError("unbalanced single quote")
                if text[i] == "'":
                    if i + 1 < n and text[i + 1] == "'":
                        buf.append("'")
                        i += 2
                        continue
                    i += 1
                    break
                buf.append(text[i])
                i += 1
        elif ch.isspace():
            if have:
                args.append("".join(buf))
                buf, have = [], False
            i += 1
        else:
            buf.append(ch)
            have = True
            i += 1
    if have:
        args.append("".join(buf))
    return args


def _v2_unquote(value: str) -> str:
    inner = value[1:-1]
    if re.search(r'(?<!")"(?!")', inner.replace('""', "")):
        raise _ArgError('a lone double quote inside the quoted value (write "" for ")')
    return inner.replace('""', '"')


def parse_arguments(value: str) -> list[str]:
    """``arguments`` in either syntax: new (whole value in double quotes) or old."""
    value = value.strip()
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        return parse_v2_raw(_v2_unquote(value))
    if '"' in value.replace('\\"', ""):
        raise _ArgError('old-syntax arguments need \\" for a double quote')
    return [a.replace('\\"', '"') for a in value.split()]


def quote_arguments(args: list[str]) -> str:
    """The new-syntax text that :func:`parse_arguments` turns back into ``args``."""
    parts = []
    for a in args:
        a = a.replace('"', '""')
        if a == "" or any(c.isspace() or c == "'" for c in a):
            a = "'" + a.replace("'", "''") + "'"
        parts.append(a)
    return '"' + " ".join(parts) + '"'


def parse_environment(value: str) -> dict[str, str]:
    """``environment`` in either syntax: ``"A=1 B='x y'"`` or ``A=1;B=2``."""
    value = value.strip()
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        items = parse_v2_raw(_v2_unquote(value))
    else:
        items = [i for i in value.split(";") if i.strip()]
    env: dict[str, str] = {}
    for item in items:
        key, sep, val = item.strip().partition("=")
        if not sep or not key:
            raise _ArgError(f"environment entry {item!r} is not NAME=value")
        env[key] = val
    return env


_MACRO = re.compile(r"\$(ENV)?\(([A-Za-z0-9_.+]+)(?::([^)]*))?\)", re.IGNORECASE)


def _expand(value: str, macros: dict[str, str], where: str, depth: int = 0) -> str:
    if depth > 32:
        raise EngineError(f"macro expansion loops in {value!r}", source=where)

    def repl(m: re.Match[str]) -> str:
        name = m.group(2)
        if m.group(1):
            return os.environ.get(name, m.group(3) or "")
        if name.upper() == "DOLLAR":
            return "\0DOLLAR\0"
        found = macros.get(name.lower())
        if found is None:
            return m.group(3) or ""
        return _expand(found, macros, where, depth + 1)

    return _MACRO.sub(repl, value)


_TRUE = {"true", "yes", "1", "t", "y"}


def read_submit(
    path: Path, node_vars: dict[str, str], node: str, retry: int = 0, cwd: Path | None = None
) -> JobSpec:
    """Read a submit file for DAG node ``node`` (VARS in ``node_vars``); paths resolve
    against ``cwd`` (the node's DIR), ``initialdir`` and then the job's own files."""
    text = read_submit_file(path, node)
    return read_submit_text(text, path, node_vars, node, retry, cwd or path.parent)


def read_submit_file(path: Path, node: str) -> str:
    """The text of a submit file, or one clear error naming it and the node."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EngineError(
            f"cannot read submit file for node {node}: {exc.strerror}", source=str(path)
        )
    except UnicodeDecodeError as exc:
        raise EngineError(f"node {node}: byte {exc.start} is not UTF-8", source=str(path))


def read_submit_text(
    text: str, path: Path, node_vars: dict[str, str], node: str, retry: int, cwd: Path
) -> JobSpec:
    """Like :func:`read_submit` for text already in memory."""
    where = str(path)
    macros, attributes = _read_statements(text, node, where)
    for k, v in _predefined(node, retry).items():
        macros.setdefault(k, v)
    for k, v in node_vars.items():
        macros[k.lower()] = v  # VARS arrive as condor_submit -a lines: they win

    def get(key: str, default: str = "") -> str:
        raw = macros.get(key)
        if raw is None:
            return default
        return _expand(raw, macros, where).replace("\0DOLLAR\0", "$")

    return _build_spec(get, path, cwd, node, attributes)


def _read_statements(text: str, node: str, where: str) -> tuple[dict[str, str], dict[str, str]]:
    """The macros (lower-case keys) and ``+``/``MY.`` attributes of a submit text that
    queues exactly one job."""
    macros: dict[str, str] = {}
    attributes: dict[str, str] = {}
    queued = 0
    for number, line in logical_lines(text):
        low = line.lower()
        if low == "queue" or low.startswith(("queue ", "queue\t")):
            _check_queue_count(line, number, where)
            queued += 1
            continue
        if low.startswith(("include", "if ", "elif ", "else", "endif")):
            raise UnsupportedFeature(
                f"line {number}: {line.split()[0]!r} is not supported by the embedded engine",
                source=where,
            )
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise EngineError(f"line {number}: expected 'key = value', got {line!r}", source=where)
        if key.startswith("+") or key.lower().startswith("my."):
            attributes[key.lstrip("+").split(".", 1)[-1]] = value.strip()
        macros[key.lower()] = value.strip()
    if queued == 0:
        raise EngineError(f"no 'queue' statement (node {node})", source=where)
    return macros, attributes


def _check_queue_count(line: str, number: int, where: str) -> None:
    count = line[5:].strip() or "1"
    if count != "1":
        raise UnsupportedFeature(
            f"line {number}: 'queue {count}' (more than one job per node) is not "
            "supported by the embedded engine",
            source=where,
        )


def _predefined(node: str, retry: int) -> dict[str, str]:
    """condor_submit's predefined macros for the one job a node queues."""
    return {
        "cluster": "1",
        "clusterid": "1",
        "process": "0",
        "procid": "0",
        "node": "0",
        "job": node,
        "retry": str(retry),
    }


# grid_resource types condor_submit accepts (htcondor 24). A grid-universe job (a site of
# style condorc or glite) runs here as a local process, as a vanilla one does: the remote
# schedd or batch system it names is this machine (docs/engine.md).
_GRID_TYPES = frozenset({"condor", "batch", "arc", "ec2", "gce", "azure"})


def _check_grid_resource(value: str, node: str, where: str) -> None:
    """Refuse what condor_submit refuses, so a directory that runs here also submits."""
    if not value.strip():
        raise EngineError(
            f"node {node}: grid_resource attribute not defined for grid universe job",
            source=where,
        )
    kind = value.split()[0]
    if kind.lower() not in _GRID_TYPES:
        raise EngineError(
            f"node {node}: invalid grid type {kind!r} in grid_resource (one of "
            f"{', '.join(sorted(_GRID_TYPES))})",
            source=where,
        )


def _build_spec(
    get: Callable[..., str], path: Path, cwd: Path, node: str, attributes: dict[str, str]
) -> JobSpec:
    where = str(path)
    exe = _executable(get, cwd, node, where)
    universe = _universe(get, node, where)
    arguments, environment = _arguments_and_environment(get, node, where)
    iwd_text = get("initialdir") or get("iwd")
    iwd = Path(os.path.normpath((cwd / iwd_text) if iwd_text else cwd))
    transfer = get("should_transfer_files", "").upper() == "YES"
    inputs = tuple(i.strip() for i in get("transfer_input_files").split(",") if i.strip())
    # Without file transfer an HTCondor job runs in remote_initialdir on the execute
    # machine (the planner's sharedfs jobs on a non-local site): here that is this machine.
    remote_iwd = get("remote_initialdir")
    run_dir = Path(os.path.normpath(cwd / remote_iwd)) if remote_iwd and not transfer else iwd
    return JobSpec(
        submit_file=path,
        universe=universe,
        executable=exe,
        arguments=tuple(arguments),
        environment=environment,
        getenv=get("getenv", "false").lower() in _TRUE,
        initialdir=run_dir,
        stdin=_job_path(get, iwd, "input"),
        stdout=_job_path(get, iwd, "output"),
        stderr=_job_path(get, iwd, "error"),
        log=_job_path(get, iwd, "log"),
        request_cpus=_request_cpus(get, node, where),
        transfer=transfer,
        transfer_inputs=inputs,
        transfer_outputs=_transfer_outputs(get),
        output_remaps=_output_remaps(get),
        attributes=attributes,
        transfer_executable=transfer and get("transfer_executable", "true").lower() in _TRUE,
        periodic_remove=_periodic_remove(get, attributes),
    )


def _universe(get: Callable[..., str], node: str, where: str) -> str:
    universe = get("universe", "vanilla").lower()
    if universe not in ("vanilla", "local", "scheduler", "container", "grid"):
        raise UnsupportedFeature(
            f"universe {universe!r} cannot run in the embedded engine (node {node})", source=where
        )
    if universe == "grid":
        _check_grid_resource(get("grid_resource"), node, where)
    return universe


def _executable(get: Callable[..., str], cwd: Path, node: str, where: str) -> str:
    executable = get("executable")
    if not executable:
        raise EngineError(f"no 'executable' (node {node})", source=where)
    if os.path.isabs(executable):
        return executable
    return str(Path(os.path.normpath(cwd / executable)))


def _arguments_and_environment(
    get: Callable[..., str], node: str, where: str
) -> tuple[list[str], dict[str, str]]:
    try:
        arg_text = get("arguments") or get("args")
        arguments = parse_arguments(arg_text) if arg_text else []
        env_text = get("environment") or get("env")
        environment = parse_environment(env_text) if env_text else {}
    except _ArgError as exc:
        raise EngineError(f"node {node}: {exc}", source=where)
    return arguments, environment


def _job_path(get: Callable[..., str], iwd: Path, key: str) -> Path | None:
    value = get(key)
    if not value or value == "/dev/null":
        return None
    return Path(os.path.normpath(iwd / value))


def _request_cpus(get: Callable[..., str], node: str, where: str) -> int:
    try:
        cpus = int(float(get("request_cpus", "1") or "1"))
    except ValueError:
        raise EngineError(f"node {node}: request_cpus is not a number", source=where)
    return max(1, cpus)


def _transfer_outputs(get: Callable[..., str]) -> tuple[str, ...] | None:
    """None when unset (everything new comes back); "" (the empty string) lists nothing."""
    out_text = get("transfer_output_files", "\0unset")
    if out_text == "\0unset":
        return None
    return tuple(o.strip() for o in out_text.split(",") if o.strip() and o.strip() != '""')


def _output_remaps(get: Callable[..., str]) -> dict[str, str]:
    remaps: dict[str, str] = {}
    for item in get("transfer_output_remaps").strip().strip('"').split(";"):
        src, sep, dst = item.partition("=")
        if sep:
            remaps[src.strip()] = dst.strip()
    return remaps


def _periodic_remove(get: Callable[..., str], attributes: dict[str, str]) -> str | None:
    """``periodic_remove``, or a ``+PeriodicRemove`` attribute (which condor_submit
    applies last, so it wins)."""
    for name, value in attributes.items():
        if name.lower() == "periodicremove":
            return value
    return get("periodic_remove") or None
