"""Fast YAML reading shared by every YAML loader.

yaml-rs (Rust) parses a 10,000-job Pegasus workflow in about 0.2 s where PyYAML's C loader
needs about 6 s, so it is the default. It implements YAML 1.2; Pegasus files written by
PyYAML may rely on YAML 1.1 booleans (``yes``/``no``/``on``/``off``), so boolean fields go
through :func:`as_bool`. ``WFPLAN_YAML=pyyaml`` selects PyYAML (the fallback path, also
used when yaml-rs is missing), so both paths can be tested.
"""

from __future__ import annotations

import os
import re
from functools import cache
from typing import Any

from catalogs.errors import CatalogFormatError, WfplanError

_TRUE = frozenset({"true", "yes", "on", "y", "1"})
_FALSE = frozenset({"false", "no", "off", "n", "0"})


def parser_name() -> str:
    """Which YAML parser :func:`load_yaml` uses: ``yaml-rs`` or ``pyyaml``."""
    if os.environ.get("WFPLAN_YAML", "").lower() == "pyyaml":
        return "pyyaml"
    try:
        import yaml_rs  # noqa: F401
    except ImportError:
        return "pyyaml"
    return "yaml-rs"


def load_yaml(
    text: str, source: str | None = None, *, error: type[WfplanError] = CatalogFormatError
) -> Any:
    """Parse YAML text; a syntax error becomes ``error`` naming ``source`` and the line."""
    if parser_name() == "yaml-rs":
        if text[:1] in _JSON_STARTS:
            doc = _json_document(text)
            if doc is not _NOT_JSON:
                return doc
        import yaml_rs

        try:
            return yaml_rs.loads(text, parse_datetime=False)
        except (yaml_rs.YAMLDecodeError, ValueError) as exc:
            first = str(exc).splitlines()
            detail = " ".join(line.strip() for line in first if line.strip() and "|" not in line)
            raise error(f"malformed YAML: {detail}", source=source) from None
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"malformed YAML{where}: {problem}", source=source) from None


# JSON is YAML 1.2, and Python's json module reads it about four times faster than yaml-rs:
# Pegasus's API writes workflows and catalogs as JSON on request. Only text that is JSON
# by the letter takes this path (no NaN/Infinity, no repeated keys, which YAML refuses);
# anything else, including every error, goes to the YAML parser. Not under PyYAML: YAML 1.1
# reads some JSON numbers (``1e3``) as strings.
_JSON_STARTS = frozenset('{["')
_NOT_JSON = object()


class _NotJson(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc = dict(pairs)
    if len(doc) != len(pairs):
        raise _NotJson
    return doc


def _no_constant(name: str) -> Any:
    raise _NotJson


def _json_document(text: str) -> Any:
    import json

    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except (ValueError, _NotJson, RecursionError):
        return _NOT_JSON


def json_document(text: str) -> Any:
    """``text`` read as strict JSON (what YAML 1.2 reads it as), or None if it is not."""
    doc = _json_document(text)
    return None if doc is _NOT_JSON else doc


# PyYAML writes YAML 1.1, so it leaves strings such as ``0E0`` or ``1_000`` unquoted that a
# YAML 1.2 reader (yaml-rs) takes for numbers. Strings that start like a number or ``~`` are
# therefore always quoted, so what load_yaml reads back equals what was dumped.
_NUMBER_LIKE_START = frozenset("0123456789+-.~")


@cache
def _dumper() -> Any:
    import yaml

    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class Dumper(base):  # type: ignore[valid-type,misc]
        pass

    def represent_str(dumper: Any, value: str) -> Any:
        if value and value[0] in _NUMBER_LIKE_START:
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="'")
        return dumper.represent_str(value)

    Dumper.add_representer(str, represent_str)
    return Dumper


def dump_yaml(data: Any) -> str:
    """Serialise to block-style YAML with keys in the given order (deterministic); every
    string reads back as a string under YAML 1.1 and 1.2 rules."""
    import yaml

    return yaml.dump(data, Dumper=_dumper(), sort_keys=False, default_flow_style=False, width=1000)


# Plain (unquoted) scalars only when no YAML 1.1 or 1.2 reader can take them for anything
# but that string; everything else is double-quoted with escapes.
_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./:@%+=~?&#-]*")
_KEYWORDS = _TRUE | _FALSE | {"null"}
_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f-\x9f\ufeff\ufffe\uffff]')
_NAMED = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    c = match.group(0)
    return _NAMED.get(c) or f"\\u{ord(c):04x}"


def _number_with_separators(text: str) -> bool:
    """A plain-looking ``_0`` or ``__1.5``: yaml-rs drops underscores as digit separators
    and reads such a scalar as a number (PyYAML does not), so it must be quoted."""
    if text[:1] != "_":
        return False
    try:
        float(text.replace("_", ""))
    except ValueError:
        return False
    return True


def yaml_str(text: str) -> str:
    """``text`` as a YAML scalar that every YAML reader reads back as exactly that string.

    >>> yaml_str("f.a"), yaml_str("0E0"), yaml_str("yes"), yaml_str('a "b"'), yaml_str("_0")
    ('f.a', '"0E0"', '"yes"', '"a \\\\"b\\\\""', '"_0"')
    """
    if (
        _PLAIN.fullmatch(text)
        and not text.endswith(":")
        and text.lower() not in _KEYWORDS
        and not _number_with_separators(text)
    ):
        return text
    return '"' + _ESCAPE.sub(_escape, text) + '"'


def as_bool(
    value: object,
    field: str,
    source: str | None = None,
    *,
    error: type[WfplanError] = CatalogFormatError,
) -> bool:
    """A boolean field under YAML 1.1 or 1.2 rules (``yes``/``on`` are true)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE:
        return True
    if isinstance(value, str) and value.strip().lower() in _FALSE:
        return False
    raise error(f"{field}: expected true or false, got {value!r}", source=source)
