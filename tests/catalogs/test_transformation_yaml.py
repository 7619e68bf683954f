"""Transformation catalog YAML: the Pegasus API's output, round trips, malformed input."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from catalogs import transformation_yaml
from catalogs.errors import CatalogFormatError
from catalogs.transformation import (
    Transformation,
    TransformationCatalog,
    TransformationSite,
    TransformationType,
)


def _pegasus_tc(path: Path) -> None:
    import Pegasus.api as peg

    PegTr, PegTC, PegSite = peg.Transformation, peg.TransformationCatalog, peg.TransformationSite
    Arch, OS, Container = peg.Arch, peg.OS, peg.Container

    tc = PegTC()
    keg = PegTr(
        "keg",
        namespace="example",
        version="1.0",
        site="condorpool",
        pfn="/usr/bin/keg",
        is_stageable=False,
        arch=Arch.X86_64,
        os_type=OS.LINUX,
        os_release="7",
    )
    keg.add_env(APP_HOME="/opt/keg").add_pegasus_profile(clusters_size=3, runtime=100)
    keg.add_sites(
        PegSite("local", "/home/keg", True, arch=Arch.AARCH64).add_condor_profile(
            request_memory="2 GB"
        )
    )
    helper = PegTr("helper", site="local", pfn="/bin/helper", is_stageable=True)
    keg.add_requirement(helper)
    image = Container("img", Container.SINGULARITY, "docker://org/img")
    boxed = PegTr("boxed", site="local", pfn="/bin/boxed", is_stageable=True, container=image)
    tc.add_containers(image)
    tc.add_transformations(keg, helper, boxed)
    tc.write(str(path))


def test_loads_what_the_pegasus_api_writes(tmp_path: Path) -> None:
    _pegasus_tc(tmp_path / "tc.yml")
    tc = transformation_yaml.load(tmp_path / "tc.yml")

    keg = tc.lookup("example", "keg", "1.0")
    assert keg is not None
    assert keg.key == "example::keg:1.0"
    assert keg.profiles == {
        "env": {"APP_HOME": "/opt/keg"},
        "pegasus": {"clusters.size": "3", "runtime": "100"},
    }
    assert keg.requires == ("helper",)
    condorpool, local = keg.sites
    assert condorpool == TransformationSite(
        name="condorpool",
        pfn="/usr/bin/keg",
        type=TransformationType.INSTALLED,
        arch="x86_64",
        os_type="linux",
        os_release="7",
    )
    assert local.type is TransformationType.STAGEABLE
    assert local.profiles == {"condor": {"request_memory": "2048"}}
    boxed = tc.lookup(None, "boxed", None)
    assert boxed is not None
    assert boxed.sites[0].container == "img"


def test_dump_then_load_gives_the_same_catalog(tmp_path: Path) -> None:
    _pegasus_tc(tmp_path / "peg.yml")
    tc = transformation_yaml.load(tmp_path / "peg.yml")
    transformation_yaml.dump(tc, tmp_path / "ours.yml")
    again = transformation_yaml.load(tmp_path / "ours.yml")
    assert again == replace(tc, source=str(tmp_path / "ours.yml"))
    assert transformation_yaml.dumps(again) == (tmp_path / "ours.yml").read_text()


def test_dumps_is_byte_stable() -> None:
    tc = TransformationCatalog(
        transformations=(
            Transformation(
                name="ls",
                sites=(TransformationSite(name="local", pfn="/bin/ls"),),
                profiles={"pegasus": {"z": "1", "a": "2"}},
            ),
        )
    )
    assert transformation_yaml.dumps(tc) == (
        "pegasus: '5.0'\n"
        "transformations:\n"
        "- name: ls\n"
        "  sites:\n"
        "  - name: local\n"
        "    pfn: /bin/ls\n"
        "    type: installed\n"
        "  profiles:\n"
        "    pegasus:\n"
        "      a: '2'\n"
        "      z: '1'\n"
    )


def test_numbers_and_booleans_become_strings() -> None:
    tc = transformation_yaml.loads(
        "transformations:\n- name: t\n  version: 2.0\n"
        "  sites: [{name: s, pfn: /t, type: INSTALLED}]\n"
        "  profiles: {pegasus: {clusters.size: 4, gridstart.enable: true}}\n"
    )
    t = tc.transformations[0]
    assert t.version == "2.0"
    assert t.profiles == {"pegasus": {"clusters.size": "4", "gridstart.enable": "true"}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("transformations: x\n", "tc.yml: transformations: expected a list, got the string 'x'"),
        ("transformations:\n- sites: []\n", "tc.yml: transformation 1 has no name"),
        (
            "transformations:\n- {name: keg, sites: [{pfn: /k}]}\n",
            "tc.yml: transformation 1 (keg): sites[0] has no name",
        ),
        (
            "transformations:\n- {name: keg, namespace: ex, version: '1', sites: [{name: s}]}\n",
            "tc.yml: transformation 1 (ex::keg:1): sites[0] (site 's') has no pfn",
        ),
        (
            "transformations:\n- {name: keg, sites: [{name: s, pfn: /k, type: linked}]}\n",
            "tc.yml: transformation 1 (keg): sites[0] (site 's'): type 'linked' is not installed",
        ),
        (
            "transformations:\n- {name: keg, profiles: {pegsus: {a: b}}}\n",
            "tc.yml: transformation 1 (keg): unknown profile namespace 'pegsus'",
        ),
        (
            "transformations:\n- {name: keg, profiles: {env: {A: [1]}}}\n",
            "tc.yml: transformation 1 (keg): profile env.A: expected a string or number",
        ),
        (
            "transformations:\n- {name: keg, site: local}\n",
            "tc.yml: transformation 1 (keg): unknown key 'site'",
        ),
    ],
)
def test_malformed_input_names_the_entry(text: str, message: str) -> None:
    with pytest.raises(CatalogFormatError) as err:
        transformation_yaml.loads(text, "tc.yml")
    assert str(err.value).startswith(message), str(err.value)
