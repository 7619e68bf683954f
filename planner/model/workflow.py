"""The abstract workflow: jobs that name logical transformations and read/write LFNs.

Readers in ``planner.formats`` build these; passes read them and never mutate them.
Arguments are a tuple of argv words; a file appears among them by its LFN, which is also
its path relative to the job's working directory at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from functools import cached_property
from typing import Any, Generic, TypeVar

from pydantic import ConfigDict, Field

from catalogs.replica import ReplicaCatalog
from catalogs.transformation import TransformationCatalog
from planner.model.base import Frozen, Profiles
from sites.model import SiteCatalog


class LinkType(str, Enum):
    INPUT = "input"
    OUTPUT = "output"
    INOUT = "inout"
    CHECKPOINT = "checkpoint"
    NONE = "none"


_INPUT, _OUTPUT, _INOUT, _CHECKPOINT = (
    LinkType.INPUT,
    LinkType.OUTPUT,
    LinkType.INOUT,
    LinkType.CHECKPOINT,
)
_T = TypeVar("_T")


class _computed_once(Generic[_T]):
    """``functools.cached_property`` without its lock (Python 3.11 takes an RLock on every
    first access, which was a visible share of planning 10^5 jobs): the value goes into
    the instance dict, which then shadows this non-data descriptor. Two threads racing on
    a first access both compute the same immutable tuple, which is harmless."""

    def __init__(self, fn: Callable[[Any], _T]) -> None:
        self._fn = fn
        self._name = fn.__name__
        self.__doc__ = fn.__doc__

    def __get__(self, obj: Any, cls: type | None = None) -> _T:
        if obj is None:
            return self  # type: ignore[return-value]
        value = self._fn(obj)
        # object.__setattr__, not ``obj.__dict__[name] = ...``: the generic path keeps an
        # instance dict that shares its class's key table split (313 vs 377 bytes a job
        # built by the readers' make_job, which makes the views this way)
        object.__setattr__(obj, self._name, value)
        return value


READ_LINKS = frozenset({LinkType.INPUT, LinkType.INOUT})
WRITE_LINKS = frozenset({LinkType.OUTPUT, LinkType.INOUT, LinkType.CHECKPOINT})


class Use(Frozen):
    """One file a job uses. Missing stage_out/register_replica mean True, as in Pegasus."""

    lfn: str
    link: LinkType
    stage_out: bool = True
    register_replica: bool = True
    optional: bool = False
    bypass: bool = False
    size: int | None = None

    # Identity tests (members are singletons), a little cheaper than a set lookup; these
    # are asked millions of times per plan.
    @property
    def is_input(self) -> bool:
        link = self.link
        return link is _INPUT or link is _INOUT

    @property
    def is_output(self) -> bool:
        link = self.link
        return link is _OUTPUT or link is _INOUT or link is _CHECKPOINT


def transformation_key(namespace: str | None, name: str, version: str | None) -> str:
    """Pegasus's fully qualified name ``ns::name:version`` (parts omitted when absent)."""
    key = f"{namespace}::{name}" if namespace else name
    return f"{key}:{version}" if version else key


class Job(Frozen):
    """One abstract job: an invocation of a logical transformation."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", defer_build=True, ignored_types=(_computed_once,)
    )

    id: str
    name: str  # the transformation's logical name
    namespace: str | None = None
    version: str | None = None
    node_label: str | None = None
    arguments: tuple[str, ...] = ()
    uses: tuple[Use, ...] = ()
    profiles: Profiles = Field(default_factory=dict)
    stdin: str | None = None
    stdout: str | None = None
    stderr: str | None = None

    @property
    def transformation(self) -> str:
        return transformation_key(self.namespace, self.name, self.version)

    # (the link sets, not Use.is_input/is_output: a property call per use was a visible
    # share of the first reads at 10^5 jobs)
    @_computed_once
    def inputs(self) -> tuple[Use, ...]:
        return tuple(u for u in self.uses if u.link in READ_LINKS)

    @_computed_once
    def outputs(self) -> tuple[Use, ...]:
        return tuple(u for u in self.uses if u.link in WRITE_LINKS)


class SubWorkflowKind(str, Enum):
    """Pegasus's job types for a workflow run as one job of its parent."""

    PEGASUS = "pegasusWorkflow"  # an abstract workflow, planned when the job is ready
    CONDOR = "condorWorkflow"  # a ready DAGMan file, run as given


class SubWorkflow(Frozen):
    """A job that runs a whole workflow (a DAGMan ``SUBDAG EXTERNAL`` node).

    ``file`` is the LFN of the workflow (or ``.dag``) file, found through the replica
    catalog like any input; the parent never reads it. ``arguments`` are the pegasus-plan
    arguments the sub-workflow is planned with; ``uses`` are the files it reads and writes
    besides its own file (its outputs reach the parent's output site).
    """

    id: str
    kind: SubWorkflowKind
    file: str
    arguments: tuple[str, ...] = ()
    uses: tuple[Use, ...] = ()
    profiles: Profiles = Field(default_factory=dict)
    node_label: str | None = None

    @property
    def inputs(self) -> tuple[Use, ...]:
        return tuple(u for u in self.uses if u.link in READ_LINKS)

    @property
    def outputs(self) -> tuple[Use, ...]:
        return tuple(u for u in self.uses if u.link in WRITE_LINKS)


class Workflow(Frozen):
    """An abstract workflow, as read from a file or built with the Python API.

    ``dependencies`` holds the explicit (parent, child) edges; edges implied by files
    (producer -> consumer) are derived by ``planner.model.graph``. ``source`` is the file
    the workflow came from, for error messages.

    Sub-workflow jobs are kept apart from ``jobs`` (the passes plan ordinary jobs only);
    ``subworkflow_edges`` holds the explicit edges with a sub-workflow at either end.
    """

    name: str
    jobs: tuple[Job, ...]
    dependencies: tuple[tuple[str, str], ...] = ()
    replica_catalog: ReplicaCatalog | None = None
    transformation_catalog: TransformationCatalog | None = None
    site_catalog: SiteCatalog | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    source: str | None = None
    subworkflows: tuple[SubWorkflow, ...] = ()
    subworkflow_edges: tuple[tuple[str, str], ...] = ()

    @cached_property
    def job_by_id(self) -> dict[str, Job]:
        """Jobs by id (the first one wins if ids repeat; validation reports repeats)."""
        index: dict[str, Job] = {}
        for job in self.jobs:
            index.setdefault(job.id, job)
        return index
