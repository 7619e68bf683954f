"""Which program each node runs, where, with which files; refusals name the node."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.emit.submit import (
    MANIFEST_ENCODER,
    TOOLS,
    EmitContext,
    _task,
    _tool_manifest,
    _transfer,
    node_job,
    tool_manifest_json,
    yield_submit_lines,
)
from planner.errors import EmitError
from planner.model.base import Namespace
from planner.model.concrete import DataConfiguration, Node, NodeKind, Task, Transfer

CTX = EmitContext(submit_dir=Path("/"), tools_dir=Path("/t"), workflow="w", output_rc="/rc.db")
TASK = Task(job_id="ID1", transformation="tx", executable="/bin/tx", arguments=("a b",))


def _compute(**kw: object) -> Node:
    fields: dict[str, object] = {
        "name": "tx_ID1",
        "kind": NodeKind.COMPUTE,
        "site": "condorpool",
        "level": 1,
        "tasks": (TASK,),
    }
    fields.update(kw)
    return Node(**fields)  # type: ignore[arg-type]


def _desc(node: Node) -> dict[str, str]:
    """The description, after htcondor 24 has built a job ad from it (when it can run
    here: the initial dir must exist on this machine)."""
    description = node_job(node, CTX).description
    pairs = dict(description)
    if Path(pairs["initialdir"]).is_dir():
        import htcondor

        text = "".join(f"{line}\n" for line in yield_submit_lines(description))
        assert len(list(htcondor.Submit(text).jobs())) == 1
    return pairs


def test_local_site_condorio_compute_runs_through_the_runner_in_scratch() -> None:
    node = _compute(
        site="local",
        data_configuration=DataConfiguration.CONDORIO,
        inputs=(Transfer(lfn="f", src=("file:///s/f",), dst="f"),),
        outputs=(Transfer(lfn="g", src=("g",), dst="file:///s/g"),),
    )
    job = node_job(node, CTX)
    desc = _desc(node)
    assert desc["universe"] == "local"
    assert desc["executable"] == "/t/wfplan-cluster"
    assert desc["arguments"] == '"/tx_ID1.json"'
    assert "should_transfer_files" not in desc
    assert job.manifest is not None and job.manifest["scratch"] is True
    assert [t["lfn"] for t in job.manifest["inputs"]] == ["f"]


def test_redirected_stdout_goes_through_the_runner() -> None:
    node = _compute(
        tasks=(TASK._replace(stdout="out.txt"),),
        data_configuration=DataConfiguration.SHAREDFS,
        working_dir="/scratch/w",
    )
    job = node_job(node, CTX)
    assert _desc(node)["executable"] == "/t/wfplan-cluster"
    assert job.manifest is not None and job.manifest["tasks"][0]["stdout"] == "out.txt"


def test_local_sharedfs_compute_runs_in_its_working_dir() -> None:
    desc = _desc(
        _compute(site="local", data_configuration=DataConfiguration.SHAREDFS, working_dir="/w")
    )
    assert desc["initialdir"] == "/w" and "remote_initialdir" not in desc


def test_env_profiles_merge_under_task_environment() -> None:
    node = _compute(
        tasks=(TASK._replace(environment={"A": "task"}),),
        profiles={Namespace.ENV: {"A": "profile", "B": "b"}},
    )
    assert _desc(node)["environment"] == '"A=task B=b"'


def test_condor_profiles_set_keys_and_quote_string_attributes() -> None:
    node = _compute(
        profiles={
            Namespace.CONDOR: {
                "request_cpus": "4",
                "+Owner2": "me",
                "+Count": "3",
                "+Quoted": '"already"',
                "universe": "scheduler",
            }
        }
    )
    desc = _desc(node)
    assert desc["request_cpus"] == "4"
    assert desc["+Owner2"] == '"me"'
    assert desc["+Count"] == "3"
    assert desc["+Quoted"] == '"already"'
    assert desc["universe"] == "scheduler"
    assert list(desc)[-1] == "queue"


@pytest.mark.parametrize("key", ["executable", "Output", "transfer_input_files"])
def test_condor_profile_may_not_replace_what_wfplan_writes(key: str) -> None:
    node = _compute(profiles={Namespace.CONDOR: {key: "x"}})
    with pytest.raises(EmitError, match=f"node tx_ID1: condor profile '{key}'"):
        node_job(node, CTX)


def test_condorio_input_named_otherwise_than_its_lfn_is_refused() -> None:
    node = _compute(inputs=(Transfer(lfn="f.a", src=("file:///data/raw-f.a",), dst="f.a"),))
    with pytest.raises(EmitError, match=r"node tx_ID1: input 'f\.a' would arrive as 'raw-f\.a'"):
        node_job(node, CTX)


def test_condorio_input_from_gsiftp_is_refused() -> None:
    node = _compute(inputs=(Transfer(lfn="f.a", src=("gsiftp://h/f.a",), dst="f.a"),))
    with pytest.raises(EmitError, match="needs a file:// or http"):
        node_job(node, CTX)


def test_condorio_http_input_is_transferred_by_url() -> None:
    node = _compute(inputs=(Transfer(lfn="f.a", src=("https://h/d/f.a",), dst="f.a"),))
    assert _desc(node)["transfer_input_files"] == "https://h/d/f.a"


def test_compute_node_without_tasks_is_refused() -> None:
    with pytest.raises(EmitError, match="node tx_ID1 \\(compute\\) has no task"):
        node_job(_compute(tasks=()), CTX)


def test_mkdir_takes_urls_and_no_manifest() -> None:
    node = Node(
        name="create_dir_w_0_local",
        kind=NodeKind.CREATE_DIR,
        site="local",
        level=0,
        files=(Transfer(lfn="", dst="file:///a b"), Transfer(lfn="", dst="file:///c")),
    )
    job = node_job(node, CTX)
    assert job.manifest is None
    assert _desc(node)["arguments"] == "\"'file:///a b' file:///c\""


def test_stage_manifest_marks_staged_executables_only() -> None:
    exe = Transfer(lfn="tx", src=("file:///x/tx",), dst="file:///s/tx", executable=True)
    data = Transfer(lfn="f.a", src=("file:///x/f.a",), dst="file:///s/f.a")
    node = Node(name="stage_in_x", kind=NodeKind.STAGE_IN, site="local", level=0, files=(exe, data))
    manifest = node_job(node, CTX).manifest
    assert manifest is not None
    assert [t.get("executable") for t in manifest["transfers"]] == [True, None]


def test_condorio_optional_output_leaves_the_output_list_out() -> None:
    required = Transfer(lfn="g", src=("g",), dst="file:///s/g")
    optional = Transfer(lfn="h", src=("h",), dst="file:///s/h", optional=True)
    plain = _desc(_compute(outputs=(required,)))
    assert plain["transfer_output_files"] == "g"
    desc = _desc(_compute(outputs=(required, optional)))
    # HTCondor would hold the job if a listed file were missing
    assert "transfer_output_files" not in desc
    assert desc["transfer_output_remaps"] == '"g=/s/g;h=/s/h"'


def _stage_in() -> Node:
    t = Transfer(lfn="f.a", src=("file:///x/f.a",), dst="file:///s/f.a")
    return Node(name="stage_in_x", kind=NodeKind.STAGE_IN, site="local", level=0, files=(t,))


def test_with_a_bundle_offset_a_tool_reads_its_line_of_the_bundle() -> None:
    job = node_job(_stage_in(), CTX, 1234)
    assert job.bundled and job.manifest is not None
    assert job.manifest["node"] == "stage_in_x"
    assert dict(job.description)["arguments"] == '"/manifests.jsonl 1234 stage_in_x"'
    plain = node_job(_stage_in(), CTX)
    assert not plain.bundled and plain.manifest is not None and "node" not in plain.manifest
    assert dict(plain.description)["arguments"] == '"/stage_in_x.json"'


def test_mkdir_has_nothing_to_bundle() -> None:
    node = Node(name="create_dir_w_0_local", kind=NodeKind.CREATE_DIR, site="local", level=0)
    job = node_job(node, CTX, 0)
    assert job.manifest is None and not job.bundled


def test_a_manifest_read_in_place_is_bundled_one_that_travels_is_not() -> None:
    two = (TASK, TASK._replace(job_id="ID2"))
    shared = _compute(
        kind=NodeKind.CLUSTER,
        tasks=two,
        data_configuration=DataConfiguration.SHAREDFS,
        working_dir="/w",
    )
    job = node_job(shared, CTX, 7)
    assert job.bundled and dict(job.description)["arguments"] == '"/manifests.jsonl 7 tx_ID1"'
    travels = _compute(
        kind=NodeKind.CLUSTER, tasks=two, data_configuration=DataConfiguration.CONDORIO
    )
    job = node_job(travels, CTX, 7)
    assert not job.bundled and job.manifest is not None and "node" not in job.manifest
    desc = dict(job.description)
    assert desc["arguments"] == '"tx_ID1.json"'
    assert desc["transfer_input_files"] == "/tx_ID1.json"


_TEXT = st.text(max_size=10)
_TRANSFERS = st.lists(
    st.builds(
        Transfer,
        lfn=_TEXT,
        src=st.lists(_TEXT, max_size=3).map(tuple),
        dst=_TEXT,
        sha256=st.none() | _TEXT,
        symlink=st.booleans(),
        site=st.none() | _TEXT,
        executable=st.booleans(),
    ),
    max_size=4,
).map(tuple)


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from([k for k in TOOLS if k is not NodeKind.CREATE_DIR]),
    files=_TRANSFERS,
    site=_TEXT,
    named=st.booleans(),
)
def test_tool_manifest_text_is_the_encoders(
    kind: NodeKind, files: tuple[Transfer, ...], site: str, named: bool
) -> None:
    node = Node(name="n", kind=kind, site=site, level=0, files=files)
    expected = _tool_manifest(node, CTX) | ({"node": "n"} if named else {})
    assert tool_manifest_json(node, CTX, named) == MANIFEST_ENCODER.encode(expected)


@settings(max_examples=100, deadline=None)
@given(inputs=_TRANSFERS, outputs=_TRANSFERS, named=st.booleans(), odd=st.booleans())
def test_runner_manifest_text_is_the_encoders(
    inputs: tuple[Transfer, ...], outputs: tuple[Transfer, ...], named: bool, odd: bool
) -> None:
    node = _compute(
        site="local", data_configuration=DataConfiguration.CONDORIO, inputs=inputs, outputs=outputs
    )
    if odd and inputs:  # a field of another type: the general encoder takes over
        odd_input = inputs[0]._replace(symlink=1)
        node = node.model_copy(update={"inputs": (odd_input, *inputs[1:])})
    job = node_job(node, CTX, 0 if named else None)
    assert job.bundled is named
    # outputs with a checksum record: the job writes it ("record"), the pushes carry none
    recorded = [t for t in node.outputs if t.meta is not None]
    pushed = [t._replace(meta=None) for t in node.outputs] if recorded else node.outputs
    expected = {
        "tasks": [_task(node, t) for t in node.tasks],
        "scratch": True,
        "inputs": [_transfer(t) for t in node.inputs],
        "outputs": [_transfer(t) for t in pushed],
    } | ({"node": node.name} if named else {})
    if recorded:
        expected["record"] = {"file": recorded[0].meta, "lfns": [t.lfn for t in recorded]}
    assert job.manifest_json == MANIFEST_ENCODER.encode(expected)


_PATH_TEXT = st.text(alphabet="ab/%,$;= \t.'\"\n_", max_size=8)


@settings(max_examples=300, deadline=None)
@given(
    lfns=st.lists(_PATH_TEXT, min_size=1, max_size=3),
    dirs=st.lists(_PATH_TEXT, min_size=1, max_size=3),
    names=st.lists(st.none() | _PATH_TEXT, min_size=1, max_size=3),
    optional=st.booleans(),
)
def test_the_plain_url_shortcuts_agree_with_the_general_code(
    lfns: list[str], dirs: list[str], names: list[str | None], optional: bool
) -> None:
    """condorio inputs and outputs: the description (or the refusal) is the same with the
    fast path for plain file:// URLs as without it. ``names``: the source's basename when
    it is not the LFN."""
    import planner.emit.submit as submit

    inputs = tuple(
        Transfer(lfn=lfn, src=(f"file:///{d}/{lfn if name is None else name}",), dst=lfn)
        for lfn, d, name in zip(lfns, dirs, names, strict=False)
    )
    outputs = tuple(
        Transfer(lfn=lfn, src=(lfn,), dst=f"file:///{d}/{lfn}", optional=optional and i == 0)
        for i, (lfn, d) in enumerate(zip(lfns, dirs, strict=False))
    )
    node = _compute(data_configuration=DataConfiguration.CONDORIO, inputs=inputs, outputs=outputs)

    def outcome() -> object:
        try:
            return node_job(node, CTX).description
        except EmitError as exc:
            return str(exc)

    fast = outcome()
    plain = submit._PLAIN_FILE_URL
    submit._PLAIN_FILE_URL = re.compile(r"(?!)")  # matches nothing: the general code only
    try:
        general = outcome()
    finally:
        submit._PLAIN_FILE_URL = plain
    assert fast == general
