"""Pass 8a: one create-dir node per staging site, before the first node that needs it.

``create_dir_<wf>_<i>_<site>`` makes the workflow's working directory on the site (through
its write URL: a site behind a file server may read and write through different ones). It
becomes a parent of every node that writes to that site (compute/cluster nodes staged
there, stage-in and stage_inter nodes delivering there) unless a parent of that node
already writes there (then the directory exists by transitivity).
"""

from __future__ import annotations

from dataclasses import replace

from planner.model.auxiliary import auxiliary_node
from planner.model.concrete import Node, NodeKind, Transfer
from planner.model.edges import EdgeList
from planner.model.staging import StagePlan
from planner.naming import safe_name

__all__ = ["create_dirs"]

_COMPUTE, _CLUSTER = NodeKind.COMPUTE, NodeKind.CLUSTER
_STAGE_IN, _STAGE_INTER = NodeKind.STAGE_IN, NodeKind.STAGE_INTER


def _targets(nodes: tuple[Node, ...]) -> dict[str, str | None]:
    """Node name -> the staging site whose working directory the node writes into, if
    any: compute and cluster nodes their own, stage_in and stage_inter the files'."""
    target: dict[str, str | None] = {}
    for node in nodes:
        kind = node.kind
        if kind is _COMPUTE or kind is _CLUSTER:
            target[node.name] = node.staging_site
        elif kind is _STAGE_IN or kind is _STAGE_INTER:
            target[node.name] = node.files[0].site if node.files else None
        else:
            target[node.name] = None
    return target


def create_dirs(plan: StagePlan, workflow: str, retry: str = "1") -> StagePlan:
    """A new plan with the create-dir nodes and their edges."""
    target = _targets(plan.nodes)
    covered: set[str] = set()  # nodes with a parent that writes to the same site
    for p, c in plan.edges:
        site = target[c]
        if site is not None and target[p] == site:
            covered.add(c)
    sites = sorted({s for s in target.values() if s is not None})
    names = {site: safe_name(f"create_dir_{workflow}_{i}_{site}") for i, site in enumerate(sites)}
    added = tuple(
        auxiliary_node(
            names[site],
            NodeKind.CREATE_DIR,
            level=0,
            files=(Transfer(lfn=workflow, dst=plan.write_dir(site), site=site),),
            staging_site=site,
            retry=retry,
            reasons=(f"creates {plan.write_dir(site)}",),
        )
        for site in sites
    )
    edges = EdgeList(plan.edges)
    for name, site in target.items():
        if site is not None and name not in covered:
            edges.add(names[site], name)
    return replace(plan, nodes=added + plan.nodes, edges=edges.freeze())
