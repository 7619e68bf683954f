"""The one rule that shares files among transfer and cleanup nodes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from planner.grouping import deal, node_count


@given(st.lists(st.integers(), max_size=60), st.integers(min_value=1, max_value=12))
def test_deal_gives_every_item_once_round_robin_in_order(items: list[int], count: int) -> None:
    buckets = deal(items, count)
    assert len(buckets) == count
    assert sorted(x for b in buckets for x in b) == sorted(items)
    for k, bucket in enumerate(buckets):
        assert list(bucket) == [items[i] for i in range(k, len(items), count)]
    sizes = [len(b) for b in buckets]
    assert max(sizes) - min(sizes) <= 1


@given(
    st.integers(min_value=0, max_value=500),
    st.integers(min_value=0, max_value=500),
    st.integers(min_value=1, max_value=20),
    st.none() | st.integers(min_value=1, max_value=50),
)
def test_node_count_is_at_least_one_and_never_more_than_the_items(
    items: int, jobs: int, per_node: int, override: int | None
) -> None:
    count = node_count(items, jobs, per_node, override)
    assert 1 <= count <= max(1, items)
    wanted = override if override is not None else -(-jobs // per_node)
    assert count == max(1, min(items, wanted))
