"""How many nodes share a group of files, and which file goes to which node: one rule
for the transfer nodes (``pegasus.stagein.clusters`` / ``pegasus.stageout.clusters``) and
the cleanup nodes (``pegasus.file.cleanup.clusters.*``)."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from typing import TypeVar

__all__ = ["by_key", "deal", "node_count"]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


def node_count(items: int, jobs_on_level: int, jobs_per_node: int, override: int | None) -> int:
    """``override`` nodes if given, else one per ``jobs_per_node`` jobs on the level; at
    least one, and no more than there are ``items`` to share.

    >>> node_count(3, 25, 10, None), node_count(3, 25, 10, 8), node_count(0, 1, 5, None)
    (3, 3, 1)
    """
    count = override or math.ceil(jobs_on_level / jobs_per_node)
    return max(1, min(items, count))


def deal(items: Sequence[T], count: int) -> list[Sequence[T]]:
    """``items`` dealt round robin into ``count`` buckets: item ``i`` to bucket
    ``i % count``, each bucket in the items' order.

    >>> deal("abcde", 2)
    ['ace', 'bd']
    """
    return [items[k::count] for k in range(count)]


def by_key(keys: Iterable[K], items: Iterable[T]) -> dict[K, list[T]]:
    """``items`` grouped by their ``keys`` (paired in order), the groups in the order
    their keys first come and each in the items' order; one pass, one lookup an item.

    >>> by_key("abab", [1, 2, 3, 4])
    {'a': [1, 3], 'b': [2, 4]}
    """
    groups: dict[K, list[T]] = {}
    for key, item in zip(keys, items, strict=True):
        same = groups.get(key)
        if same is None:
            groups[key] = [item]
        else:
            same.append(item)
    return groups
