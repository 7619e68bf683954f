"""The columnar manifest text: names lists read back as written, never longer than plain."""

from __future__ import annotations

import json
import re

from hypothesis import event, given, settings
from hypothesis import strategies as st

from planner.emit.manifest import (
    MANIFEST_ENCODER,
    _files_by_directory,
    _replicas_by_runs,
    _shapes,
    _shared_end,
    _shared_start,
    _transfers_by_runs,
    files_json,
    names_json,
    replicas_json,
    transfers_json,
)
from planner.model.concrete import Transfer
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


# Lines whose files share their directories and flags (so that many draws take the
# one-group shortcut), but now and then one file does not, in one of its fields.
_LFN = st.sampled_from(["f_001.dat", "f_002.dat", "f_013.dat", "g.dat", "s/f_001.dat", 'é"1'])
_ODD = st.sampled_from(
    ["dst", "src", "src2", "lfn", "name", "sha256", "symlink", "executable", "optional",
     "site", "meta", "metaname", "none"]
)  # fmt: skip


@st.composite
def _line_files(draw: st.DrawFn) -> tuple[Transfer, ...]:
    flags = {k: draw(st.booleans()) for k in ("symlink", "executable", "optional")}
    sha256 = draw(st.sampled_from([None, None, "ab"]))
    site = draw(st.sampled_from(["local", None, "other"]))
    metadir = draw(st.sampled_from([None, "file:///a/", "file:///m/"]))
    files = []
    for _ in range(draw(st.integers(1, 5))):
        odd = draw(_ODD) if draw(st.integers(0, 4)) == 0 else None
        lfn = "" if odd == "lfn" else draw(_LFN)
        name = "x" if odd == "name" else lfn
        meta = None if metadir is None else f"{metadir}{draw(_LFN)}.meta"
        fields = {
            "lfn": lfn,
            "dst": ("http://h/d/" if odd == "dst" else "file:///d/") + name,
            "src": ("file:///a/" if odd != "src" else "file:///b/") + lfn,
            "sha256": "cd" if odd == "sha256" else sha256,
            "site": "third" if odd == "site" else site,
            "meta": "file:///z/y.meta" if odd == "meta" else meta,
            **{k: v != (odd == k) for k, v in flags.items()},
        }
        if odd == "metaname" and meta is not None:
            fields["meta"] = meta.replace(".meta", "/x.meta")
        src = (fields.pop("src"),) + (("http://h/c/" + lfn,) if odd == "src2" else ())
        files.append(Transfer(src=src, **fields))
    return tuple(files)


@settings(max_examples=500, deadline=None)
@given(files=_line_files())
def test_a_line_checked_a_column_at_a_time_is_the_line_checked_a_file_at_a_time(
    files: tuple[Transfer, ...],
) -> None:
    whole = _transfers_by_runs(files)
    event("one group" if whole.count('"lfns"') == 1 and len(files) > 1 else "other")
    assert transfers_json(files) == whole
    assert replicas_json(files, "local") == _replicas_by_runs(files, "local")
    urls = [t.dst for t in files]
    assert files_json(urls) == _files_by_directory(urls)


@settings(max_examples=300, deadline=None)
@given(names=st.lists(_NAME, max_size=12))
def test_the_shapes_of_names_found_in_one_text_are_each_names_own(names: list[str]) -> None:
    assert _shapes(names) == [re.sub("[0-9]+", "0", n) for n in names]


@settings(max_examples=300, deadline=None)
@given(names=st.lists(_NAME, min_size=1, max_size=12))
def test_the_end_all_names_share_is_found_from_the_first_and_the_last(names: list[str]) -> None:
    assert _shared_end(names) == _shared_start([n[::-1] for n in names])
