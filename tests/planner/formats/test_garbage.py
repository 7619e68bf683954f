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


_attrs = st.dictionaries(
    st.sampled_from(["id", "name", "file", "link", "ref", "size", "register", "optional",
                     "transfer", "namespace", "key", "runtime", "installed", "url", "site"]),
    st.sampled_from(["", "x", "input", "output", "-1", "1e400", "true", "maybe", "pegasus"]),
    max_size=4,
)  # fmt: skip
_tags = st.sampled_from(
    ["job", "uses", "argument", "file", "filename", "profile", "child", "parent", "stdout",
     "executable", "pfn", "metadata"]
)  # fmt: skip


@st.composite
def _elements(draw: st.DrawFn, depth: int = 0) -> str:
    tag = draw(_tags)
    attrs = "".join(f' {k}="{v}"' for k, v in draw(_attrs).items())
    kids = "" if depth >= 2 else "".join(draw(st.lists(_elements(depth + 1), max_size=3)))
    return f"<{tag}{attrs}>{draw(st.sampled_from(['', 'a b', ' 3 ']))}{kids}</{tag}>"


@settings(max_examples=150, deadline=None)
@given(st.lists(_elements(), max_size=4))
def test_dax_documents(elements: list[str]) -> None:
    from planner.formats import dax

    _accepts_or_refuses(dax.loads, f"<adag name='g'>{''.join(elements)}</adag>")
