"""The staging pass's residency table: readers kept in order however they are stored
(a tuple, then a list past TUPLE_READERS), waits settled at their places, and what
cleanup frees."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from planner.model.concrete import NodeKind
from planner.model.staging import TUPLE_READERS, Residencies
from planner.staging.context import WAITING, Fixups

# (residency, reader) additions over three files on two sites, up to three times the tuple
# limit for one file, so that some files' readers become a list
ADDS = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(["a", "b", "c", "d"])),
    max_size=3 * TUPLE_READERS + 5,
)


def _table() -> Residencies:
    table = Residencies()
    table.add("f", "s", "file:///s/f", "w")
    table.add("g", "s", "file:///s/g")
    table.add("f", "t", "file:///t/f")
    return table


@given(ADDS)
def test_readers_stay_in_the_order_they_were_added(adds: list[tuple[int, str]]) -> None:
    table = _table()
    expected: list[list[str]] = [[], [], []]
    for r, name in adds:
        table.add_reader(r, name)
        expected[r].append(name)
    assert [list(table.readers[r]) for r in range(3)] == expected
    for r in range(3):  # a tuple while short, a list once past the limit
        kind = tuple if len(expected[r]) <= TUPLE_READERS else list
        assert type(table.readers[r]) is kind


def test_a_file_read_by_many_keeps_every_reader_and_its_waits() -> None:
    table, fixups = _table(), Fixups()
    many = 3 * TUPLE_READERS
    key = (NodeKind.STAGE_OUT, "f", "out")
    for i in range(many):
        if i == TUPLE_READERS + 2:
            fixups.read(table, 0, key)
        else:
            table.add_reader(0, f"r{i}")
    fixups.settle({key: "stage_out"}, table)
    expected = [f"r{i}" for i in range(many)]
    expected[TUPLE_READERS + 2] = "stage_out"
    assert table.readers[0] == expected


@given(ADDS, st.data())
def test_settled_waits_name_their_readers_in_place(
    adds: list[tuple[int, str]], data: st.DataObject
) -> None:
    """A transfer node's name, known only after grouping, lands where its wait was
    added among the other readers, in a tuple or a list."""
    table, fixups = _table(), Fixups()
    expected: list[list[str]] = [[], [], []]
    names: dict[tuple[NodeKind, str, str], str] = {}
    for i, (r, name) in enumerate(adds):
        if data.draw(st.booleans()):
            key = (NodeKind.STAGE_OUT, f"l{i}", "out")
            names[key] = f"stage_out_{i}"
            fixups.read(table, r, key)
            expected[r].append(f"stage_out_{i}")
        else:
            table.add_reader(r, name)
            expected[r].append(name)
    assert all(WAITING not in e for e in expected)
    fixups.settle(names, table)
    assert [list(table.readers[r]) for r in range(3)] == expected
    assert len(fixups) == 0


def test_the_last_request_to_write_a_file_is_its_writer() -> None:
    table, fixups = _table(), Fixups()
    first, last = (NodeKind.STAGE_IN, "g", "s"), (NodeKind.STAGE_INTER, "g", "s")
    fixups.write(1, first)
    fixups.write(1, last)
    assert table.writers[1] is None  # not yet: only the writes were asked for
    table.writers[1] = WAITING
    fixups.settle({first: "stage_in_1", last: "stage_inter_1"}, table)
    assert table.writers[1] == "stage_inter_1"


def test_a_site_index_finds_each_file_on_its_own_site() -> None:
    table = _table()
    assert (table.find("f", "s"), table.find("g", "s"), table.find("f", "t")) == (0, 1, 2)
    assert table.find("g", "t") is None and table.find("f", "u") is None
    assert table.resident("g", "t", "file:///t/g") == 3 == table.find("g", "t")
    assert table.resident("f", "s", "elsewhere") == 0 and table.urls[0] == "file:///s/f"
    assert [site for site, _ in table.sites()] == ["s", "t"]
    assert table.lfns == ["f", "g", "f", "g"]


def test_what_cleanup_frees_and_keeps() -> None:
    """Cleanup goes by residency number: the indexes can go first; a bucket's readers
    once its removals are made; the rest with clear()."""
    table = _table()
    for name in ("a", "b"):
        table.add_reader(0, name)
    table.forget_index()
    assert table.find("f", "s") is None and table.sites() == []
    assert (table.lfns[0], table.urls[0], table.writers[0]) == ("f", "file:///s/f", "w")
    assert table.readers[0] == ("a", "b")
    table.forget_readers([0])
    assert table.readers[0] == () and len(table) == 3
    table.clear()
    assert len(table) == 0 and not table
