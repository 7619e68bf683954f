"""Pass 8b: removing workflow files from staging sites.

``inplace`` (default): a file on a staging site is removed once the node that put it there
and every node that reads it there (compute, stage_inter, stage_out) have finished; a
replica's own location is never removed; a file is removed through its site's write URL
(the put server of a site behind a file server). Files are grouped per (staging site, level of
their last user) into ``ceil(nodes on that level / 5)`` cleanup nodes named
``clean_up_<site>_level_<L>_<k>`` (``pegasus.file.cleanup.clusters.num`` /
``...clusters.size`` override). ``leaf``: one ``cleanup_<wf>_<i>_<site>`` node per staging
site after every other node. ``none``: nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from planner.errors import PlannerError
from planner.grouping import deal, node_count
from planner.model.auxiliary import auxiliary_node
from planner.model.concrete import Node, NodeKind, Transfer
from planner.model.edges import EdgeList
from planner.model.staging import Residency, StagePlan
from planner.naming import safe_name

__all__ = ["SCOPES", "cleanup"]

SCOPES = ("inplace", "leaf", "none")


def cleanup(
    plan: StagePlan,
    workflow: str,
    scope: str = "inplace",
    *,
    clusters_num: int | None = None,
    clusters_size: int | None = None,
    retry: str = "1",
    consume: bool = False,
) -> StagePlan:
    """A new plan with the cleanup nodes of ``scope``.

    ``consume``: the caller will not read ``plan``'s residency map again (the pipeline,
    whose state drops it here): each entry is removed from it once its file's removal is
    made, so that at 10^5 jobs the map (some 60 MB) is freed as the cleanup transfers
    are built rather than after. The new plan's map is then empty."""
    if scope not in SCOPES:
        raise PlannerError(f"unknown cleanup scope {scope!r} (choose from {', '.join(SCOPES)})")
    if scope == "none":
        return plan
    if scope == "leaf":
        removable = [
            (key, res)
            for key, res in plan.residency.items()
            if not res.original and res.writer is not None
        ]
        return _leaf(plan, workflow, removable, retry) if removable else plan
    return _inplace(plan, clusters_num, clusters_size, retry, consume)


def _inplace(
    plan: StagePlan,
    clusters_num: int | None,
    clusters_size: int | None,
    retry: str,
    consume: bool,
) -> StagePlan:
    """Cleanup nodes per (staging site, level of the files' last use), after the users."""
    groups = _groups_by_last_use(plan)
    if not groups:
        return plan
    rewrite = _write_prefixes(plan)
    per_level = _units_per_level(plan)
    residency = plan.residency
    used: dict[tuple[str, str], Residency] | None = None
    if consume and isinstance(residency, dict):
        used = residency
    nodes: list[Node] = []
    edges = EdgeList(plan.edges)
    for site, lvl in sorted(groups):
        items = groups.pop((site, lvl))
        count = node_count(
            len(items), per_level.get((site, lvl), 1), clusters_size or 5, clusters_num
        )
        prefixes = rewrite.get(site)
        for k, bucket in enumerate(deal(items, count)):
            name = safe_name(f"clean_up_{site}_level_{lvl}_{k}")
            files, parents = _removals(bucket, residency, site, prefixes)
            nodes.append(_node(name, site, lvl + 1, files, retry))
            edges.add_parents(parents, name)
            if used is not None:
                for file_site in bucket:
                    del used[file_site]
    if used is not None:
        used.clear()
    return replace(plan, nodes=plan.nodes + tuple(nodes), edges=edges.freeze())


def _removals(
    bucket: Iterable[tuple[str, str]],
    residency: Mapping[tuple[str, str], Residency],
    site: str,
    prefixes: tuple[str, str] | None,
) -> tuple[list[Transfer], dict[str, None]]:
    """The files one cleanup node removes, and its parents: every node that wrote or
    read them there."""
    parents: dict[str, None] = {}
    files = []
    for file_site in bucket:
        res = residency[file_site]
        parents[res.writer] = None  # type: ignore[index]  # grouped: not None
        for u in res.readers:
            parents[u] = None
        url = res.url
        if prefixes is not None and url.startswith(prefixes[0] + "/"):
            url = prefixes[1] + url[len(prefixes[0]) :]
        # Transfer's stored slots in order (lfn, dst, src, size, site, meta, more): one per
        # removed file, built without keyword arguments
        files.append(Transfer._make((file_site[0], url, (), None, site, None, None)))
    return files, parents


def _units_per_level(plan: StagePlan) -> dict[tuple[str, int], int]:
    """(staging site, level) -> compute and cluster nodes staged there."""
    per_level: dict[tuple[str, int], int] = {}
    for node in plan.nodes:
        if node.kind in (NodeKind.COMPUTE, NodeKind.CLUSTER) and node.staging_site is not None:
            slot = (node.staging_site, node.level)
            per_level[slot] = per_level.get(slot, 0) + 1
    return per_level


def _groups_by_last_use(plan: StagePlan) -> dict[tuple[str, int], list[tuple[str, str]]]:
    """(staging site, level of the file's last user) -> the removable files there."""
    level = {n.name: n.level for n in plan.nodes}
    # the residency map's own key tuples go in the groups, not new (key, value) pairs: at
    # 10^6 jobs the cleanup pass is the plan's memory peak
    groups: dict[tuple[str, int], list[tuple[str, str]]] = {}
    for file_site, res in plan.residency.items():
        writer = res.writer
        if res.original or writer is None:
            continue  # a replica's own location, or nothing put it there
        last = level[writer]
        for u in res.readers:  # a plain loop: most files have one or two readers
            lu = level[u]
            if lu > last:
                last = lu
        groups.setdefault((file_site[1], last), []).append(file_site)
    return groups


def _leaf(
    plan: StagePlan,
    workflow: str,
    removable: list[tuple[tuple[str, str], Residency]],
    retry: str,
) -> StagePlan:
    has_child = {p for p, _ in plan.edges}
    sinks = [n.name for n in plan.nodes if n.name not in has_child]
    top = max((n.level for n in plan.nodes), default=0)
    by_site: dict[str, list[tuple[str, str]]] = {}
    for key, _ in removable:
        by_site.setdefault(key[1], []).append(key)
    rewrite = _write_prefixes(plan)
    nodes: list[Node] = []
    edges = EdgeList(plan.edges)
    for i, site in enumerate(sorted(by_site)):
        name = safe_name(f"cleanup_{workflow}_{i}_{site}")
        files, _ = _removals(by_site[site], plan.residency, site, rewrite.get(site))
        nodes.append(_node(name, site, top + 1, files, retry))
        edges.add_parents(sinks, name)
    return replace(plan, nodes=plan.nodes + tuple(nodes), edges=edges.freeze())


def _write_prefixes(plan: StagePlan) -> Mapping[str, tuple[str, str]]:
    """Staging site -> (read URL, write URL) of its working directory, for the sites
    whose files are removed through another URL than they are read from."""
    return {site: (plan.workdirs[site], url) for site, url in plan.writedirs.items()}


def _node(name: str, site: str, level: int, files: list[Transfer], retry: str) -> Node:
    return auxiliary_node(
        name, NodeKind.CLEANUP, level=level, files=files, staging_site=site, retry=retry
    )
