"""Pegasus 5.0 YAML: reading, writing, round trips, and the errors users see."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalogs.yamlio import parser_name
from planner.errors import FormatError, UnknownProfileNamespace
from planner.formats import load_workflow, pegasus_yaml
from planner.model.base import Namespace
from planner.model.workflow import Job, LinkType, Use, Workflow

DIAMOND = """\
pegasus: "5.0"
name: diamond
profiles:
  env: {HOME_DIR: /h}
jobs:
  - type: job
    id: ID1
    name: preprocess
    arguments: [-i, f.a, -o, f.b]
    uses:
      - {lfn: f.a, type: input, metadata: {size: '1024'}}
      - {lfn: f.b, type: output, stageOut: false}
    profiles:
      pegasus: {clusters.size: 2, runtime: 1.5}
      env: {X: yes}
    hooks:
      shell: [{_on: end, cmd: /bin/echo hi}]
  - type: job
    id: ID2
    namespace: ns
    version: "1.0"
    name: analyze
    arguments: [f.b]
    uses:
      - {lfn: f.b, type: input}
      - {lfn: f.c, type: output, registerReplica: false, size: 7}
jobDependencies:
  - id: ID1
    children: [ID2]
"""


def test_reads_jobs_uses_profiles_and_dependencies() -> None:
    wf = pegasus_yaml.loads(DIAMOND, "diamond.yml")
    assert wf.name == "diamond"
    assert wf.source == "diamond.yml"
    first, second = wf.jobs
    assert first.arguments == ("-i", "f.a", "-o", "f.b")
    assert first.uses[0] == Use(lfn="f.a", link=LinkType.INPUT, size=1024)
    assert first.uses[1].stage_out is False and first.uses[1].register_replica is True
    assert first.profiles[Namespace.PEGASUS] == {"clusters.size": "2", "runtime": "1.5"}
    # workflow-level profiles apply to every job, the job's own keys win; yes is text under
    # YAML 1.2 (yaml-rs) and the boolean true under YAML 1.1 (the PyYAML fallback)
    x = "true" if parser_name() == "pyyaml" else "yes"
    assert first.profiles[Namespace.ENV] == {"HOME_DIR": "/h", "X": x}
    assert second.profiles == {Namespace.ENV: {"HOME_DIR": "/h"}}
    assert second.transformation == "ns::analyze:1.0"
    assert second.uses[1].size == 7 and second.uses[1].register_replica is False
    assert wf.dependencies == (("ID1", "ID2"),)


def test_written_yaml_reads_back_equal() -> None:
    wf = pegasus_yaml.loads(DIAMOND, "diamond.yml")
    again = pegasus_yaml.loads(pegasus_yaml.dumps(wf), "diamond.yml")
    assert again == wf


def test_same_workflow_same_bytes() -> None:
    wf = pegasus_yaml.loads(DIAMOND, "a.yml")
    assert pegasus_yaml.dumps(wf) == pegasus_yaml.dumps(pegasus_yaml.loads(DIAMOND, "b.yml"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pegasus: 5.0\nname: w\njobs: [{type: job, id: A, name: t}]\n", "version string"),
        ('pegasus: "5.0"\njobs: [{type: job, id: A, name: t}]\n', "no 'name'"),
        ('pegasus: "5.0"\nname: w\njobs: []\n', "non-empty list"),
        ('pegasus: "5.0"\nname: w\njobs: [{type: job, name: t}]\n', "job 1: job has no id"),
        ('pegasus: "5.0"\nname: w\njobs: [{type: job, id: A}]\n', "job 1 (id 'A'): job has no"),
        (
            'pegasus: "5.0"\nname: w\njobs:\n - {type: job, id: A, name: t}\n'
            " - {type: job, id: B, name: t, uses: [{lfn: x, type: input}, {type: output}]}\n",
            "job 2 (id 'B'): uses[1] has no lfn",
        ),
        (
            'pegasus: "5.0"\nname: w\njobs: [{type: job, id: A, name: t, uses: [{lfn: x, type: in}]}]\n',
            "uses[0] (lfn 'x'): type must be one of",
        ),
        (
            'pegasus: "5.0"\nname: w\njobs: [{type: job, id: A, name: t, uses: [{lfn: x, type: input, size: -3}]}]\n',
            "size must be a whole number",
        ),
        ('pegasus: "5.0"\nname: w\njobs: [{type: job, id: A, name: t, bogus: 1}]\n', "'bogus'"),
        ('pegasus: "5.0"\nname: w\njobs: [{type: job, id: A, name: t}\n', "malformed YAML"),
        ("- just\n- a list\n", "not a mapping"),
        (
            'pegasus: "5.0"\nname: w\njobs: [{type: job, id: A, name: t}]\njobDependencies: [{children: [A]}]\n',
            "jobDependencies[0] has no id",
        ),
    ],
)
def test_bad_documents_name_the_offender(text: str, message: str) -> None:
    with pytest.raises(FormatError) as err:
        pegasus_yaml.loads(text, "wf.yml")
    assert message in str(err.value)
    assert str(err.value).startswith("wf.yml: ")


SUBS = """\
pegasus: "5.0"
name: top
jobs:
  - {type: job, id: A, name: t, uses: [{lfn: a.txt, type: output}]}
  - type: pegasusWorkflow
    id: SUB1
    file: inner.yml
    arguments: [--sites, condorpool, -Dpegasus.x=1, --force]
    uses:
      - {lfn: inner.yml, type: input, forPlanning: true}
      - {lfn: a.txt, type: input}
      - {lfn: b.txt, type: output, stageOut: true}
  - {type: condorWorkflow, id: DAG1, file: ready.dag}
jobDependencies:
  - {id: SUB1, children: [DAG1]}
"""


def test_sub_workflow_jobs_are_read_without_reading_their_files() -> None:
    from planner.model.workflow import SubWorkflowKind

    wf = pegasus_yaml.loads(SUBS, "top.yml")  # inner.yml and ready.dag do not exist
    assert [job.id for job in wf.jobs] == ["A"]
    sub, dag = wf.subworkflows
    assert (sub.id, sub.kind, sub.file) == ("SUB1", SubWorkflowKind.PEGASUS, "inner.yml")
    assert sub.arguments == ("--sites", "condorpool", "-Dpegasus.x=1", "--force")
    assert [(u.lfn, u.link) for u in sub.uses] == [
        ("a.txt", LinkType.INPUT),
        ("b.txt", LinkType.OUTPUT),
    ]
    assert (dag.kind, dag.file, dag.uses) == (SubWorkflowKind.CONDOR, "ready.dag", ())
    assert wf.subworkflow_edges == (("SUB1", "DAG1"),)
    assert wf.dependencies == ()


def test_sub_workflow_jobs_round_trip_through_the_writer() -> None:
    wf = pegasus_yaml.loads(SUBS, "top.yml")
    again = pegasus_yaml.loads(pegasus_yaml.dumps(wf), "top.yml")
    assert again.subworkflows == wf.subworkflows
    assert again.subworkflow_edges == wf.subworkflow_edges


def test_sub_workflow_job_without_a_file_is_named() -> None:
    text = 'pegasus: "5.0"\nname: w\njobs: [{type: pegasusWorkflow, id: SUB1}]\n'
    with pytest.raises(FormatError, match=r"job 1 \(id 'SUB1'\).*needs a 'file'"):
        pegasus_yaml.loads(text, "wf.yml")


def test_unknown_profile_namespace_is_named() -> None:
    text = (
        'pegasus: "5.0"\nname: w\njobs: [{type: job, id: A, name: t, profiles: {condr: {x: 1}}}]\n'
    )
    with pytest.raises(UnknownProfileNamespace, match="'condr'"):
        pegasus_yaml.loads(text, "wf.yml")


def test_every_pegasus_namespace_loads() -> None:
    profiles = ", ".join(f"{ns.value}: {{k: v}}" for ns in Namespace)
    text = f'pegasus: "5.0"\nname: w\njobs: [{{type: job, id: A, name: t, profiles: {{{profiles}}}}}]\n'
    assert set(pegasus_yaml.loads(text).jobs[0].profiles) == set(Namespace)


def test_workflow_written_by_the_pegasus_api_loads(tmp_path: Path) -> None:
    from Pegasus.api import File, ReplicaCatalog, Transformation, TransformationCatalog
    from Pegasus.api import Job as PJob
    from Pegasus.api import Workflow as PWorkflow

    fa, fb, fc = File("f.a"), File("f.b"), File("f.c", size=2048)
    rc = ReplicaCatalog().add_replica("local", fa, "/data/f.a")
    tc = TransformationCatalog().add_transformations(
        Transformation("pre", site="condorpool", pfn="/bin/pre", is_stageable=False)
    )
    j1 = PJob("pre", _id="ID1").add_args("-i", fa, "-o", fb).add_inputs(fa).add_outputs(fb)
    j1.add_pegasus_profile(clusters_size=3)
    j2 = PJob("pre", _id="ID2").add_args(fb).add_inputs(fb).add_outputs(fc, stage_out=False)
    j2.set_stdout("out.txt")
    wf = PWorkflow("api-made").add_jobs(j1, j2).add_dependency(j1, children=[j2])
    wf.add_replica_catalog(rc).add_transformation_catalog(tc)
    from Pegasus.api import Directory, FileServer, Operation, Site, SiteCatalog

    scratch = Directory(Directory.SHARED_SCRATCH, "/scratch").add_file_servers(
        FileServer("file:///scratch", Operation.ALL)
    )
    wf.add_site_catalog(SiteCatalog().add_sites(Site("cluster").add_directories(scratch)))
    path = tmp_path / "api.yml"
    wf.write(str(path))

    ours = load_workflow(path)
    assert [j.id for j in ours.jobs] == ["ID1", "ID2"]
    assert ours.jobs[0].arguments == ("-i", "f.a", "-o", "f.b")
    assert ours.jobs[0].profiles[Namespace.PEGASUS]["clusters.size"] == "3"
    assert ours.jobs[1].stdout == "out.txt"
    outs = {u.lfn: u for u in ours.jobs[1].outputs}
    assert outs["f.c"].stage_out is False and outs["f.c"].size == 2048
    assert ours.dependencies == (("ID1", "ID2"),)
    assert ours.replica_catalog is not None and ours.replica_catalog.has("f.a")
    assert ours.transformation_catalog is not None
    assert ours.transformation_catalog.lookup(None, "pre", None) is not None
    assert ours.site_catalog is not None and ours.site_catalog.get("cluster") is not None
    # inline catalogs survive our writer too
    assert pegasus_yaml.loads(pegasus_yaml.dumps(ours), str(path)) == ours


def test_dump_refuses_a_missing_directory_and_leaves_nothing(tmp_path: Path) -> None:
    wf = pegasus_yaml.loads(DIAMOND)
    with pytest.raises(FormatError, match="cannot write"):
        pegasus_yaml.dump(wf, tmp_path / "nope" / "wf.yml")
    pegasus_yaml.dump(wf, tmp_path / "wf.yml")
    assert [p.name for p in tmp_path.iterdir()] == ["wf.yml"]


def _every_shared_workflow(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".xml", ".json"))


def test_every_shared_file_round_trips_through_yaml(shared_data: Path) -> None:
    files = _every_shared_workflow(shared_data)
    assert len(files) == 20
    for path in files:
        wf = load_workflow(path)
        again = pegasus_yaml.loads(pegasus_yaml.dumps(wf), str(path))
        assert again == wf, path.name


# --- property: any workflow survives dumps -> loads -----------------------------------

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=12)
_word = st.one_of(
    _text, st.sampled_from(["1e3", "0o17", "0x1F", "yes", "null", "~", "true", "1.0", "-", ""])
)
_name = st.text(alphabet=string.ascii_letters + string.digits + "_.-", min_size=1, max_size=8)
_use = st.builds(
    Use,
    lfn=_word.filter(bool),
    link=st.sampled_from(list(LinkType)),
    stage_out=st.booleans(),
    register_replica=st.booleans(),
    optional=st.booleans(),
    bypass=st.booleans(),
    size=st.one_of(st.none(), st.integers(min_value=0, max_value=2**62)),
)
_profiles = st.dictionaries(
    st.sampled_from(list(Namespace)),
    st.dictionaries(_word.filter(bool), _word, max_size=3),
    max_size=3,
)


@st.composite
def workflows(draw: st.DrawFn) -> Workflow:
    ids = draw(st.lists(_name, min_size=1, max_size=5, unique=True))
    jobs = tuple(
        Job(
            id=job_id,
            name=draw(_name),
            namespace=draw(st.one_of(st.none(), _name)),
            version=draw(st.one_of(st.none(), st.sampled_from(["1.0", "2", "4.1.7"]))),
            node_label=draw(st.one_of(st.none(), _word)),
            arguments=tuple(draw(st.lists(_word, max_size=5))),
            uses=tuple(draw(st.lists(_use, max_size=4))),
            profiles=draw(_profiles),
            stdin=draw(st.one_of(st.none(), _name)),
            stdout=draw(st.one_of(st.none(), _name)),
            stderr=draw(st.one_of(st.none(), _name)),
        )
        for job_id in ids
    )
    edges = draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)), max_size=6))
    metadata = draw(st.dictionaries(_word.filter(bool), _word, max_size=3))
    return Workflow(
        name=draw(_word.filter(bool)), jobs=jobs, dependencies=tuple(edges), metadata=metadata
    )


@settings(max_examples=60, deadline=None)
@given(workflows())
def test_any_workflow_round_trips(wf: Workflow) -> None:
    assert pegasus_yaml.loads(pegasus_yaml.dumps(wf)) == wf


@pytest.mark.parametrize(
    ("catalog", "offender"),
    [
        ("replicaCatalog:\n  replicas:\n    - pfns: [{site: local, pfn: /x}]\n", "replica"),
        ("transformationCatalog:\n  transformations:\n    - sites: []\n", "transformation"),
        ("siteCatalog:\n  sites:\n    - directories: []\n", "site"),
    ],
)
def test_bad_inline_catalog_is_one_line_naming_the_file(catalog: str, offender: str) -> None:
    from catalogs.errors import WfplanError

    text = 'pegasus: "5.0"\nname: w\n' + catalog + "jobs: [{type: job, id: A, name: t}]\n"
    with pytest.raises(WfplanError) as err:
        pegasus_yaml.loads(text, "wf.yml")
    assert err.value.lines() == [str(err.value)]
    assert "\n" not in str(err.value)
    assert "wf.yml" in str(err.value) and offender in str(err.value)


# --- the writer's layout: one JSON line per job, read with json -------------------------


@settings(max_examples=60, deadline=None)
@given(workflows())
def test_json_lines_read_as_every_yaml_reader_reads_them(wf: Workflow) -> None:
    import yaml
    import yaml_rs

    text = pegasus_yaml.dumps(wf)
    assert text.startswith(pegasus_yaml.JSON_LINES_MARK)
    as_yaml = yaml_rs.loads(text, parse_datetime=False)
    if parser_name() == "yaml-rs":
        assert pegasus_yaml._json_lines_document(text, "w.yml") == as_yaml
    assert yaml.safe_load(text) == as_yaml  # Pegasus itself reads YAML 1.1 with PyYAML


@pytest.mark.parametrize(
    "edit",
    [
        # a job written back in block style by hand: the whole file goes to YAML
        lambda t: t.replace(
            '  - {"type": "job", "namespace": "ns"',
            '  - type: job\n    namespace: ns\n    x: {"a": 1',
            1,
        ),
        lambda t: t.replace('"id": "ID1"', '"id": "ID1", "id": "ID9"', 1),  # a repeated key
        lambda t: t + "metadata: {a: b}\n",  # something after the jobs
    ],
)
def test_an_edited_json_lines_file_falls_back_to_yaml(edit: Any) -> None:
    from catalogs.yamlio import load_yaml

    def outcome(read: Any) -> object:
        try:
            return read()
        except FormatError as exc:
            return str(exc)

    text = edit(pegasus_yaml.dumps(pegasus_yaml.loads(DIAMOND, "d.yml")))
    assert pegasus_yaml._json_lines_document(text, "d.yml") is None
    as_yaml = outcome(
        lambda: pegasus_yaml.from_dict(load_yaml(text, "d.yml", error=FormatError), "d.yml")
    )
    assert outcome(lambda: pegasus_yaml.loads(text, "d.yml")) == as_yaml


def test_a_del_character_is_escaped_in_the_json_lines() -> None:
    # DEL is ASCII but not a character YAML allows raw: PyYAML (Pegasus's reader) refused
    # the file (found by the property test above)
    import yaml

    line = pegasus_yaml._json_line({"arguments": ["a\x7fb"]})
    assert "\x7f" not in line
    assert yaml.safe_load(line) == {"arguments": ["a\x7fb"]}
