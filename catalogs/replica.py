"""Replica catalog model: LFN -> PFNs at sites (Pegasus's ``replicas:`` document).

Loaders: ``catalogs.replica_yaml``, ``catalogs.replica_text``, ``catalogs.replica_sqlite``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, kw_only=True)
class PFN:
    """A physical file name: a URL (file://, http(s)://, or a bare path) at a site."""

    url: str
    site: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Replica:
    """One catalog entry. With ``regex``, ``lfn`` is a pattern and PFNs may use ``[0]``,
    ``[1]``... for the match and its groups."""

    lfn: str
    pfns: tuple[PFN, ...]
    sha256: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    regex: bool = False


_GROUP_REF = re.compile(r"\[(\d+)\]")


def _substituted(pfns: tuple[PFN, ...], groups: list[str | None]) -> list[PFN]:
    """Regex PFNs with ``[0]``, ``[1]``... replaced by the match and its groups."""

    def group(ref: re.Match[str]) -> str:
        index = int(ref.group(1))
        return (groups[index] or "") if index < len(groups) else ref.group(0)

    return [PFN(url=_GROUP_REF.sub(group, p.url), site=p.site) for p in pfns]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplicaCatalog:
    """An immutable replica catalog with O(1) lookup for plain entries.

    ``source`` names the file(s) it came from, for error messages. The lookup indexes
    are fields built with the catalog (and anew by ``dataclasses.replace``).
    """

    replicas: tuple[Replica, ...] = ()
    source: str | None = None
    _plain: dict[str, list[Replica]] = field(init=False, repr=False, compare=False)
    _patterns: list[tuple[re.Pattern[str], Replica]] = field(init=False, repr=False, compare=False)
    # LFN -> the first sha256 recorded for it (plain entries only). Its ``get`` is what
    # the planner calls for every file it moves: most files have none.
    checksums: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        plain: dict[str, list[Replica]] = {}
        patterns: list[tuple[re.Pattern[str], Replica]] = []
        checksums: dict[str, str] = {}
        for rep in self.replicas:
            if rep.regex:
                patterns.append((re.compile(rep.lfn), rep))
                continue
            same = plain.get(rep.lfn)
            if same is None:
                plain[rep.lfn] = [rep]
            else:
                same.append(rep)
            if rep.sha256 and rep.lfn not in checksums:
                checksums[rep.lfn] = rep.sha256
        object.__setattr__(self, "_plain", plain)
        object.__setattr__(self, "_patterns", patterns)
        object.__setattr__(self, "checksums", checksums)

    def lookup(self, lfn: str) -> tuple[PFN, ...]:
        """All PFNs for ``lfn``: plain entries first (in catalog order), then regex ones."""
        found: list[PFN] = []
        for rep in self._plain.get(lfn, ()):
            found.extend(rep.pfns)
        for pattern, rep in self._patterns:
            m = pattern.fullmatch(lfn)
            if m is None:
                continue
            found.extend(_substituted(rep.pfns, [m.group(0), *m.groups()]))
        return tuple(found)

    def lookup_many(self, lfns: Iterable[str]) -> dict[str, tuple[PFN, ...]]:
        """``{lfn: lookup(lfn)}`` for each of ``lfns`` that has a PFN (one pass, no
        per-name tuple when the catalog has no regex entries)."""
        if self._patterns:
            found = {lfn: self.lookup(lfn) for lfn in lfns}
            return {lfn: pfns for lfn, pfns in found.items() if pfns}
        plain = self._plain
        out: dict[str, tuple[PFN, ...]] = {}
        for lfn in lfns:
            reps = plain.get(lfn)
            if reps:
                pfns = reps[0].pfns if len(reps) == 1 else tuple(p for r in reps for p in r.pfns)
                if pfns:
                    out[lfn] = pfns
        return out

    def sha256(self, lfn: str) -> str | None:
        """The checksum recorded for ``lfn`` (plain entries only), or None."""
        return self.checksums.get(lfn)

    def has(self, lfn: str) -> bool:
        return bool(self.lookup(lfn))

    def merged(self, other: ReplicaCatalog) -> ReplicaCatalog:
        """This catalog followed by ``other``: on lookups this one's PFNs come first
        (earlier catalogs win on conflicts, as with several ``--rc``)."""
        sources = [s for s in (self.source, other.source) if s]
        return ReplicaCatalog(
            replicas=self.replicas + other.replicas, source=", ".join(sources) or None
        )

    @classmethod
    def of(cls, replicas: Iterable[Replica], source: str | None = None) -> ReplicaCatalog:
        return cls(replicas=tuple(replicas), source=source)
