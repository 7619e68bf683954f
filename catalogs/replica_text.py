"""The replica catalog text format (Pegasus's "File" catalog): one mapping a line.

::

    # LFN      PFN                          attributes
    f.a        file:///data/f.a             site="local" checksum.sha256="9f86d0..."
    f.a        http://example.org/f.a       site="web"
    "f(.*)\\.b" file:///data/b/[1].b       site="local" regex="true"

Values are double-quoted (``\\"``, ``\\\\``, ``\\n``, ``\\t``, ``\\r`` escapes); an LFN
or PFN is quoted when it holds spaces, quotes or ``=``. ``site`` (or Pegasus 4's ``pool``)
is required; ``regex`` and ``checksum.sha256`` are understood; any other attribute is
metadata. ``#`` starts a comment outside quotes at the start of a token. Lines with the
same LFN (and regex flag) form one entry, in first-appearance order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from catalogs._common import build_replica_catalog, check_pattern, fail, load_file
from catalogs.atomic import atomic_write_text
from catalogs.errors import CatalogFormatError
from catalogs.replica import ReplicaCatalog
from catalogs.yamlio import as_bool

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_UNESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _tokens(line: str, where: str, source: str | None) -> list[tuple[str | None, str]]:
    """``(key, value)`` per token; key is None for the LFN and PFN (the first two)."""
    out: list[tuple[str | None, str]] = []
    i, n = 0, len(line)
    while i < n:
        if line[i].isspace():
            i += 1
            continue
        if line[i] == "#":
            break
        positional = len(out) < 2
        key: str | None = None
        buf: list[str] = []
        while i < n and not line[i].isspace():
            c = line[i]
            if c == '"':
                i = _quoted(line, i + 1, buf, where, source)
            elif c == "=" and key is None and not positional:
                key, buf = "".join(buf), []
                i += 1
            else:
                buf.append(c)
                i += 1
        out.append((key, "".join(buf)))
    return out


def _quoted(line: str, i: int, buf: list[str], where: str, source: str | None) -> int:
    """Append the quoted string starting at ``i`` to ``buf``; the index after it."""
    n = len(line)
    while i < n:
        c = line[i]
        if c == '"':
            return i + 1
        if c == "\\" and i + 1 < n:
            buf.append(_ESCAPES.get(line[i + 1], "\\" + line[i + 1]))
            i += 2
            continue
        buf.append(c)
        i += 1
    raise fail(where, "unterminated quote", source)


# The common line (bare LFN and PFN, quoted attributes without escapes) parsed by one
# regular expression; any other line goes through the general tokenizer.
_SIMPLE = re.compile(
    r'([^\s"\\#][^\s"\\]*)\s+([^\s"\\#][^\s"\\]*)((?:\s+[^\s="\\#]+="[^"\\]*")*)\s*'
)
_ATTR = re.compile(r'([^\s="\\#]+)="([^"\\]*)"')


def _parse_line(line: str, where: str, source: str | None) -> tuple[str, str, dict[str, str]]:
    """LFN, PFN and attributes of a non-blank, non-comment line."""
    simple = _SIMPLE.fullmatch(line.strip())
    if simple is not None:
        lfn, url, rest = simple.groups()
        return lfn, url, dict(_ATTR.findall(rest))
    tokens = _tokens(line, where, source)
    positional = [v for k, v in tokens if k is None]
    if len(positional) != 2:
        raise fail(where, f'expected LFN PFN key="value"..., got {line.strip()!r}', source)
    return positional[0], positional[1], {k: v for k, v in tokens if k is not None}


def loads(text: str, source: str | None = None) -> ReplicaCatalog:
    entries: dict[tuple[str, bool], dict[str, Any]] = {}
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        stripped = line.lstrip()
        if not stripped or stripped[0] == "#":
            continue
        where = f"line {number}"
        lfn, url, attrs = _parse_line(line, where, source)
        if not lfn:
            raise fail(where, "the LFN is empty", source)
        where = f"line {number} (lfn {lfn!r})"
        if not url:
            raise fail(where, "the PFN is empty", source)
        site = attrs.pop("site", None) or attrs.pop("pool", None)
        attrs.pop("pool", None)
        if not site:
            raise CatalogFormatError(f'{where} has no site="..."', source=source)
        regex = False
        if "regex" in attrs:
            regex = as_bool(attrs.pop("regex"), f"{where}: regex", source)
            if regex:
                check_pattern(lfn, where, source)
        sha256 = attrs.pop("checksum.sha256", None)
        entry = entries.get((lfn, regex))
        if entry is None:
            entries[(lfn, regex)] = {
                "lfn": lfn,
                "pfns": [{"url": url, "site": site}],
                "sha256": sha256 or None,
                "metadata": attrs,
                "regex": regex,
            }
            continue
        entry["pfns"].append({"url": url, "site": site})
        if sha256 and entry["sha256"] is None:
            entry["sha256"] = sha256
        entry["metadata"].update(attrs)
    return build_replica_catalog(list(entries.values()), source)


def _quote(text: str) -> str:
    return '"' + "".join(_UNESCAPES.get(c, c) for c in text) + '"'


def _word(text: str) -> str:
    """``text`` bare when that reads back the same, else quoted."""
    if text and not text.startswith("#") and not any(c.isspace() or c in '"=\\' for c in text):
        return text
    return _quote(text)


def iter_lines(catalog: ReplicaCatalog) -> Iterator[str]:
    """One line per (entry, PFN), in catalog order; metadata keys sorted."""
    for rep in catalog.replicas:
        extra = ""
        if rep.regex:
            extra += ' regex="true"'
        if rep.sha256:
            extra += f" checksum.sha256={_quote(rep.sha256)}"
        for key, value in sorted(rep.metadata.items()):
            extra += f" {_word(key)}={_quote(value)}"
        for pfn in rep.pfns:
            yield f"{_word(rep.lfn)} {_word(pfn.url)} site={_quote(pfn.site)}{extra}\n"


def dumps(catalog: ReplicaCatalog) -> str:
    return "".join(iter_lines(catalog))


def load(path: str | Path) -> ReplicaCatalog:
    return load_file(path, loads)


def dump(catalog: ReplicaCatalog, path: str | Path) -> None:
    """Write ``catalog`` to ``path`` atomically (temporary file, then rename)."""
    atomic_write_text(Path(path), dumps(catalog))
