"""Quoting for HTCondor submit text and DAGMan files: pure string functions.

HTCondor's *new* argument syntax (the whole value in double quotes) is the only one that
can carry spaces and quotes: spaces separate words, ``'...'`` groups, ``''`` inside single
quotes is a literal ``'``, ``""`` is a literal ``"``, backslash means nothing. Macros
``$(x)`` expand before splitting, so every ``$`` is written ``$(DOLLAR)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from planner.errors import EmitError

_PLAIN_WORD = re.compile(r"[A-Za-z0-9_+,./:=@%^-]+")
_PLAIN_WORDS = re.compile(r"[A-Za-z0-9_+,./:=@%^-]+(?: [A-Za-z0-9_+,./:=@%^-]+)*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _check_one_line(value: str, what: str) -> None:
    if "\n" in value or "\r" in value or "\0" in value:
        raise EmitError(
            f"{what} {value!r} contains a line break or NUL, which submit text cannot hold"
        )


def _protect_dollars(text: str) -> str:
    return text.replace("$", "$(DOLLAR)")


def quote_word(word: str) -> str:
    """One argument word in new syntax, without the outer double quotes.

    >>> quote_word("it's")
    "'it''s'"
    """
    _check_one_line(word, "argument")
    if _PLAIN_WORD.fullmatch(word):
        return word
    # Each ``$`` stands alone between quoted runs: ``$(DOLLAR)$(DOLLAR)`` would expand
    # to ``$$(`` and be taken for a match-time macro.
    return "$(DOLLAR)".join(_single_quoted(part) for part in word.split("$"))


def _single_quoted(text: str) -> str:
    return "'" + text.replace("'", "''").replace('"', '""') + "'"


def quote_arguments(args: Sequence[str]) -> str:
    """The value of ``arguments =`` in HTCondor's new syntax.

    >>> quote_arguments(["1", "two words", 'say "hi"'])
    '"1 \\'two words\\' \\'say ""hi""\\'"'
    """
    joined = " ".join(args)
    # The usual case: every word plain (and none held a space of its own).
    if joined.count(" ") == len(args) - 1 and _PLAIN_WORDS.fullmatch(joined):
        return f'"{joined}"'
    return '"' + " ".join(quote_word(a) for a in args) + '"'


def quote_environment(env: Mapping[str, str]) -> str:
    """The value of ``environment =`` in new syntax, variables sorted by name.

    >>> quote_environment({"B": "x y", "A": "1"})
    '"A=1 \\'B=x y\\'"'
    """
    words = []
    for name in sorted(env):
        if not _ENV_NAME.fullmatch(name):
            raise EmitError(f"environment variable name {name!r} is not a valid name")
        value = env[name]
        _check_one_line(value, f"environment variable {name}")
        words.append(quote_word(f"{name}={value}"))
    return '"' + " ".join(words) + '"'


def classad_string(value: str) -> str:
    """A ClassAd string literal for ``+Attr = ...`` lines (``'x'`` would be a reference).

    >>> classad_string('a "b"')
    '"a \\\\"b\\\\""'
    """
    _check_one_line(value, "attribute value")
    # Submit files use old ClassAd syntax: ``\\"`` is a quote, other backslashes are literal.
    return '"' + _protect_dollars(value.replace('"', '\\"')) + '"'


def dagman_value(value: str) -> str:
    """A DAGMan ``VARS`` value: double quoted, ``\\`` and ``"`` escaped by a backslash.

    The text is pasted into the submit description as is, so it must already be valid
    submit text (quoted by the functions above).
    """
    _check_one_line(value, "VARS value")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_path_list_item(path: str, what: str) -> str:
    """A path for a comma-separated submit list (``transfer_input_files``)."""
    _check_one_line(path, what)
    if "," in path or path != path.strip() or not path:
        raise EmitError(f"{what} {path!r} cannot appear in a comma-separated HTCondor file list")
    return _protect_dollars(path)
