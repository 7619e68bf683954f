"""Jobs that use HTCondor file transfer: a transfer hold ends in a node failure DAGMan
can retry, and only declared outputs come back (docs/submit-dir.md, "File transfer").

The policy is checked the way a schedd applies it: the job ad htcondor 24 builds from
the emitted text, plus the attributes a hold sets, evaluated by the ClassAd library.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.emit.submit import (
    OPTIONAL_DIR,
    TRANSFER_HOLD_REMOVE,
    EmitContext,
    node_job,
    yield_submit_lines,
)
from planner.errors import EmitError
from planner.model.base import Namespace
from planner.model.concrete import DataConfiguration, Node, NodeKind, Task, Transfer

CTX = EmitContext(submit_dir=Path("/"), tools_dir=Path("/t"), workflow="w", output_rc="/rc.db")
TASK = Task(job_id="ID1", transformation="tx", executable="/bin/tx", arguments=("a",))
# an existing directory: condor_submit checks the initial dir of a job
HOME = "/tmp"
REQUIRED = Transfer(lfn="g", src=("g",), dst=f"file://{HOME}/g")
OPTIONAL = Transfer(lfn="h", src=("h",), dst=f"file://{HOME}/h", optional=True)


def _node(dc: DataConfiguration = DataConfiguration.CONDORIO, **kw: Any) -> Node:
    fields: dict[str, Any] = {
        "name": "tx_ID1",
        "kind": NodeKind.COMPUTE,
        "site": "condorpool",
        "level": 1,
        "tasks": (TASK,),
        "data_configuration": dc,
    }
    fields.update(kw)
    return Node(**fields)


def _text(node: Node) -> str:
    return "".join(f"{line}\n" for line in yield_submit_lines(node_job(node, CTX).description))


def _ad(node: Node) -> Any:
    """The job ad condor_submit would queue for ``node`` (htcondor 24, offline)."""
    import htcondor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no condor_config on this machine
        ads = list(htcondor.Submit(_text(node)).jobs())
    assert len(ads) == 1
    return ads[0]


def _removes(ad: Any, status: int, code: int | None = None, subcode: int = 0) -> bool:
    """Whether the job's PeriodicRemove is true in ``status`` (5: held with ``code``)."""
    ad["JobStatus"] = status
    if code is not None:
        ad["HoldReasonCode"] = code
        ad["HoldReasonSubCode"] = subcode
    return ad.eval("PeriodicRemove") is True


TRANSFERRING = [
    pytest.param(_node(outputs=(REQUIRED,)), id="condorio-direct"),
    pytest.param(_node(outputs=(REQUIRED, OPTIONAL)), id="condorio-optional"),
    pytest.param(_node(), id="condorio-no-outputs"),
    pytest.param(_node(kind=NodeKind.CLUSTER, tasks=(TASK, TASK)), id="condorio-cluster"),
    pytest.param(_node(DataConfiguration.NONSHAREDFS, outputs=(REQUIRED,)), id="nonsharedfs"),
]


@pytest.mark.parametrize("node", TRANSFERRING)
@pytest.mark.parametrize(("code", "subcode"), [(12, 2), (12, 28), (13, 2), (13, 256)])
def test_a_job_held_for_a_failed_transfer_is_removed(node: Node, code: int, subcode: int) -> None:
    assert _removes(_ad(node), 5, code, subcode)


@pytest.mark.parametrize("node", TRANSFERRING)
def test_the_policy_leaves_other_jobs_alone(node: Node) -> None:
    for status in (1, 2, 3, 4, 6, 7):  # idle, running, removed, completed, error, suspended
        assert not _removes(_ad(node), status)
    # held by a user, by a policy, while spooling, by a system policy, out of memory
    for code in (1, 3, 16, 26, 34):
        assert not _removes(_ad(node), 5, code, 0)
    assert not _removes(_ad(node), 5)  # held, no reason recorded


@pytest.mark.parametrize(
    "node",
    [
        pytest.param(_node(DataConfiguration.SHAREDFS, working_dir="/w"), id="sharedfs"),
        pytest.param(_node(site="local", outputs=(REQUIRED,)), id="local-site"),
        pytest.param(
            Node(name="stage_in_x", kind=NodeKind.STAGE_IN, site="local", level=0), id="tool"
        ),
    ],
)
def test_jobs_without_file_transfer_get_no_policy(node: Node) -> None:
    assert "periodic_remove" not in dict(node_job(node, CTX).description)


@pytest.mark.parametrize("key", ["periodic_remove", "Periodic_Remove", "+PeriodicRemove"])
def test_a_users_periodic_remove_is_combined_with_ours(key: str) -> None:
    mine = "(JobStatus == 5) && (HoldReasonCode =?= 34)"
    node = _node(outputs=(REQUIRED,), profiles={Namespace.CONDOR: {key: mine}})
    pairs = node_job(node, CTX).description
    assert [k for k, _ in pairs].count("periodic_remove") == 1
    assert not any(k.lower() in ("+periodicremove", "periodic_remove") and k != "periodic_remove"
                   for k, _ in pairs)  # fmt: skip
    assert dict(pairs)["periodic_remove"] == f"({mine}) || ({TRANSFER_HOLD_REMOVE})"
    assert _removes(_ad(node), 5, 34)  # the user's hold
    assert _removes(_ad(node), 5, 12, 2)  # ours
    assert not _removes(_ad(node), 2)


def test_a_users_periodic_remove_on_a_job_without_transfer_is_kept_as_is() -> None:
    node = _node(
        DataConfiguration.SHAREDFS,
        working_dir="/w",
        profiles={Namespace.CONDOR: {"periodic_remove": "JobStatus == 5"}},
    )
    assert dict(node_job(node, CTX).description)["periodic_remove"] == "JobStatus == 5"


def test_a_job_with_no_outputs_brings_nothing_back() -> None:
    """Left unset, HTCondor would bring every new file back into initialdir (the
    submit dir)."""
    for dc in (DataConfiguration.CONDORIO, DataConfiguration.NONSHAREDFS):
        assert _ad(_node(dc))["TransferOutput"] == ""


def test_optional_outputs_travel_in_a_directory_that_always_exists() -> None:
    node = _node(outputs=(REQUIRED, OPTIONAL))
    job = node_job(node, CTX)
    pairs = dict(job.description)
    # the required output is listed (missing: a hold), the optional one is not
    assert pairs["transfer_output_files"] == f"g,{OPTIONAL_DIR}/"
    assert pairs["initialdir"] == HOME  # where the directory's contents land, by name
    assert "transfer_output_remaps" not in pairs
    assert pairs["executable"] == "/t/wfplan-cluster"  # the runner fills the directory
    assert job.manifest is not None
    assert job.manifest["optional_dir"] == OPTIONAL_DIR
    assert job.manifest["optional_outputs"] == ["h"]
    ad = _ad(node)
    assert ad["TransferOutput"] == f"g,{OPTIONAL_DIR}/" and ad["Iwd"] == HOME


def test_optional_outputs_in_several_directories_are_refused() -> None:
    elsewhere = Transfer(lfn="g", src=("g",), dst="file:///elsewhere/g")
    with pytest.raises(EmitError, match=r"tx_ID1.*several directories.*/elsewhere.*/tmp"):
        node_job(_node(outputs=(elsewhere, OPTIONAL)), CTX)
    renamed = Transfer(lfn="h", src=("h",), dst=f"file://{HOME}/other", optional=True)
    with pytest.raises(EmitError, match=r"tx_ID1.*'h' goes to 'file:///tmp/other'"):
        node_job(_node(outputs=(REQUIRED, renamed)), CTX)


def test_an_output_named_like_the_optional_directory_is_refused() -> None:
    clash = Transfer(lfn=OPTIONAL_DIR, src=(OPTIONAL_DIR,), dst=f"file://{HOME}/{OPTIONAL_DIR}")
    with pytest.raises(EmitError, match=r"tx_ID1.*'\.wfplan-optional' is wfplan's own"):
        node_job(_node(outputs=(clash, OPTIONAL)), CTX)


def test_outputs_of_a_runner_in_scratch_say_which_are_optional() -> None:
    node = _node(site="local", outputs=(REQUIRED, OPTIONAL))
    manifest = node_job(node, CTX).manifest
    assert manifest is not None
    assert [t.get("optional") for t in manifest["outputs"]] == [None, True]


_LFN = st.text(alphabet="abcxyz._-", min_size=1, max_size=6).filter(
    lambda s: s not in (".", "..", OPTIONAL_DIR)
)


@settings(max_examples=60, deadline=None)
@given(
    outputs=st.dictionaries(_LFN, st.booleans(), max_size=4),
    dc=st.sampled_from([DataConfiguration.CONDORIO, DataConfiguration.NONSHAREDFS]),
)
def test_only_declared_outputs_are_ever_listed(
    outputs: dict[str, bool], dc: DataConfiguration
) -> None:
    """Whatever the outputs, a file-transfer job names what comes back (never unset) and
    names nothing but its required outputs and the optional directory; the policy is
    always there."""
    node = _node(
        dc,
        outputs=tuple(
            Transfer(lfn=lfn, src=(lfn,), dst=f"file://{HOME}/{lfn}", optional=opt)
            for lfn, opt in outputs.items()
        ),
    )
    ad = _ad(node)
    listed = [e for e in str(ad["TransferOutput"]).split(",") if e]
    if dc is DataConfiguration.NONSHAREDFS:
        assert listed == []  # the runner pushes them itself
    else:
        required = [lfn for lfn, opt in outputs.items() if not opt]
        extra = [f"{OPTIONAL_DIR}/"] if any(outputs.values()) else []
        assert listed == required + extra
    assert _removes(ad, 5, 12, 2) and not _removes(ad, 2)


def test_outputs_that_share_a_directory_land_there_without_remaps() -> None:
    """That directory is the job's initialdir: HTCondor brings each listed output back
    there under its own name, and reads a relative input from there, so neither a remap
    nor the directory is written per file (a job with 10^5 outputs wrote 10^5 remaps)."""
    record = f"file://{HOME}/tx_ID1.meta"
    outputs = tuple(
        Transfer(lfn=n, src=(n,), dst=f"file://{HOME}/{n}", meta=record) for n in ("g", "h")
    )
    inputs = (
        Transfer(lfn="a", src=(f"file://{HOME}/a",), dst="a", meta=f"file://{HOME}/p.meta"),
        Transfer(lfn="b", src=("file:///elsewhere/b",), dst="b"),
    )
    pairs = dict(node_job(_node(inputs=inputs, outputs=outputs), CTX).description)
    assert pairs["initialdir"] == HOME
    assert pairs["transfer_input_files"] == "a,/elsewhere/b,p.meta"
    assert pairs["transfer_output_files"] == "g,h,tx_ID1.meta"
    assert "transfer_output_remaps" not in pairs
    ad = _ad(_node(inputs=inputs, outputs=outputs))
    assert ad["Iwd"] == HOME and "TransferOutputRemaps" not in ad


@pytest.mark.parametrize(
    "dst",
    ["file:///elsewhere/h", f"file://{HOME}/renamed", "http://server/h", f"file://{HOME}/a%20b"],
)
def test_outputs_that_do_not_share_a_plain_directory_are_remapped(dst: str) -> None:
    outputs = (REQUIRED, Transfer(lfn="h", src=("h",), dst=dst))
    pairs = dict(node_job(_node(outputs=outputs), CTX).description)
    assert pairs["initialdir"] == str(CTX.submit_dir)
    assert pairs["transfer_output_remaps"].startswith(f'"g={HOME}/g')


def test_the_engine_brings_outputs_to_the_landing_directory_as_htcondor_does(
    tmp_path: Path,
) -> None:
    """``wfplan run`` on the emitted description: the relative input is read from
    initialdir, the outputs arrive there, and nothing else does."""
    from planner.engine.runner import Engine

    staging, submit = tmp_path / "staging", tmp_path / "submit"
    staging.mkdir()
    submit.mkdir()
    (staging / "a").write_text("A\n")
    task = Task(
        job_id="ID1", transformation="tx", executable="/bin/sh",
        arguments=("-c", "cat a > g; echo H > h; echo junk > left-behind"),
    )  # fmt: skip
    node = _node(
        tasks=(task,),
        inputs=(Transfer(lfn="a", src=(f"file://{staging}/a",), dst="a"),),
        outputs=tuple(Transfer(lfn=n, src=(n,), dst=f"file://{staging}/{n}") for n in "gh"),
    )
    ctx = EmitContext(submit_dir=submit, tools_dir=Path("/t"), workflow="w", output_rc="/rc.db")
    description = node_job(node, ctx).description
    assert dict(description)["transfer_input_files"] == "a"
    (submit / "tx_ID1.sub").write_text("".join(f"{x}\n" for x in yield_submit_lines(description)))
    (submit / "w.dag").write_text("JOB tx_ID1 tx_ID1.sub\n")
    assert Engine(submit / "w.dag", slots=1, progress=False).run().succeeded
    assert sorted(p.name for p in staging.iterdir()) == ["a", "g", "h"]
    assert (staging / "g").read_text() == "A\n" and (staging / "h").read_text() == "H\n"
