"""The root of wfplan's one error hierarchy.

It lives here, not in ``planner``, because ``catalogs`` and ``sites`` must not import
``planner`` (imports go one way). ``planner.errors`` re-exports it and adds the planner's
own conditions. Every message names the offending input and, where known, its source
file, e.g. ``replicas.yml: no replica for LFN 'f.a' (needed by job ID3)``.
"""

from __future__ import annotations


class WfplanError(Exception):
    """Base of every error wfplan reports to a user (the CLI prints it, exit code 1)."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source

    def __str__(self) -> str:
        return f"{self.source}: {self.message}" if self.source else self.message

    def lines(self) -> list[str]:
        """One line per problem (subclasses that gather many problems override this)."""
        return [str(self)]


class CatalogError(WfplanError):
    """A replica, transformation or site catalog is malformed or inconsistent."""


class CatalogFormatError(CatalogError):
    """A catalog file cannot be parsed (bad YAML/text/SQLite, wrong shape)."""


class CatalogWriteError(CatalogError):
    """A catalog could not be written; the previous contents are untouched."""
