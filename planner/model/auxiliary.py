"""Pegasus's DAGMan extras per node kind, and the one constructor of the auxiliary nodes
(transfers, registration, create-dir, cleanup) that run on the submit host."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from planner.model.base import Namespace
from planner.model.concrete import Node, NodeKind, Transfer, node

__all__ = ["CATEGORY", "MAXJOBS", "PRIORITY", "auxiliary_node", "dagman_profiles"]

# Pegasus's PRIORITY per node kind (compute nodes get 10 x depth) and DAGMan categories.
PRIORITY = {
    NodeKind.CREATE_DIR: 800,
    NodeKind.STAGE_IN: 700,
    NodeKind.STAGE_INTER: 700,
    NodeKind.STAGE_OUT: 900,
    NodeKind.REGISTER: 900,
    NodeKind.CLEANUP: 1000,
}
CATEGORY = {
    NodeKind.STAGE_IN: "stagein",
    NodeKind.STAGE_INTER: "stagein",
    NodeKind.STAGE_OUT: "stageout",
    NodeKind.CLEANUP: "cleanup",
    NodeKind.REGISTER: "registration",
}
MAXJOBS = {"stagein": 10, "stageout": 10, "cleanup": 4, "registration": 1}


def dagman_profiles(
    merged: Mapping[Namespace, Mapping[str, str]] | None, kind: NodeKind, depth: int, retry: str
) -> dict[Namespace, dict[str, str]]:
    """Node profiles with Pegasus's DAG extras filled in (explicit dagman profiles win).

    Auxiliary nodes (no profiles of their own) share one read-only dict per kind."""
    if merged is None:
        return _aux_profiles(kind, retry)
    return _with_extras(merged, kind, depth, retry)


@functools.lru_cache(maxsize=64)
def _aux_profiles(kind: NodeKind, retry: str) -> dict[Namespace, dict[str, str]]:
    return _with_extras(None, kind, 0, retry)


def _with_extras(
    merged: Mapping[Namespace, Mapping[str, str]] | None, kind: NodeKind, depth: int, retry: str
) -> dict[Namespace, dict[str, str]]:
    out = {ns: dict(v) for ns, v in (merged or {}).items()}
    dag = out.setdefault(Namespace.DAGMAN, {})
    dag.setdefault("retry", retry)
    dag.setdefault("priority", str(PRIORITY.get(kind, 10 * depth)))
    if kind in CATEGORY:
        dag.setdefault("category", CATEGORY[kind])
    return out


def auxiliary_node(
    name: str,
    kind: NodeKind,
    *,
    level: int,
    files: Iterable[Transfer],
    staging_site: str | None,
    retry: str,
    reasons: tuple[str, ...] = (),
) -> Node:
    """A data-management node: it runs on the submit host (``local``) and acts on
    ``files`` (moves, registrations, directories or removals on ``staging_site``)."""
    return node(
        name=name,
        kind=kind,
        site="local",
        level=level,
        transformation=None,
        jobs=(),
        tasks=(),
        files=tuple(files),
        inputs=(),
        outputs=(),
        working_dir=None,
        data_configuration=None,
        staging_site=staging_site,
        profiles=dagman_profiles(None, kind, 0, retry),
        reasons=reasons,
    )
