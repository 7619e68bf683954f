"""``wfplan-register MANIFEST``: write LFN -> PFN@site into the SQLite replica catalog.

Each replica carries its sha256: given in the manifest, or read from the checksum record
its ``meta`` names (planner.tools.integrity), so the next plan's reuse can check it.

The manifest may also be named as ``BUNDLE OFFSET NODE`` (planner.tools.manifest).

All replicas of one manifest go in one transaction (``SQLiteReplicaCatalog.register_many``:
``BEGIN IMMEDIATE``, WAL, busy timeout), so many register jobs running at once lose
nothing and a failure writes nothing. Exit 0 when all were written, 1 otherwise.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from planner.tools.integrity import IntegrityError, expected_sha256
from planner.tools.manifest import run_with_manifest

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    return run_with_manifest("wfplan-register", argv, _register)


def _register(doc: dict[str, Any], name: str) -> int:
    """Register the manifest's ``replicas`` in its ``catalog``, all or none."""
    catalog = doc.get("catalog")
    replicas = doc.get("replicas")
    if not isinstance(catalog, str) or not isinstance(replicas, list):
        print(f"wfplan-register: {name}: needs 'catalog' and 'replicas'", file=sys.stderr)
        return 1
    records: dict[str, dict[str, str]] = {}
    try:
        # a file made by the workflow: its sha256 is in its producer's checksum record
        # (the stage-out before this node checked the copy against it)
        entries = [
            (
                r["lfn"],
                r["pfn"],
                r["site"] if "site" in r else doc["site"],  # the line's site by default
                expected_sha256(r["lfn"], r.get("sha256"), r.get("meta"), None, records),
            )
            for r in replicas
        ]
    except (KeyError, TypeError) as exc:
        print(f"wfplan-register: {name}: a replica lacks {exc}", file=sys.stderr)
        return 1
    except IntegrityError as exc:
        print(f"wfplan-register: {exc}", file=sys.stderr)
        return 1
    from catalogs.errors import WfplanError
    from catalogs.replica_sqlite import SQLiteReplicaCatalog

    try:
        with SQLiteReplicaCatalog(catalog) as rc:
            rc.register_many(entries)
    except WfplanError as exc:
        print(f"wfplan-register: {exc}", file=sys.stderr)
        return 1
    print(f"wfplan-register: {len(entries)} replica(s) registered in {catalog}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
