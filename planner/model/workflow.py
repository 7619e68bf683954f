"""The abstract workflow: jobs that name logical transformations and read/write LFNs.

Readers in ``planner.formats`` build these; passes read them and never mutate them.
Arguments are a tuple of argv words; a file appears among them by its LFN, which is also
its path relative to the job's working directory at run time.
"""

from __future__ import annotations

from enum import Enum
from functools import cached_property

from pydantic import Field

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

    @cached_property
    def inputs(self) -> tuple[Use, ...]:
        return tuple(u for u in self.uses if u.is_input)

    @cached_property
    def outputs(self) -> tuple[Use, ...]:
        return tuple(u for u in self.uses if u.is_output)


class Workflow(Frozen):
    """An abstract workflow, as read from a file or built with the Python API.

    ``dependencies`` holds the explicit (parent, child) edges; edges implied by files
    (producer -> consumer) are derived by ``planner.model.graph``. ``source`` is the file
    the workflow came from, for error messages.
    """

    name: str
    jobs: tuple[Job, ...]
    dependencies: tuple[tuple[str, str], ...] = ()
    replica_catalog: ReplicaCatalog | None = None
    transformation_catalog: TransformationCatalog | None = None
    site_catalog: SiteCatalog | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    source: str | None = None

    @cached_property
    def job_by_id(self) -> dict[str, Job]:
        """Jobs by id (the first one wins if ids repeat; validation reports repeats)."""
        index: dict[str, Job] = {}
        for job in self.jobs:
            index.setdefault(job.id, job)
        return index
