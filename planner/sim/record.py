"""Read a plan record (``plan.json``, or the same dict in memory) into a :class:`SimGraph`.

The nodes are read once, in order, so a record streamed from disk is never held whole.

Per node: ``runtime`` (seconds; the emitter's sum of its tasks' ``pegasus.runtime`` or
WfFormat runtimes) for compute/cluster nodes; for nodes that move files, the sum over
``files`` of ``size / bandwidth(src site, dst site) + latency`` (the source site is a
file's ``src_site`` or the node's site, the destination its ``site`` or the node's
site); ``runtime``, when present, is added to that. A missing runtime counts as 0 s.
A node's ``profiles.dagman.category`` and the record's ``options.dagman_maxjobs`` give
DAGMan's CATEGORY/MAXJOBS limits.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from planner.sim.errors import SimulationError
from planner.sim.model import Network, SimGraph

PLAN_JSON = "plan.json"


def read_plan_record(submit_dir: Path) -> dict[str, Any]:
    """The plan record of a submit directory (either layout): its head, and ``nodes``
    an iterator that reads the nodes as it goes (``graph_from_record`` reads it once)."""
    from planner.emit.record import PlanReader

    path = submit_dir / PLAN_JSON
    if not path.is_file():
        raise SimulationError(f"no {PLAN_JSON} in {submit_dir} (is it a submit directory?)")
    reader = PlanReader(path)
    return {**reader.head, "nodes": reader.nodes()}


def graph_from_record(
    record: Mapping[str, Any], network: Network | None = None, *, source: str | None = None
) -> SimGraph:
    """Build the simulator's graph from a plan record dict, in one pass over its
    ``nodes`` (a list, or an iterator of node dicts).

    >>> g = graph_from_record({"nodes": [{"name": "a", "kind": "compute", "site": "s",
    ...     "parents": [], "runtime": 3, "jobs": ["j"]}]})
    >>> g.duration, g.tasks
    ((3.0,), (1,))
    """
    net = network or Network()
    nodes = _node_list(record, source)
    index: dict[str, int] = {}
    names: list[str] = []
    kinds: list[str] = []
    sites: list[str] = []
    duration: list[float] = []
    tasks: list[int] = []
    parent_names: list[Iterable[str]] = []
    unknown = 0
    categories: list[str | None] = []
    for i, node in enumerate(nodes):
        name = _new_name(node, i, index, source)
        index[name] = i
        site = str(node.get("site") or "local")
        kind = str(node.get("kind") or "compute")
        names.append(name)
        kinds.append(kind)
        sites.append(site)
        duration.append(_runtime(node, name, source) + _transfer_time(node, site, net, source))
        categories.append(_category(node))
        runs_tasks = kind in ("compute", "cluster")
        if runs_tasks and node.get("runtime") is None:
            unknown += 1
        tasks.append(len(node.get("jobs") or ()) if runs_tasks else 0)
        parent_names.append(node.get("parents") or ())
    return SimGraph(
        names=tuple(names),
        kinds=tuple(kinds),
        sites=tuple(sites),
        duration=tuple(duration),
        tasks=tuple(tasks),
        parents=_parent_indices(names, parent_names, index, source),
        unknown_runtime=unknown,
        categories=tuple(categories) if any(categories) else (),
        category_limits=_maxjobs(record, source),
    )


def _node_list(record: Mapping[str, Any], source: str | None) -> Iterable[Any]:
    nodes = record.get("nodes")
    if nodes is None or isinstance(nodes, str | bytes | Mapping) or not isinstance(nodes, Iterable):
        raise SimulationError("plan record has no 'nodes' list", source=source)
    return nodes


def _new_name(node: Any, i: int, index: Mapping[str, int], source: str | None) -> str:
    """Node #i's name, which no earlier node has."""
    name = node.get("name") if isinstance(node, dict) else None
    if not isinstance(name, str):
        raise SimulationError(f"node #{i} has no name", source=source)
    if name in index:
        raise SimulationError(f"node {name!r} appears twice", source=source)
    return name


def _category(node: Mapping[str, Any]) -> str | None:
    """The node's DAGMan category (its dagman.category profile), if any."""
    dagman = (node.get("profiles") or {}).get("dagman") or {}
    return dagman.get("category") if isinstance(dagman, dict) else None


def _parent_indices(
    names: list[str], parents: list[Iterable[str]], index: Mapping[str, int], source: str | None
) -> tuple[tuple[int, ...], ...]:
    """Parent names -> indices, once every node is known (a record need not list a
    parent before its children)."""
    out = []
    for name, ends in zip(names, parents, strict=True):
        try:
            out.append(tuple(index[p] for p in ends))
        except KeyError as exc:
            raise SimulationError(
                f"node {name!r} names unknown parent {exc.args[0]!r}", source=source
            )
    return tuple(out)


def _maxjobs(record: Mapping[str, Any], source: str | None) -> dict[str, int]:
    """DAGMan's ``MAXJOBS`` per category, from ``options.dagman_maxjobs``."""
    options = record.get("options") or {}
    raw = options.get("dagman_maxjobs") if isinstance(options, dict) else None
    if not isinstance(raw, dict):
        return {}
    try:
        return {str(k): int(v) for k, v in sorted(raw.items())}
    except (TypeError, ValueError):
        raise SimulationError(f"options.dagman_maxjobs {raw!r} is not category -> N", source=source)


def _runtime(node: Mapping[str, Any], name: str, source: str | None) -> float:
    value = node.get("runtime")
    if value is None:
        return 0.0
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise SimulationError(f"node {name!r}: runtime {value!r} is not a number", source=source)
    if not math.isfinite(seconds) or seconds < 0:
        raise SimulationError(
            f"node {name!r}: runtime {value!r} is negative or not finite", source=source
        )
    return seconds


def _transfer_time(node: Mapping[str, Any], site: str, net: Network, source: str | None) -> float:
    total = 0.0
    for f in node.get("files") or ():
        size = f.get("size")
        if size is None:
            continue
        try:
            nbytes = float(size)
            if not math.isfinite(nbytes) or nbytes < 0:
                raise ValueError(size)
        except (TypeError, ValueError):
            raise SimulationError(
                f"node {node['name']!r}: size {size!r} of {f.get('lfn')!r} is not a byte count",
                source=source,
            )
        src = str(f.get("src_site") or site)
        dst = str(f.get("site") or site)
        total += nbytes / net.bandwidth(src, dst) + net.latency
    return total


def with_runtimes(
    record: Mapping[str, Any],
    by_transformation: Mapping[str, float],
    by_kind: Mapping[str, float] | None = None,
    *,
    per_cluster: float = 0.0,
) -> dict[str, Any]:
    """A copy of ``record`` with measured runtimes filled in (for calibration).

    A compute or cluster node gets the sum of its tasks' ``by_transformation`` values
    (plus ``per_cluster`` for a cluster: its runner's start-up); any other node its
    kind's ``by_kind`` value. Nodes with nothing known keep their runtime.

    >>> rec = {"nodes": [{"name": "m", "kind": "cluster", "tasks": [{"transformation": "a"},
    ...        {"transformation": "a"}]}]}
    >>> with_runtimes(rec, {"a": 1.5}, per_cluster=0.25)["nodes"][0]["runtime"]
    3.25
    """
    kinds = by_kind or {}
    nodes = []
    for node in record.get("nodes") or ():
        copy = dict(node)
        kind = node.get("kind")
        if kind in ("compute", "cluster"):
            tasks = node.get("tasks") or ()
            known = [by_transformation.get(str(t.get("transformation"))) for t in tasks]
            if tasks and all(v is not None for v in known):
                total = sum(v for v in known if v is not None)
                copy["runtime"] = total + (per_cluster if kind == "cluster" else 0.0)
        elif kind in kinds:
            copy["runtime"] = kinds[kind]
        nodes.append(copy)
    return {**record, "nodes": nodes}
