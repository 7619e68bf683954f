"""Replica catalog YAML: the real Pegasus API's output, round trips, malformed input."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from catalogs import replica_yaml
from catalogs.errors import CatalogFormatError
from catalogs.replica import PFN, Replica, ReplicaCatalog


def test_loads_what_the_pegasus_api_writes(tmp_path: Path) -> None:
    from Pegasus.api import ReplicaCatalog as PegasusRC

    rc = PegasusRC()
    rc.add_replica("local", "f.a", "/data/f.a", checksum={"sha256": "ab12"}, metadata={"size": 10})
    rc.add_replica("web", "f.a", "http://example.org/f.a")
    rc.add_replica("local", "f.b", "file:///data/f.b")
    rc.add_regex_replica("local", r"out_(\d+)\.fits", "file:///sky/[1]/[0]")
    rc.write(str(tmp_path / "rc.yml"))

    cat = replica_yaml.load(tmp_path / "rc.yml")

    assert cat.source == str(tmp_path / "rc.yml")
    # Pegasus keeps an entry's PFNs in a set, so their order in the file varies.
    assert set(cat.lookup("f.a")) == {
        PFN(url="/data/f.a", site="local"),
        PFN(url="http://example.org/f.a", site="web"),
    }
    assert cat.sha256("f.a") == "ab12"
    assert cat.replicas[0].metadata == {"size": "10"}
    assert cat.lookup("out_7.fits") == (PFN(url="file:///sky/7/out_7.fits", site="local"),)
    assert cat.lookup("out_x.fits") == ()


def test_dump_then_load_gives_the_same_catalog(tmp_path: Path) -> None:
    cat = ReplicaCatalog.of(
        [
            Replica(lfn="a", pfns=(PFN(url="/a", site="s"), PFN(url="/b", site="t")), sha256="ff"),
            Replica(lfn="r.*", pfns=(PFN(url="/x/[0]", site="s"),), regex=True),
            Replica(lfn="m", pfns=(PFN(url="/m", site="s"),), metadata={"k": "v", "a": "1"}),
        ],
        source=str(tmp_path / "out.yml"),
    )
    replica_yaml.dump(cat, tmp_path / "out.yml")
    assert replica_yaml.load(tmp_path / "out.yml") == cat
    assert [p.name for p in tmp_path.iterdir()] == ["out.yml"]


def test_dumps_is_byte_stable_and_pegasus_shaped() -> None:
    cat = ReplicaCatalog.of(
        [Replica(lfn="a", pfns=(PFN(url="/a", site="s"),), metadata={"z": "1", "b": "2"})]
    )
    assert replica_yaml.dumps(cat) == (
        'pegasus: "5.0"\n'
        "replicas:\n"
        "- lfn: a\n"
        "  pfns:\n"
        "  - site: s\n"
        "    pfn: /a\n"
        "  metadata:\n"
        '    b: "2"\n'
        '    z: "1"\n'
    )


def test_yaml_1_1_booleans_and_numbers_are_understood() -> None:
    cat = replica_yaml.loads(
        "replicas:\n- lfn: '\\d+'\n  pfns: [{site: s, pfn: '/n/[0]'}]\n  regex: 'yes'\n"
        "- lfn: 3\n  pfns: [{site: s, pfn: /three}]\n"
    )
    assert cat.lookup("42") == (PFN(url="/n/42", site="s"),)
    assert cat.lookup("3") == (PFN(url="/three", site="s"), PFN(url="/n/3", site="s"))


def test_empty_documents_give_empty_catalogs() -> None:
    assert replica_yaml.loads("", "rc.yml").replicas == ()
    assert replica_yaml.loads("pegasus: '5.0'\n", "rc.yml").replicas == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("replicas: [[1]", "rc.yml: malformed YAML"),
        ("- a\n", "rc.yml: replica catalog: expected a mapping, got a list"),
        ("replicas: {lfn: a}\n", "rc.yml: replicas: expected a list, got a mapping"),
        ("replicas:\n- pfns: []\n", "rc.yml: replica 1 has no lfn"),
        ("replicas:\n- lfn: f.a\n", "rc.yml: replica 1 (lfn 'f.a') has no pfns"),
        ("replicas:\n- lfn: f.a\n  pfns: []\n", "rc.yml: replica 1 (lfn 'f.a'): pfns is empty"),
        (
            "replicas:\n- {lfn: x, pfns: [{site: s, pfn: /x}]}\n- {lfn: f.a, pfns: [{pfn: /a}]}\n",
            "rc.yml: replica 2 (lfn 'f.a'): pfns[0] has no site",
        ),
        (
            "replicas:\n- {lfn: f.a, pfns: [{site: s}]}\n",
            "rc.yml: replica 1 (lfn 'f.a'): pfns[0] has no pfn",
        ),
        (
            "replicas:\n- {lfn: f.a, pfns: [/a]}\n",
            "rc.yml: replica 1 (lfn 'f.a'): pfns[0]: expected a mapping, got the string '/a'",
        ),
        (
            "replicas:\n- {lfn: f.a, pfns: [{site: s, pfn: /a}], regex: maybe}\n",
            "rc.yml: replica 1 (lfn 'f.a'): regex: expected true or false, got 'maybe'",
        ),
        (
            "replicas:\n- {lfn: 'f(', pfns: [{site: s, pfn: /a}], regex: true}\n",
            "rc.yml: replica 1 (lfn 'f('): invalid regular expression",
        ),
        (
            "replicas:\n- {lfn: f.a, pfns: [{site: s, pfn: /a}], sites: x}\n",
            "rc.yml: replica 1 (lfn 'f.a'): unknown key 'sites'",
        ),
        (
            "replicas:\n- {lfn: f.a, pfns: [{site: s, pfn: /a}], checksum: {md5: x}}\n",
            "rc.yml: replica 1 (lfn 'f.a'): checksum: unknown key 'md5'",
        ),
        (
            "replicas:\n- {lfn: f.a, pfns: [{site: [s], pfn: /a}]}\n",
            "rc.yml: replica 1 (lfn 'f.a'): pfns[0]: site: expected a string or number, got a list",
        ),
    ],
)
def test_malformed_input_names_the_entry(text: str, message: str) -> None:
    with pytest.raises(CatalogFormatError) as err:
        replica_yaml.loads(text, "rc.yml")
    assert str(err.value).startswith(message), str(err.value)
    assert "\n" not in str(err.value)


def test_missing_file_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogFormatError, match="no such file"):
        replica_yaml.load(tmp_path / "absent.yml")


_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
_pfn = st.builds(PFN, url=_text, site=_text)
_replica = st.builds(
    Replica,
    lfn=_text,
    pfns=st.lists(_pfn, min_size=1, max_size=3).map(tuple),
    sha256=st.none() | st.text("0123456789abcdef", min_size=1, max_size=64),
    metadata=st.dictionaries(_text, _text, max_size=3),
    regex=st.booleans(),
).map(lambda r: replace(r, lfn=re.escape(r.lfn)) if r.regex else r)


@settings(max_examples=40, deadline=None)
@given(st.lists(_replica, max_size=6))
def test_yaml_round_trip_property(replicas: list[Replica]) -> None:
    cat = ReplicaCatalog.of(replicas, source="p.yml")
    text = replica_yaml.dumps(cat)
    assert replica_yaml.loads(text, "p.yml") == cat
    # Pegasus itself reads catalogs with PyYAML (YAML 1.1): it must read the same.
    assert replica_yaml.from_dict(yaml.safe_load(text), "p.yml") == cat


@settings(max_examples=40, deadline=None)
@given(st.lists(_replica.filter(lambda r: not r.regex), min_size=1, max_size=6))
def test_plain_entries_built_without_pydantic_equal_validated_ones(
    replicas: list[Replica],
) -> None:
    """Plain entries take the fast path; what they build must equal what the checked path
    builds, and one entry that is not plain sends the whole catalog through the checks."""
    cat = ReplicaCatalog.of(replicas, source="p.yml")
    doc = yaml.safe_load(replica_yaml.dumps(cat))
    fast = replica_yaml.from_dict(doc, "p.yml")
    assert fast == cat
    doc["replicas"].append({"lfn": "x", "pfns": [{"site": "s", "pfn": "/x"}], "regex": "yes"})
    mixed = replica_yaml.from_dict(doc, "p.yml")
    assert mixed.replicas[:-1] == cat.replicas and mixed.replicas[-1].regex is True


@pytest.mark.parametrize("lfn", ["_0", "__1.5", "_1e3", "_0x1", "_a"])
def test_an_underscore_number_lfn_round_trips(lfn: str) -> None:
    """yaml-rs reads a plain ``_0`` as the number 0 (underscores are digit separators to
    it); the writer quotes such names (hypothesis found it)."""
    cat = ReplicaCatalog(replicas=(Replica(lfn=lfn, pfns=(PFN(url="f", site="s"),)),))
    assert replica_yaml.loads(replica_yaml.dumps(cat)).replicas[0].lfn == lfn
