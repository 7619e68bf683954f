"""The builder's fast path builds exactly what its checked path builds, or steps aside.

Each reader turns a job into a record (``planner.formats.records``); the one builder
takes plain records without a single message and leaves anything else to the checked
path, which names the offender. These properties pin that down, for records as each of
the three readers makes them: on any input the fast path either declines (None) or
returns a job equal to the checked one, and it never accepts what the checked path
refuses.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalogs.errors import WfplanError
from planner.formats import dax, pegasus_yaml, wfformat
from planner.formats.records import JobBuilder, JobRecord
from planner.model.base import Namespace
from planner.model.workflow import Job

# near misses per kind of field, from small pools so that equal-but-different keys
# (True == 1 == 1.0) meet in one builder
_NEAR = {
    "text": [None, 1, 1.0, True, "", ["x"], {}],
    "size": [None, -1, True, 1.0, 1.5, "12", "x"],
    "flag": [None, 1, 0, "yes", "false", []],
    "link": [None, "in", "Input", 1, True, []],
    "list": [None, "x", {}, 1, [1], [None], [True]],
    "mapping": [None, [], "x", {"condr": {}}, {"pegasus": None}, {"pegasus": {"k": 1}}],
}
_FIELD = {
    "type": "text", "id": "text", "name": "text", "namespace": "text",
    "version": "text", "nodeLabel": "text", "stdin": "text", "stdout": "text",
    "stderr": "text", "arguments": "list", "uses": "list", "profiles": "mapping",
    "lfn": "text", "size": "size", "stageOut": "flag", "registerReplica": "flag",
    "optional": "flag", "bypass": "flag", "metadata": "mapping", "bogus": "text",
}  # fmt: skip
_lfn = st.sampled_from(["f.a", "f.b", "region.hdr"])
_link = st.sampled_from(["input", "output", "inout", "checkpoint", "none"])
_flag = st.booleans()
_use = st.fixed_dictionaries(
    {"lfn": _lfn, "type": _link},
    optional={
        "size": st.sampled_from([0, 1, 3, 2**40]),
        "stageOut": _flag,
        "registerReplica": _flag,
        "optional": _flag,
        "bypass": _flag,
    },
)
_ns = st.sampled_from(["pegasus", "env", "condor", "PEGASUS", "dagman"])
_profiles = st.dictionaries(
    _ns, st.dictionaries(st.sampled_from(["runtime", "X", "1"]), st.sampled_from(["1", "a", ""]))
)
_text = st.sampled_from(["a", "ID1", "1.0"])
_job = st.fixed_dictionaries(
    {"type": st.just("job"), "id": _text, "name": _text},
    optional={
        "namespace": _text,
        "version": _text,
        "nodeLabel": _text,
        "stdin": _text,
        "stdout": _text,
        "stderr": _text,
        "arguments": st.lists(st.sampled_from(["-i", "f.a", "", "x y"]), max_size=4),
        "uses": st.lists(_use, max_size=4),
        "profiles": _profiles,
        "hooks": st.just({}),
    },
)
_JOB_KEYS = ["type", "id", "name", "namespace", "version", "nodeLabel", "stdin", "stdout",
             "stderr", "arguments", "uses", "profiles", "bogus"]  # fmt: skip
_USE_KEYS = ["lfn", "type", "size", "stageOut", "registerReplica", "optional", "bypass",
             "metadata", "bogus"]  # fmt: skip


@st.composite
def _perturbed_job(draw: st.DrawFn, where: str) -> dict[str, Any]:
    """A plain job with at most one value replaced by junk: a job with one defect reaches
    every check of the fast path (a job that is wrong everywhere fails at the first)."""
    job: dict[str, Any] = draw(_job)
    if where == "use":
        job["uses"] = draw(st.lists(_use, min_size=1, max_size=3))
    elif where.startswith("profile"):
        job["profiles"] = draw(_profiles.filter(lambda p: any(p.values())))
    if where == "job":
        key = draw(st.sampled_from(_JOB_KEYS))
        job[key] = draw(st.sampled_from(_NEAR[_FIELD[key]]))
    elif where == "use":
        key = draw(st.sampled_from(_USE_KEYS))
        kind = "link" if key == "type" else _FIELD[key]
        use = draw(st.sampled_from(job["uses"]))
        use[key] = draw(st.sampled_from(_NEAR[kind]))
    elif where == "profile namespace":
        ns = draw(st.sampled_from(sorted(job["profiles"])))
        job["profiles"][draw(st.sampled_from(["condr", "1", 1, True, None]))] = job["profiles"].pop(
            ns
        )
    elif where == "profile value":
        ns = draw(st.sampled_from(sorted(k for k, v in job["profiles"].items() if v)))
        key = draw(st.sampled_from(["runtime", "X", 1, True]))
        job["profiles"][ns][key] = draw(st.sampled_from(["1", *_NEAR["text"]]))
    return job


_defaults = st.sampled_from([{}, {Namespace.ENV: {"HOME": "/h"}}])


def _fast_or_checked(builder: JobBuilder, record: JobRecord) -> Job | None:
    """The fast path's job, after checking that the checked path builds an equal one
    (with a builder of its own, so that nothing the fast path shared is reused)."""
    built = builder.fast_job(record)
    if built is not None:
        fresh = JobBuilder(builder._vocabulary, "wf", builder._defaults)
        try:
            checked = fresh.checked_job(record)
        except WfplanError:
            raise AssertionError(f"fast path accepted what the checked path refuses: {record}")
        assert built == checked
        assert (built.inputs, built.outputs) == (checked.inputs, checked.outputs)
    return built


def _yaml_record(raw: object) -> JobRecord | None:
    """The reader's record, or None where its structure check refuses the entry."""
    try:
        return pegasus_yaml._record(0, raw, "wf.yml")
    except WfplanError:
        return None


@pytest.mark.parametrize("where", ["job", "use", "profile namespace", "profile value"])
@settings(max_examples=100, deadline=None)
@given(data=st.data(), defaults=_defaults)
def test_yaml_fast_path_equals_the_checked_path_or_declines(
    where: str, data: st.DataObject, defaults: dict[Namespace, dict[str, str]]
) -> None:
    jobs = data.draw(st.lists(_perturbed_job(where), min_size=1, max_size=6))
    builder = JobBuilder(pegasus_yaml.VOCABULARY, "wf.yml", defaults)
    for raw in jobs:  # several jobs share one builder, so shared uses/profiles are exercised
        record = _yaml_record(raw)
        if record is not None:
            _fast_or_checked(builder, record)


@settings(max_examples=100, deadline=None)
@given(st.lists(_job, min_size=1, max_size=4), _defaults)
def test_yaml_fast_path_takes_every_plain_job(
    jobs: list[Any], defaults: dict[Namespace, dict[str, str]]
) -> None:
    builder = JobBuilder(pegasus_yaml.VOCABULARY, "wf.yml", defaults)
    for raw in jobs:
        record = pegasus_yaml._record(0, raw, "wf.yml")
        assert _fast_or_checked(builder, record) is not None


def test_equal_uses_and_profiles_are_shared_between_jobs() -> None:
    text = """\
pegasus: "5.0"
name: w
jobs:
  - {type: job, id: A, name: t, uses: [{lfn: f.a, type: input, size: 3}],
     profiles: {pegasus: {runtime: "5"}}}
  - {type: job, id: B, name: t, uses: [{lfn: f.a, type: input, size: 3}],
     profiles: {pegasus: {runtime: "5"}}}
  - {type: job, id: C, name: t, uses: [{lfn: f.a, type: input, size: 4}],
     profiles: {pegasus: {runtime: "6"}}}
"""
    a, b, c = pegasus_yaml.loads(text, "wf.yml").jobs
    assert a.uses[0] is b.uses[0] and a.profiles is b.profiles
    assert c.uses[0].size == 4 and c.profiles == {Namespace.PEGASUS: {"runtime": "6"}}


def test_a_size_of_true_is_not_taken_for_one() -> None:
    """``True == 1`` as a dict key: the shared-use cache must not mix them up."""
    text = """\
pegasus: "5.0"
name: w
jobs:
  - {type: job, id: A, name: t, uses: [{lfn: f.a, type: input, size: 1}]}
  - {type: job, id: B, name: t, uses: [{lfn: f.a, type: input, size: true}]}
"""
    try:
        pegasus_yaml.loads(text, "wf.yml")
    except WfplanError as exc:
        assert "job 2 (id 'B'): uses[0] (lfn 'f.a')" in str(exc)
    else:
        raise AssertionError("a boolean size was accepted")


# --- WfFormat 1.5 ------------------------------------------------------------------------

_task = st.fixed_dictionaries(
    {"id": st.sampled_from(["t1", "t2", "t3"])},
    optional={
        "name": st.sampled_from(["n1", "t1"]),
        "category": st.sampled_from(["mProject", ""]),
        "inputFiles": st.lists(_lfn, max_size=3),
        "outputFiles": st.lists(_lfn, max_size=3),
        "parents": st.lists(st.sampled_from(["t1", "t2", "n1"]), max_size=2),
        "children": st.lists(st.sampled_from(["t1", "t2", "n1"]), max_size=2),
    },
)
_run = st.fixed_dictionaries(
    {},
    optional={
        "runtimeInSeconds": st.sampled_from([0, 1, 1.0, 2.5, True, "3", None]),
        "runtime": st.sampled_from([4, 4.0]),
        "command": st.fixed_dictionaries(
            {},
            optional={
                "program": st.sampled_from(["mAdd", "", None, 3]),
                "arguments": st.one_of(
                    st.lists(st.sampled_from(["-i", "f.a", 1, None]), max_size=3),
                    st.sampled_from(["-a  b", "", None, 3]),
                ),
            },
        ),
    },
)
_TASK_NEAR = ["id", "inputFiles", "outputFiles", "parents", "children", "name", "category"]


@st.composite
def _perturbed_task(draw: st.DrawFn) -> dict[str, Any]:
    task: dict[str, Any] = draw(_task)
    if draw(st.booleans()):
        key = draw(st.sampled_from(_TASK_NEAR))
        task[key] = draw(st.sampled_from(_NEAR["list" if key.endswith(("s", "Files")) else "text"]))
    return task


# WfFormat tasks, their runs and file sizes: what both WfFormat path properties draw
_WFFORMAT_INPUTS = (
    st.lists(_perturbed_task(), min_size=1, max_size=5),
    st.dictionaries(st.sampled_from(["t1", "t2", "t3"]), _run),
    st.dictionaries(_lfn, st.sampled_from([None, 0, 5])),
)


@settings(max_examples=200, deadline=None)
@given(*_WFFORMAT_INPUTS)
def test_wfformat_fast_path_equals_the_checked_path_or_declines(
    tasks: list[Any], runs: dict[str, Any], sizes: dict[str, int | None]
) -> None:
    records = wfformat._Records(sizes, runs, "wf.json")
    builder = JobBuilder(wfformat.VOCABULARY, "wf.json")
    for raw in tasks:
        try:
            record, _, _ = records.task(0, raw)
        except WfplanError:
            continue
        _fast_or_checked(builder, record)


def test_wfformat_fast_path_takes_plain_tasks() -> None:
    runs = {"a": {"runtimeInSeconds": 2.5, "command": {"program": "p", "arguments": ["-x"]}}}
    task = {"id": "a", "inputFiles": ["f"], "outputFiles": ["g"], "parents": [], "children": []}
    record, _, _ = wfformat._Records({"f": 3}, runs, "w").task(0, task)
    built = _fast_or_checked(JobBuilder(wfformat.VOCABULARY, "w"), record)
    assert built is not None and built.uses[0].size == 3


# --- DAX ---------------------------------------------------------------------------------

_attr_value = st.sampled_from(["", "x", "f.a", "true", "false", "TRUE", "yes", "7", "007",
                               "-1", "1e3", "1" * 17, "input", "Output", "inout", " a"])  # fmt: skip
_uses_attrs = st.fixed_dictionaries(
    {"name": _lfn, "link": _link},
    optional={
        "size": st.sampled_from(["0", "12", "007", "1" * 17]),
        "transfer": st.sampled_from(["true", "false"]),
        "register": st.sampled_from(["true", "false", "FALSE"]),
        "optional": st.sampled_from(["true", "false"]),
        "type": st.just("data"),
    },
)
_USES_NEAR = ["name", "file", "link", "size", "register", "optional", "transfer", "type",
              "executable"]  # fmt: skip


@st.composite
def _dax_job(draw: st.DrawFn) -> str:
    from xml.sax.saxutils import quoteattr

    def attrs(values: dict[str, str]) -> str:
        return "".join(f" {k}={quoteattr(v)}" for k, v in values.items())

    job = {"id": draw(st.sampled_from(["ID1", "ID2"])), "name": "t"}
    if draw(st.booleans()):
        job["runtime"] = draw(st.sampled_from(["5", "1.5"]))
    parts = []
    for _ in range(draw(st.integers(0, 3))):
        uses = draw(_uses_attrs)
        if draw(st.booleans()):
            uses[draw(st.sampled_from(_USES_NEAR))] = draw(_attr_value)
        parts.append(f"<uses{attrs(uses)}/>")
    words = draw(st.lists(st.sampled_from(["-i ", "-o", " ", "x", "<file name='f.a'/>",
                                           "<file name='a b'/>", "<filename file='g'/>",
                                           "<file/>", "<other/>"]), max_size=4))  # fmt: skip
    if words or draw(st.booleans()):
        parts.append(f"<argument>{''.join(words)}</argument>")
    for _ in range(draw(st.integers(0, 2))):
        ns = draw(st.sampled_from(["pegasus", "env", "Condor", "condr", ""]))
        key = draw(st.sampled_from(["runtime", "X", ""]))
        parts.append(f"<profile namespace={quoteattr(ns)} key={quoteattr(key)}> 3 </profile>")
    if draw(st.booleans()):
        tag = draw(st.sampled_from(["stdin", "stdout", "stderr"]))
        parts.append(f"<{tag} {draw(st.sampled_from(['name', 'file', 'x']))}='out.txt'/>")
    ns = ' xmlns="http://pegasus.isi.edu/schema/DAX"' if draw(st.booleans()) else ""
    return f"<job{ns}{attrs(job)}>{''.join(parts)}</job>"


@settings(max_examples=250, deadline=None)
@given(st.lists(_dax_job(), min_size=1, max_size=4))
def test_dax_fast_path_equals_the_checked_path_or_declines(texts: list[str]) -> None:
    import xml.etree.ElementTree as ET

    records = dax._Records("wf.dax")
    builder = JobBuilder(dax.VOCABULARY, "wf.dax")
    for text in texts:
        try:
            record = records.job(0, ET.fromstring(text))
        except WfplanError:
            continue
        _fast_or_checked(builder, record)


def test_dax_fast_path_takes_plain_jobs() -> None:
    import xml.etree.ElementTree as ET

    text = (
        '<job id="ID1" name="t" runtime="4"><argument>-i <file name="f.a"/> -o'
        '<file name="f.b"/></argument><profile namespace="env" key="X">1</profile>'
        '<uses name="f.a" link="input" size="12"/><uses name="f.b" link="output" '
        'transfer="false" register="false"/><stdout name="o.txt"/>'
        '<uses name="t" link="input" executable="true"/><uses name="t" type="executable"/></job>'
    )
    record = dax._Records("wf.dax").job(0, ET.fromstring(text))
    built = _fast_or_checked(JobBuilder(dax.VOCABULARY, "wf.dax"), record)
    assert built is not None
    assert built.arguments == ("-i", "f.a", "-of.b")
    assert [u.lfn for u in built.uses] == ["f.a", "f.b"]  # the executable is not a file used


# --- the readers' plain paths: jobs built straight from the parsed entries -----------------
#
# Each reader first tries to build a job from its entry without a record (and without a
# message); it either declines or builds exactly what the record and the checked path
# build, and it never accepts what they refuse.


def _same_as_checked(built: Job | None, checked: Any) -> None:
    """``checked`` builds the checked path's job (raising where it refuses the entry)."""
    if built is None:
        return
    try:
        expected = checked()
    except WfplanError:
        raise AssertionError(f"plain path accepted what the checked path refuses: {built}")
    assert built == expected
    assert built.inputs == expected.inputs and built.outputs == expected.outputs


@pytest.mark.parametrize("where", ["job", "use", "profile namespace", "profile value"])
@settings(max_examples=100, deadline=None)
@given(data=st.data(), defaults=_defaults)
def test_yaml_plain_path_equals_the_checked_path_or_declines(
    where: str, data: st.DataObject, defaults: dict[Namespace, dict[str, str]]
) -> None:
    jobs = data.draw(st.lists(_perturbed_job(where), min_size=1, max_size=6))
    builder = JobBuilder(pegasus_yaml.VOCABULARY, "wf.yml", defaults)
    for raw in jobs:  # one builder: uses and profiles shared between jobs are exercised
        fresh = JobBuilder(pegasus_yaml.VOCABULARY, "wf.yml", defaults)
        _same_as_checked(
            pegasus_yaml._plain_job(raw, builder),
            lambda raw=raw, fresh=fresh: fresh.checked_job(pegasus_yaml._record(0, raw, "wf.yml")),
        )


def test_yaml_plain_path_takes_every_job_the_writer_writes() -> None:
    from planner.model.workflow import LinkType, Use, Workflow

    def use(lfn: str, link: LinkType, size: int | None = None) -> Use:
        return Use(lfn, link, size=size)

    runtime = {Namespace.PEGASUS: {"runtime": "5"}}
    jobs = (
        Job("A", "split", arguments=("-i", "in.dat"), uses=(use("in.dat", LinkType.INPUT, 3),
            use("p1", LinkType.OUTPUT, 4), use("p2", LinkType.OUTPUT)), profiles=runtime),
        Job("B", "work", "ns", "1.0", "lbl", ("p1",), (use("p1", LinkType.INPUT, 4),
            use("r1", LinkType.INOUT, 0)), {Namespace.ENV: {"X": "1"}}, "i.txt", "o", "e"),
        Job("C", "work", uses=(use("p2", LinkType.INPUT), use("c", LinkType.CHECKPOINT),
            use("n", LinkType.NONE)), profiles=runtime),
    )  # fmt: skip
    workflow = Workflow("w", jobs)
    doc = pegasus_yaml.parse(pegasus_yaml.dumps(workflow), "wf.yml")
    builder = JobBuilder(pegasus_yaml.VOCABULARY, "wf.yml")
    built = [pegasus_yaml._plain_job(raw, builder) for raw in doc["jobs"]]
    assert built == list(jobs)
    assert built[1] is not None and built[0] is not None
    assert built[1].uses[0] is not built[0].uses[1]  # p1 read, then written: two uses


def test_yaml_plain_path_shares_uses_with_the_record_path() -> None:
    """A job the plain path declines (a flag on one use) still shares its plain uses."""
    text = """\
pegasus: "5.0"
name: w
jobs:
  - {type: job, id: A, name: t, uses: [{lfn: f.a, type: input, size: 3}]}
  - {type: job, id: B, name: t, uses: [{lfn: f.a, type: input, size: 3},
                                       {lfn: f.b, type: output, stageOut: false}]}
"""
    a, b = pegasus_yaml.loads(text, "wf.yml").jobs
    assert b.uses[0] == a.uses[0] and not b.uses[1].stage_out


def test_wfformat_plain_path_equals_the_checked_path_or_declines_on_files() -> None:
    doc = {
        "workflow": {
            "specification": {
                "tasks": [
                    {"id": "a", "inputFiles": ["f"], "outputFiles": ["g"]},
                    {"id": "b", "name": "b", "inputFiles": ["g", "f"], "parents": ["a"]},
                ],
                "files": [{"id": "f", "sizeInBytes": 3}, {"id": "g"}],
            },
            "execution": {"tasks": [{"id": "a", "command": {"program": "p"}}, {"id": "b"}]},
        }
    }
    a, b = wfformat.from_dict(doc, "w.json").jobs
    assert b.name == "b" and b.uses[1] is a.uses[0] and b.uses[0].link.value == "input"


@settings(max_examples=200, deadline=None)
@given(*_WFFORMAT_INPUTS)
def test_wfformat_plain_path_equals_the_checked_path_or_declines(
    tasks: list[Any], runs: dict[str, Any], sizes: dict[str, int | None]
) -> None:
    builder = JobBuilder(wfformat.VOCABULARY, "wf.json")
    plain = wfformat._Records(sizes, runs, "wf.json", builder)
    checked = wfformat._Records(sizes, runs, "wf.json")
    for raw in tasks:
        got = plain.plain(raw)
        if got is None:
            continue
        fresh = JobBuilder(wfformat.VOCABULARY, "wf.json")
        _same_as_checked(
            got[0], lambda raw=raw, fresh=fresh: fresh.checked_job(checked.task(0, raw)[0])
        )
        _, parents, children = checked.task(0, raw)
        assert (got[1], got[2]) == (parents, children)


@settings(max_examples=250, deadline=None)
@given(st.lists(_dax_job(), min_size=1, max_size=4))
def test_dax_plain_path_equals_the_checked_path_or_declines(texts: list[str]) -> None:
    import xml.etree.ElementTree as ET

    records = dax._Records("wf.dax")
    builder = JobBuilder(dax.VOCABULARY, "wf.dax")
    for text in texts:
        element = ET.fromstring(text)
        fresh = JobBuilder(dax.VOCABULARY, "wf.dax")
        _same_as_checked(
            records.plain_job(element, builder),
            lambda element=element, fresh=fresh: fresh.checked_job(
                dax._Records("wf.dax").job(0, element)
            ),
        )


def test_dax_plain_path_takes_plain_jobs() -> None:
    import xml.etree.ElementTree as ET

    text = (
        '<job id="ID1" name="t" runtime="4"><argument>-i <file name="f.a"/> -o'
        '<file name="f.b"/></argument><profile namespace="env" key="X">1</profile>'
        '<uses name="f.a" link="input" size="12"/><uses name="f.b" link="output" '
        'transfer="false" register="false"/><stdout name="o.txt"/>'
        '<uses name="t" link="input" executable="true"/><uses name="t" type="executable"/></job>'
    )
    element = ET.fromstring(text)
    built = dax._Records("wf.dax").plain_job(element, JobBuilder(dax.VOCABULARY, "wf.dax"))
    expected = JobBuilder(dax.VOCABULARY, "wf.dax").checked_job(
        dax._Records("wf.dax").job(0, element)
    )
    assert built is not None and built == expected
