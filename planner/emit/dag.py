"""The DAGMan file: JOB, VARS, RETRY, PRIORITY, CATEGORY, SCRIPT POST, PARENT/CHILD, MAXJOBS.

Pure generators of text lines (semantics.md §3). Node order is the concrete workflow's;
an edge line names one parent and its children, or one child and its parents (never
several of both, which makes DAGMan add join nodes of its own), both sides sorted, so
the same workflow gives the same bytes. What every node has in common (its node-name
macro, RETRY 1, the POST script, a priority all nodes share) is said once with
``ALL_NODES`` at the top; a node's own RETRY line further down overrides it, since
DAGMan reads node commands in file order after all JOB lines and the last one wins.
"""

from __future__ import annotations

import itertools
import operator
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from planner.emit.quoting import dagman_value
from planner.errors import EmitError
from planner.model.base import Namespace
from planner.model.concrete import ConcreteWorkflow, Node, NodeKind

# Pegasus's node priorities; compute and cluster nodes get 10 x level.
PRIORITY: dict[NodeKind, int] = {
    NodeKind.CREATE_DIR: 800,
    NodeKind.STAGE_IN: 700,
    NodeKind.STAGE_INTER: 700,
    NodeKind.STAGE_OUT: 900,
    NodeKind.CLEANUP: 1000,
}
CATEGORY: dict[NodeKind, str] = {
    NodeKind.STAGE_IN: "stagein",
    NodeKind.STAGE_INTER: "stagein",
    NodeKind.STAGE_OUT: "stageout",
    NodeKind.CLEANUP: "cleanup",
    NodeKind.REGISTER: "registration",
}
MAXJOBS: dict[str, int] = {"stagein": 10, "stageout": 10, "cleanup": 4, "registration": 1}

NODE_VAR = "wf_node"  # the VARS macro holding a node's own name in shared submit files
DEFAULT_RETRY = 1
# DAGMan replaces $(JOB) in a VARS value with the node's name.
_ALL_NODES_NAME = f'VARS ALL_NODES {NODE_VAR}="$(JOB)"\n'

_NODE_NAME = re.compile(r"[A-Za-z0-9_+-]+")
_NODE_NAMES = re.compile(r"(?:[A-Za-z0-9_+-]+\n)*[A-Za-z0-9_+-]+")  # joined by newlines
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class DagNode:
    """How one node appears in the DAG: its submit file and the VARS it passes."""

    submit_file: str
    vars: Mapping[str, str] = field(default_factory=dict)


def check_node_names(cw: ConcreteWorkflow) -> None:
    """Reject names DAGMan or the submit dir cannot hold, duplicates and dangling edges."""
    names = [node.name for node in cw.nodes]
    unique = set(names)
    joined = "\n".join(names)
    if (
        # all good (the usual case), checked at C speed; else find the first problem below
        len(unique) == len(names)
        and joined.count("\n") == len(names) - 1  # no name holds the separator
        and _NODE_NAMES.fullmatch(joined)
        and unique.issuperset(itertools.chain.from_iterable(cw.edges))
        and not any(itertools.starmap(operator.eq, cw.edges))
    ):
        return
    seen: set[str] = set()
    for node in cw.nodes:
        if not _NODE_NAME.fullmatch(node.name):
            raise EmitError(
                f"node name {node.name!r} in workflow {cw.name!r} must be letters, digits, "
                "'_', '-' or '+' (no '.', '/', spaces)"
            )
        if node.name in seen:
            raise EmitError(f"node name {node.name!r} appears twice in workflow {cw.name!r}")
        seen.add(node.name)
    for parent, child in cw.edges:
        for end in (parent, child):
            if end not in seen:
                raise EmitError(f"edge {parent} -> {child} names unknown node {end!r}")
        if parent == child:
            raise EmitError(f"edge {parent} -> {child} is a self-loop")


def _int_setting(value: Any, what: str) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise EmitError(f"{what} must be an integer, not {value!r}")
    if number < 0:
        raise EmitError(f"{what} must not be negative, got {number}")
    return number


def node_category(node: Node) -> str | None:
    dagman = node.profiles.get(Namespace.DAGMAN, {})
    category = dagman.get("category") or CATEGORY.get(node.kind)
    if category is not None and not _VAR_NAME.fullmatch(category):
        raise EmitError(f"node {node.name}: dagman category {category!r} is not a plain name")
    return category


def node_priority(node: Node) -> int | None:
    dagman = node.profiles.get(Namespace.DAGMAN, {})
    if "priority" in dagman:
        return _int_setting(dagman["priority"], f"node {node.name}: dagman profile priority")
    if node.kind in (NodeKind.COMPUTE, NodeKind.CLUSTER):
        return 10 * node.level
    return PRIORITY.get(node.kind)


def node_retry(node: Node) -> int:
    dagman = node.profiles.get(Namespace.DAGMAN, {})
    return _int_setting(
        dagman.get("retry", DEFAULT_RETRY), f"node {node.name}: dagman profile retry"
    )


def maxjobs(cw: ConcreteWorkflow, categories: set[str]) -> dict[str, int]:
    """MAXJOBS per used category: defaults, the planner's ``dagman_maxjobs`` option, node
    profiles ``<cat>.maxjobs``, then ``dagman.<cat>.maxjobs`` options/properties."""
    limits: dict[str, int] = {}
    properties = cw.options.get("properties")
    props: Mapping[str, Any] = properties if isinstance(properties, Mapping) else {}
    planned = cw.options.get("dagman_maxjobs")
    if isinstance(planned, Mapping):
        for cat, value in planned.items():
            limits[str(cat)] = _int_setting(value, f"option dagman_maxjobs[{cat!r}]")
    seen: set[int] = set()  # planned nodes share their profile dicts: read each once
    for node in cw.nodes:
        dagman = node.profiles.get(Namespace.DAGMAN) if node.profiles else None
        if not dagman or id(dagman) in seen:
            continue
        seen.add(id(dagman))
        for key, value in dagman.items():
            if key.endswith(".maxjobs"):
                cat = key.removesuffix(".maxjobs")
                limits[cat] = _int_setting(value, f"node {node.name}: dagman profile {key}")
    for cat in sorted(categories):
        key = f"dagman.{cat}.maxjobs"
        setting = cw.options.get(key, props.get(key))
        if setting is not None:
            limits[cat] = _int_setting(setting, f"option {key}")
        elif cat not in limits and cat in MAXJOBS:
            limits[cat] = MAXJOBS[cat]
    return {cat: limits[cat] for cat in sorted(categories) if cat in limits}


def yield_node_lines(node: Node, dag_node: DagNode, exitcode_tool: str) -> Iterator[str]:
    block, _ = _node_block(node, dag_node, f" {exitcode_tool} $JOB $RETURN\n", {}, None)
    yield from block[:-1].split("\n")


_NO_DAGMAN: Mapping[str, str] = {}
_NEEDS_ESCAPE = re.compile(r'["\\\n\r\0]')


def _vars_value(value: str) -> str:
    if _NEEDS_ESCAPE.search(value) is None:
        return f'"{value}"'
    return dagman_value(value)


# (id of a dagman profile dict, kind) -> (the dict, retry, priority or None when it
# comes from the level, category): planned nodes share their profile dicts, so each is
# read and checked once. The dict is held so its id cannot be reused meanwhile. The same
# cache maps (kind, retry, category) to the checked (retry, category).
_Settings = tuple[Mapping[str, str], int, int | None, str | None]


def _node_block(
    node: Node,
    dag_node: DagNode,
    post_tail: str | None,
    settings: dict[Any, Any],
    common: int | None,
) -> tuple[str, str | None]:
    """One node's lines as one string (newline-terminated): a handful of lookups, no
    per-line generator, since this runs once per node of workflows with 10^6 nodes.
    ``post_tail`` None: the POST script and RETRY 1 are the ALL_NODES ones at the top,
    and so is the node-name macro. ``common``: the ``PRIORITY ALL_NODES`` value at the
    top, if any; a node then needs its own line only to differ from it."""
    name = node.name
    block = f"JOB {name} {dag_node.submit_file}\n"
    if dag_node.vars:
        block += _vars_line(name, dag_node.vars, all_nodes=post_tail is None)
    retry, priority, category = _dagman_settings(node, settings)
    if retry != DEFAULT_RETRY or post_tail is not None:
        block += f"RETRY {name} {retry}\n"
    if common is not None:
        priority = 0 if priority is None else priority  # DAGMan's default, said outright
        if priority != common:
            block += f"PRIORITY {name} {priority}\n"
    elif priority is not None:
        block += f"PRIORITY {name} {priority}\n"
    if category is not None:
        block += f"CATEGORY {name} {category}\n"
    if post_tail is None:
        return block, category
    return f"{block}SCRIPT POST {name}{post_tail}", category


def _vars_line(name: str, macros: Mapping[str, str], all_nodes: bool) -> str:
    """``VARS`` of one node, without the node-name macro ALL_NODES already gives."""
    pairs = " ".join(
        [
            f"{key}={_vars_value(value)}"
            for key, value in macros.items()
            if not (all_nodes and key == NODE_VAR and value == name)
        ]
    )
    return f"VARS {name} {pairs}\n" if pairs else ""


def _dagman_settings(node: Node, settings: dict[Any, Any]) -> tuple[int, int | None, str | None]:
    """(retry, priority or None, category or None) of a node, its dagman profile read
    once per distinct profile dict."""
    dagman = node.profiles.get(Namespace.DAGMAN, _NO_DAGMAN) if node.profiles else _NO_DAGMAN
    kind = node.kind
    if not dagman:
        priority = 10 * node.level if kind in _LEVELLED else PRIORITY.get(kind)
        return DEFAULT_RETRY, priority, CATEGORY.get(kind)
    key = (id(dagman), kind)
    known = settings.get(key)
    if known is None or known[0] is not dagman:
        known = settings[key] = _read_settings(node, dagman, settings)
    _, retry, priority, category = known
    if priority is None:
        priority = 10 * node.level if kind in _LEVELLED else PRIORITY.get(kind)
    return retry, priority, category


def _read_settings(node: Node, dagman: Mapping[str, str], settings: dict[Any, Any]) -> _Settings:
    """A dagman profile dict's settings. Its retry and category are checked once per
    (kind, retry, category): the nodes of a chain each have a dict of their own, with
    their own priority, but few distinct retries and categories."""
    retry, category = dagman.get("retry"), dagman.get("category")
    content = (node.kind, retry, category)
    hashable = all(v is None or type(v) is str for v in (retry, category))
    checked: tuple[int, str | None] | None = settings.get(content) if hashable else None
    if checked is None:
        checked = (node_retry(node), node_category(node))
        if hashable:
            settings[content] = checked
    if "priority" not in dagman:
        return dagman, checked[0], None, checked[1]
    value = dagman["priority"]
    if type(value) is str and value.isascii() and value.isdigit():
        return dagman, checked[0], int(value), checked[1]  # what node_priority makes of it
    return dagman, checked[0], node_priority(node), checked[1]


_LEVELLED = frozenset((NodeKind.COMPUTE, NodeKind.CLUSTER))


# (parents, children) of each node that has any: sorted, without duplicates
EdgeMaps = tuple[dict[str, list[str]], dict[str, list[str]]]


def edge_maps(cw: ConcreteWorkflow) -> EdgeMaps:
    """Sorted, duplicate-free parents and children per node."""
    parents: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for p, c in cw.edges:
        if c in parents:
            parents[c].append(p)
        else:
            parents[c] = [p]
        if p in children:
            children[p].append(c)
        else:
            children[p] = [c]
    for side in (parents, children):
        for name, ends in side.items():
            if len(ends) > 1:
                side[name] = sorted(set(ends))
    return parents, children


def edge_groups(edges: EdgeMaps) -> list[tuple[list[str], list[str]]]:
    """The edges as ``(parents, children)`` pairs, each meaning every parent -> every
    child, every edge in exactly one pair; both sides sorted, pairs sorted.

    Every pair has one parent or one child. A line naming several parents and several
    children would make DAGMan add a ``_condor_join_nodeN`` node of its own (on by
    default, ``DAGMAN_USE_JOIN_NODES``), which then shows in its node counts and is
    marked DONE in its rescue files, where no other engine expects it. So each edge goes
    on the line of the end with more edges: a worker's edge to a collector with 10^5
    parents is said on the collector's line, once, not on the worker's.
    """
    parents, children = edges
    own_children: dict[str, list[str]] = {}
    own_parents: dict[str, list[str]] = {}
    for parent, kids in children.items():
        fan_out = len(kids)
        mine = [kid for kid in kids if len(parents[kid]) <= fan_out]
        if len(mine) > 1:
            own_children[parent] = mine
        else:  # one edge a line either way: on the child's, it shares that line
            mine = []
        if len(mine) < fan_out:
            for kid in kids:
                if not mine or len(parents[kid]) > fan_out:
                    if kid in own_parents:
                        own_parents[kid].append(parent)
                    else:
                        own_parents[kid] = [parent]
    groups = [([parent], kids) for parent, kids in own_children.items()]
    groups.extend((sorted(ups), [kid]) for kid, ups in own_parents.items())
    groups.sort()
    return groups


def yield_edge_lines(cw: ConcreteWorkflow, edges: EdgeMaps | None = None) -> Iterator[str]:
    """``PARENT p1 p2 ... CHILD c1 c2 ...`` lines (``edges``: edge_maps(cw)), one per
    group of ``edge_groups``: DAGMan reads such a line as an edge from every parent on
    it to every child on it (HTCondor manual, "PARENT ... CHILD")."""
    for ups, downs in edge_groups(edges if edges is not None else edge_maps(cw)):
        yield f"PARENT {' '.join(ups)} CHILD {' '.join(downs)}"


def yield_dag_chunks(
    cw: ConcreteWorkflow,
    dag_nodes: Mapping[str, DagNode],
    exitcode_tool: str,
    edges: EdgeMaps | None = None,
) -> Iterator[str]:
    """The whole ``.dag`` file as newline-terminated chunks of many lines (fast to write)."""
    if any(c.isspace() for c in exitcode_tool):
        raise EmitError(
            f"tools directory of {exitcode_tool!r} contains whitespace; DAGMan splits SCRIPT "
            "arguments on whitespace with no quoting"
        )
    post = f" {exitcode_tool} $JOB $RETURN\n"
    yield f"# DAG of workflow {cw.name}, written by wfplan (docs/submit-dir.md)\n"
    # A sub-workflow node has no POST script (docs/hierarchical.md): with sub-workflows,
    # every other node keeps its own SCRIPT POST and RETRY lines.
    post_tail = post if cw.subworkflows else None
    settings: dict[Any, Any] = {}
    common = None
    if post_tail is None and cw.nodes:
        common = _common_priority(cw, settings)
        yield _all_nodes_lines(dag_nodes, post, common)
    categories: set[str] = set()
    chunk: list[str] = []
    for node in cw.nodes:
        block, category = _node_block(node, dag_nodes[node.name], post_tail, settings, common)
        chunk.append(block)
        if category is not None:
            categories.add(category)
        if len(chunk) >= _CHUNK:
            yield "".join(chunk)
            chunk = []
    for line in yield_edge_lines(cw, edges):
        chunk.append(f"{line}\n")
        if len(chunk) >= _CHUNK:
            yield "".join(chunk)
            chunk = []
    for cat, limit in maxjobs(cw, categories).items():
        chunk.append(f"MAXJOBS {cat} {limit}\n")
    yield "".join(chunk)


_CHUNK = 4096


def _all_nodes_lines(dag_nodes: Mapping[str, DagNode], post: str, common: int | None) -> str:
    """What every node has unless its own line says otherwise."""
    named = any(NODE_VAR in dn.vars for dn in dag_nodes.values())
    head = _ALL_NODES_NAME if named else ""
    tail = "" if common is None else f"PRIORITY ALL_NODES {common}\n"
    return f"{head}RETRY ALL_NODES {DEFAULT_RETRY}\nSCRIPT POST ALL_NODES{post}{tail}"


def _common_priority(cw: ConcreteWorkflow, settings: dict[Any, Any]) -> int | None:
    """The priority every node has, said once; None when nodes differ (or all have
    DAGMan's 0). A node line after ``PRIORITY ALL_NODES`` does win, but DAGMan logs
    "new priority ... overrides old value" for each such node and fails the DAG under
    ``DAGMAN_USE_STRICT`` 2 or more, so differing priorities stay one line a node."""
    first: int | None = None
    for node in cw.nodes:
        priority = _dagman_settings(node, settings)[1]
        key = 0 if priority is None else priority
        if first is None:
            first = key
        elif key != first:
            return None
    return first if first else None


def yield_dag_lines(
    cw: ConcreteWorkflow, dag_nodes: Mapping[str, DagNode], exitcode_tool: str
) -> Iterator[str]:
    """The whole ``.dag`` file, line by line (no newlines)."""
    for chunk in yield_dag_chunks(cw, dag_nodes, exitcode_tool):
        if chunk:
            yield from chunk[:-1].split("\n")
