"""Any malformed document gives a WfplanError (one line), never another exception."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from catalogs.errors import WfplanError
from planner.formats import pegasus_yaml, wfformat

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=10**20),
    st.floats(allow_nan=True),
    st.sampled_from(["", "x", "input", "output", "job", "pegasus", "env", "5.0", "yes"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                ["id", "name", "lfn", "type", "uses", "arguments", "profiles", "size",
                 "stageOut", "children", "pegasus", "env", "inputFiles", "parents",
                 "command", "program", "files", "tasks", "sizeInBytes", "metadata"]
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)  # fmt: skip


def _accepts_or_refuses(load: Any, doc: object) -> None:
    try:
        load(doc, "g")
    except WfplanError as exc:
        assert "\n" not in str(exc)
        assert str(exc).startswith("g: ")


@settings(max_examples=150, deadline=None)
@given(st.lists(_values, min_size=1, max_size=3), _values)
def test_pegasus_yaml_jobs(jobs: list[object], deps: object) -> None:
    doc = {"pegasus": "5.0", "name": "w", "jobs": jobs, "jobDependencies": deps}
    _accepts_or_refuses(pegasus_yaml.from_dict, doc)


@settings(max_examples=150, deadline=None)
@given(_values, _values)
def test_wfformat_documents(spec: object, execution: object) -> None:
    doc = {"name": "w", "workflow": {"specification": spec, "execution": execution}}
    _accepts_or_refuses(wfformat.from_dict, doc)
    _accepts_or_refuses(wfformat.from_dict, {"name": "w", "workflow": {"tasks": spec}})
