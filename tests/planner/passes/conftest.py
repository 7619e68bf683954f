"""Tiny literal workflows and a two-site catalog set for the pass tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import SimpleNamespace

import pytest

from catalogs.replica import PFN, Replica, ReplicaCatalog
from catalogs.transformation import Transformation, TransformationCatalog, TransformationSite
from planner.model.base import Namespace
from planner.model.workflow import Job, LinkType, Use, Workflow
from planner.plan import Catalogs
from sites.model import Directory, DirectoryType, FileServer, Site, SiteCatalog

IN, OUT = LinkType.INPUT, LinkType.OUTPUT


def use(lfn: str, link: LinkType = IN, **kw: object) -> Use:
    return Use(lfn=lfn, link=link, **kw)  # type: ignore[arg-type,unused-ignore]


def diamond_workflow(
    profiles: dict[str, dict[Namespace, dict[str, str]]] | None = None,
) -> Workflow:
    """preprocess -> 2 x findrange -> analyze over f.a -> f.b1,f.b2 -> f.c1,f.c2 -> f.d."""
    p = profiles or {}
    jobs = (
        Job(
            id="ID1",
            name="preprocess",
            arguments=("-i", "f.a", "-o", "f.b1", "f.b2"),
            uses=(use("f.a"), use("f.b1", OUT, stage_out=False), use("f.b2", OUT, stage_out=False)),
            profiles=p.get("ID1", {}),
        ),
        Job(
            id="ID2",
            name="findrange",
            arguments=("-i", "f.b1", "-o", "f.c1"),
            uses=(use("f.b1"), use("f.c1", OUT, stage_out=False)),
            profiles=p.get("ID2", {}),
        ),
        Job(
            id="ID3",
            name="findrange",
            arguments=("-i", "f.b2", "-o", "f.c2"),
            uses=(use("f.b2"), use("f.c2", OUT, stage_out=False)),
            profiles=p.get("ID3", {}),
        ),
        Job(
            id="ID4",
            name="analyze",
            arguments=("-i", "f.c1", "f.c2", "-o", "f.d"),
            uses=(use("f.c1"), use("f.c2"), use("f.d", OUT)),
            profiles=p.get("ID4", {}),
        ),
    )
    return Workflow(name="diamond", jobs=jobs, source="diamond.yml")


def site(
    name: str, *, arch: str | None = None, profiles: dict[str, dict[str, str]] | None = None
) -> Site:
    root = f"/data/{name}"
    return Site(
        name=name,
        arch=arch,
        directories=(
            Directory(
                type=DirectoryType.SHARED_SCRATCH,
                path=f"{root}/scratch",
                file_servers=(FileServer(url=f"file://{root}/scratch"),),
            ),
            Directory(type=DirectoryType.LOCAL_STORAGE, path=f"{root}/storage"),
        ),
        profiles=profiles or {},
    )


def two_site_catalogs(
    transformations: Iterable[str],
    inputs: Iterable[str],
    *,
    sites: tuple[Site, ...] | None = None,
    extra_replicas: Iterable[Replica] = (),
    tx_sites: tuple[str, ...] = ("siteA", "siteB"),
) -> Catalogs:
    """Every transformation installed on siteA and siteB; every input on local (file://)."""
    tc = TransformationCatalog(
        transformations=tuple(
            Transformation(
                name=t,
                sites=tuple(TransformationSite(name=s, pfn=f"/opt/bin/{t}") for s in tx_sites),
            )
            for t in sorted(set(transformations))
        ),
        source="tc.yml",
    )
    rc = ReplicaCatalog(
        replicas=tuple(
            Replica(lfn=f, pfns=(PFN(url=f"file:///inputs/{f}", site="local"),)) for f in inputs
        )
        + tuple(extra_replicas),
        source="rc.yml",
    )
    sc = SiteCatalog(
        sites=sites or (site("local"), site("siteA"), site("siteB")), source="sites.yml"
    )
    return Catalogs(replicas=rc, transformations=tc, sites=sc)


@pytest.fixture
def diamond() -> Workflow:
    return diamond_workflow()


@pytest.fixture
def catalogs() -> Catalogs:
    return two_site_catalogs(["preprocess", "findrange", "analyze"], ["f.a"])


@pytest.fixture
def make_diamond() -> Callable[..., Workflow]:
    return diamond_workflow


@pytest.fixture
def kit() -> SimpleNamespace:
    """The helpers above, for tests (conftest modules are not importable by name)."""
    return SimpleNamespace(
        use=use,
        IN=IN,
        OUT=OUT,
        diamond=diamond_workflow,
        site=site,
        catalogs=two_site_catalogs,
    )
