"""Default sites (local, condorpool), slots and data configuration profiles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from catalogs.errors import CatalogFormatError
from sites import site_yaml
from sites.defaults import data_configuration, slots, with_defaults
from sites.model import DirectoryType, Site, SiteCatalog


def test_an_empty_catalog_gets_local_and_condorpool(tmp_path: Path) -> None:
    sc = with_defaults(SiteCatalog(source="sc.yml"), tmp_path)
    assert sc.names == ["local", "condorpool"]
    assert sc.source == "sc.yml"
    local = sc.get("local")
    assert local is not None
    scratch = local.directory(DirectoryType.SHARED_SCRATCH)
    storage = local.directory(DirectoryType.LOCAL_STORAGE)
    assert scratch is not None and storage is not None
    assert scratch.path == str(tmp_path / "local" / "scratch")
    assert storage.path == str(tmp_path / "local" / "storage")
    assert scratch.file_servers[0].url == (tmp_path / "local" / "scratch").as_uri()
    assert storage.file_servers[0].url == (tmp_path / "local" / "storage").as_uri()
    pool = sc.get("condorpool")
    assert pool is not None
    assert data_configuration(pool) == "condorio"
    assert pool.profile("pegasus", "style") == "condor"


def test_listed_sites_are_never_overridden(tmp_path: Path) -> None:
    mine = site_yaml.loads(
        "sites:\n- name: condorpool\n  profiles: {pegasus: {data.configuration: sharedfs}}\n"
        "- name: cluster\n"
    )
    sc = with_defaults(mine, tmp_path)
    assert sc.names == ["condorpool", "cluster", "local"]
    assert sc.sites[0] is mine.sites[0]
    assert with_defaults(sc, tmp_path) is sc


def test_defaults_are_the_same_every_time(tmp_path: Path) -> None:
    assert site_yaml.dumps(with_defaults(SiteCatalog(), tmp_path)) == site_yaml.dumps(
        with_defaults(SiteCatalog(), tmp_path)
    )


@pytest.mark.parametrize(
    ("profiles", "expected"), [({}, 1), ({"slots": "8"}, 8), ({"slots": " 3 "}, 3)]
)
def test_slots(profiles: dict[str, str], expected: int) -> None:
    assert slots(Site(name="s", profiles={"pegasus": profiles})) == expected


@pytest.mark.parametrize("bad", ["0", "-2", "many", "1.5"])
def test_bad_slots_name_the_site(bad: str) -> None:
    site = Site(name="cluster", profiles={"pegasus": {"slots": bad}})
    with pytest.raises(CatalogFormatError) as err:
        slots(site, "sc.yml")
    assert str(err.value) == (
        f"sc.yml: site 'cluster': profile pegasus.slots must be a positive integer, got {bad!r}"
    )


def test_data_configuration() -> None:
    assert data_configuration(Site(name="s")) is None
    shared = Site(name="s", profiles={"pegasus": {"data.configuration": "sharedfs"}})
    assert data_configuration(shared) == "sharedfs"
    odd = Site(name="odd", profiles={"pegasus": {"data.configuration": "nfs"}})
    with pytest.raises(
        CatalogFormatError, match=re.escape("site 'odd': profile pegasus.data.configuration 'nfs'")
    ):
        data_configuration(odd, "sc.yml")
