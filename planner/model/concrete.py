"""The concrete workflow: what the planner decided, node by node.

Passes build it; ``planner.emit`` turns it into the submit directory (``.dag``, ``.sub``,
``plan.json``); ``explain`` and the simulator read ``plan.json``. All URLs are absolute
(``file:///...``, ``http://...``); a bare LFN as a ``dst`` means "in the job's working
directory".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from typing import Any, Generic, NamedTuple, TypeVar, cast, overload

from planner.model.base import Profiles
from sites.style import SiteStyle

# Integrity checking (docs/job-tools.md): each compute or cluster node writes the sha256 of
# its outputs to a checksum record named after it, beside them on its staging site.
RECORD_SUFFIX = ".meta"


def record_name(node_name: str) -> str:
    """The file name of the checksum record node ``node_name`` writes."""
    return node_name + RECORD_SUFFIX


class NodeKind(str, Enum):
    COMPUTE = "compute"
    CLUSTER = "cluster"
    STAGE_IN = "stage_in"
    STAGE_INTER = "stage_inter"
    STAGE_OUT = "stage_out"
    REGISTER = "register"
    CREATE_DIR = "create_dir"
    CLEANUP = "cleanup"


class DataConfiguration(str, Enum):
    SHAREDFS = "sharedfs"
    NONSHAREDFS = "nonsharedfs"
    CONDORIO = "condorio"


class _TransferTuple(NamedTuple):
    """The seven slots a :class:`Transfer` is stored in (see there)."""

    lfn: str
    dst: str
    src: tuple[str, ...] = ()
    size: int | None = None
    site: str | None = None
    meta: str | None = None
    # None, or (sha256, symlink, executable, optional) when any differs from its default
    more: tuple[str | None, bool, bool, bool] | None = None


# A plan holds about seven transfers per job (700,000 at 10^5 jobs). Ten tuple slots take
# 128 bytes an object, seven 96: the four fields that are almost always at their default
# share one slot, ``more``, which is None then (flag-only combinations share one tuple).
_PLAIN: tuple[str | None, bool, bool, bool] = (None, False, False, False)
_FLAGS: dict[tuple[str | None, bool, bool, bool], tuple[str | None, bool, bool, bool]] = {}


def more_slot(
    sha256: str | None, symlink: bool, executable: bool, optional: bool
) -> tuple[str | None, bool, bool, bool] | None:
    """The ``more`` slot of these four fields."""
    if sha256 is None and not (symlink or executable or optional):
        return None
    more = (sha256, bool(symlink), bool(executable), bool(optional))
    if sha256 is None:
        return _FLAGS.setdefault(more, more)
    return more


_V = TypeVar("_V")


class _Packed(Generic[_V]):
    """A transfer field kept in its ``more`` slot: item ``index`` of it, or ``default``
    when the slot is None (the four fields there all at their defaults)."""

    __slots__ = ("_default", "_index")

    def __init__(self, index: int, default: _V) -> None:
        self._index = index
        self._default = default

    @overload
    def __get__(self, t: None, owner: object = None) -> _Packed[_V]: ...
    @overload
    def __get__(self, t: _TransferTuple, owner: object = None) -> _V: ...
    def __get__(self, t: _TransferTuple | None, owner: object = None) -> _V | _Packed[_V]:
        if t is None:
            return self
        more = t.more
        return self._default if more is None else more[self._index]  # type: ignore[return-value]


class Transfer(_TransferTuple):
    """One file to move. ``src`` lists candidate URLs, best first (ordered fallbacks).

    For ``register`` nodes ``dst`` is the PFN to record; for ``create_dir`` and
    ``cleanup`` nodes ``src`` is empty and ``dst`` is the directory/file URL to create or
    remove.

    Fields (:data:`TRANSFER_FIELDS`, the constructor's order): ``lfn``, ``dst``, ``src``,
    ``sha256``, ``symlink``, ``size``, ``site`` (the site ``dst`` belongs to; register:
    the PFN's site), ``executable`` (a staged executable: make ``dst`` executable after
    the copy), ``optional`` (an output the job may not create: its Use was optional),
    ``meta`` (the URL of the checksum record, ``<producer node>.meta``, JSON
    ``{lfn: sha256}``, that holds this file's sha256 when it is only known once the
    producer ran).

    A tuple of seven slots (:class:`_TransferTuple`): ``sha256``, ``symlink``,
    ``executable`` and ``optional`` are read through properties from one slot. Build one
    with ``Transfer(...)`` or :func:`transfer` (the same fields; the class hands its
    arguments to that function), or from the seven slots with :data:`make_transfer`;
    ``_replace`` takes the stored slots (``lfn``, ``dst``, ``src``, ``size``, ``site``,
    ``meta``).
    """

    __slots__ = ()

    def __new__(cls, *args: Any, **fields: Any) -> Transfer:
        return transfer(*args, **fields)

    def __getnewargs__(self) -> tuple[Any, ...]:  # pickle and copy call __new__ with these
        return tuple(getattr(self, f) for f in TRANSFER_FIELDS)

    def _asdict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in TRANSFER_FIELDS}

    def _replace(self, /, **changes: Any) -> Transfer:
        if changes.keys() <= _STORED:  # the common case (``meta=None``): slots as they are
            return super()._replace(**changes)
        values = self._asdict()
        unknown = changes.keys() - values.keys()
        if unknown:
            raise ValueError(f"Got unexpected field names: {sorted(unknown)!r}")
        values.update(changes)
        return Transfer(**values)

    # the fields kept in ``more``, in more_slot's order
    sha256: _Packed[str | None] = _Packed(0, None)
    symlink: _Packed[bool] = _Packed(1, False)
    executable: _Packed[bool] = _Packed(2, False)
    optional: _Packed[bool] = _Packed(3, False)


_STORED = frozenset(("lfn", "dst", "src", "size", "site", "meta"))
TRANSFER_FIELDS = (
    "lfn",
    "dst",
    "src",
    "sha256",
    "symlink",
    "size",
    "site",
    "executable",
    "optional",
    "meta",
)


class Task(NamedTuple):
    """One abstract job as it will execute inside a compute or cluster node.

    A NamedTuple like :class:`Transfer` (one per job, built by the planner from checked
    values). ``environment`` is read-only: tasks without environment profiles share one
    empty dict (the default).
    """

    job_id: str
    transformation: str
    # absolute path on the site; a staged (stageable) executable: its copy in the shared
    # scratch (sharedfs), else ``./<name>`` in the job's own directory
    executable: str
    arguments: tuple[str, ...] = ()
    environment: dict[str, str] = {}
    stdin: str | None = None
    stdout: str | None = None
    stderr: str | None = None
    runtime: float | None = None  # seconds, from pegasus.runtime or the source trace


class Node(NamedTuple):
    """One DAG node. Compute and cluster nodes carry ``tasks``; the others ``files``.

    ``inputs``/``outputs`` (compute/cluster) say how each file reaches the job's working
    directory and where its outputs go, independently of the data configuration: the
    emitter turns them into nothing (sharedfs), ``transfer_input_files`` /
    ``transfer_output_files`` (condorio) or the cluster runner's pull/push manifest
    (nonsharedfs).

    A NamedTuple like :class:`Transfer`, not a frozen dataclass: a plan builds each node
    twice (staging, then once more at its final level), and a frozen dataclass sets every
    field through ``object.__setattr__`` (22k instructions for these 15 fields, against
    2.9k for ``Node._make``; a field read costs about the same). Change one with
    ``node._replace(level=3)``. ``profiles`` is read-only: nodes without profiles share
    one empty dict (the default).
    """

    name: str
    kind: NodeKind
    site: str
    level: int
    transformation: str | None = None
    jobs: tuple[str, ...] = ()
    tasks: tuple[Task, ...] = ()
    files: tuple[Transfer, ...] = ()
    inputs: tuple[Transfer, ...] = ()
    outputs: tuple[Transfer, ...] = ()
    working_dir: str | None = None  # absolute path where the job runs (initialdir)
    data_configuration: DataConfiguration | None = None
    staging_site: str | None = None
    profiles: Profiles = {}  # merged: condor, dagman, env, pegasus
    reasons: tuple[str, ...] = ()  # human-readable "why" lines for ``wfplan explain``


# The passes build millions of transfers and nodes. A class called with keyword arguments
# goes through type.__call__, which packs them into a fresh dict on every call; a plain
# function called with keywords does not. These two builders take the fields by keyword
# (readable call sites): a transfer built so costs 4.1k instructions, against 6.4k for
# ``Transfer(lfn=..., ...)`` (callgrind, 20,000 of each). A field added to the class must
# be added here too (tests/planner/model/test_concrete.py checks both).
#
# Where a pass builds one per file it gives the stored slots in order to ``make_transfer``
# / ``make_node``: the NamedTuple's ``_make`` is a Python function around
# ``tuple.__new__(cls, values)``; these call that from C (a partial), without a frame.
make_transfer = cast("Callable[[Iterable[Any]], Transfer]", partial(tuple.__new__, Transfer))


def transfer(
    lfn: str,
    dst: str,
    src: tuple[str, ...] = (),
    sha256: str | None = None,
    symlink: bool = False,
    size: int | None = None,
    site: str | None = None,
    executable: bool = False,
    optional: bool = False,
    meta: str | None = None,
) -> Transfer:
    """A :class:`Transfer` (see the note above on why not ``Transfer(...)``)."""
    return make_transfer(
        (lfn, dst, src, size, site, meta, more_slot(sha256, symlink, executable, optional))
    )


_NO_PROFILES: Profiles = Node._field_defaults["profiles"]  # shared, read-only
make_node = cast("Callable[[Iterable[Any]], Node]", partial(tuple.__new__, Node))


def node(
    name: str,
    kind: NodeKind,
    site: str,
    level: int,
    transformation: str | None = None,
    jobs: tuple[str, ...] = (),
    tasks: tuple[Task, ...] = (),
    files: tuple[Transfer, ...] = (),
    inputs: tuple[Transfer, ...] = (),
    outputs: tuple[Transfer, ...] = (),
    working_dir: str | None = None,
    data_configuration: DataConfiguration | None = None,
    staging_site: str | None = None,
    profiles: Profiles = _NO_PROFILES,
    reasons: tuple[str, ...] = (),
) -> Node:
    """A :class:`Node` (see the note above on why not ``Node(...)``)."""
    return make_node(
        (
            name,
            kind,
            site,
            level,
            transformation,
            jobs,
            tasks,
            files,
            inputs,
            outputs,
            working_dir,
            data_configuration,
            staging_site,
            profiles,
            reasons,
        )
    )


def at_level(n: Node, level: int) -> Node:
    """``n`` at DAG level ``level`` (the planner sets every node's final level last):
    ``n._replace(level=level)`` without its keyword dict and field-name loop."""
    return make_node((*n[:3], level, *n[4:]))


@dataclass(frozen=True, slots=True)
class SubWorkflowNode:
    """A sub-workflow job as a DAGMan ``SUBDAG EXTERNAL`` node (issue 17).

    ``kind`` is ``pegasusWorkflow`` (planned by the node's PRE script into the sub-directory
    ``job`` of the submit dir, with ``arguments`` for ``wfplan plan``) or ``condorWorkflow``
    (``url`` is the ready ``.dag``). ``outputs`` are the LFNs it stages out to the parent's
    output site.
    """

    name: str
    job: str
    kind: str
    file: str
    url: str
    arguments: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    level: int = 1
    retry: int = 1
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Pruned:
    job: str
    reason: str


@dataclass(frozen=True, slots=True)
class ConcreteWorkflow:
    """The planner's answer: nodes in a deterministic order and (parent, child) edges."""

    name: str
    nodes: tuple[Node, ...]
    # (parent, child) node names: the planner's are an ``Edges`` (integer pairs, read as
    # name pairs); a tuple of pairs is the same to every reader
    edges: Sequence[tuple[str, str]] = ()
    pruned: tuple[Pruned, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    # abstract job id -> why it went to its site / which replica was chosen, for explain
    decisions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # execution site -> how its jobs reach it (pegasus.style); a site not listed is the
    # local pool's vanilla universe (Pegasus's condor style)
    site_styles: dict[str, SiteStyle] = field(default_factory=dict)
    # sub-workflow nodes, and the edges with one of them at either end (kept apart so
    # that everything written for ordinary nodes is unchanged)
    subworkflows: tuple[SubWorkflowNode, ...] = ()
    subworkflow_edges: tuple[tuple[str, str], ...] = ()
