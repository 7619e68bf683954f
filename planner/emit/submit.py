"""Submit descriptions and job manifests for the nodes of a concrete workflow.

Pure: a :class:`Node` plus an :class:`EmitContext` in, an ordered list of submit
``(key, value)`` pairs and an optional manifest (the JSON a job-side tool reads) out.
Values are already in submit syntax (quoted by :mod:`planner.emit.quoting`).
See docs/submit-dir.md for which node runs what, where.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from planner.emit.manifest import (
    MANIFEST_ENCODER,
    STR,
    files_json,
    replicas_json,
    transfers_json,
)
from planner.emit.quoting import (
    check_path_list_item,
    classad_string,
    quote_arguments,
    quote_environment,
)
from planner.errors import EmitError
from planner.model.base import Namespace
from planner.model.concrete import (
    DataConfiguration,
    Node,
    NodeKind,
    Task,
    Transfer,
    record_name,
)
from sites.style import STYLE_CONDOR_KEYS, SiteStyle, Style

Description = tuple[tuple[str, str], ...]

# kind -> the console script a bookkeeping/data node runs (docs/job-tools.md)
TOOLS: dict[NodeKind, str] = {
    NodeKind.STAGE_IN: "wfplan-transfer",
    NodeKind.STAGE_INTER: "wfplan-transfer",
    NodeKind.STAGE_OUT: "wfplan-transfer",
    NodeKind.REGISTER: "wfplan-register",
    NodeKind.CREATE_DIR: "wfplan-mkdir",
    NodeKind.CLEANUP: "wfplan-cleanup",
}
CLUSTER_TOOL = "wfplan-cluster"
EXITCODE_TOOL = "wfplan-exitcode"
# One compact JSON line per manifest read in place (docs/submit-dir.md, "Manifests").
BUNDLE_FILE = "manifests.jsonl"

# Keys the emitter owns: a condor profile may not replace them (the node would break).
_OWNED = frozenset(
    {
        "executable",
        "arguments",
        "environment",
        "initialdir",
        "remote_initialdir",
        "output",
        "error",
        "log",
        "queue",
        "should_transfer_files",
        "when_to_transfer_output",
        "transfer_input_files",
        "transfer_output_files",
        "transfer_output_remaps",
        "transfer_executable",
    }
)
# A job held because HTCondor could not transfer its output (HoldReasonCode 12: a listed
# output the job did not make, or the submit side could not write it) or its input (13)
# would stay held for ever and DAGMan would wait for it. Removed instead, the node fails
# ($RETURN -1002) and RETRY reruns it, as the embedded engine does (docs/submit-dir.md).
TRANSFER_HOLD_REMOVE = "(JobStatus == 5) && (HoldReasonCode =?= 12 || HoldReasonCode =?= 13)"
# condor profile keys that set the job's PeriodicRemove: a user's expression is OR-ed
# with the one above rather than replacing it.
_PERIODIC_REMOVE = frozenset({"periodic_remove", "+periodicremove", "my.periodicremove"})
# The directory a job's runner moves the optional outputs it made into; listed with a
# trailing '/', HTCondor brings back its contents (possibly none) as if each were listed.
OPTIONAL_DIR = ".wfplan-optional"
_SUBMIT_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*|\+[A-Za-z_][A-Za-z0-9_]*")
_CLASSAD_LITERAL = re.compile(r'-?[0-9]+(\.[0-9]+)?|true|false|undefined|".*"', re.IGNORECASE)


@dataclass(frozen=True)
class EmitContext:
    """Where things are: the final submit dir, the tools, the shared log, defaults."""

    submit_dir: Path
    tools_dir: Path
    workflow: str
    output_rc: str
    data_configuration: DataConfiguration = DataConfiguration.CONDORIO
    # execution site -> its style (ConcreteWorkflow.site_styles); absent: vanilla
    site_styles: Mapping[str, SiteStyle] = field(default_factory=dict)
    # (id of a node's pegasus profiles, site) -> (those profiles, the submit lines they
    # give): computed once per distinct profile dict, which nodes share by the thousand
    _resources: dict[tuple[int, str], tuple[object, tuple[tuple[str, str], ...]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # the transfer manifests' "http" limits (pegasus.transfer.http.*); empty: the defaults
    transfer_http: tuple[tuple[str, Any], ...] = ()

    @cached_property
    def log(self) -> str:
        return self.in_dir(f"{self.workflow}.log")

    @cached_property
    def bundle(self) -> str:
        return self.in_dir(BUNDLE_FILE)

    @cached_property
    def catalog(self) -> str:
        """The output replica catalog as a register manifest names it: relative to the
        submit dir (where the bundle is) when it lies inside it."""
        prefix = self._dir_prefix
        rc = self.output_rc
        return rc[len(prefix) :] if rc.startswith(prefix) and len(rc) > len(prefix) else rc

    @cached_property
    def _dir_prefix(self) -> str:
        return f"{str(self.submit_dir).rstrip('/')}/"

    def tool(self, name: str) -> str:
        return f"{str(self.tools_dir).rstrip('/')}/{name}"

    def in_dir(self, name: str) -> str:
        return self._dir_prefix + name


_STR = STR


@dataclass(frozen=True)
class NodeJob:
    """What one node needs in the submit dir: its description and its manifest's text."""

    description: Description
    manifest_json: str | None = None
    # True: the manifest is the bundle line at the offset given to node_job (it then
    # carries "node": the node's name); False: the file <node>.json.
    bundled: bool = False

    @property
    def manifest(self) -> dict[str, Any] | None:
        """The manifest as the tool will read it: parsed from its text, in the full form
        (for tests and scripts; the emitter never reads it back)."""
        if self.manifest_json is None:
            return None
        from planner.tools.manifest import expand_manifest  # the tools' own reading

        return expand_manifest(json.loads(self.manifest_json))


def node_job(node: Node, ctx: EmitContext, bundle_offset: int | None = None) -> NodeJob:
    """The submit description (and manifest, if its program reads one) of one node.

    ``bundle_offset``: where this node's manifest line would start in ``manifests.jsonl``
    (the bundle's current size). A manifest the job reads in place (by absolute path: tool
    nodes, and compute/cluster nodes without HTCondor file transfer) then goes there; one
    that travels with the job (``transfer_input_files``) stays its own ``<node>.json``.
    ``None``: every manifest is its own file.
    """
    if node.kind in TOOLS:
        return _tool_job(node, ctx, bundle_offset)
    return _compute_job(node, ctx, bundle_offset)


def _in_place(node: Node, ctx: EmitContext, bundle_offset: int | None) -> list[str]:
    """The arguments naming a manifest the job reads where the emitter wrote it."""
    if bundle_offset is None:
        return [ctx.in_dir(f"{node.name}.json")]
    return [ctx.bundle, str(bundle_offset), node.name]


def _tool_job(node: Node, ctx: EmitContext, bundle_offset: int | None) -> NodeJob:
    text: str | None
    if node.kind is NodeKind.CREATE_DIR:
        text = None
        args = [t.dst for t in node.files]
    else:
        text = tool_manifest_json(node, ctx, bundle_offset is not None)
        args = _in_place(node, ctx, bundle_offset)
    pairs = [
        ("universe", "local"),
        ("executable", ctx.tool(TOOLS[node.kind])),
        ("arguments", quote_arguments(args)),
        ("initialdir", str(ctx.submit_dir)),
    ]
    bundled = text is not None and bundle_offset is not None
    return NodeJob(_finish(node, ctx, pairs), text, bundled)


def tool_manifest_json(node: Node, ctx: EmitContext, named: bool) -> str:
    """A tool node's manifest text, compact (docs/job-tools.md, "Compact form"), plus
    ``"node"`` if ``named``; the tools read it back with ``expand_manifest``."""
    name = f'"node":{_STR(node.name)},' if named else ""
    files = node.files
    if node.kind is NodeKind.CLEANUP:
        return f'{{"files":{files_json([t.dst for t in files])}{"," + name[:-1] if name else ""}}}'
    if node.kind is NodeKind.REGISTER:
        replicas, uses_site = replicas_json(files, node.site)
        # the node's site once for the line, for the replicas that name none of their own
        site = f',"site":{_STR(node.site)}' if uses_site else ""
        return f'{{"catalog":{_STR(ctx.catalog)},{name}"replicas":{replicas}{site}}}'
    http = (
        f'"http":{MANIFEST_ENCODER.encode(dict(ctx.transfer_http))},' if ctx.transfer_http else ""
    )
    return f'{{{http}{name}"transfers":{transfers_json(files)}}}'


class _Shape(NamedTuple):
    """How a compute or cluster node runs: the decisions its submit lines follow from."""

    dc: DataConfiguration
    local: bool  # on the submit host (site "local"): the local universe
    scratch: bool  # the runner pulls inputs into a fresh directory (PegasusLite's way)
    condor_transfer: bool  # HTCondor moves the files between submit and execute host
    collect: bool  # optional outputs travel in OPTIONAL_DIR, which the runner fills
    checks: list[Transfer]  # inputs whose sha256 the job checks before its task
    recorded: list[Transfer]  # outputs whose sha256 the job records after it
    direct: bool  # the task is the job's executable (no runner manifest)
    shipped: str | None  # a staged copy HTCondor ships as the job's executable
    # condorio with file transfer: the one local directory every output lands in under
    # its own name (the job's initialdir), else None (the submit dir, outputs remapped)
    home: str | None


def _compute_job(node: Node, ctx: EmitContext, bundle_offset: int | None) -> NodeJob:
    if not node.tasks:
        raise EmitError(f"node {node.name} ({node.kind.value}) has no task to run")
    shape = _shape(node, ctx)
    pairs: list[tuple[str, str]] = list(
        _LOCAL_UNIVERSE if shape.local else _universe(ctx.site_styles.get(node.site))
    )
    text: str | None = None
    bundled = False
    inputs: list[str] = []
    if shape.direct:
        pairs += _direct_lines(node, ctx, shape)
    else:
        bundled = not shape.condor_transfer and bundle_offset is not None
        text, args, inputs = _runner_manifest(node, ctx, shape, bundled, bundle_offset)
        pairs.append(("executable", ctx.tool(CLUSTER_TOOL)))
        pairs.append(("arguments", quote_arguments(args)))
    pairs += _directory_lines(node, ctx, shape)
    if shape.condor_transfer:
        pairs += _transfer_lines(node, shape, inputs)
    return NodeJob(_finish(node, ctx, pairs), text, bundled)


def _shape(node: Node, ctx: EmitContext) -> _Shape:
    dc = node.data_configuration or ctx.data_configuration
    local = node.site == "local"
    scratch = dc is DataConfiguration.NONSHAREDFS or (dc is DataConfiguration.CONDORIO and local)
    condor_transfer = not local and dc is not DataConfiguration.SHAREDFS
    collect = (
        condor_transfer
        and dc is DataConfiguration.CONDORIO
        and any(t.optional for t in node.outputs)
    )
    # Integrity (docs/job-tools.md): the sha256 of inputs checked in the job before its
    # task, the sha256 of outputs recorded after it in <node>.meta. A scratch job checks
    # its inputs as it pulls them.
    checks = [] if scratch else _checks(node)
    recorded = [t for t in node.outputs if t.meta is not None]
    direct = not (scratch or collect) and _one_plain_task(node)
    shipped = None
    if direct and node.tasks[0].executable.startswith("./"):
        # A staged executable runs from the job's directory: a direct job needs HTCondor
        # to bring it there (condorio, from a local file); else the runner's pull does.
        # Under integrity checks the runner is the executable, so it brings the copy.
        ships = condor_transfer and not (checks or recorded)
        shipped = _staged_file(node, node.tasks[0].executable) if ships else None
        direct = shipped is not None
    home = None
    if collect:
        home = _outputs_home(node)
    elif condor_transfer and dc is DataConfiguration.CONDORIO:
        home = _landing_dir(node, recorded)
    return _Shape(
        dc, local, scratch, condor_transfer, collect, checks, recorded, direct, shipped, home
    )


def _landing_dir(node: Node, recorded: Sequence[Transfer]) -> str | None:
    """The directory all of a condorio job's outputs and its checksum record go to, each
    named by its LFN (plain ``file://`` paths), or None. As the job's ``initialdir`` it
    is where HTCondor brings back every listed output without a ``transfer_output_remaps``
    entry per file, and where a relative ``transfer_input_files`` entry is read from."""
    home = _one_landing(node.outputs)
    for t in node.outputs if home is None else ():
        plain = _LANDING.fullmatch(t.dst)
        if plain is None or plain.group(2) != t.lfn or plain.group(1) != (home or plain.group(1)):
            return None
        home = plain.group(1)
    record = f"file://{home}/{_record_name(node)}"
    if home is not None and recorded and recorded[0].meta != record:
        return None
    return home


def _one_landing(outputs: Sequence[Transfer]) -> str | None:
    """The landing directory of the loop in ``_landing_dir``, found for the usual case
    (two or more outputs, each going to that directory under its LFN) by matching the
    first output and then the other LFNs as one text; None when that does not find it."""
    if len(outputs) < 2:
        return None
    first = _LANDING.fullmatch(outputs[0].dst)
    if first is None or first.group(2) != outputs[0].lfn:
        return None
    home = first.group(1)
    lfns = [t.lfn for t in outputs[1:]]
    text = _joined(lfns, "/")
    if text is None or not _LANDING_NAMES.fullmatch(text):
        return None
    # each then matches _LANDING, with this directory and its own LFN
    head = f"file://{home}/"
    if list(map(head.__add__, lfns)) != [t.dst for t in outputs[1:]]:
        return None
    return home


# A file:// URL of a file named by a plain name in a plain directory (no '%', ',', '$',
# ';', '=', whitespace or NUL): the outputs a landing directory is chosen for.
_LANDING = re.compile(r"file://(/[^%,$;=\s\x00]*[^%,$;=\s\x00/])/([^%,$;=\s\x00/]+)")
_LANDING_NAMES = re.compile(r"[^%,$;=\s\x00/]+(?:/[^%,$;=\s\x00/]+)*")


def _one_plain_task(node: Node) -> bool:
    """A compute node whose one task has no stdin/stdout/stderr: the task can be the
    job's executable (no runner manifest)."""
    only = node.tasks[0]
    return (
        node.kind is NodeKind.COMPUTE
        and len(node.tasks) == 1
        and only.stdin is None
        and only.stdout is None
        and only.stderr is None
    )


def _direct_lines(node: Node, ctx: EmitContext, shape: _Shape) -> list[tuple[str, str]]:
    """The task as the job's executable; under integrity checks, wrapped by the runner."""
    only = node.tasks[0]
    if shape.checks or shape.recorded:  # the task runs inside the checks: --job
        args = _job_args(node, only, shape.checks, shape.recorded)
        pairs = [("executable", ctx.tool(CLUSTER_TOOL)), ("arguments", quote_arguments(args))]
    else:
        pairs = [
            ("executable", shape.shipped or only.executable),
            ("arguments", quote_arguments(only.arguments)),
        ]
    if only.environment or node.profiles.get(Namespace.ENV):
        pairs.append(("environment", quote_environment(_environment(node, only))))
    return pairs


def _runner_manifest(
    node: Node, ctx: EmitContext, shape: _Shape, bundled: bool, bundle_offset: int | None
) -> tuple[str, list[str], list[str]]:
    """The runner's manifest text, the arguments naming it, and the manifest as a
    ``transfer_input_files`` entry when it travels with the job."""
    text = _runner_manifest_json(
        node, shape.scratch, bundled, shape.collect, shape.checks, shape.recorded
    )
    if not shape.condor_transfer:
        return text, _in_place(node, ctx, bundle_offset), []
    name = f"{node.name}.json"
    return text, [name], [check_path_list_item(ctx.in_dir(name), "manifest")]


def _directory_lines(node: Node, ctx: EmitContext, shape: _Shape) -> list[tuple[str, str]]:
    """``transfer_executable`` off the submit host, and where the job runs."""
    pairs = []
    if not shape.local:
        # only a shipped staged copy travels with the job; other executables (installed
        # programs, the wfplan tools) are found on the execute machine
        pairs.append(("transfer_executable", "false" if shape.shipped is None else "true"))
    if shape.dc is DataConfiguration.SHAREDFS and node.working_dir is not None:
        if shape.local:
            return [*pairs, ("initialdir", node.working_dir)]
        pairs.append(("initialdir", str(ctx.submit_dir)))
        return [*pairs, ("remote_initialdir", node.working_dir)]
    return [*pairs, ("initialdir", shape.home or str(ctx.submit_dir))]


def _transfer_lines(node: Node, shape: _Shape, inputs: list[str]) -> list[tuple[str, str]]:
    """HTCondor's file transfer: what goes with the job, what comes back, and the
    removal of a job held on a failed transfer."""
    outputs: list[Transfer] = []
    if shape.dc is DataConfiguration.CONDORIO:
        inputs = [*inputs, *_condor_inputs(node, shape)]
        outputs = list(node.outputs)
        if shape.recorded:  # the record comes back to the staging site with the outputs
            outputs.append(Transfer(_record_name(node), shape.recorded[0].meta or ""))
    pairs = [("should_transfer_files", "YES"), ("when_to_transfer_output", "ON_EXIT")]
    if inputs:
        pairs.append(("transfer_input_files", ",".join(inputs)))
    if shape.collect:
        pairs.append(("transfer_output_files", _collected_outputs(node, outputs)))
    elif shape.home is not None:  # every output lands in initialdir under its own name
        pairs.append(("transfer_output_files", ",".join([t.lfn for t in outputs])))
    elif outputs:
        pairs.extend(_condor_outputs(node, outputs))
    else:  # "": nothing comes back (unset, every new file would land in initialdir)
        pairs.append(("transfer_output_files", '""'))
    pairs.append(("periodic_remove", TRANSFER_HOLD_REMOVE))
    return pairs


def _condor_inputs(node: Node, shape: _Shape) -> list[str]:
    """``transfer_input_files`` entries of a condorio job: its inputs (bar the shipped
    executable) and the checksum records its checks read."""
    shipped = shape.shipped
    inputs = _plain_inputs(node.inputs) if shipped is None else None
    if inputs is None:
        inputs = [
            _condor_input(node, t) for t in node.inputs if shipped is None or not t.executable
        ]
    if shape.checks or shape.recorded:
        inputs += _record_inputs(node, shape.checks)
    home = shape.home
    if home is None:
        return inputs
    # a file in initialdir by its name alone: HTCondor reads a relative entry from there
    head = f"{home}/"
    cut = len(head)
    return [p[cut:] if p.startswith(head) and p.find("/", cut) < 0 else p for p in inputs]


def _staged_file(node: Node, executable: str) -> str | None:
    """The submit host path of the staged copy a task runs as ``./<name>``, when it is a
    local file HTCondor can transfer as the job's executable."""
    name = executable[2:]
    for t in node.inputs:
        if t.executable and t.lfn == name and t.src:
            return url_path(t.src[0])
    return None


def _outputs_home(node: Node) -> str:
    """The one directory all outputs of ``node`` go to, named by their LFNs.

    A node with optional outputs runs with it as ``initialdir``: the contents of
    OPTIONAL_DIR come back there under their own names (HTCondor cannot remap a
    directory, and what it holds is known only when the job ends).
    """
    homes = set()
    for t in node.outputs:
        path = url_path(t.dst)
        head, _, name = (path or "").rpartition("/")
        if path is None or name != t.lfn or not head:
            raise EmitError(
                f"node {node.name}: output {t.lfn!r} goes to {t.dst!r}; with optional "
                "outputs every output must go to a file:// path named by its LFN"
            )
        homes.add(head)
    if len(homes) > 1:
        raise EmitError(
            f"node {node.name}: its outputs go to several directories ({', '.join(sorted(homes))}); "
            "with optional outputs they must share one"
        )
    return check_path_list_item(homes.pop(), f"node {node.name}: output directory")


def _collected_outputs(node: Node, outputs: list[Transfer]) -> str:
    """Required outputs by name, then ``OPTIONAL_DIR/``: a required output the job did
    not make holds the job; an optional one simply is not in the directory."""
    if any(t.lfn == OPTIONAL_DIR for t in outputs):
        raise EmitError(f"node {node.name}: an output named {OPTIONAL_DIR!r} is wfplan's own")
    names = [
        check_path_list_item(t.lfn, f"node {node.name}: output") for t in outputs if not t.optional
    ]
    return ",".join([*names, f"{OPTIONAL_DIR}/"])


def _runner_manifest_json(
    node: Node,
    scratch: bool,
    named: bool,
    collect: bool = False,
    checks: Sequence[Transfer] = (),
    recorded: Sequence[Transfer] = (),
) -> str:
    """The text of a ``wfplan-cluster`` manifest (keys sorted, as MANIFEST_ENCODER).

    Without a scratch dir of its own (whose pulls make staged executables executable),
    ``"executables"`` names the staged copies the tasks run as ``./<name>``: they arrive
    through HTCondor's file transfer or a file server, neither asked to keep modes, so
    the runner makes them executable first, as PegasusLite does. ``collect``: the runner
    moves the optional outputs it finds into ``optional_dir``. ``checks``/``recorded``:
    integrity (docs/job-tools.md).
    """
    tasks = MANIFEST_ENCODER.encode([_task(node, t) for t in node.tasks])
    name = f'"node":{_STR(node.name)},' if named else ""
    head = f'"checks":{MANIFEST_ENCODER.encode(_check_list(checks))},' if checks else ""
    record = ""
    if recorded:
        where = recorded[0].meta if scratch else _record_name(node)
        lfns = [t.lfn for t in recorded]
        record = f'"record":{MANIFEST_ENCODER.encode({"file": where, "lfns": lfns})},'
    if not scratch:
        exes, optional = _in_place_fields(node, collect)
        # no "inputs", "outputs" or "scratch": empty and false are the runner's defaults
        return f'{{{head}{exes}{name}{optional}{record}"tasks":{tasks}}}'

    inputs, outputs = _scratch_transfers(node, bool(recorded))
    return (
        f'{{{head}"inputs":{inputs},{name}"outputs":{outputs},{record}'
        f'"scratch":true,"tasks":{tasks}}}'
    )


def _in_place_fields(node: Node, collect: bool) -> tuple[str, str]:
    """The ``"executables"`` and the optional-output fields of a runner without scratch."""
    staged = sorted({t.executable[2:] for t in node.tasks if t.executable.startswith("./")})
    exes = f'"executables":{MANIFEST_ENCODER.encode(staged)},' if staged else ""
    if not collect:
        return exes, ""
    kept = MANIFEST_ENCODER.encode([t.lfn for t in node.outputs if t.optional])
    return exes, f'"optional_dir":{_STR(OPTIONAL_DIR)},"optional_outputs":{kept},'


def _scratch_transfers(node: Node, recorded: bool) -> tuple[str, str]:
    """The ``"inputs"`` and ``"outputs"`` lists a scratch runner pulls and pushes."""
    # an output's meta names the record this job writes ("record"), not one to read
    pushed = [t._replace(meta=None) for t in node.outputs] if recorded else node.outputs
    return transfers_json(node.inputs), transfers_json(pushed)


def _checks(node: Node) -> list[Transfer]:
    """The inputs whose sha256 is known (from the replica catalog, or from the checksum
    record of the node that made them); a staged executable is not one of them."""
    return [t for t in node.inputs if (t.sha256 or t.meta) and not t.executable]


def _record_name(node: Node) -> str:
    """The checksum record a node writes in its working directory."""
    return record_name(node.name)


def _basename(url: str) -> str:
    # sliced rather than split: a merge job's checks take two per input
    end = len(url.rstrip("/"))
    return url[url.rfind("/", 0, end) + 1 : end]


def _check_list(checks: Sequence[Transfer]) -> list[dict[str, str]]:
    """Checks as the job reads them: a producer's record by its name in the working
    directory (sharedfs: the record is there; condorio: HTCondor brings it there)."""
    return [
        {"lfn": t.lfn, "sha256": t.sha256}
        if t.sha256
        else {"lfn": t.lfn, "meta": _basename(t.meta or "")}
        for t in checks
    ]


def _job_args(
    node: Node, task: Task, checks: Sequence[Transfer], recorded: Sequence[Transfer]
) -> list[str]:
    """``wfplan-cluster --job ...``: one task run through the integrity checks (a check
    as :func:`_check_list` gives it: a known sha256, else the producer's record)."""
    args = ["--job"]
    for t in checks:
        if t.sha256:
            args += ("--sha256", t.lfn, t.sha256)
        else:
            args += ("--check", t.lfn, _basename(t.meta or ""))
    for t in recorded:
        args += ("--output", t.lfn)
    if recorded:
        args += ("--record", _record_name(node))
    return [*args, "--", task.executable, *task.arguments]


def _record_inputs(node: Node, checks: Sequence[Transfer]) -> list[str]:
    """``transfer_input_files`` entries for the producers' checksum records the checks
    read, each once. Refused when a record's name is also the name of one of the job's
    files (HTCondor would put both in one place)."""
    names = {t.lfn for t in node.inputs} | {t.lfn for t in node.outputs}
    if _record_name(node) in names:
        raise EmitError(
            f"node {node.name}: a file is named {_record_name(node)!r}, the name of the "
            "node's checksum record (set pegasus.integrity.checking = none, or rename it)"
        )
    seen = dict.fromkeys([t.meta for t in checks if t.meta and not t.sha256])
    paths = _plain_paths(list(seen))
    if paths is not None and names.isdisjoint(_last_parts(paths)):
        return paths  # the usual case, each record as the loop below gives it
    entries = []
    plain_url = _PLAIN_FILE_URL.fullmatch  # one lookup: a merge job reads 10^5 records
    for meta in seen:
        if _basename(meta) in names:
            raise EmitError(
                f"node {node.name}: input {_basename(meta)!r} has the name of a checksum record"
            )
        plain = plain_url(meta)  # the usual case: nothing to decode or check
        if plain is not None:
            entries.append(plain[1])
            continue
        path = url_path(meta)
        entries.append(check_path_list_item(path if path is not None else meta, "record"))
    return entries


def _environment(node: Node, task: Task) -> dict[str, str]:
    env = dict(node.profiles.get(Namespace.ENV, {}))
    env.update(task.environment)
    return env


def _task(node: Node, task: Task) -> dict[str, Any]:
    """A runner task; no arguments, no environment and no stdio (the runner's defaults)
    are left out."""
    record: dict[str, Any] = {"id": task.job_id, "executable": task.executable}
    if task.arguments:
        record["arguments"] = list(task.arguments)
    env = _environment(node, task)
    if env:
        record["environment"] = dict(sorted(env.items()))
    for key, value in (("stdin", task.stdin), ("stdout", task.stdout), ("stderr", task.stderr)):
        if value is not None:
            record[key] = value
    return record


def url_path(url: str) -> str | None:
    """The local path of a ``file://`` URL, else None."""
    if url.startswith("file:///"):
        return unquote(url[7:])
    parts = urlsplit(url)
    if parts.scheme != "file":
        return None
    return unquote(parts.path)


# A file:// URL whose path needs no decoding, quoting or checking for a submit file list
# (no '%', ',', '$', ';', '=', whitespace or NUL; no trailing '/'): the common case, taken
# without the general code below, which gives the same result for it.
_PLAIN_FILE_URL = re.compile(r"file://(/[^%,$;=\s\x00]*[^%,$;=\s\x00/])")
_PLAIN_NAME = re.compile(r"[^%,$;=\s\x00/]+")
# Such URLs one a line (none holds a line break: whitespace): a merge job's 10^5 inputs
# and records are matched as one text, not one call each.
_PLAIN_FILE_URLS = re.compile(rf"{_PLAIN_FILE_URL.pattern}(?:\n{_PLAIN_FILE_URL.pattern})*")
_AFTER_SCHEME = itemgetter(slice(len("file://"), None))


def _plain_paths(urls: list[Any]) -> list[str] | None:
    """The paths of ``urls`` (as ``_PLAIN_FILE_URL`` gives each) when every one is a
    plain file:// URL, else None."""
    text = _joined(urls, "\n")
    if text is None or not _PLAIN_FILE_URLS.fullmatch(text):
        return None
    return list(map(_AFTER_SCHEME, urls))


def _joined(values: list[Any], sep: str) -> str | None:
    """``values`` joined by ``sep`` when every one is a string without ``sep`` in it
    (so a pattern over the whole text checks each value), else None."""
    try:
        text = sep.join(values)
    except TypeError:  # a value of another type
        return None
    return text if text.count(sep) == len(values) - 1 else None


def _last_parts(paths: list[str]) -> list[str]:
    """What follows the last '/' of each path."""
    return list(map(_THIRD, map(str.rpartition, paths, repeat("/"))))


_THIRD = itemgetter(2)


def _plain_inputs(inputs: Sequence[Transfer]) -> list[str] | None:
    """``transfer_input_files`` entries of inputs that all come from plain file:// URLs
    named by their LFNs (what ``_condor_input`` gives each in that case), else None."""
    try:
        srcs = [t.src[0] for t in inputs]
    except IndexError:  # an input without a source: _condor_input says so
        return None
    paths = _plain_paths(srcs)
    if paths is None or _last_parts(paths) != [t.lfn for t in inputs]:
        return None
    return paths


def _condor_input(node: Node, t: Transfer) -> str:
    """One ``transfer_input_files`` entry: HTCondor names the copy by its basename."""
    src = t.src[0] if t.src else ""
    plain = _PLAIN_FILE_URL.fullmatch(src)
    if plain is not None:
        path = plain.group(1)
        if path.rpartition("/")[2] == t.lfn:
            return path
    if not t.src:
        raise EmitError(f"node {node.name}: input {t.lfn!r} has no source URL")
    src = t.src[0]
    path = url_path(src)
    if path is None and urlsplit(src).scheme not in ("http", "https"):
        raise EmitError(
            f"node {node.name}: input {t.lfn!r} comes from {src!r}; HTCondor file transfer "
            "needs a file:// or http(s):// URL"
        )
    entry = path if path is not None else src
    name = _basename(entry)
    if name != t.lfn:
        raise EmitError(
            f"node {node.name}: input {t.lfn!r} would arrive as {name!r} "
            f"(HTCondor names a transferred file by the basename of {src!r}); "
            "stage it to a file named by its LFN first"
        )
    return check_path_list_item(entry, f"node {node.name}: input")


def _condor_outputs(node: Node, outputs: list[Transfer]) -> Iterator[tuple[str, str]]:
    # The usual case, on its own path: plain names going to plain file:// URLs.
    fast: list[str] = []
    for t in outputs:
        plain = _PLAIN_FILE_URL.fullmatch(t.dst)
        if plain is None or not _PLAIN_NAME.fullmatch(t.lfn):
            break
        fast.append(f"{t.lfn}={plain.group(1)}")
    else:
        yield ("transfer_output_files", ",".join([t.lfn for t in outputs]))
        yield ("transfer_output_remaps", '"' + ";".join(fast) + '"')
        return
    names = [check_path_list_item(t.lfn, f"node {node.name}: output") for t in outputs]
    yield ("transfer_output_files", ",".join(names))
    remaps = []
    for t in outputs:
        path = url_path(t.dst)
        if path is None or path == t.lfn:
            continue
        if any(c in path + t.lfn for c in ";="):
            raise EmitError(f"node {node.name}: output path {path!r} cannot hold ';' or '='")
        remaps.append(f"{t.lfn}={path}")
    if remaps:
        yield ("transfer_output_remaps", '"' + ";".join(remaps).replace("$", "$(DOLLAR)") + '"')


def _finish(node: Node, ctx: EmitContext, pairs: list[tuple[str, str]]) -> Description:
    """Add logs and the node's condor profiles, then ``queue``."""
    prefix = ctx.in_dir(node.name)
    pairs.append(("output", f"{prefix}.out"))
    pairs.append(("error", f"{prefix}.err"))
    pairs.append(("log", ctx.log))
    # Pegasus's job attribute: a pool whose machines advertise their site (or a
    # requirements profile reading it) runs each job where it was planned.
    pairs.append(("+pegasus_site", _classad_string(node.site)))
    tx = node.transformation
    runs_tasks = node.kind in _RUNS_TASKS
    if tx and runs_tasks:
        # ``wfplan run`` and condor_q users group jobs by it (Pegasus: pegasus_wf_xformation).
        pairs.append(("+wfplan_transformation", _classad_string(tx)))
    if runs_tasks:
        pairs.extend(_resource_lines(node, ctx))
    if node.profiles.get(Namespace.CONDOR):
        pairs = _apply_condor_profiles(node, pairs, ctx.site_styles.get(node.site))
    pairs.append(_QUEUE)
    return tuple(pairs)


_RUNS_TASKS = frozenset((NodeKind.COMPUTE, NodeKind.CLUSTER))
_QUEUE = ("queue", "")
_classad_string = functools.lru_cache(maxsize=1024)(classad_string)
_LOCAL_UNIVERSE = (("universe", "local"),)
_VANILLA = (("universe", "vanilla"),)


@functools.lru_cache(maxsize=256)
def _universe(style: SiteStyle | None) -> tuple[tuple[str, str], ...]:
    """The universe lines of a job on a non-local site, once per site style."""
    if style is None or style.grid_resource is None:
        return _VANILLA
    pairs = [("universe", "grid"), ("grid_resource", style.grid_resource)]
    if style.remote_universe:
        pairs.append(("remote_universe", style.remote_universe))
    return tuple(pairs)


def _resource_lines(node: Node, ctx: EmitContext) -> tuple[tuple[str, str], ...]:
    """``request_*`` from ``pegasus.cores|memory|diskspace`` (a condor profile of the same
    name still wins: it is applied after) and, on a glite site, the batch system's queue
    and ``+remote_cerequirements``."""
    pegasus = node.profiles.get(Namespace.PEGASUS)
    if not pegasus:
        return ()
    key = (id(pegasus), node.site)
    known = ctx._resources.get(key)
    clustered = node.kind is NodeKind.CLUSTER
    if known is not None and known[0] is pegasus and not clustered:
        return known[1]
    style = ctx.site_styles.get(node.site) if node.site != "local" else None
    lines = _requests(node, pegasus)
    if style is not None and style.style is Style.GLITE and style.grid_resource:
        if clustered and pegasus.get("runtime") is not None:
            # the batch system must allow the members' whole sequence, not the first's
            total = sum(t.runtime or 0.0 for t in node.tasks)
            pegasus = {**pegasus, "runtime": repr(total)} if total > 0 else pegasus
        lines += _glite_lines(node, pegasus, style.grid_resource.split()[1])
    if not clustered:
        ctx._resources[key] = (pegasus, lines)
    return lines


# pegasus profile -> (submit key, factor): HTCondor counts request_memory in MiB as
# Pegasus's memory is, request_disk in KiB where Pegasus's diskspace is MB.
_REQUESTS = (
    ("cores", "request_cpus", 1),
    ("memory", "request_memory", 1),
    ("diskspace", "request_disk", 1024),
)


def _requests(node: Node, pegasus: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    lines = []
    for name, key, factor in _REQUESTS:
        value = pegasus.get(name)
        if value is not None:
            lines.append((key, str(_positive_int(node, name, value) * factor)))
    return tuple(lines)


def _glite_lines(
    node: Node, pegasus: Mapping[str, str], system: str
) -> tuple[tuple[str, str], ...]:
    """Pegasus's glite style: what the batch GAHP's ``*_local_submit_attributes.sh`` turn
    into the batch system's directives (``#SBATCH --ntasks`` ...)."""
    terms = ["PASSENV==1"]
    queue = pegasus.get("queue")
    if queue:
        terms.append(f"QUEUE=={classad_string(queue)}")
    for name, attr in (("nodes", "NODES"), ("cores", "CORES"), ("ppn", "PROCS")):
        value = pegasus.get(name)
        if value is not None:
            terms.append(f'{attr}=="{_positive_int(node, name, value)}"')
    runtime = pegasus.get("runtime")
    if runtime is not None:
        terms.append(f'WALLTIME=="{_walltime(node, runtime, system)}"')
    memory = pegasus.get("memory")
    if memory is not None:
        terms.append(f'TOTAL_MEMORY=="{_positive_int(node, "memory", memory)}"')
    for name, attr in (("project", "PROJECT"), ("glite.arguments", "EXTRA_ARGUMENTS")):
        value = pegasus.get(name)
        if value:
            terms.append(f"{attr}=={classad_string(value)}")
    lines = [("+remote_cerequirements", " && ".join(terms))]
    if queue:
        lines.append(("batch_queue", _submit_word(node, "queue", queue)))
    return tuple(lines)


def _walltime(node: Node, runtime: str, system: str) -> str:
    """Seconds as the batch system's wall time, rounded up to a whole minute as Pegasus
    does: ``hh:mm:ss``, or LSF's ``[hh:]mm``."""
    try:
        seconds = float(runtime)
    except ValueError:
        seconds = -1.0
    if not seconds > 0 or math.isinf(seconds):
        raise EmitError(
            f"node {node.name}: profile pegasus.runtime {runtime!r} is not a positive number"
        )
    minutes = math.ceil(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    if system == "lsf":
        return f"{hours:02d}:{minutes:02d}" if hours else f"{minutes:02d}"
    return f"{hours:02d}:{minutes:02d}:00"


def _positive_int(node: Node, name: str, value: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        number = 0
    if number < 1:
        raise EmitError(
            f"node {node.name}: profile pegasus.{name} {value!r} is not a positive integer"
        )
    return number


def _submit_word(node: Node, name: str, value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.@:+-]+", value):
        raise EmitError(f"node {node.name}: profile pegasus.{name} {value!r} is not one word")
    return value


def _apply_condor_profiles(
    node: Node, pairs: list[tuple[str, str]], style: SiteStyle | None = None
) -> list[tuple[str, str]]:
    condor: Mapping[str, str] = node.profiles.get(Namespace.CONDOR, {})
    if not condor:
        return pairs
    # a grid style already turned these into its universe lines (sites/style.py)
    consumed = STYLE_CONDOR_KEYS if style is not None and style.grid_resource else frozenset()
    index = {key: i for i, (key, _) in enumerate(pairs)}
    extra: list[tuple[str, str]] = []
    for key in sorted(condor):
        if key.lower() in consumed:
            continue
        value = str(condor[key])
        if not _SUBMIT_KEY.fullmatch(key):
            raise EmitError(f"node {node.name}: condor profile key {key!r} is not a submit key")
        if key.lower() in _OWNED:
            raise EmitError(
                f"node {node.name}: condor profile {key!r} would replace what wfplan writes"
            )
        if "\n" in value or "\r" in value:
            raise EmitError(f"node {node.name}: condor profile {key!r} holds a line break")
        low = key.lower()
        if low in _PERIODIC_REMOVE and "periodic_remove" in index:
            # ours must survive: the job would otherwise wait on a transfer hold for ever
            at = index["periodic_remove"]
            pairs[at] = ("periodic_remove", f"({value}) || ({pairs[at][1]})")
            continue
        if key.startswith("+") and not _CLASSAD_LITERAL.fullmatch(value):
            value = classad_string(value)
        if key in index:
            pairs[index[key]] = (key, value)
        else:
            extra.append((key, value))
    return pairs + extra


def yield_submit_lines(description: Description) -> Iterator[str]:
    """The text of a submit description, one line per key, ``queue`` last."""
    for key, value in description:
        yield key if key == "queue" else f"{key} = {value}"
