"""Entry points: load a catalog file whatever its format, or build one from a parsed dict.

The format comes from the extension (``.yml``/``.yaml`` YAML, ``.db``/``.sqlite`` SQLite),
else from the content (SQLite's magic bytes; a YAML mapping with ``replicas:`` or
``transformations:``), else the text format.

>>> replica_catalog_from_dict({"replicas": [{"lfn": "a", "pfns": [{"site": "s", "pfn": "/a"}]}]}, "wf.yml").source
'wf.yml'
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from catalogs import replica_yaml, transformation_yaml
from catalogs._common import read_text
from catalogs.replica import ReplicaCatalog
from catalogs.transformation import TransformationCatalog

_YAML_SUFFIXES = frozenset({".yml", ".yaml"})
_SQLITE_SUFFIXES = frozenset({".db", ".sqlite", ".sqlite3"})
SQLITE_MAGIC = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database


def replica_catalog_from_dict(d: object, source: str | None = None) -> ReplicaCatalog:
    """A replica catalog from a parsed Pegasus ``{replicas: [...]}`` mapping."""
    return replica_yaml.from_dict(d, source)


def transformation_catalog_from_dict(d: object, source: str | None = None) -> TransformationCatalog:
    """A transformation catalog from a parsed Pegasus ``{transformations: [...]}`` mapping."""
    return transformation_yaml.from_dict(d, source)


def is_sqlite_file(path: Path) -> bool:
    """Whether ``path`` starts with SQLite's magic bytes."""
    try:
        with path.open("rb") as f:
            return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def _looks_like_yaml(text: str, key: str) -> bool:
    """A cheap content test: some line starts with ``key:`` (YAML), which the text
    formats never contain."""
    return any(line.startswith(f"{key}:") for line in text.splitlines())


def load_replica_catalog(path: str | Path) -> ReplicaCatalog:
    """A replica catalog in any supported format (YAML, SQLite or text)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in _YAML_SUFFIXES:
        return replica_yaml.load(path)
    if suffix in _SQLITE_SUFFIXES or is_sqlite_file(path):
        from catalogs import replica_sqlite

        return replica_sqlite.load(path)
    text = read_text(path)
    if _looks_like_yaml(text, "replicas"):
        return replica_yaml.loads(text, str(path))
    from catalogs import replica_text

    return replica_text.loads(text, str(path))


def load_replica_catalogs(paths: Iterable[str | Path]) -> ReplicaCatalog:
    """Several replica catalogs merged; earlier ones win on lookups (as with several --rc)."""
    merged: ReplicaCatalog | None = None
    for path in paths:
        cat = load_replica_catalog(path)
        merged = cat if merged is None else merged.merged(cat)
    return merged if merged is not None else ReplicaCatalog()


def load_transformation_catalog(path: str | Path) -> TransformationCatalog:
    """A transformation catalog, YAML (by extension or content) or text."""
    path = Path(path)
    if path.suffix.lower() in _YAML_SUFFIXES:
        return transformation_yaml.load(path)
    text = read_text(path)
    if _looks_like_yaml(text, "transformations"):
        return transformation_yaml.loads(text, str(path))
    from catalogs import transformation_text

    return transformation_text.loads(text, str(path))
