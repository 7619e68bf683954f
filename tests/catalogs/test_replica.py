"""ReplicaCatalog lookups: plain entries, regex entries with [0]/[1] groups, merging."""

from __future__ import annotations

from catalogs.replica import PFN, Replica, ReplicaCatalog


def _rep(lfn: str, url: str, site: str = "s", regex: bool = False) -> Replica:
    return Replica(lfn=lfn, pfns=(PFN(url=url, site=site),), regex=regex)


def test_regex_entries_substitute_the_match_and_its_groups() -> None:
    cat = ReplicaCatalog.of([_rep(r"(\w+)_(\d+)\.fits", "file:///d/[2]/[1]/[0]", regex=True)])
    assert cat.lookup("raw_12.fits") == (PFN(url="file:///d/12/raw/raw_12.fits", site="s"),)


def test_regex_entries_match_whole_lfns_only() -> None:
    cat = ReplicaCatalog.of([_rep(r"a\d", "/x/[0]", regex=True)])
    assert cat.lookup("a1") == (PFN(url="/x/a1", site="s"),)
    assert cat.lookup("a12") == ()
    assert cat.lookup("ba1") == ()


def test_a_group_that_did_not_match_becomes_empty_and_unknown_refs_stay() -> None:
    cat = ReplicaCatalog.of([_rep(r"f(x)?\.dat", "/d/[1]/[5]", regex=True)])
    assert cat.lookup("f.dat") == (PFN(url="/d//[5]", site="s"),)


def test_plain_entries_come_before_regex_entries() -> None:
    cat = ReplicaCatalog.of([_rep(".*", "/any/[0]", regex=True), _rep("f", "/plain")])
    assert [p.url for p in cat.lookup("f")] == ["/plain", "/any/f"]


def test_merged_keeps_the_earlier_catalog_first() -> None:
    first = ReplicaCatalog.of([_rep("f", "/first")], source="a.yml")
    second = ReplicaCatalog.of([_rep("f", "/second"), _rep("g", "/g")], source="b.txt")
    merged = first.merged(second)
    assert [p.url for p in merged.lookup("f")] == ["/first", "/second"]
    assert merged.has("g")
    assert merged.source == "a.yml, b.txt"


def test_empty_catalog_finds_nothing() -> None:
    cat = ReplicaCatalog()
    assert cat.lookup("f") == ()
    assert not cat.has("f")
    assert cat.sha256("f") is None


def test_lookup_many_equals_lookup_per_name_with_and_without_regex_entries() -> None:
    plain = [_rep("f", "/f1"), _rep("f", "/f2"), _rep("g", "/g"), Replica(lfn="e", pfns=())]
    names = ["f", "g", "e", "missing"]
    for entries in (plain, [*plain, _rep(r"m.*", "/m/[0]", regex=True)]):
        cat = ReplicaCatalog.of(entries)
        expected = {n: cat.lookup(n) for n in names if cat.lookup(n)}
        assert cat.lookup_many(names) == expected
    assert ReplicaCatalog.of(plain).lookup_many(names)["f"] == (
        PFN(url="/f1", site="s"),
        PFN(url="/f2", site="s"),
    )


def test_checksum_is_the_first_plain_entry_that_has_one() -> None:
    cat = ReplicaCatalog.of(
        [
            Replica(lfn="f", pfns=(PFN(url="/a/f", site="a"),)),
            Replica(lfn="f", pfns=(PFN(url="/b/f", site="b"),), sha256="11"),
            Replica(lfn="f", pfns=(PFN(url="/c/f", site="c"),), sha256="22"),
            Replica(lfn="g.*", pfns=(PFN(url="/r/x", site="r"),), regex=True, sha256="33"),
        ]
    )
    assert cat.sha256("f") == "11"
    assert cat.checksums == {"f": "11"}  # regex entries give no checksum
    assert cat.sha256("g1") is None
