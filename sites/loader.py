"""Entry points for site catalogs: a file, or a dict inlined in a Pegasus workflow.

Neither adds the default sites; call :func:`sites.defaults.with_defaults` for that.
"""

from __future__ import annotations

from pathlib import Path

from sites import site_yaml
from sites.model import SiteCatalog


def site_catalog_from_dict(d: object, source: str | None = None) -> SiteCatalog:
    """A site catalog from a parsed Pegasus ``{sites: [...]}`` mapping."""
    return site_yaml.from_dict(d, source)


def load_site_catalog(path: str | Path) -> SiteCatalog:
    """A Pegasus 5 YAML site catalog (the only site catalog format)."""
    return site_yaml.load(path)
