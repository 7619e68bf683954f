"""The abstract workflow: jobs that name logical transformations and read/write LFNs.

Readers in ``planner.formats`` build these; passes read them and never mutate them.
Arguments are a tuple of argv words; a file appears among them by its LFN, which is also
its path relative to the job's working directory at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, make_dataclass
from enum import Enum
from operator import attrgetter
from typing import Any, ClassVar, TypeVar

from catalogs.replica import ReplicaCatalog
from catalogs.transformation import TransformationCatalog
from planner.model.base import Profiles
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

READ_LINKS = frozenset({LinkType.INPUT, LinkType.INOUT})
WRITE_LINKS = frozenset({LinkType.OUTPUT, LinkType.INOUT, LinkType.CHECKPOINT})

# how a frozen dataclass fills its own fields (the generated __init__ does the same)
_set = object.__setattr__
_ID = attrgetter("id")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Use:
    """One file a job uses. Missing stage_out/register_replica mean True, as in Pegasus.

    A frozen slotted dataclass, not a NamedTuple: the passes read its fields millions of
    times, and a slot is read by a specialised instruction, a NamedTuple field through a
    descriptor call (about twice the instructions). Readers build it with :meth:`make`.
    """

    lfn: str
    link: LinkType
    stage_out: bool = True
    register_replica: bool = True
    optional: bool = False
    bypass: bool = False
    size: int | None = None

    # ``Use(...)`` of checked values, every field positional, for about a third of its
    # instructions (see ``Job.make``); set below the class
    make: ClassVar[Callable[..., Use]]

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


def _twin(cls: type, name: str) -> type:
    """A class of ``cls``'s fields in ``cls``'s slot order (so the same memory layout),
    made by ``dataclasses`` with a plain ``__init__`` that stores each field, not frozen:
    what ``make`` builds and then turns into a ``cls`` (Python allows ``__class__``
    assignment between classes of one layout). Never seen anywhere else."""
    twin = make_dataclass(name, [(f.name, f.type) for f in fields(cls)], slots=True)
    if getattr(twin, "__slots__", None) != getattr(cls, "__slots__", ()):
        raise TypeError(f"{name} must have {cls.__name__}'s memory layout")
    return twin


def _maker(cls: type[T], twin: type) -> Callable[..., T]:
    """``cls``'s fast constructor: ``cls(...)`` of a frozen dataclass sets each field
    through ``object.__setattr__`` (about 1,000 instructions a field); this stores them
    into ``twin`` (see :func:`_twin`), which then becomes the ``cls`` it is: about a
    quarter of the instructions, and no frozen object is ever written to."""

    def make(*values: Any) -> T:
        made = twin(*values)
        made.__class__ = cls
        return made

    return make


_UseFields = _twin(Use, "_UseFields")
Use.make = staticmethod(_maker(Use, _UseFields))


def split_uses(uses: tuple[Use, ...]) -> tuple[tuple[Use, ...], tuple[Use, ...]]:
    """The uses a job reads and those it writes (``Job.inputs``, ``Job.outputs``), each in
    ``uses`` order.

    >>> a, b = Use("a", LinkType.INPUT), Use("b", LinkType.INOUT)
    >>> split_uses((a, b)) == ((a, b), (b,))
    True
    """
    inputs: list[Use] = []
    outputs: list[Use] = []
    for use in uses:
        # by identity, not through READ_LINKS: a str Enum hashes in Python, not in C
        link = use.link
        if link is _INPUT:
            inputs.append(use)
        elif link is _OUTPUT or link is _CHECKPOINT:
            outputs.append(use)
        elif link is _INOUT:
            inputs.append(use)
            outputs.append(use)
    return tuple(inputs), tuple(outputs)


def transformation_key(namespace: str | None, name: str, version: str | None) -> str:
    """Pegasus's fully qualified name ``ns::name:version`` (parts omitted when absent)."""
    key = f"{namespace}::{name}" if namespace else name
    return f"{key}:{version}" if version else key


@dataclass(frozen=True, slots=True)
class Job:
    """One abstract job: an invocation of a logical transformation.

    ``inputs`` and ``outputs`` are the uses it reads and writes, in ``uses`` order: real
    fields, filled from ``uses`` when the job is built (``dataclasses.replace`` builds them
    anew), never passed in.
    """

    id: str
    name: str  # the transformation's logical name
    namespace: str | None = None
    version: str | None = None
    node_label: str | None = None
    arguments: tuple[str, ...] = ()
    uses: tuple[Use, ...] = ()
    profiles: Profiles = field(default_factory=dict)
    stdin: str | None = None
    stdout: str | None = None
    stderr: str | None = None
    inputs: tuple[Use, ...] = field(init=False, repr=False, compare=False)
    outputs: tuple[Use, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The one sanctioned way for a frozen dataclass to fill a field it derives.
        inputs, outputs = split_uses(self.uses)
        _set(self, "inputs", inputs)
        _set(self, "outputs", outputs)

    # The job of values a reader has checked, every field positional in declaration
    # order, with its ``inputs`` and ``outputs`` as ``split_uses`` gives them (a reader
    # splits the uses in the loop that builds them); equal to ``Job(...)`` of the same
    # values. Set below the class (see ``_maker``).
    make: ClassVar[Callable[..., Job]]

    @property
    def transformation(self) -> str:
        return transformation_key(self.namespace, self.name, self.version)


_JobFields = _twin(Job, "_JobFields")
Job.make = staticmethod(_maker(Job, _JobFields))


class SubWorkflowKind(str, Enum):
    """Pegasus's job types for a workflow run as one job of its parent."""

    PEGASUS = "pegasusWorkflow"  # an abstract workflow, planned when the job is ready
    CONDOR = "condorWorkflow"  # a ready DAGMan file, run as given


@dataclass(frozen=True, slots=True)
class SubWorkflow:
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
    profiles: Profiles = field(default_factory=dict)
    node_label: str | None = None

    @property
    def inputs(self) -> tuple[Use, ...]:
        return split_uses(self.uses)[0]

    @property
    def outputs(self) -> tuple[Use, ...]:
        return split_uses(self.uses)[1]


@dataclass(frozen=True, slots=True)
class Workflow:
    """An abstract workflow, as read from a file or built with the Python API.

    ``dependencies`` holds the explicit (parent, child) edges; edges implied by files
    (producer -> consumer) are derived by ``planner.model.graph``. ``source`` is the file
    the workflow came from, for error messages.

    Sub-workflow jobs are kept apart from ``jobs`` (the passes plan ordinary jobs only);
    ``subworkflow_edges`` holds the explicit edges with a sub-workflow at either end.

    ``job_by_id`` indexes ``jobs`` (the first one wins if ids repeat; validation reports
    repeats): a real field, built with the workflow and anew by ``dataclasses.replace``.
    """

    name: str
    jobs: tuple[Job, ...]
    dependencies: tuple[tuple[str, str], ...] = ()
    replica_catalog: ReplicaCatalog | None = None
    transformation_catalog: TransformationCatalog | None = None
    site_catalog: SiteCatalog | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    subworkflows: tuple[SubWorkflow, ...] = ()
    subworkflow_edges: tuple[tuple[str, str], ...] = ()
    job_by_id: dict[str, Job] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        jobs = self.jobs
        index = dict(zip(map(_ID, jobs), jobs, strict=True))  # in C; the last repeat wins
        if len(index) != len(jobs):  # ids repeat: the first one wins, in its place
            index = {}
            setdefault = index.setdefault
            for job in jobs:
                setdefault(job.id, job)
        _set(self, "job_by_id", index)
