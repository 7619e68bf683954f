"""The one job builder behind the three readers: sharing, and messages in each format's words."""

from __future__ import annotations

import json

import pytest

from catalogs.errors import WfplanError
from planner.errors import FormatError, UnknownProfileNamespace
from planner.formats import dax, pegasus_yaml, wfformat
from planner.formats.records import JobBuilder, JobRecord
from planner.model.base import Namespace
from planner.model.workflow import LinkType, Use


def _use(lfn: object, link: object = "input", size: object = None, *flags: object) -> tuple:
    padded = (*flags, None, None, None, None)[:4]
    return (lfn, link, size, *padded)


def test_equal_records_share_one_use_and_one_profile_mapping() -> None:
    builder = JobBuilder(pegasus_yaml.VOCABULARY, "wf.yml")
    profiles = ("pegasus", "runtime", "5")
    a = builder.job(JobRecord(0, "A", "t", (), [_use("f.a", "input", 3)], profiles))
    b = builder.job(JobRecord(1, "B", "t", (), [_use("f.a", "input", 3)], profiles))
    assert a.uses[0] is b.uses[0] and a.profiles is b.profiles
    assert a.uses[0] == Use("f.a", LinkType.INPUT, size=3)
    assert a.profiles == {Namespace.PEGASUS: {"runtime": "5"}}


@pytest.mark.parametrize(
    ("plain", "odd", "message"),
    [
        (_use("f.a", "input", 1), _use("f.a", "input", True), "(lfn 'f.a'): size must be"),
        (
            _use("f.a", "input", None, False),
            _use("f.a", "input", None, 0),
            "(lfn 'f.a'): stageOut: expected true or false, got 0",
        ),
    ],
)
def test_a_value_equal_to_a_shared_one_but_of_another_type_is_not_taken_for_it(
    plain: tuple, odd: tuple, message: str
) -> None:
    """``True == 1`` and ``0 == False`` as dict keys: a shared use must not stand in."""
    builder = JobBuilder(pegasus_yaml.VOCABULARY, "wf.yml")
    builder.job(JobRecord(0, "A", "t", (), [plain]))
    with pytest.raises(FormatError) as err:
        builder.job(JobRecord(1, "B", "t", (), [odd]))
    assert f"wf.yml: job 2 (id 'B'): uses[0] {message}" in str(err.value)


def test_workflow_profiles_lie_beneath_each_jobs_own() -> None:
    defaults = {Namespace.ENV: {"HOME": "/h", "X": "0"}}
    builder = JobBuilder(pegasus_yaml.VOCABULARY, "wf.yml", defaults)
    job = builder.job(JobRecord(0, "A", "t", (), (), ("env", "X", "1")))
    assert job.profiles == {Namespace.ENV: {"HOME": "/h", "X": "1"}}
    assert builder.job(JobRecord(1, "B", "t")).profiles == defaults


def test_the_checked_path_converts_what_pegasus_accepts() -> None:
    builder = JobBuilder(pegasus_yaml.VOCABULARY, "wf.yml")
    record = JobRecord(
        0, 7, "t", ["-n", 3, True], [_use(12, "output", "40", "no", "yes")], ("env", "N", 5)
    )
    job = builder.job(record)
    assert (job.id, job.arguments) == ("7", ("-n", "3", "true"))
    assert job.uses == (Use("12", LinkType.OUTPUT, stage_out=False, size=40),)
    assert job.profiles == {Namespace.ENV: {"N": "5"}}


def test_unknown_namespaces_are_named_in_each_format() -> None:
    builder = JobBuilder(dax.VOCABULARY, "wf.dax")
    with pytest.raises(UnknownProfileNamespace, match=r"wf.dax: job 3 \(id 'C'\).*'condr'"):
        builder.job(JobRecord(2, "C", "t", (), (), ("condr", "k", "v")))


def test_a_yaml_flag_message_names_the_file_used() -> None:
    text = """\
pegasus: "5.0"
name: w
jobs:
  - {type: job, id: A, name: t, uses: [{lfn: f.a, type: output, stageOut: 1}]}
"""
    with pytest.raises(FormatError) as err:
        pegasus_yaml.loads(text, "wf.yml")
    assert "job 1 (id 'A'): uses[0] (lfn 'f.a'): stageOut: expected true or false, got 1" in str(
        err.value
    )


def test_a_wfformat_file_reference_that_is_no_name_is_refused() -> None:
    """A null in inputFiles was read as the file 'None'."""
    doc = {
        "workflow": {
            "specification": {"tasks": [{"id": "x", "name": "x", "inputFiles": ["a", None]}]}
        }
    }
    with pytest.raises(FormatError, match=r"wf.json: task 1 \(id 'x'\): file 2 has no name"):
        wfformat.loads(json.dumps(doc), "wf.json")


def test_dax_uses_are_counted_among_the_jobs_uses_elements() -> None:
    """Not among all its children: the first <uses> after an <argument> is <uses> 1."""
    text = (
        "<adag><job id='A' name='t'><argument>-x</argument><uses file='a' link='input'/>"
        "<uses link='output'/></job></adag>"
    )
    with pytest.raises(FormatError, match=r"job 1 \(id 'A'\): <uses> 2 has no file name"):
        dax.loads(text, "wf.dax")


def test_the_three_readers_build_equal_jobs_for_equal_content() -> None:
    yaml_text = """\
pegasus: "5.0"
name: w
jobs:
  - {type: job, id: A, name: t, arguments: [-i, f.a], uses: [{lfn: f.a, type: input, size: 3},
     {lfn: f.b, type: output}], profiles: {pegasus: {runtime: "2"}}}
"""
    dax_text = (
        "<adag><job id='A' name='t' runtime='2'><argument>-i <file name='f.a'/></argument>"
        "<uses name='f.a' link='input' size='3'/><uses name='f.b' link='output'/></job></adag>"
    )
    wf_doc = {
        "workflow": {
            "specification": {
                "tasks": [{"id": "A", "inputFiles": ["f.a"], "outputFiles": ["f.b"]}],
                "files": [{"id": "f.a", "sizeInBytes": 3}, {"id": "f.b"}],
            },
            "execution": {
                "tasks": [
                    {"id": "A", "runtimeInSeconds": 2, "command": {"program": "t",
                     "arguments": ["-i", "f.a"]}}
                ]
            },
        }
    }  # fmt: skip
    jobs = [
        pegasus_yaml.loads(yaml_text, "w.yml").jobs,
        dax.loads(dax_text, "w.dax").jobs,
        wfformat.loads(json.dumps(wf_doc), "w.json").jobs,
    ]
    assert jobs[0] == jobs[1] == jobs[2]


def test_every_reader_error_is_a_planner_error_naming_the_file() -> None:
    bad = JobRecord(0, None, "t")
    for vocabulary in (pegasus_yaml.VOCABULARY, dax.VOCABULARY, wfformat.VOCABULARY):
        with pytest.raises(WfplanError) as err:
            JobBuilder(vocabulary, "f").job(bad)
        assert str(err.value).startswith("f: ") and "has no id" in str(err.value)
