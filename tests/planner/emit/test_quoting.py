"""Quoting round-trips through htcondor 24's own submit parser (offline job ads)."""

from __future__ import annotations

import diamonds  # tests/planner/emit/diamonds.py (tests/conftest.py puts it on the path)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.emit.quoting import (
    check_path_list_item,
    classad_string,
    dagman_value,
    quote_arguments,
    quote_environment,
)
from planner.errors import EmitError

htcondor = pytest.importorskip("htcondor")


split_v2 = diamonds.split_v2

# Printable text plus the characters submit syntax cares about; no line breaks.
WORD_CHARS = st.characters(
    blacklist_categories=("Cc", "Cs"), whitelist_characters="\t"
) | st.sampled_from(list(" '\"$()\\#=;,"))
WORDS = st.text(WORD_CHARS, max_size=12)


def _ad(lines: str) -> object:
    jobs = list(htcondor.Submit(f"executable = /bin/true\n{lines}queue\n").jobs())
    assert len(jobs) == 1
    return jobs[0]


@settings(max_examples=80, deadline=None)
@given(st.lists(WORDS, max_size=6))
def test_arguments_round_trip_through_htcondor(args: list[str]) -> None:
    ad = _ad(f"arguments = {quote_arguments(args)}\n")
    assert split_v2(ad.get("Arguments", "")) == args  # type: ignore[attr-defined]


@settings(max_examples=50, deadline=None)
@given(
    st.dictionaries(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True), WORDS, max_size=4)
)
def test_environment_round_trip_through_htcondor(env: dict[str, str]) -> None:
    ad = _ad(f"environment = {quote_environment(env)}\n")
    words = split_v2(ad.get("Environment", ""))  # type: ignore[attr-defined]
    assert dict(w.split("=", 1) for w in words) == env


@settings(max_examples=50, deadline=None)
@given(WORDS)
def test_classad_string_round_trip(value: str) -> None:
    ad = _ad(f"+Probe = {classad_string(value)}\n")
    assert ad["Probe"] == value  # type: ignore[index]


@settings(max_examples=50, deadline=None)
@given(st.lists(WORDS, max_size=4))
def test_arguments_survive_dagman_vars(args: list[str]) -> None:
    """A VARS value is unescaped by DAGMan, then pasted into the submit text."""
    import re

    vars_text = dagman_value(quote_arguments(args))
    pasted = re.sub(r"\\(.)", r"\1", vars_text[1:-1])
    ad = _ad(f"a_macro = {pasted}\narguments = $(a_macro)\n")
    assert split_v2(ad.get("Arguments", "")) == args  # type: ignore[attr-defined]


def test_known_spellings() -> None:
    assert quote_arguments(["1", "two words", "it's", '"q"']) == (
        "\"1 'two words' 'it''s' '\"\"q\"\"'\""
    )
    assert quote_arguments(["$(JOB)"]) == "\"''$(DOLLAR)'(JOB)'\""
    assert quote_environment({"B": "x y", "A": "1"}) == "\"A=1 'B=x y'\""


@pytest.mark.parametrize("bad", ["line\nbreak", "cr\rhere", "nul\0"])
def test_line_breaks_are_refused_naming_the_value(bad: str) -> None:
    with pytest.raises(EmitError, match="line break"):
        quote_arguments(["ok", bad])


def test_environment_names_are_checked() -> None:
    with pytest.raises(EmitError, match="'1BAD'"):
        quote_environment({"1BAD": "x"})


@pytest.mark.parametrize("bad", ["/a,b", " /lead", ""])
def test_file_list_items_without_commas(bad: str) -> None:
    with pytest.raises(EmitError, match="comma-separated"):
        check_path_list_item(bad, "input")
