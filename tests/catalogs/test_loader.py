"""Choosing the catalog format by extension and content; merging several --rc files."""

from __future__ import annotations

import types
from collections.abc import Callable
from pathlib import Path

import pytest

from catalogs import replica_sqlite, replica_text, replica_yaml
from catalogs.errors import CatalogFormatError, CatalogWriteError
from catalogs.loader import (
    load_replica_catalog,
    load_replica_catalogs,
    load_transformation_catalog,
    replica_catalog_from_dict,
    transformation_catalog_from_dict,
)
from catalogs.replica import PFN, Replica, ReplicaCatalog

CAT = ReplicaCatalog.of([Replica(lfn="f.a", pfns=(PFN(url="/a", site="s"),))])


@pytest.mark.parametrize(
    ("name", "writer"),
    [
        ("rc.yml", replica_yaml.dump),
        ("rc.YAML", replica_yaml.dump),
        ("replicas", replica_yaml.dump),  # YAML recognised by its content
        ("rc.db", replica_sqlite.dump),
        ("rc.sqlite", replica_sqlite.dump),
        ("output-catalog", replica_sqlite.dump),  # SQLite recognised by its magic bytes
        ("rc.txt", replica_text.dump),
        ("rc", replica_text.dump),
    ],
)
def test_replica_format_by_extension_or_content(
    tmp_path: Path, name: str, writer: Callable[[ReplicaCatalog, Path], None]
) -> None:
    path = tmp_path / name
    writer(CAT, path)
    cat = load_replica_catalog(path)
    assert cat.lookup("f.a") == (PFN(url="/a", site="s"),)
    assert cat.source == str(path)


def test_earlier_replica_catalogs_win(tmp_path: Path) -> None:
    (tmp_path / "first.txt").write_text('f.a /first site="s"\n')
    replica_yaml.dump(
        ReplicaCatalog.of([Replica(lfn="f.a", pfns=(PFN(url="/second", site="s"),))]),
        tmp_path / "second.yml",
    )
    cat = load_replica_catalogs([tmp_path / "first.txt", tmp_path / "second.yml"])
    assert [p.url for p in cat.lookup("f.a")] == ["/first", "/second"]
    assert cat.source == f"{tmp_path / 'first.txt'}, {tmp_path / 'second.yml'}"
    assert load_replica_catalogs([]).replicas == ()


def test_transformation_format_by_extension_or_content(tmp_path: Path) -> None:
    yaml_text = "transformations: [{name: ls, sites: [{name: local, pfn: /bin/ls}]}]\n"
    (tmp_path / "tc.yml").write_text(yaml_text)
    (tmp_path / "tc").write_text(yaml_text)
    (tmp_path / "tc.txt").write_text('tr ls { site local { pfn "/bin/ls" } }\n')
    for name in ("tc.yml", "tc", "tc.txt"):
        tc = load_transformation_catalog(tmp_path / name)
        ls = tc.lookup(None, "ls", None)
        assert ls is not None and ls.sites[0].pfn == "/bin/ls", name


def test_missing_catalog_files_are_named(tmp_path: Path) -> None:
    for loader in (load_replica_catalog, load_transformation_catalog):
        with pytest.raises(CatalogFormatError) as err:
            loader(tmp_path / "nope.txt")
        assert str(err.value) == f"{tmp_path / 'nope.txt'}: no such file"


def test_binary_garbage_is_a_format_error(tmp_path: Path) -> None:
    (tmp_path / "rc.txt").write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(CatalogFormatError, match="not UTF-8"):
        load_replica_catalog(tmp_path / "rc.txt")


def test_dict_entry_points_keep_the_source() -> None:
    rc = replica_catalog_from_dict(
        {"replicas": [{"lfn": "a", "pfns": [{"site": "s", "pfn": "/a"}]}]}, "wf.yml"
    )
    assert rc.source == "wf.yml" and rc.has("a")
    tc = transformation_catalog_from_dict(
        {"transformations": [{"name": "t", "sites": [{"name": "s", "pfn": "/t"}]}]}, "wf.yml"
    )
    assert tc.source == "wf.yml" and tc.lookup(None, "t", None) is not None
    with pytest.raises(CatalogFormatError) as err:
        replica_catalog_from_dict({"replicas": [{"lfn": "a"}]}, "wf.yml")
    assert str(err.value) == "wf.yml: replica 1 (lfn 'a') has no pfns"


@pytest.mark.parametrize("module", [replica_yaml, replica_text, replica_sqlite])
def test_a_failed_dump_leaves_the_old_catalog_and_no_temporary_file(
    tmp_path: Path, module: types.ModuleType
) -> None:
    path = tmp_path / "rc"
    module.dump(CAT, path)
    before = path.read_bytes()
    bad = ReplicaCatalog.of([Replica(lfn="bad\ud800", pfns=(PFN(url="/x", site="s"),))])
    with pytest.raises(CatalogWriteError) as err:
        module.dump(bad, path)
    assert str(err.value).startswith(f"{path}: cannot write")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["rc"]


def test_dump_into_a_missing_folder_is_a_write_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogWriteError) as err:
        replica_yaml.dump(CAT, tmp_path / "no" / "rc.yml")
    assert str(err.value).startswith(f"{tmp_path / 'no' / 'rc.yml'}: cannot write")
