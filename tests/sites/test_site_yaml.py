"""Site catalog YAML: the Pegasus API's output, round trips, malformed input."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from catalogs.errors import CatalogFormatError
from sites import site_yaml
from sites.loader import load_site_catalog, site_catalog_from_dict
from sites.model import Directory, DirectoryType, FileServer, Operation, Site, SiteCatalog


def _pegasus_sc(path: Path) -> None:
    import Pegasus.api as peg

    cluster = peg.Site("cluster", arch=peg.Arch.X86_64, os_type=peg.OS.LINUX, os_release="rhel")
    cluster.add_directories(
        peg.Directory(peg.Directory.SHARED_SCRATCH, "/scratch").add_file_servers(
            peg.FileServer("file:///scratch", peg.Operation.ALL)
        ),
        peg.Directory(peg.Directory.LOCAL_STORAGE, "/storage", shared_file_system=True)
        .add_file_servers(peg.FileServer("http://host/storage", peg.Operation.GET))
        .add_file_servers(
            peg.FileServer("scp://host/storage", peg.Operation.PUT).add_env(SCP_OPTS="-q")
        ),
    )
    cluster.add_grids(
        peg.Grid(peg.Grid.BATCH, "host.example.org", peg.Scheduler.SLURM, peg.SupportedJobs.COMPUTE)
    )
    cluster.add_pegasus_profile(data_configuration="sharedfs", style="condor")
    cluster.add_profiles(peg.Namespace.PEGASUS, key="slots", value=8)
    cluster.add_env(PATH="/usr/bin")
    sc = peg.SiteCatalog()
    sc.add_sites(cluster, peg.Site("local"))
    sc.write(str(path))


def test_loads_what_the_pegasus_api_writes(tmp_path: Path) -> None:
    _pegasus_sc(tmp_path / "sites.yml")
    sc = load_site_catalog(tmp_path / "sites.yml")

    assert sc.names == ["cluster", "local"]
    cluster = sc.get("cluster")
    assert cluster is not None
    assert (cluster.arch, cluster.os_type, cluster.os_release) == ("x86_64", "linux", "rhel")
    scratch = cluster.directory(DirectoryType.SHARED_SCRATCH)
    assert scratch == Directory(
        type=DirectoryType.SHARED_SCRATCH,
        path="/scratch",
        file_servers=(FileServer(url="file:///scratch", operation=Operation.ALL),),
    )
    storage = cluster.directory(DirectoryType.LOCAL_STORAGE)
    assert storage is not None and storage.shared_file_system
    assert [f.operation for f in storage.file_servers] == [Operation.GET, Operation.PUT]
    assert storage.file_servers[1].profiles == {"env": {"SCP_OPTS": "-q"}}
    assert cluster.grids[0]["scheduler"] == "slurm"
    assert cluster.profile("pegasus", "slots") == "8"
    assert cluster.profile("pegasus", "data.configuration") == "sharedfs"
    assert cluster.profile("env", "PATH") == "/usr/bin"


def test_dump_then_load_gives_the_same_catalog(tmp_path: Path) -> None:
    _pegasus_sc(tmp_path / "peg.yml")
    sc = site_yaml.load(tmp_path / "peg.yml")
    site_yaml.dump(sc, tmp_path / "ours.yml")
    again = site_yaml.load(tmp_path / "ours.yml")
    assert again == replace(sc, source=str(tmp_path / "ours.yml"))
    assert site_yaml.dumps(again) == (tmp_path / "ours.yml").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ours.yml", "peg.yml"]


def test_dumps_is_byte_stable() -> None:
    sc = SiteCatalog(
        sites=(
            Site(
                name="s",
                directories=(
                    Directory(
                        type=DirectoryType.SHARED_SCRATCH,
                        path="/x",
                        file_servers=(FileServer(url="file:///x"),),
                    ),
                ),
                profiles={"pegasus": {"slots": "2"}},
            ),
        )
    )
    assert site_yaml.dumps(sc) == (
        "pegasus: '5.0'\n"
        "sites:\n"
        "- name: s\n"
        "  directories:\n"
        "  - type: sharedScratch\n"
        "    path: /x\n"
        "    sharedFileSystem: false\n"
        "    fileServers:\n"
        "    - url: file:///x\n"
        "      operation: all\n"
        "  profiles:\n"
        "    pegasus:\n"
        "      slots: '2'\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sites: {name: a}\n", "sc.yml: sites: expected a list, got a mapping"),
        ("sites:\n- arch: x86_64\n", "sc.yml: site 1 has no name"),
        (
            "sites:\n- name: a\n- name: b\n  directories: [{type: scratch, path: /s}]\n",
            "sc.yml: site 2 ('b'): directories[0]: unknown directory type 'scratch'",
        ),
        (
            "sites:\n- name: b\n  directories: [{type: sharedScratch}]\n",
            "sc.yml: site 1 ('b'): directories[0] (sharedScratch) has no path",
        ),
        (
            "sites:\n- name: b\n  directories:\n  - type: localStorage\n    path: /s\n"
            "    fileServers: [{url: 'file:///s', operation: copy}]\n",
            "sc.yml: site 1 ('b'): directories[0] (localStorage): fileServers[0]: operation 'copy'",
        ),
        (
            "sites:\n- name: b\n  directories:\n  - {type: localStorage, path: /s, fileServers: [{}]}\n",
            "sc.yml: site 1 ('b'): directories[0] (localStorage): fileServers[0] has no url",
        ),
        (
            "sites:\n- name: b\n  profiles: {condr: {a: b}}\n",
            "sc.yml: site 1 ('b'): unknown profile namespace 'condr'",
        ),
        ("sites:\n- name: b\n- name: b\n", "sc.yml: site 'b' is listed twice"),
        ("sites:\n- name: b\n  grid: []\n", "sc.yml: site 1 ('b'): unknown key 'grid'"),
    ],
)
def test_malformed_input_names_the_entry(text: str, message: str) -> None:
    with pytest.raises(CatalogFormatError) as err:
        site_yaml.loads(text, "sc.yml")
    assert str(err.value).startswith(message), str(err.value)


def test_dict_entry_point_keeps_the_source() -> None:
    sc = site_catalog_from_dict({"sites": [{"name": "a"}]}, "wf.yml")
    assert sc.source == "wf.yml" and sc.names == ["a"]
    assert site_catalog_from_dict(None, "wf.yml").sites == ()
