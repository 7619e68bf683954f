"""Pass 8a: one create-dir node per staging site, before the first node that needs it.

``create_dir_<wf>_<i>_<site>`` makes the workflow's working directory on the site (through
its write URL: a site behind a file server may read and write through different ones). It
becomes a parent of every node that writes to that site (compute/cluster nodes staged
there, stage-in and stage_inter nodes delivering there) unless a parent of that node
already writes there (then the directory exists by transitivity).
"""

from __future__ import annotations

from planner.model.concrete import Node, NodeKind
from planner.passes.cluster import safe_name
from planner.passes.stage import StagePlan, dagman_profiles, make_node, transfer

__all__ = ["create_dirs", "writes_to"]

_WRITERS = frozenset({NodeKind.COMPUTE, NodeKind.CLUSTER, NodeKind.STAGE_IN, NodeKind.STAGE_INTER})


def writes_to(node: Node) -> str | None:
    """The staging site whose working directory ``node`` writes into, if any."""
    if node.kind not in _WRITERS:
        return None
    if node.kind in (NodeKind.STAGE_IN, NodeKind.STAGE_INTER):
        return node.files[0].site if node.files else None
    return node.staging_site


def create_dirs(plan: StagePlan, workflow: str, retry: str = "1") -> StagePlan:
    """A new plan with the create-dir nodes and their edges."""
    target = {node.name: writes_to(node) for node in plan.nodes}
    parents: dict[str, list[str]] = {}
    for p, c in plan.edges:
        parents.setdefault(c, []).append(p)
    sites = sorted({s for s in target.values() if s is not None})
    names = {site: safe_name(f"create_dir_{workflow}_{i}_{site}") for i, site in enumerate(sites)}
    added = [
        make_node(
            name=names[site],
            kind=NodeKind.CREATE_DIR,
            site="local",
            level=0,
            transformation=None,
            jobs=(),
            tasks=(),
            files=(
                transfer(
                    lfn=workflow,
                    src=(),
                    dst=plan.write_dir(site),
                    sha256=None,
                    symlink=False,
                    size=None,
                    site=site,
                    executable=False,
                ),
            ),
            inputs=(),
            outputs=(),
            working_dir=None,
            data_configuration=None,
            staging_site=site,
            profiles=dagman_profiles(None, NodeKind.CREATE_DIR, 0, retry),
            reasons=(f"creates {plan.write_dir(site)}",),
        )
        for site in sites
    ]
    edges = [
        (names[site], node.name)
        for node in plan.nodes
        if (site := target[node.name]) is not None
        and not any(target.get(p) == site for p in parents.get(node.name, ()))
    ]
    return StagePlan(
        nodes=tuple(added) + plan.nodes,
        edges=plan.edges + tuple(edges),
        residency=plan.residency,
        workdirs=plan.workdirs,
        writedirs=plan.writedirs,
    )
