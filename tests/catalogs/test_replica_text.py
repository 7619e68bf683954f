"""The replica catalog text format: parsing, quoting, round trips, malformed lines."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalogs import replica_text
from catalogs.errors import CatalogFormatError
from catalogs.replica import PFN, Replica, ReplicaCatalog

SAMPLE = """\
# a comment line
f.a   file:///data/f.a        site="local" checksum.sha256="ab12" size="10"
f.a   http://example.org/f.a  site="web"   # the web copy

"my file" "file:///data/my file"  pool="local"
out_(\\d+)\\.fits  file:///sky/[1]/[0]  site="local" regex="true"
"""


def test_loads_the_sample() -> None:
    cat = replica_text.loads(SAMPLE, "rc.txt")
    assert cat.source == "rc.txt"
    assert cat.lookup("f.a") == (
        PFN(url="file:///data/f.a", site="local"),
        PFN(url="http://example.org/f.a", site="web"),
    )
    assert cat.sha256("f.a") == "ab12"
    assert cat.replicas[0].metadata == {"size": "10"}
    assert cat.lookup("my file") == (PFN(url="file:///data/my file", site="local"),)
    assert cat.lookup("out_12.fits") == (PFN(url="file:///sky/12/out_12.fits", site="local"),)


def test_unquoted_attribute_values_are_accepted() -> None:
    cat = replica_text.loads("f.a /a site=local regex=false size=3\n")
    assert cat.lookup("f.a") == (PFN(url="/a", site="local"),)
    assert cat.replicas[0].metadata == {"size": "3"}


def test_lines_with_one_lfn_form_one_entry() -> None:
    cat = replica_text.loads('a /1 site="s"\nb /2 site="s"\na /3 site="t"\n')
    assert [r.lfn for r in cat.replicas] == ["a", "b"]
    assert [p.url for p in cat.replicas[0].pfns] == ["/1", "/3"]


def test_dumps_quotes_only_what_needs_it() -> None:
    cat = ReplicaCatalog.of(
        [
            Replica(lfn="f.a", pfns=(PFN(url="/a", site="s"),), sha256="ff", metadata={"k": "v"}),
            Replica(lfn="a b", pfns=(PFN(url='/x"y', site="s"),)),
            Replica(lfn="p.*", pfns=(PFN(url="/q?x=1", site="s"),), regex=True),
        ]
    )
    assert replica_text.dumps(cat) == (
        'f.a /a site="s" checksum.sha256="ff" k="v"\n'
        '"a b" "/x\\"y" site="s"\n'
        'p.* "/q?x=1" site="s" regex="true"\n'
    )


def test_dump_then_load_gives_the_same_catalog(tmp_path: Path) -> None:
    cat = replica_text.loads(SAMPLE, str(tmp_path / "rc.txt"))
    replica_text.dump(cat, tmp_path / "rc.txt")
    assert replica_text.load(tmp_path / "rc.txt") == cat
    assert [p.name for p in tmp_path.iterdir()] == ["rc.txt"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("f.a\n", "rc.txt: line 1: expected LFN PFN"),
        ('ok /ok site="s"\nf.a /a\n', "rc.txt: line 2 (lfn 'f.a') has no site"),
        ('f.a /a site="s" extra\n', "rc.txt: line 1: expected LFN PFN"),
        ('f.a /a site="s\n', "rc.txt: line 1: unterminated quote"),
        ('f.a /a site="s" regex="perhaps"\n', "rc.txt: line 1 (lfn 'f.a'): regex: expected"),
        ('"f(" /a site="s" regex="true"\n', "rc.txt: line 1 (lfn 'f('): invalid regular expr"),
        ('"" /a site="s"\n', "rc.txt: line 1: the LFN is empty"),
        ('f.a "" site="s"\n', "rc.txt: line 1 (lfn 'f.a'): the PFN is empty"),
    ],
)
def test_malformed_lines_name_the_line_and_lfn(text: str, message: str) -> None:
    with pytest.raises(CatalogFormatError) as err:
        replica_text.loads(text, "rc.txt")
    assert str(err.value).startswith(message), str(err.value)


_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
_key = st.text("abcdefghijklmnopqrstuvwxyz_.", min_size=1, max_size=8).filter(
    lambda k: k not in {"site", "pool", "regex", "checksum.sha256"}
)
_replica = st.builds(
    Replica,
    lfn=_text,
    pfns=st.lists(st.builds(PFN, url=_text, site=_text), min_size=1, max_size=3).map(tuple),
    sha256=st.none() | st.text("0123456789abcdef", min_size=1, max_size=64),
    metadata=st.dictionaries(_key, _text, max_size=3),
    regex=st.booleans(),
).map(lambda r: replace(r, lfn=re.escape(r.lfn)) if r.regex else r)


@settings(max_examples=40, deadline=None)
@given(st.lists(_replica, max_size=6, unique_by=lambda r: r.lfn))
def test_text_round_trip_property(replicas: list[Replica]) -> None:
    cat = ReplicaCatalog.of(replicas, source="p.txt")
    assert replica_text.loads(replica_text.dumps(cat), "p.txt") == cat
