"""The transformation catalog text format (Pegasus 4's ``tc.txt``).

::

    # comments start with #
    tr example::keg:1.0 {
        profile env "APP_HOME" "/opt/keg"
        site condorpool {
            pfn "/usr/bin/keg"
            arch "x86_64"
            os "linux"
            type "INSTALLED"
            profile pegasus "clusters.size" "3"
        }
    }

Statements end at a newline or ``;``. In a ``site`` block: ``pfn``, ``arch``, ``os``,
``osrelease``, ``osversion``, ``type`` (INSTALLED or STAGEABLE), ``container`` and
``profile NS "key" "value"``; in a ``tr`` block: ``profile`` and ``requires "ns::name:ver"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from catalogs._common import PROFILE_NAMESPACES, fail, load_file
from catalogs.atomic import atomic_write_text
from catalogs.errors import CatalogFormatError
from catalogs.transformation import (
    Transformation,
    TransformationCatalog,
    TransformationSite,
    TransformationType,
)
from catalogs.transformation_yaml import parse_type

_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
_UNESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}
_BARE = re.compile(r"[A-Za-z0-9_.:/+@-]+")
_KEYWORDS = frozenset({"tr", "site", "profile", "requires", "type"})
_SITE_FIELDS = {
    "pfn": "pfn",
    "arch": "arch",
    "os": "os_type",
    "osrelease": "os_release",
    "osversion": "os_version",
    "container": "container",
}
# a site's optional details, as the writer names them: field -> word
_DETAIL_WORDS = {attribute: word for word, attribute in _SITE_FIELDS.items() if word != "pfn"}


@dataclass(frozen=True)
class _Token:
    text: str
    line: int
    quoted: bool = False

    def is_(self, symbol: str) -> bool:
        return not self.quoted and self.text == symbol


def _tokenize(text: str, source: str | None) -> list[_Token]:
    """Words, quoted strings, ``{``, ``}`` and ``;`` (a newline counts as ``;``)."""
    out: list[_Token] = []
    for number, line in enumerate(text.split("\n"), start=1):
        i, n = 0, len(line)
        while i < n:
            c = line[i]
            if c.isspace():
                i += 1
            elif c == "#":
                break
            elif c in "{};":
                out.append(_Token(c, number))
                i += 1
            elif c == '"':
                buf: list[str] = []
                i += 1
                while i < n and line[i] != '"':
                    if line[i] == "\\" and i + 1 < n:
                        buf.append(_ESCAPES.get(line[i + 1], "\\" + line[i + 1]))
                        i += 2
                    else:
                        buf.append(line[i])
                        i += 1
                if i >= n:
                    raise fail(f"line {number}", "unterminated quote", source)
                out.append(_Token("".join(buf), number, quoted=True))
                i += 1
            else:
                start = i
                while i < n and not line[i].isspace() and line[i] not in '{};#"':
                    i += 1
                out.append(_Token(line[start:i], number))
        out.append(_Token(";", number))
    return out


@dataclass
class _Parser:
    tokens: list[_Token]
    source: str | None
    pos: int = 0
    trs: list[Transformation] = field(default_factory=list)

    def error(self, token: _Token, problem: str) -> CatalogFormatError:
        return fail(f"line {token.line}", problem, self.source)

    def peek(self) -> _Token | None:
        while self.pos < len(self.tokens) and self.tokens[self.pos].is_(";"):
            self.pos += 1
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self, what: str) -> _Token:
        token = self.peek()
        if token is None:
            last = self.tokens[-1] if self.tokens else _Token("", 1)
            raise self.error(last, f"unexpected end of file, expected {what}")
        self.pos += 1
        return token

    def value(self, what: str) -> str:
        """The next token on the same statement (a quoted or bare word)."""
        if self.pos >= len(self.tokens) or self.tokens[self.pos].is_(";"):
            line = self.tokens[min(self.pos, len(self.tokens) - 1)]
            raise self.error(line, f"expected {what}")
        token = self.tokens[self.pos]
        if token.is_("{") or token.is_("}"):
            raise self.error(token, f"expected {what}, got {token.text!r}")
        self.pos += 1
        return token.text

    def expect(self, symbol: str) -> None:
        token = self.next(repr(symbol))
        if not token.is_(symbol):
            raise self.error(token, f"expected {symbol!r}, got {token.text!r}")

    def profile(self, into: dict[str, dict[str, str]], where: str) -> None:
        start = self.pos
        ns = self.value("a profile namespace")
        if ns not in PROFILE_NAMESPACES:
            known = ", ".join(sorted(PROFILE_NAMESPACES))
            raise self.error(
                self.tokens[start], f"{where}: unknown profile namespace {ns!r} (known: {known})"
            )
        key = self.value("a profile key")
        into.setdefault(ns, {})[key] = self.value("a profile value")

    def block(self, profiles: dict[str, dict[str, str]], where: str) -> Iterator[_Token]:
        """The statements of a ``{ ... }`` block, up to its closing brace; its
        ``profile`` statements go into ``profiles`` instead."""
        self.expect("{")
        while not (token := self.next("'}'")).is_("}"):
            if token.is_("profile"):
                self.profile(profiles, where)
            else:
                yield token

    def parse(self) -> list[Transformation]:
        while (token := self.peek()) is not None:
            if not token.is_("tr"):
                raise self.error(token, f"expected 'tr', got {token.text!r}")
            self.pos += 1
            self.trs.append(self.transformation())
        return self.trs

    def transformation(self) -> Transformation:
        ident = self.value("a transformation name")
        namespace, name, version = split_name(ident)
        where = f"tr {ident}"
        if not name:
            raise self.error(self.tokens[self.pos - 1], f"{where}: empty name")
        profiles: dict[str, dict[str, str]] = {}
        sites: list[TransformationSite] = []
        requires: list[str] = []
        for token in self.block(profiles, where):
            if token.is_("site"):
                sites.append(self.site(where))
            elif token.is_("requires"):
                requires.append(self.value("a required transformation"))
            else:
                raise self.error(token, f"{where}: unknown statement {token.text!r}")
        return Transformation(
            namespace=namespace,
            name=name,
            version=version,
            sites=tuple(sites),
            profiles=profiles,
            requires=tuple(requires),
        )

    def site(self, tr_where: str) -> TransformationSite:
        name = self.value("a site name")
        where = f"{tr_where} site {name}"
        fields: dict[str, str] = {}
        profiles: dict[str, dict[str, str]] = {}
        kind = TransformationType.INSTALLED
        for token in self.block(profiles, where):
            if token.is_("type"):
                kind = parse_type(self.value("a type"), f"line {token.line}: {where}", self.source)
            elif not token.quoted and token.text in _SITE_FIELDS:
                fields[_SITE_FIELDS[token.text]] = self.value(token.text)
            else:
                raise self.error(token, f"{where}: unknown statement {token.text!r}")
        if not fields.get("pfn"):
            raise CatalogFormatError(f"{where} has no pfn", source=self.source)
        return TransformationSite(
            name=name,
            pfn=fields["pfn"],
            type=kind,
            arch=fields.get("arch"),
            os_type=fields.get("os_type"),
            os_release=fields.get("os_release"),
            os_version=fields.get("os_version"),
            container=fields.get("container"),
            profiles=profiles,
        )


def split_name(ident: str) -> tuple[str | None, str, str | None]:
    """``ns::name:ver`` -> (ns, name, ver); namespace and version are optional.

    >>> split_name("example::keg:1.0")
    ('example', 'keg', '1.0')
    """
    namespace: str | None = None
    rest = ident
    if "::" in rest:
        namespace, rest = rest.split("::", 1)
    name, sep, version = rest.partition(":")
    return namespace or None, name, (version if sep and version else None)


def loads(text: str, source: str | None = None) -> TransformationCatalog:
    trs = _Parser(_tokenize(text, source), source).parse()
    return TransformationCatalog(transformations=tuple(trs), source=source)


def load(path: str | Path) -> TransformationCatalog:
    return load_file(path, loads)


def _word(text: str) -> str:
    """A name bare when that reads back the same, else quoted."""
    return text if _BARE.fullmatch(text) and text not in _KEYWORDS else _q(text)


def _q(text: str) -> str:
    return '"' + "".join(_UNESCAPES.get(c, c) for c in text) + '"'


def _profile_lines(profiles: dict[str, dict[str, str]], indent: str) -> Iterator[str]:
    for ns in sorted(profiles):
        for key, value in sorted(profiles[ns].items()):
            yield f"{indent}profile {ns} {_q(key)} {_q(value)}\n"


def iter_lines(catalog: TransformationCatalog) -> Iterator[str]:
    """The text format, entries in catalog order, profiles sorted."""
    for i, t in enumerate(catalog.transformations):
        if i:
            yield "\n"
        yield f"tr {_word(t.key)} {{\n"
        yield from _profile_lines(t.profiles, "    ")
        for req in t.requires:
            yield f"    requires {_q(req)}\n"
        for s in t.sites:
            yield f"    site {_word(s.name)} {{\n"
            yield f"        pfn {_q(s.pfn)}\n"
            for attribute, word in _DETAIL_WORDS.items():
                value = getattr(s, attribute)
                if value is not None:
                    yield f"        {word} {_q(value)}\n"
            yield f'        type "{s.type.value.upper()}"\n'
            yield from _profile_lines(s.profiles, "        ")
            yield "    }\n"
        yield "}\n"


def dumps(catalog: TransformationCatalog) -> str:
    return "".join(iter_lines(catalog))


def dump(catalog: TransformationCatalog, path: str | Path) -> None:
    """Write ``catalog`` to ``path`` atomically (temporary file, then rename)."""
    atomic_write_text(Path(path), dumps(catalog))
