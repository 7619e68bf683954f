"""Which program each node runs, where, with which files; refusals name the node."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.emit.manifest import transfer_entry
from planner.emit.submit import (
    MANIFEST_ENCODER,
    TOOLS,
    EmitContext,
    _task,
    node_job,
    tool_manifest_json,
    yield_submit_lines,
)
from planner.errors import EmitError
from planner.model.base import Namespace
from planner.model.concrete import DataConfiguration, Node, NodeKind, Task, Transfer, transfer
from planner.tools.manifest import expand_manifest
from sites.style import SiteStyle, Style

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
        transfer,
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


# few letters and many slashes: URLs that share directories and end in their LFN
_PATHY = st.text(alphabet="ab/", max_size=6)
_PATHY_TRANSFERS = st.lists(
    st.builds(
        transfer,
        lfn=_PATHY,
        src=st.lists(_PATHY | _PATHY.map(lambda p: f"file:///d/{p}"), max_size=3).map(tuple),
        dst=_PATHY | _PATHY.map(lambda p: f"file:///d/{p}"),
        sha256=st.none() | _TEXT,
        symlink=st.booleans(),
        site=st.none() | st.sampled_from(["s", "t"]),
        executable=st.booleans(),
        optional=st.booleans(),
        meta=st.none() | _PATHY.map(lambda p: f"file:///d/{p}.meta"),
    ),
    max_size=5,
).map(tuple)


def _explicit(node: Node, ctx: EmitContext) -> dict[str, object]:
    """A tool manifest as releases before the compact form wrote it: every field, with
    its default, every URL in full."""
    if node.kind is NodeKind.CLEANUP:
        return {"files": [t.dst for t in node.files]}
    if node.kind is NodeKind.REGISTER:
        replicas = [
            {"lfn": t.lfn, "pfn": t.dst, "site": t.site or node.site, "sha256": t.sha256}
            | ({"meta": t.meta} if t.meta is not None else {})
            for t in node.files
        ]
        return {"catalog": ctx.output_rc, "replicas": replicas}
    transfers = [
        {"lfn": t.lfn, "src": list(t.src), "dst": t.dst, "sha256": t.sha256, "symlink": t.symlink}
        | ({"executable": True} if t.executable else {})
        | ({"meta": t.meta} if t.meta is not None else {})
        | ({"optional": True} if t.optional else {})
        for t in node.files
    ]
    return {"transfers": transfers} | (
        {"http": dict(ctx.transfer_http)} if ctx.transfer_http else {}
    )


def _as_the_tools_read_it(doc: dict[str, Any], ctx: EmitContext) -> dict[str, Any]:
    """What the tools take from a manifest in the submit dir: groups expanded, defaults
    filled in."""
    doc = expand_manifest(doc, str(ctx.submit_dir))
    for t in doc.get("transfers", []):
        t.setdefault("sha256", None)
        t.setdefault("symlink", False)
    site = doc.pop("site", None)
    for r in doc.get("replicas", []):
        r.setdefault("sha256", None)
        r.setdefault("site", site)
    return doc


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from([k for k in TOOLS if k is not NodeKind.CREATE_DIR]),
    files=_PATHY_TRANSFERS,
    site=st.sampled_from(["s", "t"]),
    http=st.booleans(),
)
def test_compact_tool_manifest_reads_as_the_explicit_one(
    kind: NodeKind, files: tuple[Transfer, ...], site: str, http: bool
) -> None:
    node = Node(name="n", kind=kind, site=site, level=0, files=files)
    ctx = replace(CTX, transfer_http=(("attempts", 5),)) if http else CTX
    compact = _as_the_tools_read_it(json.loads(tool_manifest_json(node, ctx, False)), ctx)
    explicit = _explicit(node, ctx)
    if kind is NodeKind.CLEANUP:  # removed in any order: grouped by directory and name
        compact["files"].sort()
        explicit["files"].sort()  # type: ignore[attr-defined]
    assert compact == explicit
    # never longer than the explicit form, and the same bytes every time
    text = tool_manifest_json(node, ctx, False)
    assert len(text.encode()) <= len(MANIFEST_ENCODER.encode(_explicit(node, ctx)).encode())
    assert text == tool_manifest_json(node, ctx, False)


@settings(max_examples=100, deadline=None)
@given(
    inputs=_TRANSFERS | _PATHY_TRANSFERS,
    outputs=_TRANSFERS | _PATHY_TRANSFERS,
    named=st.booleans(),
    odd=st.booleans(),
)
def test_runner_manifest_text_is_the_encoders(
    inputs: tuple[Transfer, ...], outputs: tuple[Transfer, ...], named: bool, odd: bool
) -> None:
    node = _compute(
        site="local", data_configuration=DataConfiguration.CONDORIO, inputs=inputs, outputs=outputs
    )
    if odd and inputs:  # a field of another type: the general encoder takes over
        odd_input = inputs[0]._replace(symlink=1)
        node = node._replace(inputs=(odd_input, *inputs[1:]))
    job = node_job(node, CTX, 0 if named else None)
    assert job.bundled is named
    # outputs with a checksum record: the job writes it ("record"), the pushes carry none
    recorded = [t for t in node.outputs if t.meta is not None]
    pushed = [t._replace(meta=None) for t in node.outputs] if recorded else node.outputs
    expected = {
        "tasks": [_task(node, t) for t in node.tasks],
        "scratch": True,
        "inputs": [transfer_entry(t) for t in node.inputs],
        "outputs": [transfer_entry(t) for t in pushed],
    } | ({"node": node.name} if named else {})
    if recorded:
        expected["record"] = {"file": recorded[0].meta, "lfns": [t.lfn for t in recorded]}
    assert job.manifest_json is not None
    written = json.loads(job.manifest_json)
    # keys sorted, compact; with the groups expanded, the full manifest
    assert job.manifest_json == MANIFEST_ENCODER.encode(written)
    assert expand_manifest(written) == json.loads(MANIFEST_ENCODER.encode(expected))


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


def _staged(src: str) -> Node:
    """A condorio job on a pool site running the staged copy of a stageable executable."""
    return _compute(
        tasks=(TASK._replace(executable="./ns-tx-1.0"),),
        data_configuration=DataConfiguration.CONDORIO,
        inputs=(
            Transfer(lfn="f", src=("file:///s/w/f",), dst="f"),
            Transfer(lfn="ns-tx-1.0", src=(src,), dst="ns-tx-1.0", executable=True),
        ),
    )


def test_condorio_ships_a_staged_executable_as_the_jobs_executable() -> None:
    desc = _desc(_staged("file:///s/w/ns-tx-1.0"))
    # HTCondor transfers it from the local staging site and runs the sandbox copy
    assert desc["executable"] == "/s/w/ns-tx-1.0"
    assert desc["transfer_executable"] == "true"
    assert desc["transfer_input_files"] == "/s/w/f"


def test_condorio_staged_executable_behind_a_file_server_arrives_as_an_input() -> None:
    # HTCondor cannot take an executable from a URL: the runner runs the copy that
    # arrived with the inputs, once it has made it executable
    node = _staged("http://web/s/w/ns-tx-1.0")
    job = node_job(node, CTX)
    desc = _desc(node)
    assert desc["executable"] == "/t/wfplan-cluster"
    assert desc["transfer_executable"] == "false"
    assert desc["transfer_input_files"] == "/tx_ID1.json,/s/w/f,http://web/s/w/ns-tx-1.0"
    assert job.manifest is not None
    assert job.manifest["executables"] == ["ns-tx-1.0"]
    assert job.manifest["tasks"][0]["executable"] == "./ns-tx-1.0"


# --- site styles and resources (issue 13 "heterogeneous sites", issue 15 point 11) ---

GLITE = SiteStyle(Style.GLITE, "batch slurm alice@login.hpc.org")
CONDORC = SiteStyle(Style.CONDORC, "condor ce.remote.org cm.remote.org", "vanilla")


def _styled(style: SiteStyle | None, **kw: object) -> dict[str, str]:
    ctx = replace(CTX, site_styles={"condorpool": style} if style else {})
    return dict(node_job(_compute(**kw), ctx).description)


def _ad(desc: dict[str, str]) -> object:
    import htcondor

    text = "".join(f"{line}\n" for line in yield_submit_lines(tuple(desc.items())))
    jobs = list(htcondor.Submit(text).jobs())
    assert len(jobs) == 1
    return jobs[0]


def test_pegasus_resource_profiles_become_requests_and_condor_profiles_win() -> None:
    pegasus = {"cores": "2", "memory": "1024", "diskspace": "3"}
    desc = _styled(None, profiles={Namespace.PEGASUS: pegasus})
    assert (desc["request_cpus"], desc["request_memory"], desc["request_disk"]) == (
        "2",
        "1024",
        "3072",  # HTCondor counts request_disk in KiB
    )
    desc = _styled(
        None, profiles={Namespace.PEGASUS: pegasus, Namespace.CONDOR: {"request_memory": "4G"}}
    )
    assert (desc["request_cpus"], desc["request_memory"]) == ("2", "4G")
    assert [k for k in desc].count("request_memory") == 1
    ad = _ad(desc)
    assert (ad["RequestCpus"], ad["RequestMemory"], ad["RequestDisk"]) == (2, 4096, 3072)


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_resource_profile_that_is_not_a_positive_integer_names_node_and_profile(
    value: str,
) -> None:
    with pytest.raises(EmitError, match=f"node tx_ID1: profile pegasus.cores '{value}'"):
        _styled(None, profiles={Namespace.PEGASUS: {"cores": value}})


def test_every_node_carries_its_site() -> None:
    assert _styled(None)["+pegasus_site"] == '"condorpool"'
    assert _styled(None, site="local")["+pegasus_site"] == '"local"'
    assert dict(node_job(_stage_in(), CTX).description)["+pegasus_site"] == '"local"'


def test_condorc_site_consumes_its_universe_and_collector_profiles() -> None:
    condor = {"universe": "vanilla", "condor_collector": "cm.remote.org", "+Project": "x"}
    desc = _styled(CONDORC, profiles={Namespace.CONDOR: condor})
    assert list(desc.items())[:3] == [
        ("universe", "grid"),
        ("grid_resource", "condor ce.remote.org cm.remote.org"),
        ("remote_universe", "vanilla"),
    ]
    assert "condor_collector" not in desc and desc["+Project"] == '"x"'
    ad = _ad(desc)
    assert (ad["JobUniverse"], ad["remote_JobUniverse"]) == (9, 5)


def test_a_condor_style_site_keeps_a_universe_profile() -> None:
    desc = _styled(SiteStyle(), profiles={Namespace.CONDOR: {"universe": "vanilla"}})
    assert desc["universe"] == "vanilla" and "grid_resource" not in desc


def test_a_local_job_stays_in_the_local_universe_whatever_the_styles() -> None:
    ctx = replace(CTX, site_styles={"local": GLITE})
    desc = dict(node_job(_compute(site="local"), ctx).description)
    assert desc["universe"] == "local" and "grid_resource" not in desc


@pytest.mark.parametrize(
    ("resource", "runtime", "walltime"),
    [
        ("batch slurm", "1", "00:01:00"),
        ("batch pbs", "3600", "01:00:00"),
        ("batch sge", "3601", "01:01:00"),
        ("batch lsf", "600", "10"),
        ("batch lsf", "7260", "02:01"),
    ],
)
def test_glite_walltime_is_rounded_up_to_whole_minutes(
    resource: str, runtime: str, walltime: str
) -> None:
    desc = _styled(
        SiteStyle(Style.GLITE, resource), profiles={Namespace.PEGASUS: {"runtime": runtime}}
    )
    assert desc["+remote_cerequirements"] == f'PASSENV==1 && WALLTIME=="{walltime}"'


@pytest.mark.parametrize("runtime", ["0", "-5", "soon", "inf", "nan"])
def test_glite_runtime_that_is_not_a_positive_number_is_refused(runtime: str) -> None:
    with pytest.raises(EmitError, match=f"node tx_ID1: profile pegasus.runtime '{runtime}'"):
        _styled(GLITE, profiles={Namespace.PEGASUS: {"runtime": runtime}})


def test_glite_queue_that_is_not_one_word_is_refused() -> None:
    with pytest.raises(EmitError, match=r"profile pegasus\.queue 'a b' is not one word"):
        _styled(GLITE, profiles={Namespace.PEGASUS: {"queue": "a b"}})


TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x85\xa0"),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(
    cores=st.integers(1, 512),
    memory=st.integers(1, 10**6),
    disk=st.integers(1, 10**6),
    runtime=st.floats(0.001, 10**6, allow_nan=False),
    queue=st.from_regex(r"[A-Za-z0-9_.-]{1,12}", fullmatch=True),
    project=TEXT,
)
def test_glite_description_is_accepted_and_means_what_the_profiles_say(
    cores: int, memory: int, disk: int, runtime: float, queue: str, project: str
) -> None:
    """Whatever the values, htcondor builds the job ad, the requests are the profiles'
    and each +remote_cerequirements term evaluates to the profile's value."""
    import classad

    pegasus = {
        "cores": str(cores),
        "memory": str(memory),
        "diskspace": str(disk),
        "runtime": repr(runtime),
        "queue": queue,
        "project": project,
    }
    ad = _ad(_styled(GLITE, profiles={Namespace.PEGASUS: pegasus}))
    assert (ad["RequestCpus"], ad["RequestMemory"], ad["RequestDisk"]) == (
        cores,
        memory,
        disk * 1024,
    )
    assert ad["BatchQueue"] == queue and ad["GridResource"] == GLITE.grid_resource
    minutes = math.ceil(runtime / 60)
    env = classad.ClassAd(
        {
            "PASSENV": 1,
            "QUEUE": queue,
            "CORES": str(cores),
            "WALLTIME": f"{minutes // 60:02d}:{minutes % 60:02d}:00",
            "TOTAL_MEMORY": str(memory),
            "PROJECT": project,
        }
    )
    assert classad.ExprTree(str(ad["remote_cerequirements"])).eval(env) is True


def test_a_glite_cluster_asks_for_the_wall_time_of_all_its_members() -> None:
    tasks = tuple(TASK._replace(job_id=f"ID{i}", runtime=600.0) for i in range(1, 4))
    desc = _styled(
        GLITE,
        kind=NodeKind.CLUSTER,
        name="merge_tx_PID1_ID1",
        tasks=tasks,
        profiles={Namespace.PEGASUS: {"runtime": "600"}},
    )
    assert desc["+remote_cerequirements"] == 'PASSENV==1 && WALLTIME=="00:30:00"'
