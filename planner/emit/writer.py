"""The only code that writes a submit directory, all at once or not at all.

Everything is written into a hidden temporary sibling of the target, then renamed into
place; any failure removes the temporary directory, so a submit dir is never partial.
"""

from __future__ import annotations

import contextlib
import operator
import os
import queue
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from catalogs.atomic import current_umask
from planner.emit.dag import NODE_VAR, DagNode, check_node_names, edge_maps, yield_dag_chunks
from planner.emit.record import KIND_NAMES, yield_plan_text
from planner.emit.subdag import (
    CATALOG_NAMES,
    REQUEST_SUFFIX,
    request_text,
    yield_subdag_lines,
)
from planner.emit.submit import (
    BUNDLE_FILE,
    EXITCODE_TOOL,
    TOOLS,
    Description,
    EmitContext,
    node_job,
    tool_manifest_json,
    yield_submit_lines,
)
from planner.emit.template import SLOT, Shaped, render, shaped_job
from planner.errors import EmitError
from planner.model.concrete import ConcreteWorkflow, DataConfiguration

EmitMode = Literal["per-node", "shared"]
EMIT_MODES: tuple[EmitMode, ...] = ("per-node", "shared")
DEFAULT_EMIT_MODE: EmitMode = "shared"
PLAN_FILE = "plan.json"

_WORKFLOW_NAME = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9_.+-]*")
_CATALOG_NAME = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9_.+-]*")
_FILE_PART = re.compile(r"[^A-Za-z0-9_+-]+")


def default_tools_dir() -> Path:
    """Where the job-side console scripts are: beside the running interpreter, else PATH."""
    here = Path(sys.executable).parent
    if (here / TOOLS[next(iter(TOOLS))]).exists():
        return here
    found = shutil.which("wfplan-transfer")
    if found is None:
        raise EmitError(
            "cannot find the wfplan-transfer console script beside "
            f"{sys.executable} or on PATH; install wfplan (pip install -e .) or pass tools_dir"
        )
    return Path(found).parent


@dataclass(frozen=True)
class SubmitFile:
    name: str
    description: Description


def _group_key(cw_node: Any, description: Description) -> tuple[str, ...]:
    return (
        KIND_NAMES[cw_node.kind],
        cw_node.transformation or "",
        cw_node.site,
        *map(_KEY, description),
    )


_KEY = operator.itemgetter(0)


def _by_node_name(members: list[str], values: list[str]) -> str | None:
    """One value for all members with ``$(wf_node)`` where each has its own node name.

    Exact by construction: substituting each member's name back gives its own value.
    """
    shape = values[0].replace(members[0], "\0")
    if "\0" not in shape:
        return None
    for member, value in zip(members, values, strict=True):
        if value.replace(member, "\0") != shape:
            return None  # usually at the second member: stop there
    return shape.replace("\0", f"$({NODE_VAR})")


# Where a value may be cut into tokens: list, remap and argument separators, quotes and
# path separators (a token never holds one, so no token holds a whole macro reference
# cut in two: "$(", ")" and macro names hold none of these).
_CUT = re.compile(r'([,;= /"])')


def _by_tokens(values: list[str]) -> tuple[str, list[list[str]]] | None:
    """One value for all members with a macro for each token that differs, and each
    macro's value per member; None unless every value has the same cuts and the same
    tokens elsewhere (decided by the first two members, checked on every one).

    Exact by construction: substituting each member's tokens back gives its own value.
    Only the differing tokens (typically file names) then travel in the DAG's VARS, not
    the directories and fixed arguments around them.
    """
    first = _CUT.split(values[0])
    second = _CUT.split(values[1])
    if len(first) != len(second):
        return None
    where = [j for j in range(0, len(first), 2) if first[j] != second[j]]
    blank = list(first)
    for j in where:
        blank[j] = ""
    tokens: list[list[str]] = [[] for _ in where]
    for value in values:
        parts = _CUT.split(value)
        if len(parts) != len(blank):
            return None
        for column, j in zip(tokens, where, strict=True):
            column.append(parts[j])
            parts[j] = ""
        if parts != blank:
            return None
    for j in where:
        blank[j] = "\0"
    return "".join(blank), tokens


def _var_name(key: str, taken: set[str]) -> str:
    """``wf_<key>`` for a whole value, ``wf_1``, ``wf_2``... for tokens (key "")."""
    base = "wf_" + re.sub(r"[^A-Za-z0-9_]", "_", key)
    first = base if key else f"{base}1"  # a submit key starts with a letter
    return _claim_name(first, lambda k: f"{base}{k}", taken)


def _claim_name(first: str, numbered: Callable[[int], str], taken: set[str]) -> str:
    """``first``, else ``numbered(2)``, ``numbered(3)``... whichever is free; marked taken."""
    name, k = first, 1
    while name in taken:
        k += 1
        name = numbered(k)
    taken.add(name)
    return name


def plan_submit_files(
    cw: ConcreteWorkflow, jobs: Mapping[str, Description | Shaped], mode: EmitMode
) -> tuple[list[SubmitFile], dict[str, DagNode]]:
    """Decide which ``.sub`` files to write and how each node refers to its own."""
    if mode == "per-node":
        own = [SubmitFile(f"{n.name}.sub", _description(jobs[n.name])) for n in cw.nodes]
        return own, {n.name: DagNode(f"{n.name}.sub") for n in cw.nodes}
    if mode != "shared":
        raise EmitError(f"submit-file mode {mode!r} is not one of {', '.join(EMIT_MODES)}")
    groups: dict[tuple[Any, ...], list[str]] = {}
    for node in cw.nodes:
        job = jobs[node.name]
        key = _shape_key(node, job) if isinstance(job, Shaped) else _group_key(node, job)
        groups.setdefault(key, []).append(node.name)
    files: list[SubmitFile] = []
    dag_nodes: dict[str, DagNode] = {}
    used_names: set[str] = set()
    for key, members in groups.items():
        name = _file_name(key, used_names)
        first = jobs[members[0]]
        if isinstance(first, Shaped):
            rows = [jobs[m][1] for m in members]
            template, varying, by_name = _shaped_template(members, rows, first.shape)
        else:
            descriptions = [_description(jobs[m]) for m in members]
            template, varying, by_name = _template(members, descriptions)
        files.append(SubmitFile(name, template))
        if not varying and not by_name:
            dag_nodes.update(dict.fromkeys(members, DagNode(name, {})))
            continue
        for k, member in enumerate(members):
            macros = {NODE_VAR: member} if by_name else {}
            for var, values in varying:
                macros[var] = values[k]
            dag_nodes[member] = DagNode(name, macros)
    return files, dag_nodes


def _description(job: Description | Shaped) -> Description:
    return render(job) if isinstance(job, Shaped) else job


def _shape_key(cw_node: Any, job: Shaped) -> tuple[Any, ...]:
    """Nodes of one shape share a file (an int: never equal to a description's keys)."""
    return (KIND_NAMES[cw_node.kind], cw_node.transformation or "", cw_node.site, id(job.shape))


def _shaped_template(
    members: list[str], rows: list[tuple[str, ...]], shape: Description
) -> tuple[Description, list[tuple[str, list[str]]], bool]:
    """The shared description of nodes of one shape: a slot whose value is the same for
    all is written out, the others become macros (slot 0, the node's name, ``$(wf_node)``;
    slots with the same values share one)."""
    macros: dict[tuple[str, ...], str] = {tuple(members): NODE_VAR}
    taken: set[str] = {NODE_VAR}
    refs = []
    for column in zip(*rows, strict=True):
        if column.count(column[0]) == len(column):
            refs.append(column[0])
        else:
            refs.append(f"$({_macro(macros, column, '', taken)})")
    template = tuple(
        (key, SLOT.sub(lambda m: refs[int(m.group(1))], text) if "@@" in text else text)
        for key, text in shape
    )
    by_name = refs[0] == f"$({NODE_VAR})"
    varying = [(name, list(values)) for values, name in macros.items() if name != NODE_VAR]
    return template, varying, by_name


def _file_name(key: tuple[Any, ...], used_names: set[str]) -> str:
    """``<kind>_<transformation>_<site>.sub``, numbered when taken."""
    stem = _FILE_PART.sub("_", "_".join(k for k in key[:3] if k)).strip("_") or "job"
    return _claim_name(f"{stem}.sub", lambda k: f"{stem}_{k}.sub", used_names)


def _template(
    members: list[str], descriptions: list[Description]
) -> tuple[Description, list[tuple[str, list[str]]], bool]:
    """The shared description of a group, each macro with its value per member, and
    whether some value differs only by the node's own name."""
    template: list[tuple[str, str]] = []
    # a macro's values -> its name: one macro each; the members' own names are wf_node
    macros: dict[tuple[str, ...], str] = {tuple(members): NODE_VAR}
    taken: set[str] = {NODE_VAR}
    by_name = False
    # Column i holds every member's (key, value) pair i; the keys are the same by the
    # group key, so one distinct pair means one value for all.
    columns = list(zip(*descriptions, strict=True))
    for i, (sub_key, value) in enumerate(descriptions[0]):
        column = columns[i]
        if column.count(column[0]) == len(column):  # no hashing, unlike set()
            template.append((sub_key, value))
            continue
        values = [v for _, v in column]
        shape = _by_node_name(members, values)
        if shape is not None:
            by_name = True
            template.append((sub_key, shape))
            continue
        cut = _by_tokens(values)
        shape, parts = cut if cut is not None else ("\0", [values])
        key = sub_key if cut is None else ""  # a token macro may serve several keys
        refs = []
        for part in parts:
            named = _by_node_name(members, part) if cut is not None else None
            refs.append(named or f"$({_macro(macros, tuple(part), key, taken)})")
            by_name = by_name or named is not None or refs[-1] == f"$({NODE_VAR})"
        pieces = shape.split("\0")
        text = pieces[0] + "".join(r + p for r, p in zip(refs, pieces[1:], strict=True))
        template.append((sub_key, text))
    varying = [(name, list(values)) for values, name in macros.items() if name != NODE_VAR]
    return tuple(template), varying, by_name


def _macro(
    macros: dict[tuple[str, ...], str], values: tuple[str, ...], key: str, taken: set[str]
) -> str:
    """The macro holding ``values`` (one per member), made on first use."""
    name = macros.get(values)
    if name is None:
        name = macros[values] = _var_name(key, taken)
    return name


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def _write(path: Path | str, text: str) -> None:
    data = text.encode("utf-8")
    fd = os.open(path, _CREATE, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


class _BackgroundWriter:
    """Writes small files from a second thread while the caller goes on computing.

    Creating a file costs far more kernel time than filling it (inode allocation, about
    1 ms each on the ext4 we measured), and os.open releases the GIL, so the manifests are
    created on the other core while this one builds the DAG and ``plan.json``. The queue is
    bounded, so memory stays bounded at any size; the first error is re-raised by ``close``.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue(maxsize=1 << 16)
        self._error: BaseException | None = None
        self._aborted = False
        self._thread = threading.Thread(target=self._run, name="wfplan-emit", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is None and not self._aborted:
                try:
                    _write(*item)
                except BaseException as exc:
                    self._error = exc

    def put(self, path: str, text: str) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((path, text))

    def abort(self) -> None:
        """Stop without writing what is still queued, and without raising."""
        self._aborted = True
        self._queue.put(None)
        self._thread.join()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(f"{line}\n" for line in lines)


def _write_chunks(path: Path, chunks: Iterable[str]) -> None:
    # Few large writes: each write(2) competes with the manifest writer for the file
    # system, so 1 MiB at a time rather than the default 8 KiB.
    with open(path, "w", encoding="utf-8", newline="\n", buffering=_BIG_BUFFER) as fh:
        fh.writelines(chunks)


_BIG_BUFFER = 1 << 20
_SWITCH_INTERVAL = 0.0002


def check_submit_dir(submit_dir: Path, force: bool = False) -> None:
    """Refuse a submit dir that cannot be written: one that exists and is not an empty
    directory (unless ``force``), or one below a file or a directory wfplan cannot write
    in. ``wfplan plan`` calls it before planning, so nothing is planned in vain."""
    target = Path(os.path.abspath(submit_dir))
    if target.exists() and not target.is_dir():
        raise EmitError(f"submit dir {target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise EmitError(
            f"submit dir {target} exists and is not empty; choose another --dir or remove it"
        )
    # The first existing directory above it is where the submit dir gets created.
    parent = target.parent
    while not parent.exists() and not parent.is_symlink():
        parent = parent.parent
    if not parent.is_dir():
        raise EmitError(f"cannot create submit dir {target}: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise EmitError(f"cannot create submit dir {target}: no permission to write in {parent}")


def _output_rc(cw: ConcreteWorkflow, submit_dir: Path) -> str:
    value = cw.options.get("output_rc")
    if not value:
        return str(submit_dir / f"{cw.name}.replicas.db")
    path = Path(str(value))
    return str(path if path.is_absolute() else submit_dir / path)


def _data_configuration(cw: ConcreteWorkflow) -> DataConfiguration:
    value = cw.options.get("data_configuration", DataConfiguration.CONDORIO.value)
    try:
        return DataConfiguration(getattr(value, "value", value))
    except ValueError:
        names = ", ".join(d.value for d in DataConfiguration)
        raise EmitError(f"option data_configuration {value!r} is not one of {names}")


def _transfer_http(cw: ConcreteWorkflow) -> tuple[tuple[str, Any], ...]:
    value = cw.options.get("transfer_http") or {}
    if not isinstance(value, Mapping):
        raise EmitError(f"option transfer_http {value!r} is not an object")
    return tuple(sorted(value.items()))


def write_submit_dir(
    cw: ConcreteWorkflow,
    submit_dir: Path,
    *,
    catalog_files: Mapping[str, Path] = {},
    tools_dir: Path | None = None,
    emit_mode: EmitMode = DEFAULT_EMIT_MODE,
    force: bool = False,
    subworkflow_catalogs: Mapping[str, str] = {},
) -> None:
    """Write ``<wf>.dag``, the ``.sub`` files, the manifests (``manifests.jsonl`` and the
    ``<node>.json`` that travel with their jobs), ``plan.json`` and the catalogs.

    ``catalog_files`` maps a file name in the submit dir to the catalog to copy there.
    ``emit_mode``: ``"shared"`` (one ``.sub`` per kind, transformation and site, the
    per-node parts as DAG ``VARS``) or ``"per-node"`` (one ``.sub`` per node, as Pegasus).
    An existing non-empty ``submit_dir`` is refused unless ``force`` (then replaced whole).
    ``subworkflow_catalogs``: role (``rc``, ``tc``, ``sc``) -> the catalog's text, written
    for the PRE scripts of sub-workflow nodes (planner/emit/subdag.py).
    """
    _check_names(cw)
    target = Path(os.path.abspath(submit_dir))
    check_submit_dir(target, force)
    ctx = _emit_context(cw, target, tools_dir)
    _check_request(cw, emit_mode, catalog_files)
    tmp = _make_tmp(target)
    # The manifest writer needs the GIL for a moment after every file it creates; with
    # the default 5 ms switch interval it would create at most 200 files a second while
    # this thread computes, and the rest only at the end.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(_SWITCH_INTERVAL)
    try:
        # The cyclic collector stays as the caller left it (wfplan plan pauses it once,
        # in planner/cli.py, for the whole command).
        _fill(tmp, cw, ctx, emit_mode, catalog_files)
        if cw.subworkflows:
            _fill_subworkflows(tmp, cw, ctx, subworkflow_catalogs)
        _move_into_place(tmp, target, force)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise EmitError(f"cannot write submit dir {target}: {exc}")
        raise
    finally:
        sys.setswitchinterval(switch_interval)


def _check_names(cw: ConcreteWorkflow) -> None:
    if not _WORKFLOW_NAME.fullmatch(cw.name):
        raise EmitError(
            f"workflow name {cw.name!r} cannot name the DAG file (letters, digits, '_', "
            "'-', '+', '.')"
        )
    check_node_names(cw)


def _emit_context(cw: ConcreteWorkflow, target: Path, tools_dir: Path | None) -> EmitContext:
    tools = Path(os.path.abspath(tools_dir)) if tools_dir is not None else default_tools_dir()
    return EmitContext(
        submit_dir=target,
        tools_dir=tools,
        workflow=cw.name,
        output_rc=_output_rc(cw, target),
        data_configuration=_data_configuration(cw),
        site_styles=cw.site_styles,
        transfer_http=_transfer_http(cw),
    )


def _check_request(
    cw: ConcreteWorkflow, emit_mode: EmitMode, catalog_files: Mapping[str, Path]
) -> None:
    """Refuse an unknown mode and catalog copies that are missing or would clash."""
    if emit_mode not in EMIT_MODES:
        raise EmitError(f"submit-file mode {emit_mode!r} is not one of {', '.join(EMIT_MODES)}")
    for name, source in catalog_files.items():
        if not _CATALOG_NAME.fullmatch(name) or name in _reserved_names(cw, name):
            raise EmitError(
                f"catalog copy name {name!r} (from {source}) is not a plain file name free "
                "in the submit dir"
            )
        if not Path(source).is_file():
            raise EmitError(f"catalog {source} does not exist or is not a file")


def _make_tmp(target: Path) -> Path:
    """A new empty hidden sibling of ``target``, to be renamed into place."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise EmitError(f"cannot create submit dir {target}: {exc.strerror or exc}{where}")


def _fill(
    tmp: Path,
    cw: ConcreteWorkflow,
    ctx: EmitContext,
    emit_mode: EmitMode,
    catalog_files: Mapping[str, Path],
) -> None:
    """Write everything into the (new, empty) temporary directory ``tmp``."""
    os.chmod(tmp, 0o777 & ~current_umask())  # as mkdir would have (mkdtemp gives 0700)
    writer = _BackgroundWriter()
    bundle = _Bundle(tmp / BUNDLE_FILE)
    try:
        descriptions = _write_manifests(tmp, cw, ctx, writer, bundle)
        sub_files, dag_nodes = plan_submit_files(cw, descriptions, emit_mode)
        del descriptions
        for sub in sub_files:
            _write_lines(tmp / sub.name, yield_submit_lines(sub.description))
        edges = edge_maps(cw)
        _write_chunks(
            tmp / f"{cw.name}.dag",
            yield_dag_chunks(cw, dag_nodes, ctx.tool(EXITCODE_TOOL), edges),
        )
        submit_names = {name: dn.submit_file for name, dn in dag_nodes.items()}
        del dag_nodes  # its VARS are the largest thing held here; plan.json needs names only
        plan_text = yield_plan_text(cw, submit_names, edges)
        _write_chunks(tmp / PLAN_FILE, plan_text)
        for name, source in sorted(catalog_files.items()):
            shutil.copyfile(source, tmp / name)
    except BaseException:
        bundle.abort()
        writer.abort()
        raise
    writer.close()


def _write_manifests(
    tmp: Path, cw: ConcreteWorkflow, ctx: EmitContext, writer: _BackgroundWriter, bundle: _Bundle
) -> dict[str, Description | Shaped]:
    """Every node's submit description (as a shape and its values where it has one,
    planner/emit/template.py); its manifest written as it is made (a line of the bundle,
    or its own file from the background writer), so only descriptions stay in memory."""
    descriptions: dict[str, Description | Shaped] = {}
    prefix = f"{tmp}/"
    shapes: dict[Any, Any] = {}
    for node in cw.nodes:
        shaped = shaped_job(node, ctx, bundle.size, shapes)
        if shaped is not None:
            descriptions[node.name] = shaped
            if node.kind in TOOLS:  # every tool node with a shape reads its bundle line
                bundle.add(f"{tool_manifest_json(node, ctx, True)}\n")
            continue
        job = node_job(node, ctx, bundle.size)
        descriptions[node.name] = job.description
        text = job.manifest_json
        if text is None:
            continue
        if job.bundled:
            bundle.add(f"{text}\n")
        else:
            writer.put(f"{prefix}{node.name}.json", f"{text}\n")
    bundle.close()
    return descriptions


def _fill_subworkflows(
    tmp: Path, cw: ConcreteWorkflow, ctx: EmitContext, catalogs: Mapping[str, str]
) -> None:
    """Sub-workflow nodes: their DAG lines after the others, one planning request each,
    the parent's catalogs, and an empty directory for each one planned at run time."""
    written = {role: CATALOG_NAMES[role] for role in catalogs}
    for role, text in sorted(catalogs.items()):
        _write(tmp / CATALOG_NAMES[role], text)
    with open(tmp / f"{cw.name}.dag", "a", encoding="utf-8", newline="\n") as fh:
        fh.writelines(yield_subdag_lines(cw, ctx.submit_dir, ctx.tool("wfplan")))
    for sub in cw.subworkflows:
        if sub.kind == "pegasusWorkflow":
            (tmp / sub.job).mkdir()
            text = request_text(cw, sub, ctx.submit_dir, written)
            _write(tmp / f"{sub.name}{REQUEST_SUFFIX}", text)


class _Bundle:
    """``manifests.jsonl``, appended line by line; created only when a line comes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self._fh: BinaryIO | None = None

    def add(self, line: str) -> None:
        data = line.encode("utf-8")
        if self._fh is None:
            # Closed by close() or abort(), which _fill calls on success and on failure.
            self._fh = open(self.path, "xb", buffering=_BIG_BUFFER)  # noqa: SIM115
        self._fh.write(data)
        self.size += len(data)

    def close(self) -> None:
        if self._fh is not None:
            fh, self._fh = self._fh, None
            fh.close()

    def abort(self) -> None:
        """Close without raising: the error being handled is the one to report."""
        with contextlib.suppress(OSError):
            self.close()


def _reserved_names(cw: ConcreteWorkflow, name: str) -> set[str]:
    """Emitted names a catalog copy called ``name`` could collide with."""
    names = {PLAN_FILE, BUNDLE_FILE, f"{cw.name}.dag", f"{cw.name}.log"}
    stem, dot, ext = name.rpartition(".")
    if dot and ext in ("json", "out", "err", "sub") and any(n.name == stem for n in cw.nodes):
        names.add(name)
    if ext == "sub":
        names.add(name)  # shared submit files are named by kind, transformation and site
    return names


def _move_into_place(tmp: Path, target: Path, force: bool) -> None:
    check_submit_dir(target, force)
    if not target.exists():
        os.rename(tmp, target)
        return
    if not any(target.iterdir()):
        target.rmdir()
        os.rename(tmp, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    old.rmdir()
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except OSError:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
