"""A small Python API for writing abstract workflows.

>>> wf = WorkflowBuilder("diamond")
>>> wf.add_job("preprocess", id="ID1", args=["-i", File("f.a"), "-o", File("f.b")],
...            inputs=["f.a"], outputs=["f.b"], profiles={"pegasus": {"clusters.size": "2"}})
'ID1'
>>> wf.add_job("analyze", id="ID2", inputs=["f.b"], outputs=["f.c"])
'ID2'
>>> wf.depends(parent="ID1", child="ID2")
>>> len(wf.build().jobs)
2

Jobs get ids ``ID0000001``, ``ID0000002``... when none is given. Edges implied by files
need not be declared; ``depends`` adds explicit ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from pydantic import TypeAdapter, ValidationError

from catalogs.replica import ReplicaCatalog
from catalogs.transformation import TransformationCatalog
from planner.errors import FormatError, UnknownProfileNamespace
from planner.model.base import Namespace
from planner.model.workflow import Job, LinkType, Use, Workflow
from sites.model import SiteCatalog


@dataclass(frozen=True)
class File:
    """A logical file, for arguments and uses: ``File("f.a")`` or ``File("f.a", size=10)``."""

    lfn: str
    size: int | None = None


FileLike = str | File | Use
ProfileSpec = Mapping[str | Namespace, Mapping[str, object]]


def _namespaces(profiles: ProfileSpec | None, job_id: str) -> dict[Namespace, dict[str, str]]:
    out: dict[Namespace, dict[str, str]] = {}
    for ns, values in (profiles or {}).items():
        try:
            key = ns if isinstance(ns, Namespace) else Namespace(str(ns).lower())
        except ValueError:
            known = ", ".join(n.value for n in Namespace)
            raise UnknownProfileNamespace(
                f"job {job_id}: unknown profile namespace {ns!r} (known: {known})"
            ) from None
        out.setdefault(key, {}).update(
            {
                str(k): ("true" if v is True else "false" if v is False else str(v))
                for k, v in values.items()
            }
        )
    return out


@cache
def _job_checker() -> TypeAdapter[Job]:
    """Built on first use (a few milliseconds), not at import."""
    return TypeAdapter(Job)


def _uses(
    files: Iterable[FileLike], link: LinkType, flags: Mapping[str, bool]
) -> list[Use | dict[str, object]]:
    """The uses of ``files`` as given: a ``Use`` as is, a name or File as the fields of
    one, with ``flags``, for pydantic to check."""
    uses: list[Use | dict[str, object]] = []
    for f in files:
        if isinstance(f, Use):
            uses.append(f)
        else:
            lfn, size = (f.lfn, f.size) if isinstance(f, File) else (f, None)
            uses.append({"lfn": lfn, "link": link, "size": size, **flags})
    return uses


def _checked_job(job_id: str, fields: Mapping[str, object]) -> Job:
    """The builder is where user code hands values in: pydantic checks them here (the
    readers check their files by hand) and names the field at fault."""
    try:
        return _job_checker().validate_python(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise FormatError(f"job {job_id}: {where}: {first['msg']}") from None


class WorkflowBuilder:
    """Collects jobs and dependencies; :meth:`build` returns the frozen Workflow."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: list[Job] = []
        self._edges: list[tuple[str, str]] = []
        self._metadata: dict[str, str] = {}

    def add_job(
        self,
        transformation: str,
        *,
        id: str | None = None,
        namespace: str | None = None,
        version: str | None = None,
        args: Iterable[str | File] = (),
        inputs: Iterable[FileLike] = (),
        outputs: Iterable[FileLike] = (),
        inouts: Iterable[FileLike] = (),
        stage_out: bool = True,
        register_replica: bool = True,
        profiles: ProfileSpec | None = None,
        node_label: str | None = None,
        stdin: str | None = None,
        stdout: str | None = None,
        stderr: str | None = None,
    ) -> str:
        """Add one job; returns its id. ``stage_out``/``register_replica`` apply to the
        outputs given as names or Files (a ``Use`` keeps its own flags)."""
        job_id = id if id is not None else f"ID{len(self._jobs) + 1:07d}"
        flags = {"stage_out": stage_out, "register_replica": register_replica}
        fields = {
            "id": job_id,
            "name": transformation,
            "namespace": namespace,
            "version": version,
            "node_label": node_label,
            "arguments": tuple(a.lfn if isinstance(a, File) else a for a in args),
            "uses": [
                *_uses(inputs, LinkType.INPUT, flags),
                *_uses(outputs, LinkType.OUTPUT, flags),
                *_uses(inouts, LinkType.INOUT, flags),
            ],
            "profiles": _namespaces(profiles, job_id),
            "stdin": stdin,
            "stdout": stdout,
            "stderr": stderr,
        }
        self._jobs.append(_checked_job(job_id, fields))
        return job_id

    def depends(self, *, parent: str | Iterable[str], child: str | Iterable[str]) -> None:
        """Add edges from every parent to every child."""
        parents = [parent] if isinstance(parent, str) else list(parent)
        children = [child] if isinstance(child, str) else list(child)
        self._edges.extend((p, c) for p in parents for c in children)

    def add_metadata(self, **values: object) -> None:
        self._metadata.update({k: str(v) for k, v in values.items()})

    def build(
        self,
        *,
        replica_catalog: ReplicaCatalog | None = None,
        transformation_catalog: TransformationCatalog | None = None,
        site_catalog: SiteCatalog | None = None,
    ) -> Workflow:
        """The workflow so far (the builder can go on adding jobs afterwards)."""
        return Workflow(
            name=self.name,
            jobs=tuple(self._jobs),
            dependencies=tuple(self._edges),
            replica_catalog=replica_catalog,
            transformation_catalog=transformation_catalog,
            site_catalog=site_catalog,
            metadata=dict(self._metadata),
        )
