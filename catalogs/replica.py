"""Replica catalog model: LFN -> PFNs at sites (Pegasus's ``replicas:`` document).

Loaders: ``catalogs.replica_yaml``, ``catalogs.replica_text``, ``catalogs.replica_sqlite``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    # defer_build: a model class gets its validator when first validated, not at import
    # (most are only ever built by the fast constructors; ~45 ms off every start)
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class PFN(_Frozen):
    """A physical file name: a URL (file://, http(s)://, or a bare path) at a site."""

    url: str
    site: str


class Replica(_Frozen):
    """One catalog entry. With ``regex``, ``lfn`` is a pattern and PFNs may use ``[0]``,
    ``[1]``... for the match and its groups."""

    lfn: str
    pfns: tuple[PFN, ...]
    sha256: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    regex: bool = False


_GROUP_REF = re.compile(r"\[(\d+)\]")


def _substituted(pfns: tuple[PFN, ...], groups: list[str | None]) -> list[PFN]:
    """Regex PFNs with ``[0]``, ``[1]``... replaced by the match and its groups."""

    def group(ref: re.Match[str]) -> str:
        index = int(ref.group(1))
        return (groups[index] or "") if index < len(groups) else ref.group(0)

    return [PFN(url=_GROUP_REF.sub(group, p.url), site=p.site) for p in pfns]


class ReplicaCatalog(_Frozen):
    """An immutable replica catalog with O(1) lookup for plain entries.

    ``source`` names the file(s) it came from, for error messages.
    """

    replicas: tuple[Replica, ...] = ()
    source: str | None = None

    @cached_property
    def _plain(self) -> dict[str, list[Replica]]:
        index: dict[str, list[Replica]] = {}
        for rep in self.replicas:
            if not rep.regex:
                index.setdefault(rep.lfn, []).append(rep)
        return index

    @cached_property
    def _patterns(self) -> list[tuple[re.Pattern[str], Replica]]:
        return [(re.compile(r.lfn), r) for r in self.replicas if r.regex]

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

    @cached_property
    def checksums(self) -> dict[str, str]:
        """LFN -> the first sha256 recorded for it (plain entries only). Its ``get`` is
        what the planner calls for every file it moves: most files have none."""
        found: dict[str, str] = {}
        for rep in self.replicas:
            if rep.sha256 and not rep.regex and rep.lfn not in found:
                found[rep.lfn] = rep.sha256
        return found

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
