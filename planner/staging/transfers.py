"""The transfer requests grouped into stage_in, stage_inter and stage_out nodes: per
(kind, staging site, level, local or remote) into ``ceil(jobs on the level / 10)``
nodes (``pegasus.stagein.clusters`` / ``pegasus.stageout.clusters`` override), files
dealt round robin."""

from __future__ import annotations

from collections.abc import Mapping

from planner.grouping import deal, node_count
from planner.model.auxiliary import auxiliary_node
from planner.model.concrete import Node, NodeKind, Transfer
from planner.model.staging import StagingOptions
from planner.naming import safe_name
from planner.staging.context import Request, RequestKey

__all__ = ["transfer_names", "transfer_nodes"]

_PREFIX = {
    NodeKind.STAGE_IN: "stage_in",
    NodeKind.STAGE_INTER: "stage_inter",
    NodeKind.STAGE_OUT: "stage_out",
}


def transfer_names(
    requests: Mapping[RequestKey, Request],
    per_level: Mapping[tuple[int, str], int],
    options: StagingOptions,
) -> dict[RequestKey, str]:
    """Request -> the name of the transfer node that carries it."""
    groups: dict[tuple[NodeKind, str, int, bool], list[RequestKey]] = {}
    for key, req in requests.items():
        groups.setdefault((req.kind, req.site, req.level, req.local), []).append(key)
    names: dict[RequestKey, str] = {}
    for (kind, site, level, local), keys in groups.items():
        override = (
            options.stageout_clusters if kind == NodeKind.STAGE_OUT else options.stagein_clusters
        )
        count = node_count(len(keys), per_level.get((level, site), 1), 10, override)
        where = "local" if local else "remote"
        for k, bucket in enumerate(deal(keys, count)):
            label = safe_name(f"{_PREFIX[kind]}_{where}_{site}_{level}_{k}")
            for key in bucket:
                names[key] = label
    return names


def transfer_nodes(
    requests: Mapping[RequestKey, Request], names: Mapping[RequestKey, str], retry: str
) -> list[Node]:
    """The transfer nodes, in the order their first request was asked for."""
    files: dict[str, list[Transfer]] = {}
    first: dict[str, Request] = {}
    for key, req in requests.items():
        name = names[key]
        files.setdefault(name, []).append(req.transfer)
        first.setdefault(name, req)
    return [
        auxiliary_node(
            name,
            first[name].kind,
            level=first[name].level,
            files=transfers,
            staging_site=first[name].site,
            retry=retry,
        )
        for name, transfers in files.items()
    ]
