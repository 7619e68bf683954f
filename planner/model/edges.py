"""The concrete DAG's edges as integer pairs: :class:`Edges` and its builder.

A plan of 10^5 Montage jobs has about 900,000 edges. Held as ``(parent, child)`` tuples
of node names, each costs a 56-byte tuple and an 8-byte slot in the tuple holding them
(64 bytes); held as two ``array('I')`` of indices into a table of the node names, each
costs 8 bytes. :class:`Edges` is that table and the two arrays; read as a sequence it
still gives ``(parent, child)`` name pairs, built as they are read, so code that
iterates, counts or indexes the edges is unchanged.

>>> edges = Edges.of([("a", "b"), ("a", "c")])
>>> list(edges), len(edges), edges[1]
([('a', 'b'), ('a', 'c')], 2, ('a', 'c'))
>>> edges == (("a", "b"), ("a", "c"))
True
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, repeat
from typing import overload

__all__ = ["EdgeList", "Edges"]

Edge = tuple[str, str]


class Edges(Sequence[Edge]):
    """(parent, child) node-name pairs, stored as indices into ``names``: immutable
    (made by :class:`EdgeList` or :meth:`of`, never changed after).

    The indices are kept in segments, one per builder: a pass that adds edges to the
    plan's (:class:`EdgeList` started from them) shares the earlier segments and their
    name index instead of copying them (at 10^5 jobs a copy was 17 MB, four times)."""

    __slots__ = ("_count", "_layers", "_names", "_parts")

    def __init__(
        self, names: tuple[str, ...] = (), parents: array[int] | None = None,
        children: array[int] | None = None,
    ) -> None:  # fmt: skip
        parents = array("I") if parents is None else parents
        children = array("I") if children is None else children
        if len(parents) != len(children):
            raise ValueError("Edges: as many parents as children are needed")
        self._names = names
        self._parts: tuple[tuple[array[int], array[int]], ...] = (
            ((parents, children),) if parents else ()
        )
        self._count = len(parents)
        # name -> index maps that together cover ``names``, handed over by the builders
        # (never changed once here); empty: a builder numbers the names itself
        self._layers: tuple[dict[str, int], ...] = ()

    @classmethod
    def _joined(
        cls,
        names: tuple[str, ...],
        parts: tuple[tuple[array[int], array[int]], ...],
        layers: tuple[dict[str, int], ...],
    ) -> Edges:
        edges = cls(names)
        edges._parts, edges._layers = parts, layers
        edges._count = sum(len(p) for p, _ in parts)
        return edges

    @classmethod
    def of(cls, pairs: Iterable[Edge]) -> Edges:
        """The edges ``pairs``, in their order (duplicates kept)."""
        built = EdgeList()
        for parent, child in pairs:
            built.add(parent, child)
        return built.freeze()

    @property
    def names(self) -> tuple[str, ...]:
        """The name table the indices point into (every node an edge names)."""
        return self._names

    @property
    def parents(self) -> array[int]:
        """The parent of each edge, as an index into :attr:`names` (read only)."""
        return self._column(0)

    @property
    def children(self) -> array[int]:
        """The child of each edge, as an index into :attr:`names` (read only)."""
        return self._column(1)

    def _column(self, which: int) -> array[int]:
        parts = self._parts
        if len(parts) == 1:
            return parts[0][which]
        joined: array[int] = array("I")
        for part in parts:
            joined.extend(part[which])
        return joined

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Edge]:
        name = self._names.__getitem__
        return chain.from_iterable(
            zip(map(name, p), map(name, c), strict=True) for p, c in self._parts
        )

    @overload
    def __getitem__(self, i: int) -> Edge: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Edge, ...]: ...
    def __getitem__(self, i: int | slice) -> Edge | tuple[Edge, ...]:
        if isinstance(i, slice):
            return tuple(self)[i]
        if i < 0:
            i += self._count
        for p, c in self._parts:
            if 0 <= i < len(p):
                return self._names[p[i]], self._names[c[i]]
            i -= len(p)
        raise IndexError("Edges index out of range")

    def __contains__(self, edge: object) -> bool:
        return any(e == edge for e in self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(map(tuple.__eq__, self, other))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Edges({list(self)!r})"


class EdgeList:
    """Builds an :class:`Edges`: names are numbered as they first appear. Mutable, and
    private to the pass that builds one (``freeze`` hands over the value). Started from
    an :class:`Edges`, it shares that value's segments and name index and adds its own."""

    __slots__ = ("_children", "_index", "_layers", "_names", "_parents", "_parts", "_seen")

    def __init__(self, start: Sequence[Edge] | None = None) -> None:
        if start is not None and not isinstance(start, Edges):
            start = Edges.of(start)  # name pairs (a plan built by hand, in tests)
        names = () if start is None else start.names
        self._names: list[str] = list(names)
        self._parts = () if start is None else start._parts
        layers = () if start is None else start._layers
        if names and not layers:
            layers = (dict(zip(names, range(len(names)), strict=True)),)
        self._layers: tuple[dict[str, int], ...] = layers
        self._index: dict[str, int] = {}  # the names this builder numbered
        self._parents: array[int] = array("I")
        self._children: array[int] = array("I")
        self._seen: set[int] | None = None  # the edges add_new has met, as p << 32 | c

    def _number(self, name: str) -> int:
        for layer in self._layers:
            i = layer.get(name)
            if i is not None:
                return i
        i = self._index.get(name)
        if i is None:
            i = self._index[name] = len(self._names)
            self._names.append(name)
        return i

    def add(self, parent: str, child: str) -> None:
        """Append the edge ``parent -> child`` (the caller knows it is new)."""
        self._parents.append(self._number(parent))
        self._children.append(self._number(child))

    def add_new(self, parent: str, child: str) -> None:
        """Append ``parent -> child`` unless ``add_new`` appended it already."""
        p, c = self._number(parent), self._number(child)
        seen = self._seen
        if seen is None:
            seen = self._seen = set()
        key = p << 32 | c
        if key not in seen:
            seen.add(key)
            self._parents.append(p)
            self._children.append(c)

    def add_parents(self, parents: Iterable[str], child: str) -> None:
        """Append ``p -> child`` for each of ``parents`` (distinct, the caller knows)."""
        before = len(self._parents)
        self._parents.extend(map(self._number, parents))
        self._children.extend(repeat(self._number(child), len(self._parents) - before))

    def freeze(self) -> Edges:
        """The edges so far, as a value (the builder is not to be used after)."""
        self._seen = None
        parts = self._parts + (((self._parents, self._children),) if self._parents else ())
        layers = self._layers + ((self._index,) if self._index else ())
        return Edges._joined(tuple(self._names), parts, layers)
