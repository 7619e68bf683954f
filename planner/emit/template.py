"""Submit descriptions built once per shape of node, not once per node.

Most nodes of a large workflow differ from hundreds of others only in names: their own
node name, the LFNs they read and write, a manifest offset. :func:`shaped_job` writes
such a node as its *shape* (the description of the node with every name replaced by a
slot ``@@k@@``, computed once by the general code of :mod:`planner.emit.submit`) and its
*values* (the names, slot by slot). Substituting the values back gives exactly the
node's own description (:func:`render`); the shared ``.sub`` files are then made by
comparing the values of a shape's nodes slot by slot, with no text to cut apart.

Only nodes whose names are plain (letters, digits, ``_ . + -``) take this path, so that a
name is written the same wherever it stands (quoting, file lists, URLs); the shape of
each kind of node is checked against the general code on its first node, and a node of
any other form is described by the general code alone.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any, NamedTuple

from planner.emit.submit import (
    Description,
    EmitContext,
    _compute_job,
    _tool_job,
)
from planner.errors import EmitError
from planner.model.base import Namespace
from planner.model.concrete import DataConfiguration, Node, NodeKind, Task, Transfer

__all__ = ["SLOT", "Shaped", "render", "shaped_job"]

# A name that takes a slot: written alike in arguments, file lists, URLs and VARS.
_NAME = re.compile(r"[A-Za-z0-9_+.-]+")
# An argument word that takes a slot: one quote_arguments leaves as it is (no '@').
_WORD = re.compile(r"[A-Za-z0-9_+,./:=%^-]+")
SLOT = re.compile(r"@@([0-9]+)@@")  # a slot in a shape; never in a value
_TOOL_KINDS = frozenset(
    {NodeKind.STAGE_IN, NodeKind.STAGE_INTER, NodeKind.STAGE_OUT, NodeKind.REGISTER,
     NodeKind.CLEANUP}
)  # fmt: skip


class Shaped(NamedTuple):
    """A node's description as its shape (shared by identity) and its slot values."""

    shape: Description
    values: tuple[str, ...]


def render(shaped: Shaped) -> Description:
    """The node's own description: every slot replaced by its value."""
    values = shaped.values
    return tuple(
        (key, SLOT.sub(lambda m: values[int(m.group(1))], text) if "@@" in text else text)
        for key, text in shaped.shape
    )


class _Irregular(Exception):
    """A node this path does not take (the general code describes it)."""


def _compute_key(node: Node, ctx: EmitContext) -> tuple[tuple[Any, ...], list[str]]:
    """The shape of a condorio compute node with one plain task, and its values: its
    files' names, directories kept, each name a slot (the same string, the same slot).
    Written out in one loop: it runs for every compute node of the workflow."""
    tasks = node.tasks
    if len(tasks) != 1 or node.site == "local":
        raise _Irregular
    task = tasks[0]
    dc = node.data_configuration or ctx.data_configuration
    if dc is not DataConfiguration.CONDORIO or task.executable.startswith("./"):
        raise _Irregular
    if task.stdin is not None or task.stdout is not None or task.stderr is not None:
        raise _Irregular
    inputs, outputs = node.inputs, node.outputs
    n_in = len(inputs)
    if n_in + len(outputs) > _FEW_FILES:
        raise _Irregular  # a shape of its own: the general code alone is cheaper
    name = node.name
    values = [name]
    # the node's checksum record is named after it: one slot serves both
    slots = {name: "@@0@@", f"{name}.meta": "@@0@@.meta"}
    get = slots.get
    files: list[Any] = []
    for t in (*inputs, *outputs):
        # sha256 and the three flags share one slot, None when all are at their defaults
        # (the usual case): read once rather than through four properties
        more = t.more
        if more is None:
            sha256 = None
            symlink = False
        else:
            sha256, symlink, executable, optional = more
            if optional or executable or symlink.__class__ is not bool:
                raise _Irregular
        lfn, dst, meta = t.lfn, t.dst, t.meta
        slot = get(lfn) or _take(lfn, slots, values)
        cut = len(dst) - len(lfn)
        # the usual case, written out: a URL or path named by its LFN
        if dst.__class__ is str and dst.endswith(lfn) and (not cut or dst[cut - 1] == "/"):
            dst = dst[:cut] + slot
        else:
            dst = _url(dst, lfn, slot, slots, values)
        src = tuple([_url(u, lfn, slot, slots, values) for u in t.src])
        if meta is not None:
            cut = meta.rfind("/") + 1 if meta.__class__ is str else -1
            meta = (
                meta[:cut] + (get(meta[cut:]) or _take(meta[cut:], slots, values))
                if cut >= 0
                else _url(meta, "", "", slots, values)
            )
        sha = None if sha256 is None else get(sha256) or _take(sha256, slots, values)
        files.append((slot, dst, src, sha, symlink, t.site, meta))
    words = tuple([get(a) or _take(a, slots, values, _WORD.fullmatch) for a in task.arguments])
    key = (
        node.kind, node.site, node.transformation, id(node.profiles), dc, node.staging_site,
        task.transformation, task.executable, words, id(task.environment),
        tuple(files[:n_in]), tuple(files[n_in:]),
    )  # fmt: skip
    return key, values


def _take(
    value: str, slots: dict[str, str], values: list[str], pattern: Any = _NAME.fullmatch
) -> str:
    """A new slot for ``value`` (the next one), when it is a name ``pattern`` takes."""
    if value.__class__ is not str or not pattern(value):
        raise _Irregular  # a hand-made node may hold another type
    slot = slots[value] = f"@@{len(values)}@@"
    values.append(value)
    return slot


def _url(value: str, lfn: str, slot: str, slots: dict[str, str], values: list[str]) -> str:
    """A URL or path: its directory kept, its last part a slot."""
    if value.__class__ is not str:
        raise _Irregular
    if value.endswith(lfn):  # the usual case: named by its LFN
        head = value[: len(value) - len(lfn)]
        if not head or head[-1] == "/":
            return head + slot
    cut = value.rfind("/") + 1
    return value[:cut] + (slots.get(value[cut:]) or _take(value[cut:], slots, values))


# More files than this: the node is most likely the only one of its shape.
_FEW_FILES = 64


def _abstract_compute(node: Node, key: tuple[Any, ...]) -> Node:
    """The node the shape describes: the node with its names replaced by their slots."""
    words, inputs, outputs = key[8], key[10], key[11]
    task = node.tasks[0]
    return node._replace(
        name="@@0@@",
        level=0,
        jobs=(),
        reasons=(),
        working_dir=None,
        tasks=(Task("", task.transformation, task.executable, words, task.environment),),
        inputs=tuple(_slotted(t) for t in inputs),
        outputs=tuple(_slotted(t) for t in outputs),
    )


def _slotted(fields: tuple[Any, ...]) -> Transfer:
    lfn, dst, src, sha256, symlink, site, meta = fields
    return Transfer(lfn, dst, src, sha256, symlink, None, site, False, False, meta)


def shaped_job(
    node: Node, ctx: EmitContext, bundle_offset: int | None, shapes: dict[Hashable, Any]
) -> Shaped | None:
    """``node``'s description as a shape and values, or None when the general code must
    describe it. ``shapes`` remembers each shape seen in this emit (None for a shape
    this path turned down), so each is built and checked once."""
    try:
        if node.kind in _TOOL_KINDS and bundle_offset is not None:
            key: tuple[Any, ...] = (node.kind, node.site, id(node.profiles))
            values = [node.name, str(bundle_offset)]
        elif node.kind is NodeKind.COMPUTE:
            key, values = _compute_key(node, ctx)
        else:
            return None
    except (_Irregular, TypeError):  # TypeError: a hand-made node's field of another type
        return None
    shape = shapes.get(key, _UNSEEN)
    if shape is _UNSEEN:
        alias = _by_content(key, node.profiles)
        shape = shapes.get(alias, _UNSEEN)
        if shape is _UNSEEN:
            shape = _first_shape(node, ctx, bundle_offset, key, values)
            if shape is not None:
                # equal shapes are one object: the nodes share a .sub file, which is
                # chosen by the shape's identity (keys differ for equal profile dicts)
                shape = shapes.setdefault((_SAME, shape), shape)
            shapes[alias] = shape
        shapes[key] = shape
    return None if shape is None else Shaped(shape, tuple(values))


def _by_content(key: tuple[Any, ...], profiles: Any) -> Hashable:
    """``key`` with its profile dict's identity replaced by what the description reads of
    it: every namespace but dagman's (the DAG's own: priority, retry, category), which no
    submit description uses. A chain gives every node a priority of its own, so each has
    its own profile dict; without this, each would be a new shape, built and checked.
    (Both kinds of key hold ``id(node.profiles)``, and no other of their parts equals it.)"""
    try:
        content = tuple(
            sorted((str(ns), tuple(sorted(keys.items()))) for ns, keys in profiles.items()
                   if ns is not Namespace.DAGMAN)
        )  # fmt: skip
    except (TypeError, AttributeError):  # values that do not sort: no alias
        return (_SAME, key)
    spot = key.index(id(profiles))
    return (_SAME, *key[:spot], content, *key[spot + 1 :])


_UNSEEN = object()
_SAME = object()  # marks the entries of ``shapes`` that map a shape to its one object


def _first_shape(
    node: Node, ctx: EmitContext, bundle_offset: int | None, key: Any, values: list[str]
) -> Description | None:
    """The shape, if the general code gives exactly the node's description from it."""
    try:
        if node.kind is NodeKind.COMPUTE:
            job = _compute_job(_abstract_compute(node, key), ctx, None)
            if job.manifest_json is not None:  # a runner with a manifest: not this path
                return None
            own = _compute_job(node, ctx, None).description
        else:
            abstract = node._replace(name="@@0@@", files=())
            job = _tool_job(abstract, ctx, "@@1@@")  # type: ignore[arg-type]
            own = _tool_job(node._replace(files=()), ctx, bundle_offset).description
    except EmitError:
        return None  # the general code will say what is wrong, naming the node
    shape = job.description
    try:
        return shape if render(Shaped(shape, tuple(values))) == own else None
    except IndexError:  # a slot of the node's own text (a profile), not one of its names
        return None
