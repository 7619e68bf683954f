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
from planner.model.concrete import Node, NodeKind, Transfer, make_transfer
from planner.model.edges import EdgeList
from planner.model.staging import Residencies, StagePlan
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
        by_site = _removable_by_site(plan.residency)
        return _leaf(plan, workflow, by_site, retry) if by_site else plan
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
    if consume:  # the removals are made by number: the indexes can go before them
        residency.forget_index()
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
            if consume:  # their readers (a tuple each) are freed for the next removals
                residency.forget_readers(bucket)
    if consume:
        residency.clear()
    return replace(plan, nodes=plan.nodes + tuple(nodes), edges=edges.freeze())


def _removals(
    bucket: Iterable[int],
    residency: Residencies,
    site: str,
    prefixes: tuple[str, str] | None,
) -> tuple[list[Transfer], dict[str, None]]:
    """The files one cleanup node removes (residencies of ``residency``), and its
    parents: every node that wrote or read them there."""
    parents: dict[str, None] = {}
    files = []
    lfns, urls, writers, readers = (
        residency.lfns,
        residency.urls,
        residency.writers,
        residency.readers,
    )
    for r in bucket:
        parents[writers[r]] = None  # type: ignore[index]  # grouped: not None
        for u in readers[r]:
            parents[u] = None
        url = urls[r]
        if prefixes is not None and url.startswith(prefixes[0] + "/"):
            url = prefixes[1] + url[len(prefixes[0]) :]
        # Transfer's stored slots in order (lfn, dst, src, size, site, meta, more): one per
        # removed file, built without keyword arguments
        files.append(make_transfer((lfns[r], url, (), None, site, None, None)))
    return files, parents


def _units_per_level(plan: StagePlan) -> dict[tuple[str, int], int]:
    """(staging site, level) -> compute and cluster nodes staged there."""
    per_level: dict[tuple[str, int], int] = {}
    for node in plan.nodes:
        if node.kind in (NodeKind.COMPUTE, NodeKind.CLUSTER) and node.staging_site is not None:
            slot = (node.staging_site, node.level)
            per_level[slot] = per_level.get(slot, 0) + 1
    return per_level


def _groups_by_last_use(plan: StagePlan) -> dict[tuple[str, int], list[int]]:
    """(staging site, level of the file's last user) -> the removable files there (their
    residencies, in the order staging made them)."""
    level = {n.name: n.level for n in plan.nodes}
    table = plan.residency
    writers, original, readers = table.writers, table.original, table.readers
    groups: dict[tuple[str, int], list[int]] = {}
    for site, index in table.sites():
        for r in index.values():
            writer = writers[r]
            if original[r] or writer is None:
                continue  # a replica's own location, or nothing put it there
            last = level[writer]
            for u in readers[r]:  # a plain loop: most files have one or two readers
                lu = level[u]
                if lu > last:
                    last = lu
            groups.setdefault((site, last), []).append(r)
    return groups


def _removable_by_site(table: Residencies) -> dict[str, list[int]]:
    """Staging site -> the residencies there that cleanup removes (not a replica's own
    location, and put there by a node)."""
    writers, original = table.writers, table.original
    by_site: dict[str, list[int]] = {}
    for site, index in table.sites():
        removable = [r for r in index.values() if not original[r] and writers[r] is not None]
        if removable:
            by_site[site] = removable
    return by_site


def _leaf(
    plan: StagePlan,
    workflow: str,
    by_site: dict[str, list[int]],
    retry: str,
) -> StagePlan:
    has_child = {p for p, _ in plan.edges}
    sinks = [n.name for n in plan.nodes if n.name not in has_child]
    top = max((n.level for n in plan.nodes), default=0)
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
