"""A replica catalog in an SQLite database: the output catalog registration jobs write and
the next plan reads.

Many register jobs run at once, each in its own process, so every write is one
``BEGIN IMMEDIATE`` transaction in WAL mode with a busy timeout, retried while the
database is locked; ``(lfn, pfn, site)`` is unique, so registering twice is harmless.

>>> import tempfile, pathlib
>>> db = pathlib.Path(tempfile.mkdtemp()) / "rc.db"
>>> with SQLiteReplicaCatalog(db) as rc:
...     rc.register("f.a", "file:///out/f.a", "local")
...     [p.url for p in rc.lookup("f.a")]
['file:///out/f.a']
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from catalogs._common import build_replica_catalog
from catalogs.atomic import atomic_write
from catalogs.errors import CatalogFormatError, CatalogWriteError
from catalogs.replica import PFN, ReplicaCatalog

SQLITE_MAGIC = b"SQLite format 3\x00"
SCHEMA_VERSION = "1"
BUSY_TIMEOUT_S = 30.0
_RETRY_FOR_S = 120.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS replicas (
    id INTEGER PRIMARY KEY,
    lfn TEXT NOT NULL,
    pfn TEXT NOT NULL,
    site TEXT NOT NULL,
    sha256 TEXT,
    regex INTEGER NOT NULL DEFAULT 0,
    UNIQUE (lfn, pfn, site)
);
CREATE INDEX IF NOT EXISTS replicas_lfn ON replicas (lfn);
CREATE TABLE IF NOT EXISTS metadata (
    lfn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (lfn, key)
);
CREATE TABLE IF NOT EXISTS wfplan (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO wfplan (key, value) VALUES ('schema', '1');
"""

_UPSERT = (
    "INSERT INTO replicas (lfn, pfn, site, sha256, regex) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (lfn, pfn, site) DO UPDATE SET sha256 = COALESCE(excluded.sha256, sha256)"
)

T = TypeVar("T")


def _check_file(path: Path) -> None:
    """Refuse, without touching it, a file that is not an SQLite database."""
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise CatalogFormatError(f"cannot read: {exc.strerror}", source=str(path))
    if head and head != SQLITE_MAGIC:
        raise CatalogFormatError("not an SQLite replica catalog database", source=str(path))


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class SQLiteReplicaCatalog:
    """A read-write replica catalog backed by one SQLite file (created when missing).

    With ``create=False`` an existing catalog is only read: nothing is created or
    converted, and a database without the catalog's tables is refused.
    """

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        self._create = create
        _check_file(self.path)
        self._conn: sqlite3.Connection | None = None

    # -- connection ------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise CatalogFormatError(f"cannot open database: {exc}", source=str(self.path))
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self._retry(lambda: self._prepare(conn))
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "replicas" not in tables and (tables or not self._create):
            raise CatalogFormatError(
                "an SQLite database but not a replica catalog (no 'replicas' table)",
                source=str(self.path),
            )
        if not self._create:
            return
        if (conn.execute("PRAGMA journal_mode").fetchone() or ("",))[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        if "wfplan" not in tables:
            try:
                conn.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} COMMIT;")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _retry(self, action: Callable[[], T]) -> T:
        """Run ``action``, retrying while another process holds the write lock."""
        deadline = time.monotonic() + _RETRY_FOR_S
        delay = 0.01
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if not _is_locked(exc) or time.monotonic() > deadline:
                    raise CatalogWriteError(f"database error: {exc}", source=str(self.path))
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
            except sqlite3.DatabaseError as exc:
                raise CatalogFormatError(f"database error: {exc}", source=str(self.path))

    def _write(self, statements: Callable[[sqlite3.Connection], None]) -> None:
        """One ``BEGIN IMMEDIATE`` transaction, retried as a whole on a lock."""
        conn = self._connect()

        def attempt() -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                statements(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # a failed COMMIT leaves it open; retry from scratch
                    conn.execute("ROLLBACK")
                raise

        self._retry(attempt)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> SQLiteReplicaCatalog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the catalog interface -----------------------------------------------------
    def register(self, lfn: str, pfn: str, site: str, sha256: str | None = None) -> None:
        """Record ``lfn`` at ``pfn`` on ``site`` (idempotent; a new checksum is kept)."""
        self.register_many([(lfn, pfn, site, sha256)])

    def register_many(self, entries: Iterable[tuple[str, str, str, str | None]]) -> None:
        """Record many mappings in ONE transaction: all of them or none."""
        rows = [(lfn, pfn, site, sha256, 0) for lfn, pfn, site, sha256 in entries]
        for lfn, pfn, site, _, _ in rows:
            if not lfn or not pfn or not site:
                raise CatalogWriteError(
                    f"cannot register lfn {lfn!r} at {pfn!r} on site {site!r}: empty field",
                    source=str(self.path),
                )

        def statements(conn: sqlite3.Connection) -> None:
            conn.executemany(_UPSERT, rows)

        self._write(statements)

    def lookup(self, lfn: str) -> tuple[PFN, ...]:
        """The PFNs for ``lfn`` in registration order (regex entries apply too)."""
        conn = self._connect()
        rows = self._retry(
            lambda: conn.execute(
                "SELECT pfn, site FROM replicas WHERE lfn = ? AND regex = 0 ORDER BY id", (lfn,)
            ).fetchall()
        )
        found = tuple(PFN(url=pfn, site=site) for pfn, site in rows)
        patterns = self._retry(
            lambda: conn.execute("SELECT 1 FROM replicas WHERE regex = 1 LIMIT 1").fetchone()
        )
        if patterns is None:
            return found
        return found + build_replica_catalog(self._rows(regex_only=True), None).lookup(lfn)

    def remove(self, lfn: str, site: str | None = None) -> int:
        """Forget ``lfn`` (only its PFNs on ``site`` if given); the number of PFNs removed."""
        removed = 0

        def statements(conn: sqlite3.Connection) -> None:
            nonlocal removed
            if site is None:
                cur = conn.execute("DELETE FROM replicas WHERE lfn = ?", (lfn,))
            else:
                cur = conn.execute("DELETE FROM replicas WHERE lfn = ? AND site = ?", (lfn, site))
            removed = cur.rowcount
            conn.execute(
                "DELETE FROM metadata WHERE lfn = ? AND NOT EXISTS "
                "(SELECT 1 FROM replicas WHERE replicas.lfn = metadata.lfn)",
                (lfn,),
            )

        self._write(statements)
        return removed

    def _rows(self, regex_only: bool = False) -> list[dict[str, Any]]:
        """Entries as model fields: one per LFN and regex flag, by first registration."""
        conn = self._connect()
        where = " WHERE regex = 1" if regex_only else ""
        rows = self._retry(
            lambda: conn.execute(
                f"SELECT lfn, pfn, site, sha256, regex FROM replicas{where} ORDER BY id"
            ).fetchall()
        )
        meta_rows = self._retry(
            lambda: conn.execute(
                "SELECT lfn, key, value FROM metadata ORDER BY lfn, key"
            ).fetchall()
        )
        metadata: dict[str, dict[str, str]] = {}
        for lfn, key, value in meta_rows:
            metadata.setdefault(lfn, {})[key] = value
        grouped: dict[tuple[str, bool], dict[str, Any]] = {}
        for lfn, pfn, site, sha256, regex in rows:
            entry = grouped.get((lfn, bool(regex)))
            if entry is None:
                grouped[(lfn, bool(regex))] = {
                    "lfn": lfn,
                    "pfns": [{"url": pfn, "site": site}],
                    "sha256": sha256 or None,
                    "metadata": metadata.get(lfn, {}),
                    "regex": bool(regex),
                }
                continue
            entry["pfns"].append({"url": pfn, "site": site})
            if sha256 and entry["sha256"] is None:
                entry["sha256"] = sha256
        return list(grouped.values())

    def to_catalog(self) -> ReplicaCatalog:
        """A snapshot of the database as an immutable catalog (entries by first
        registration; one entry per LFN and regex flag)."""
        return build_replica_catalog(self._rows(), str(self.path))

    def add_catalog(self, catalog: ReplicaCatalog) -> None:
        """Insert every entry of ``catalog`` (with metadata) in one transaction."""
        rows = [
            (r.lfn, p.url, p.site, r.sha256, int(r.regex)) for r in catalog.replicas for p in r.pfns
        ]
        meta = [(r.lfn, k, v) for r in catalog.replicas for k, v in sorted(r.metadata.items())]

        def statements(conn: sqlite3.Connection) -> None:
            conn.executemany(_UPSERT, rows)
            conn.executemany(
                "INSERT OR REPLACE INTO metadata (lfn, key, value) VALUES (?, ?, ?)", meta
            )

        self._write(statements)


def load(path: str | Path) -> ReplicaCatalog:
    """The catalog stored in an existing database (read only; never created or changed)."""
    path = Path(path)
    if not path.exists():
        raise CatalogFormatError("no such file", source=str(path))
    _check_file(path)
    with SQLiteReplicaCatalog(path, create=False) as db:
        return db.to_catalog()


def dump(catalog: ReplicaCatalog, path: str | Path) -> None:
    """Write ``catalog`` as a new database at ``path`` (built beside it, then renamed in)."""
    path = Path(path)

    def fill(tmp: Path) -> None:
        tmp.unlink()
        with SQLiteReplicaCatalog(tmp) as db:
            db.add_catalog(catalog)
            conn = db._connect()
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    atomic_write(path, fill)
