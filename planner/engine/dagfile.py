"""Read HTCondor DAGMan input files (semantics.md §3) into a :class:`Dag`.

The reader accepts what ``condor_dagman`` accepts: one command a line, comments only
at the start of a line, a trailing ``\\`` continues a line, keywords in any case, nodes
referenced before they are defined. Errors name the file and the line::

    >>> dag = parse_dag_text("JOB A a.sub\\nJOB B b.sub\\nPARENT A CHILD B\\n", "x.dag")
    >>> sorted(dag.nodes["A"].children)
    ['B']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from planner.engine.textlines import logical_lines
from planner.errors import EngineError, UnsupportedFeature

__all__ = ["Dag", "DagNode", "Script", "parse_dag", "parse_dag_text", "parse_rescue"]


@dataclass(frozen=True)
class Script:
    """A PRE or POST script: the executable, its arguments, and the DEFER rule."""

    executable: str
    arguments: tuple[str, ...]
    defer_status: int | None = None
    defer_time: float = 0.0


@dataclass
class DagNode:
    """One node: a submit file (or NOOP), its scripts and DAGMan's per-node settings."""

    name: str
    submit_file: str
    line: int
    directory: str | None = None
    noop: bool = False
    done: bool = False
    final: bool = False
    retry: int = 0
    unless_exit: int | None = None
    pre: Script | None = None
    post: Script | None = None
    vars: dict[str, str] = field(default_factory=dict)
    priority: int = 0
    category: str | None = None
    abort_on: tuple[int, int | None] | None = None
    pre_skip: int | None = None
    subdag: bool = False  # SUBDAG EXTERNAL: ``submit_file`` is the sub-DAG's .dag file
    parents: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)


@dataclass
class Dag:
    """A parsed DAG file: nodes in file order, category throttles, the FINAL node."""

    path: Path
    nodes: dict[str, DagNode] = field(default_factory=dict)
    maxjobs: dict[str, int] = field(default_factory=dict)
    final: str | None = None
    node_status_file: str | None = None
    jobstate_log: str | None = None
    config: str | None = None

    @property
    def directory(self) -> Path:
        """The folder relative paths in the DAG are resolved against."""
        return self.path.parent


_VARS_PAIR = re.compile(r'\s*([A-Za-z_+][A-Za-z0-9_.+]*)\s*=\s*"((?:[^"\\]|\\.)*)"')
_IGNORED = {"DOT", "CONFIG", "NODE_STATUS_FILE", "JOBSTATE_LOG", "SET_JOB_ATTR", "ENV"}
_IGNORED |= {"SAVE_POINT_FILE", "REJECT", "CONNECT", "PIN_IN", "PIN_OUT", "INCLUDE"}


def parse_dag(path: str | Path) -> Dag:
    """Read a ``.dag`` file; :class:`EngineError` names the file and line of any problem."""
    p = Path(path)
    return parse_dag_text(_read_text(p, "DAG file"), p)


def _read_text(path: Path, what: str) -> str:
    """The text of a DAG or rescue file, or one error naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EngineError(f"cannot read {what}: {exc.strerror}", source=str(path))
    except UnicodeDecodeError as exc:
        raise EngineError(f"not a text file (byte {exc.start} is not UTF-8)", source=str(path))


class _Reader:
    def __init__(self, path: Path) -> None:
        self.dag = Dag(path=path)
        self.source = str(path)
        self.refs: list[tuple[int, str]] = []  # (line, node name) to check at the end
        self.edges: list[tuple[int, list[str], list[str]]] = []
        self.line = 0

    def fail(self, message: str) -> EngineError:
        return EngineError(f"line {self.line}: {message}", source=self.source)

    def int_arg(self, token: str, what: str) -> int:
        try:
            return int(token)
        except ValueError:
            raise self.fail(f"{what} must be an integer, got {token!r}")

    def ref(self, name: str) -> str:
        self.refs.append((self.line, name))
        return name

    def node(self, name: str) -> DagNode:
        found = self.dag.nodes.get(name)
        if found is None:
            raise self.fail(f"node {name!r} is not defined (JOB {name} ... missing)")
        return found

    def command(self, line: str) -> None:
        tokens = line.split()
        keyword = tokens[0].upper()
        args = tokens[1:]
        if "#" in line and keyword != "VARS" and any(t.startswith("#") for t in args):
            raise self.fail("comments must start a line ('#' after a command is an error)")
        handler = getattr(self, "cmd_" + keyword.replace("-", "_"), None)
        if keyword == "SUBDAG" and args and args[0].upper() == "EXTERNAL":
            self._job(args[1:], final=False, word="SUBDAG EXTERNAL")
            self.dag.nodes[args[1]].subdag = True
            return
        if keyword in ("SUBDAG", "SPLICE"):
            raise UnsupportedFeature(
                f"line {self.line}: {keyword} is not supported by the embedded engine "
                "(flatten the DAG or use 'wfplan submit')",
                source=self.source,
            )
        if handler is not None:
            handler(args, line)
        elif keyword not in _IGNORED:
            raise self.fail(f"unknown DAG command {tokens[0]!r}")
        elif keyword == "NODE_STATUS_FILE" and args:
            self.dag.node_status_file = args[0]
        elif keyword == "JOBSTATE_LOG" and args:
            self.dag.jobstate_log = args[0]
        elif keyword == "CONFIG" and args:
            self.dag.config = args[0]

    def _job(self, args: list[str], final: bool, word: str = "") -> None:
        word = word or ("FINAL" if final else "JOB")
        if len(args) < 2:
            raise self.fail(f"{word} needs a node name and a submit file")
        name, submit = args[0], args[1]
        if name in self.dag.nodes:
            raise self.fail(f"node {name!r} is defined twice")
        if "." in name or "+" in name:
            raise self.fail(f"node name {name!r} must not contain '.' or '+'")
        node = DagNode(name=name, submit_file=submit, line=self.line, final=final)
        rest = args[2:]
        i = 0
        while i < len(rest):
            opt = rest[i].upper()
            if opt == "DIR" and i + 1 < len(rest):
                node.directory = rest[i + 1]
                i += 2
                continue
            if opt == "NOOP":
                node.noop = True
            elif opt == "DONE" and not final:
                node.done = True
            else:
                raise self.fail(f"unexpected {rest[i]!r} in {word} {name}")
            i += 1
        if final:
            if self.dag.final is not None:
                raise self.fail(f"a second FINAL node {name!r} (first: {self.dag.final!r})")
            self.dag.final = name
        self.dag.nodes[name] = node

    def cmd_JOB(self, args: list[str], _line: str) -> None:
        self._job(args, final=False)

    def cmd_FINAL(self, args: list[str], _line: str) -> None:
        self._job(args, final=True)

    def cmd_PARENT(self, args: list[str], _line: str) -> None:
        upper = [a.upper() for a in args]
        if "CHILD" not in upper:
            raise self.fail("PARENT without CHILD")
        cut = upper.index("CHILD")
        parents, children = args[:cut], args[cut + 1 :]
        if not parents or not children:
            raise self.fail("PARENT ... CHILD ... needs at least one node on each side")
        self.edges.append((self.line, parents, children))

    def cmd_RETRY(self, args: list[str], _line: str) -> None:
        if len(args) not in (2, 4) or (len(args) == 4 and args[2].upper() != "UNLESS-EXIT"):
            raise self.fail("RETRY takes: name N [UNLESS-EXIT value]")
        for node in self._targets(args[0]):
            node.retry = self.int_arg(args[1], "RETRY count")
            if len(args) == 4:
                node.unless_exit = self.int_arg(args[3], "UNLESS-EXIT value")

    def cmd_SCRIPT(self, args: list[str], _line: str) -> None:
        defer_status: int | None = None
        defer_time = 0.0
        if args and args[0].upper() == "DEFER":
            if len(args) < 3:
                raise self.fail("SCRIPT DEFER takes a status and a time")
            defer_status = self.int_arg(args[1], "DEFER status")
            defer_time = float(self.int_arg(args[2], "DEFER time"))
            args = args[3:]
        if len(args) < 3:
            raise self.fail("SCRIPT takes: [DEFER s t] PRE|POST name executable [args]")
        kind = args[0].upper()
        if kind not in ("PRE", "POST", "HOLD"):
            raise self.fail(f"SCRIPT type must be PRE or POST, got {args[0]!r}")
        script = Script(args[2], tuple(args[3:]), defer_status, defer_time)
        for node in self._targets(args[1]):
            if kind == "PRE":
                node.pre = script
            elif kind == "POST":
                node.post = script

    def cmd_VARS(self, args: list[str], line: str) -> None:
        if not args:
            raise self.fail("VARS needs a node name")
        rest = line.split(None, 2)[2] if len(line.split(None, 2)) > 2 else ""
        if rest.split(None, 1)[:1] and rest.split(None, 1)[0].upper() in ("PREPEND", "APPEND"):
            rest = rest.split(None, 1)[1] if len(rest.split(None, 1)) > 1 else ""
        pairs: dict[str, str] = {}
        pos = 0
        while rest[pos:].strip():
            m = _VARS_PAIR.match(rest, pos)
            if m is None:
                raise self.fail(f'VARS expects key="value" pairs, got {rest[pos:].strip()!r}')
            value = re.sub(r"\\(.)", r"\1", m.group(2))
            pairs[m.group(1)] = value
            pos = m.end()
        for node in self._targets(args[0]):
            node.vars.update(pairs)

    def cmd_PRIORITY(self, args: list[str], _line: str) -> None:
        for node in self._pair_targets(args, "PRIORITY takes: name value"):
            node.priority = self.int_arg(args[1], "PRIORITY")

    def cmd_CATEGORY(self, args: list[str], _line: str) -> None:
        for node in self._pair_targets(args, "CATEGORY takes: name category"):
            node.category = args[1]

    def cmd_MAXJOBS(self, args: list[str], _line: str) -> None:
        if len(args) != 2:
            raise self.fail("MAXJOBS takes: category N")
        self.dag.maxjobs[args[0]] = self.int_arg(args[1], "MAXJOBS")

    def cmd_ABORT_DAG_ON(self, args: list[str], _line: str) -> None:
        if len(args) not in (2, 4) or (len(args) == 4 and args[2].upper() != "RETURN"):
            raise self.fail("ABORT-DAG-ON takes: name value [RETURN r]")
        ret = self.int_arg(args[3], "RETURN") if len(args) == 4 else None
        for node in self._targets(args[0]):
            node.abort_on = (self.int_arg(args[1], "ABORT-DAG-ON value"), ret)

    def cmd_PRE_SKIP(self, args: list[str], _line: str) -> None:
        for node in self._pair_targets(args, "PRE_SKIP takes: name exit-code"):
            node.pre_skip = self.int_arg(args[1], "PRE_SKIP")

    def cmd_DONE(self, args: list[str], _line: str) -> None:
        if len(args) != 1:
            raise self.fail("DONE takes one node name")
        self.node(args[0]).done = True

    def cmd_DOT(self, args: list[str], _line: str) -> None:
        return None

    def _pair_targets(self, args: list[str], usage: str) -> list[DagNode]:
        """The nodes a ``KEYWORD name value`` line sets its value on."""
        if len(args) != 2:
            raise self.fail(usage)
        return self._targets(args[0])

    def _targets(self, name: str) -> list[DagNode]:
        if name.upper() == "ALL_NODES":
            return [n for n in self.dag.nodes.values() if not n.final]
        return [self.node(name)]


def _resolve_forward(reader: _Reader, deferred: list[tuple[int, str]]) -> None:
    for number, line in deferred:
        reader.line = number
        reader.command(line)


def parse_dag_text(text: str, path: str | Path) -> Dag:
    """Parse DAG text read from ``path`` (used for messages and relative paths)."""
    reader = _Reader(Path(path))
    deferred: list[tuple[int, str]] = []
    for number, line in logical_lines(text, keep_indent=True):
        reader.line = number
        keyword = line.split(None, 1)[0].upper()
        if keyword in ("JOB", "FINAL", "MAXJOBS", "SUBDAG", "SPLICE", "PARENT"):
            reader.command(line)
        else:
            deferred.append((number, line))  # may name nodes defined further down
    _resolve_forward(reader, deferred)
    nodes = reader.dag.nodes
    seen: set[tuple[str, str]] = set()
    for number, parents, children in reader.edges:
        reader.line = number
        kids = [reader.node(c) for c in children]
        for p in parents:
            parent = reader.node(p)
            for child in kids:
                c = child.name
                if parent.final or child.final:
                    raise reader.fail(f"the FINAL node cannot be in PARENT/CHILD ({p} -> {c})")
                if (p, c) not in seen:  # a set, not a list scan: fan-outs of 10^5 stay linear
                    seen.add((p, c))
                    parent.children.append(c)
                    child.parents.append(p)
    _check_acyclic(nodes, reader.source)
    return reader.dag


def _check_acyclic(nodes: dict[str, DagNode], source: str) -> None:
    indegree = {name: len(n.parents) for name, n in nodes.items()}
    ready = [name for name, d in indegree.items() if d == 0]
    seen = 0
    while ready:
        name = ready.pop()
        seen += 1
        for c in nodes[name].children:
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append(c)
    if seen != len(nodes):
        stuck = sorted(n for n, d in indegree.items() if d > 0)
        raise EngineError(f"the DAG has a cycle through {', '.join(stuck[:5])}", source=source)


def parse_rescue(path: Path, dag: Dag) -> list[str]:
    """The node names a rescue file marks DONE; unknown names are an error."""
    names: list[str] = []
    for number, line in logical_lines(_read_text(path, "rescue file"), keep_indent=True):
        tokens = line.split()
        if tokens[0].upper() != "DONE" or len(tokens) != 2:
            continue  # other commands in a full rescue DAG restate the original
        if tokens[1] not in dag.nodes:
            raise EngineError(
                f"line {number}: DONE names node {tokens[1]!r} which {dag.path.name} lacks",
                source=str(path),
            )
        names.append(tokens[1])
    return names
