"""WfCommons WfFormat JSON reading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.errors import FormatError
from planner.formats import wfformat
from planner.model.base import Namespace
from planner.model.graph import build_job_graph
from planner.model.workflow import LinkType

TASKS = {
    "montage-chameleon-2mass-005d-001.json": 58,
    "montage-chameleon-2mass-01d-001.json": 103,
    "montage-chameleon-2mass-025d-001.json": 619,
    "montage-chameleon-dss-10d-001.json": 472,
    "epigenomics-chameleon-hep-1seq-100k-001.json": 41,
    "epigenomics-chameleon-ilmn-2seq-100k-001.json": 263,
    "1000genome-chameleon-2ch-100k-001.json": 52,
    "1000genome-chameleon-8ch-250k-001.json": 328,
    "soykb-chameleon-10fastq-10ch-001.json": 96,
    "srasearch-chameleon-10a-001.json": 22,
    "seismology-chameleon-100p-001.json": 101,
    "cycles-chameleon-1l-1c-9p-001.json": 67,
}


def _doc(tasks: list[dict[str, object]], runs: list[dict[str, object]]) -> str:
    return json.dumps(
        {
            "name": "tiny",
            "schemaVersion": "1.5",
            "workflow": {
                "specification": {
                    "tasks": tasks,
                    "files": [{"id": "a", "sizeInBytes": 5}, {"id": "b", "sizeInBytes": 7}],
                },
                "execution": {"tasks": runs},
            },
        }
    )


TINY = _doc(
    [
        {
            "id": "t1",
            "name": "t1",
            "parents": [],
            "children": ["t2", "t3"],
            "inputFiles": ["a"],
            "outputFiles": ["b"],
        },
        {
            "id": "t2",
            "name": "t2",
            "parents": ["t1"],
            "children": [],
            "inputFiles": ["b"],
            "outputFiles": [],
        },
        {
            "id": "t3",
            "name": "t3",
            "parents": ["t1"],
            "children": [],
            "inputFiles": [],
            "outputFiles": [],
        },
    ],
    [
        {
            "id": "t1",
            "runtimeInSeconds": 2.5,
            "command": {"program": "split", "arguments": ["-i", "a"]},
        },
        {"id": "t2", "runtimeInSeconds": 1, "command": {"program": "work"}},
    ],
)


def test_program_arguments_runtime_sizes_and_declared_edges() -> None:
    wf = wfformat.loads(TINY, "tiny.json")
    t1, t2, t3 = wf.jobs
    assert (t1.name, t1.arguments) == ("split", ("-i", "a"))
    assert t1.profiles == {Namespace.PEGASUS: {"runtime": "2.5"}}
    assert [(u.lfn, u.link, u.size) for u in t1.uses] == [
        ("a", LinkType.INPUT, 5),
        ("b", LinkType.OUTPUT, 7),
    ]
    assert t2.name == "work" and t2.profiles == {Namespace.PEGASUS: {"runtime": "1"}}
    # no execution record: the task's name stands in for the program
    assert t3.name == "t3" and t3.profiles == {}
    # t1 -> t3 has no file behind it and is kept; each edge once despite parents+children
    assert wf.dependencies == (("t1", "t2"), ("t1", "t3"))


def test_older_layout_with_inline_files() -> None:
    doc = {
        "name": "old",
        "schemaVersion": "1.3",
        "workflow": {
            "tasks": [
                {"name": "p1", "category": "prep", "runtime": 3, "parents": [],
                 "files": [{"link": "output", "name": "x", "size": 9}]},
                {"name": "c1", "command": {"program": "use", "arguments": ["x"]},
                 "parents": ["p1"], "files": [{"link": "input", "name": "x", "size": 9}]},
            ]
        },
    }  # fmt: skip
    wf = wfformat.loads(json.dumps(doc), "old.json")
    assert [(j.id, j.name) for j in wf.jobs] == [("p1", "prep"), ("c1", "use")]
    assert wf.jobs[0].uses[0].size == 9
    assert wf.dependencies == (("p1", "c1"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"workflow": ', "malformed JSON at line 1"),
        ("[]", "the document must be an object"),
        ('{"workflow": {"specification": {"tasks": []}}}', "no tasks"),
        ('{"workflow": {"specification": {"tasks": [{"name": "x"}]}}}', "task 1 has no id"),
        (
            '{"workflow": {"specification": {"tasks": [{"id": "x", "name": "x", "inputFiles": "a"}]}}}',
            "task 1 (id 'x'): 'inputFiles' must be a list",
        ),
        (
            '{"workflow": {"specification": {"tasks": [{"id": "x", "name": "x"}], "files": [{"id": "a", "sizeInBytes": -1}]}}}',
            "files[0] (id 'a'): size must be",
        ),
    ],
)
def test_bad_documents_name_the_offender(text: str, message: str) -> None:
    with pytest.raises(FormatError) as err:
        wfformat.loads(text, "bad.json")
    assert message in str(err.value)
    assert str(err.value).startswith("bad.json: ")


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_wfinstance_loads_with_its_task_count(shared_data: Path, name: str) -> None:
    path = shared_data / "wfinstances" / name
    wf = wfformat.load(path)
    assert len(wf.jobs) == TASKS[name]
    spec = json.loads(path.read_text())["workflow"]
    programs = {t["id"]: t["command"]["program"] for t in spec["execution"]["tasks"]}
    assert all(job.name == programs[job.id] for job in wf.jobs)
    declared = {(p, t["id"]) for t in spec["specification"]["tasks"] for p in t["parents"]}
    assert set(wf.dependencies) == declared
    # the README's fact: file edges match the declared ones
    assert set(build_job_graph(wf).edges()) == declared


def test_schema_14_drops_the_planners_own_tasks_but_keeps_their_order() -> None:
    doc = {
        "name": "w14",
        "schemaVersion": "1.4",
        "workflow": {
            "makespanInSeconds": 1,
            "executedAt": "2020-01-01T00:00:00Z",
            "tasks": [
                {"name": "create_dir_1", "type": "auxiliary", "parents": []},
                {"name": "stage_in_1", "type": "transfer", "parents": ["create_dir_1"],
                 "files": [{"link": "output", "name": "raw", "sizeInBytes": 3}]},
                {"name": "a_ID1", "id": "ID1", "type": "compute", "category": "a",
                 "parents": ["stage_in_1"], "runtimeInSeconds": 2.0,
                 "files": [{"link": "input", "name": "raw", "sizeInBytes": 3},
                           {"link": "output", "name": "mid", "sizeInBytes": 4}]},
                {"name": "stage_inter_1", "type": "transfer", "parents": ["a_ID1"]},
                {"name": "b_ID2", "id": "ID2", "type": "compute", "category": "b",
                 "parents": ["stage_inter_1"],
                 "files": [{"link": "input", "name": "mid", "sizeInBytes": 4}]},
            ],
        },
    }  # fmt: skip
    wf = wfformat.loads(json.dumps(doc), "w14.json")
    assert [(j.id, j.name) for j in wf.jobs] == [("ID1", "a"), ("ID2", "b")]
    assert wf.dependencies == (("ID1", "ID2"),)
    # the raw input's stage-in is gone: it is a workflow input again
    assert build_job_graph(wf).workflow_inputs() == ["raw"]
