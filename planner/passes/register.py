"""Pass 7: registration of staged-out outputs in the output replica catalog.

Every stage-out node that moves at least one file with ``registerReplica: true`` gets one
``register_<output site>_<level>_<k>`` child node listing LFN -> PFN at the output site
(``Transfer.dst`` the PFN, ``Transfer.site`` the output site). That is what lets the next
plan reuse the outputs. The PFN is the URL the file is read back from (an output site
behind separate put and get file servers is written through put, registered through get).
"""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import replace

from planner.model.auxiliary import auxiliary_node
from planner.model.concrete import Node, NodeKind, Transfer, make_transfer, more_slot
from planner.model.edges import EdgeList
from planner.model.staging import StagePlan
from planner.naming import safe_name

__all__ = ["register"]

_STAGE_OUT = NodeKind.STAGE_OUT


def _reads_records(
    plan: StagePlan, stage_out: Node, files: tuple[Transfer, ...], name: str
) -> None:
    """Make the register node ``name`` a reader of the checksum records its files' sha256
    come from, so in-place cleanup removes a record only after it was read. (The records
    are residencies this plan's staging pass created; nothing else holds them yet.)"""
    site = stage_out.staging_site
    seen: set[str] = set()
    for t in files:
        if t.meta is None or t.meta in seen or site is None:
            continue
        seen.add(t.meta)
        record = plan.residency.find(t.meta.rsplit("/", 1)[-1], site)
        if record is not None:
            plan.residency.add_reader(record, name)


def _registered(
    moved: tuple[Transfer, ...],
    lfns: Set[str],
    output_site: str,
    read_url: Callable[[str], str] | None,
) -> tuple[Transfer, ...]:
    """LFN -> PFN at the output site for each staged-out file of ``lfns``, with the
    sha256 it was checked against (a file made by this plan: its producer's checksum
    record, ``meta``)."""
    out = []
    for t in moved:
        # unpacked, and built with every field in order: one per registered file
        lfn, dst, _, size, _, meta, more = t
        sha256 = None if more is None else more[0]
        if lfn in lfns:
            pfn = dst if read_url is None else read_url(dst)
            out.append(
                make_transfer(
                    (lfn, pfn, (), size, output_site, meta, more_slot(sha256, False, False, False))
                )
            )
    return tuple(out)


def register(plan: StagePlan, lfns: Set[str], output_site: str, retry: str = "1") -> StagePlan:
    """A new plan with register nodes after the stage-outs of ``lfns``."""
    added: list[Node] = []
    edges = EdgeList(plan.edges)
    counters: dict[int, int] = {}
    read_url = plan.read_url if plan.read_urls else None
    for node in plan.nodes:
        if node.kind is not _STAGE_OUT:
            continue
        files = _registered(node.files, lfns, output_site, read_url)
        if not files:
            continue
        k = counters[node.level] = counters.get(node.level, -1) + 1
        name = safe_name(f"register_{output_site}_{node.level}_{k}")
        added.append(
            auxiliary_node(
                name,
                NodeKind.REGISTER,
                level=node.level + 1,
                files=files,
                staging_site=None,
                retry=retry,
                reasons=(f"registers the outputs staged out by {node.name}",),
            )
        )
        edges.add(node.name, name)
        _reads_records(plan, node, files, name)
    if not added:
        return plan
    return replace(plan, nodes=plan.nodes + tuple(added), edges=edges.freeze())
