"""DAX 3.x and 2.1 reading."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.errors import FormatError, UnknownProfileNamespace
from planner.formats import dax
from planner.model.base import Namespace
from planner.model.workflow import LinkType, Use

DAX3 = """<?xml version="1.0" encoding="UTF-8"?>
<adag xmlns="http://pegasus.isi.edu/schema/DAX" version="3.6" name="diamond">
  <file name="f.a"><pfn url="file:///data/f.a" site="local"/></file>
  <executable namespace="diamond" name="preprocess" version="4.0" arch="x86_64" os="linux"
              installed="false">
    <pfn url="file:///bin/pre" site="local"/>
  </executable>
  <job id="ID1" namespace="diamond" name="preprocess" version="4.0" node-label="pre">
    <argument>-a top -T60 -i <file name="f.a"/> -o<file name="f.b1"/> <file name="f.b2"/>,<file name="f.b3"/></argument>
    <profile namespace="pegasus" key="clusters.size">3</profile>
    <profile namespace="env" key="X">y</profile>
    <stdout name="pre.out" link="output"/>
    <uses name="f.a" link="input"/>
    <uses name="f.b1" link="output" transfer="false" register="false" size="10"/>
    <uses name="f.b2" link="output" transfer="true" register="true" optional="true"/>
    <uses name="preprocess" link="input" executable="true"/>
  </job>
  <job id="ID2" name="analyze"><uses name="f.b1" link="input"/></job>
  <job id="ID3" name="analyze"/>
  <child ref="ID2"><parent ref="ID1"/></child>
  <child ref="ID3"><parent ref="ID1"/><parent ref="ID2"/></child>
</adag>
"""

DAX21 = """<?xml version="1.0" encoding="UTF-8"?>
<adag xmlns="http://pegasus.isi.edu/schema/DAX" version="2.1" name="m">
  <filename file="a.fits" link="input"/>
  <job id="ID000001" name="mProjectPP" version="3.0" level="2" runtime="13.39">
    <argument>-X <filename file="a.fits"/> <filename file="p.fits"/></argument>
    <uses file="a.fits" link="input" transfer="true" size="304" type="data"/>
    <uses file="p.fits" link="output" register="false" transfer="false"/>
    <uses file="mProjectPP" link="input" type="executable"/>
  </job>
</adag>
"""


def test_dax3_jobs_arguments_uses_profiles_and_edges() -> None:
    wf = dax.loads(DAX3, "d.xml")
    assert wf.name == "diamond"
    job = wf.jobs[0]
    assert job.transformation == "diamond::preprocess:4.0"
    assert job.node_label == "pre"
    # a <file> glued to text without whitespace joins its word
    assert job.arguments == ("-a", "top", "-T60", "-i", "f.a", "-of.b1", "f.b2,f.b3")
    assert job.profiles == {Namespace.PEGASUS: {"clusters.size": "3"}, Namespace.ENV: {"X": "y"}}
    assert job.stdout == "pre.out"
    assert job.uses == (
        Use(lfn="f.a", link=LinkType.INPUT),
        Use(lfn="f.b1", link=LinkType.OUTPUT, stage_out=False, register_replica=False, size=10),
        Use(lfn="f.b2", link=LinkType.OUTPUT, optional=True),
    )
    assert wf.dependencies == (("ID1", "ID2"), ("ID1", "ID3"), ("ID2", "ID3"))


def test_dax3_inline_replicas_and_executables_become_catalogs() -> None:
    wf = dax.loads(DAX3, "d.xml")
    assert wf.replica_catalog is not None
    assert [p.url for p in wf.replica_catalog.lookup("f.a")] == ["file:///data/f.a"]
    assert wf.transformation_catalog is not None
    entry = wf.transformation_catalog.lookup("diamond", "preprocess", "4.0")
    assert entry is not None and entry.sites[0].type.value == "stageable"


def test_dax21_filename_uses_file_and_runtime() -> None:
    wf = dax.loads(DAX21, "m.xml")
    job = wf.jobs[0]
    assert job.arguments == ("-X", "a.fits", "p.fits")
    assert job.profiles == {Namespace.PEGASUS: {"runtime": "13.39"}}
    assert [(u.lfn, u.link, u.size) for u in job.uses] == [
        ("a.fits", LinkType.INPUT, 304),
        ("p.fits", LinkType.OUTPUT, None),
    ]
    assert job.uses[1].stage_out is False and job.uses[1].register_replica is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<adag><job id='A' name='t'>", "malformed XML at line 1"),
        ("<dag/>", "root element is <dag>"),
        ("<adag><job name='t'/></adag>", "job 1: <job> has no id"),
        ("<adag><job id='A'/></adag>", "job 1 (id 'A'): <job> has no name"),
        ("<adag><job id='A' name='t'><uses link='input'/></job></adag>", "<uses> 1 has no file"),
        (
            "<adag><job id='A' name='t'><uses file='x' link='sideways'/></job></adag>",
            "(file 'x'): link must be one of",
        ),
        (
            "<adag><child ref='A'><parent/></child><job id='A' name='t'/></adag>",
            "<parent> has no ref",
        ),
        ("<adag/>", "no jobs"),
    ],
)
def test_bad_dax_names_the_offender(text: str, message: str) -> None:
    with pytest.raises(FormatError) as err:
        dax.loads(text, "bad.xml")
    assert message in str(err.value)
    assert str(err.value).startswith("bad.xml: ")


def test_unknown_profile_namespace_in_dax() -> None:
    text = "<adag><job id='A' name='t'><profile namespace='condr' key='k'>v</profile></job></adag>"
    with pytest.raises(UnknownProfileNamespace, match=r"job 1 \(id 'A'\).*'condr'"):
        dax.loads(text, "bad.xml")


def test_dax_and_dag_elements_are_sub_workflows() -> None:
    from planner.model.workflow import SubWorkflowKind

    wf = dax.loads(
        "<adag name='top'><job id='A' name='t'><uses name='a' link='output'/></job>"
        "<dax id='SUB' file='x.dax'><argument>--sites condorpool --force</argument>"
        "<uses name='a' link='input'/><uses name='b' link='output'/></dax>"
        "<dag id='D' file='y.dag'/>"
        "<child ref='SUB'><parent ref='A'/></child><child ref='D'><parent ref='SUB'/></child>"
        "</adag>",
        "top.xml",
    )
    sub, dag = wf.subworkflows
    assert (sub.kind, sub.file, sub.arguments) == (
        SubWorkflowKind.PEGASUS,
        "x.dax",
        ("--sites", "condorpool", "--force"),
    )
    assert [u.lfn for u in sub.inputs] == ["a"] and [u.lfn for u in sub.outputs] == ["b"]
    assert (dag.kind, dag.file) == (SubWorkflowKind.CONDOR, "y.dag")
    assert sorted(wf.subworkflow_edges) == [("A", "SUB"), ("SUB", "D")]
    assert wf.dependencies == ()


@pytest.mark.parametrize(
    ("name", "jobs", "edges"),
    [
        ("dax/CyberShake_30.xml", 30, 52),
        ("dax/CyberShake_100.xml", 100, 180),
        ("dax/CyberShake_1000.xml", 1000, 1988),
        ("dax/Epigenomics_24.xml", 24, 27),
        ("dax/Inspiral_30.xml", 30, 35),
        ("dax/Montage_25.xml", 25, 45),
        ("dax/Sipht_30.xml", 29, 33),
        ("montage/mdag-16tiles.dax.xml", 80, 194),
    ],
)
def test_shared_dax_files_load(shared_data: Path, name: str, jobs: int, edges: int) -> None:
    wf = dax.load(shared_data / name)
    assert len(wf.jobs) == jobs
    assert len(wf.dependencies) == edges
    assert all(job.uses for job in wf.jobs)


def test_sipht_file_names_keep_brackets(shared_data: Path) -> None:
    wf = dax.load(shared_data / "dax" / "Sipht_30.xml")
    assert any("[" in use.lfn for job in wf.jobs for use in job.uses)


@pytest.mark.parametrize("xmlns", ["", ' xmlns="http://pegasus.isi.edu/schema/DAX"'])
def test_child_edges_come_from_its_parent_elements_only(xmlns: str) -> None:
    text = (
        f"<adag{xmlns}><job id='A' name='t'/><job id='B' name='t'/><job id='C' name='t'/>"
        "<child ref='C'><parent ref='A'/><!-- note --><other ref='X'/><parent ref='B'/></child>"
        "</adag>"
    )
    assert dax.loads(text, "w.dax").dependencies == (("A", "C"), ("B", "C"))


def test_a_parent_with_an_empty_ref_is_named() -> None:
    text = "<adag><job id='A' name='t'/><child ref='A'><parent ref='A'/><parent ref=''/></child></adag>"
    with pytest.raises(FormatError, match=r"<child ref='A'>: <parent> has no ref"):
        dax.loads(text, "w.dax")
