"""The columnar manifest text: names lists read back as written, never longer than plain."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.emit.manifest import MANIFEST_ENCODER, files_json, names_json
from planner.tools.manifest import expand_manifest

# digits and a few letters, quotes, escapes and non-ASCII: names of one shape, and not
_NAME = st.text(alphabet='0123456789ab_."\\\n\u00e9\U0001f600', max_size=8)


def _read(names_text: str) -> list[str]:
    """The names as the tools read them (as a cleanup group in the directory "")."""
    doc = {"files": [{"dir": "", "names": json.loads(names_text)}]}
    files: list[str] = expand_manifest(doc)["files"]
    return files


@settings(max_examples=500, deadline=None)
@given(names=st.lists(_NAME, max_size=12))
def test_names_read_back_in_order_and_never_longer_than_plain(names: list[str]) -> None:
    text = names_json(names)
    assert _read(text) == names
    assert len(text) <= len(MANIFEST_ENCODER.encode(names))
    assert text == names_json(list(names))  # the same bytes every time


def test_runs_of_numbered_names_are_said_once() -> None:
    names = [f"result_{i:07d}.dat" for i in range(0, 50000, 5000)]
    text = names_json(names)
    assert text == (
        '[{"mid":["00","05","10","15","20","25","30","35","40","45"],'
        '"pre":"result_00","suf":"000.dat"}]'
    )
    assert _read(text) == names


@settings(max_examples=300, deadline=None)
@given(urls=st.lists(st.sampled_from(["file:///a/", "file:///b/c/", "", "/"]).flatmap(
    lambda d: _NAME.map(lambda n: d + n)), max_size=10))  # fmt: skip
def test_cleanup_files_are_the_same_set_never_longer(urls: list[str]) -> None:
    text = files_json(urls)
    read = expand_manifest({"files": json.loads(text)})["files"]
    assert sorted(read) == sorted(urls)
    assert len(text) <= len(MANIFEST_ENCODER.encode(urls))
