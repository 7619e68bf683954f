"""A job's file lists matched as one text give what matching each file gives."""

from __future__ import annotations

from hypothesis import event, given, settings
from hypothesis import strategies as st

from planner.emit.submit import (
    _LANDING,
    _PLAIN_FILE_URL,
    _condor_input,
    _one_landing,
    _plain_inputs,
    _plain_paths,
)
from planner.model.concrete import Node, NodeKind, Transfer

# mostly plain names in one plain directory (what the one-text match takes), now and
# then not: another or an odd directory, a name with a comma, a slash, a line break
_PLAIN_DIR = st.just("file:///a/b/")
_DIR = _PLAIN_DIR | st.sampled_from(["file:///a b/", "http://h/", "file:///c/"])
_PLAIN_NAME = st.sampled_from(["x.dat", "y_1", "y_2", "é"])
_NAME = _PLAIN_NAME | st.sampled_from(["a,b", "", "s/t", "s/t", "n\nm", "q\nfile:///r"])


@st.composite
def _files(draw: st.DrawFn) -> tuple[Transfer, ...]:
    files = []
    odd = draw(st.booleans())
    for _ in range(draw(st.integers(0, 5))):
        lfn = draw(_NAME if odd else _PLAIN_NAME)
        url = draw(_DIR if odd else _PLAIN_DIR) + draw(st.sampled_from([lfn, lfn, lfn, "other"]))
        files.append(Transfer(lfn=lfn, dst=url, src=(url,) if draw(st.integers(0, 9)) else ()))
    return tuple(files)


@settings(max_examples=1000, deadline=None)
@given(files=_files())
def test_plain_urls_matched_together_are_each_matched_alone(files: tuple[Transfer, ...]) -> None:
    urls = [t.dst for t in files]
    alone = [_PLAIN_FILE_URL.fullmatch(u) for u in urls]
    together = _plain_paths(urls)
    if urls and all(alone):
        assert together == [m[1] for m in alone if m]
    else:
        assert together is None


@settings(max_examples=1000, deadline=None)
@given(files=_files())
def test_plain_inputs_are_each_inputs_own_entry(files: tuple[Transfer, ...]) -> None:
    node = Node(name="j", kind=NodeKind.COMPUTE, site="pool", level=1, inputs=files)
    together = _plain_inputs(files)
    event("together" if together is not None else "one by one")
    if together is not None:
        assert together == [_condor_input(node, t) for t in files]


def _landing_one_by_one(outputs: tuple[Transfer, ...]) -> str | None:
    home = None
    for t in outputs:
        plain = _LANDING.fullmatch(t.dst)
        if plain is None or plain.group(2) != t.lfn or plain.group(1) != (home or plain.group(1)):
            return None
        home = plain.group(1)
    return home


@settings(max_examples=1000, deadline=None)
@given(files=_files())
def test_a_landing_directory_found_together_is_the_one_found_file_by_file(
    files: tuple[Transfer, ...],
) -> None:
    together = _one_landing(files)
    event("together" if together is not None else "one by one")
    if together is not None:
        assert together == _landing_one_by_one(files)
