"""pegasus.properties reading and the profile layer it defines."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.model.base import Namespace
from planner.properties import PropertiesError, as_profiles, load_properties, parse_properties


def test_key_value_lines_comments_and_later_keys_win() -> None:
    text = "# comment\n! also\npegasus.selector.site = Heft\n\ndagman.retry=3\ndagman.retry = 4\n"
    assert parse_properties(text) == {"pegasus.selector.site": "Heft", "dagman.retry": "4"}


def test_bad_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "p.properties"
    path.write_text("a = 1\nnonsense\n")
    with pytest.raises(PropertiesError) as err:
        load_properties(path)
    assert str(err.value) == f"{path}: line 2: expected 'key = value', got 'nonsense'"


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PropertiesError, match="cannot read properties"):
        load_properties(tmp_path / "absent")


def test_profiles_layer_leaves_planner_settings_out() -> None:
    props = {
        "pegasus.data.configuration": "sharedfs",
        "pegasus.clusters.size": "5",
        "condor.request_memory": "2048",
        "env.PATH": "/bin",
        "other.key": "x",
    }
    assert as_profiles(props) == {
        Namespace.CONDOR: {"request_memory": "2048"},
        Namespace.ENV: {"PATH": "/bin"},
        Namespace.PEGASUS: {"clusters.size": "5"},
    }


def test_define_is_key_equals_value() -> None:
    from planner.properties import parse_define

    assert parse_define("pegasus.catalog.site.file=sites.yml") == (
        "pegasus.catalog.site.file",
        "sites.yml",
    )
    assert parse_define("a=b=c") == ("a", "b=c")
    with pytest.raises(PropertiesError, match="-Dnonsense: expected -Dkey=value"):
        parse_define("nonsense")


def test_unknown_keys_name_the_nearest_known_one() -> None:
    from planner.properties import unknown_keys

    assert unknown_keys(
        [
            "clusters.num",
            "pegasus.data.configuraton",
            "zzz",
            "pegasus.clusters.size",
            "pegasus.catalog.site.file",
            "condor.request_memory",
            "env.ANYTHING",
            "pegasus.selector.replica.regex.rank.1",
        ]
    ) == [
        ("clusters.num", "pegasus.clusters.num"),
        ("pegasus.data.configuraton", "pegasus.data.configuration"),
        ("zzz", None),
    ]


def test_layers_merge_in_pegasus_order(tmp_path: Path) -> None:
    """~/.pegasusrc < --conf < -D, and the catalog keys fill in --sc/--tc/--rc."""
    import argparse

    from planner.commands.common import read_properties

    (tmp_path / ".pegasusrc").write_text("a = rc\nb = rc\nc = rc\npegasus.catalog.site.file = s\n")
    conf = tmp_path / "conf.properties"
    conf.write_text("b = conf\nc = conf\npegasus.catalog.replica.file = r.yml\n")
    args = argparse.Namespace(conf=str(conf), defines=["c=cli"], sc=None, tc="given.yml", rc=[])
    props = read_properties(args, home=tmp_path)
    assert (props["a"], props["b"], props["c"]) == ("rc", "conf", "cli")
    assert (args.sc, args.tc, args.rc) == ("s", "given.yml", ["r.yml"])


def test_every_property_the_planner_reads_is_known() -> None:
    """A key plan_context reads must not be warned about as having no effect (it was, for
    pegasus.integrity.checking)."""
    import re

    from planner import plan_context
    from planner.properties import PLANNER_KEYS, unknown_keys

    read = set(re.findall(r'"(pegasus\.[a-z_.]+[a-z])"', Path(plan_context.__file__).read_text()))
    assert "pegasus.integrity.checking" in read
    assert unknown_keys(sorted(read)) == []
    assert "pegasus.integrity.checking" in PLANNER_KEYS
