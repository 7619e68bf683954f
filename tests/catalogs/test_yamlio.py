"""The shared YAML reader: JSON documents take Python's json module, with YAML's meaning."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml_rs
from hypothesis import given, settings
from hypothesis import strategies as st

from catalogs.errors import CatalogFormatError
from catalogs.yamlio import load_yaml, parser_name

pytestmark = pytest.mark.skipif(parser_name() != "yaml-rs", reason="JSON path is yaml-rs only")

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(blacklist_categories=("Cs",)), max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.text(st.characters(blacklist_categories=("Cs",)), max_size=4), inner, max_size=3
        )
    ),
    max_leaves=10,
)


def _yaml(text: str) -> Any:
    return yaml_rs.loads(text, parse_datetime=False)


@settings(max_examples=150, deadline=None)
@given(_json_values, st.booleans())
def test_json_text_reads_as_yaml_reads_it(value: Any, indent: bool) -> None:
    text = json.dumps(value, indent=1 if indent else None, ensure_ascii=False)
    assert load_yaml(text) == _yaml(text)


def test_a_repeated_key_is_refused_as_yaml_refuses_it() -> None:
    with pytest.raises(CatalogFormatError, match="malformed YAML") as err:
        load_yaml('{"a": 1, "a": 2}', "c.yml")
    assert str(err.value).startswith("c.yml: ")


@pytest.mark.parametrize(
    "text",
    [
        '{"a": NaN}',  # not JSON: YAML reads the plain scalar NaN as text
        '{"a": Infinity}',
        "{a: 1}",  # YAML flow mapping, not JSON
        '["x", 1,]',
        '"pegasus": "5.0"\nname: w\n',
    ],
)
def test_text_that_is_not_strict_json_is_read_as_yaml(text: str) -> None:
    assert load_yaml(text) == _yaml(text)


def test_a_pegasus_api_json_workflow_loads() -> None:
    from planner.formats import pegasus_yaml

    doc = {
        "x-pegasus": {"apiLang": "python"},
        "pegasus": "5.0",
        "name": "w",
        "jobs": [
            {
                "type": "job",
                "name": "t",
                "id": "ID1",
                "arguments": ["-i", "f.a"],
                "uses": [{"lfn": "f.a", "type": "input"}],
            }
        ],
        "jobDependencies": [],
    }
    wf = pegasus_yaml.loads(json.dumps(doc, indent=4), "w.yml")
    assert wf.jobs[0].uses[0].lfn == "f.a" and wf.jobs[0].arguments == ("-i", "f.a")
