"""The engine's HTCondor file transfer: what comes back, and what a failed transfer
(a hold on a pool) does to the node, depending on the job's own periodic_remove."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from planner.emit.submit import TRANSFER_HOLD_REMOVE
from planner.engine.submitfile import read_submit_text

TRANSFER = "should_transfer_files = YES\nwhen_to_transfer_output = ON_EXIT\n"


def _failed(dag: Path) -> dict[str, object]:
    (failed,) = json.loads(dag.with_name(dag.name + ".status").read_text())["failed"]
    return failed


def test_an_empty_output_list_brings_nothing_back(write, run_dag, sh_submit) -> None:
    write("t.sub", sh_submit("echo x > new.txt", TRANSFER + 'transfer_output_files = ""\n'))
    dag = write("w.dag", "JOB T t.sub\n")
    result, _ = run_dag(dag)
    assert result.succeeded
    assert not (dag.parent / "new.txt").exists()


def test_empty_and_unset_output_lists_differ() -> None:
    def outputs(line: str) -> object:
        text = f"executable = /bin/true\n{TRANSFER}{line}queue\n"
        return read_submit_text(text, Path("t.sub"), {}, "T", 0, Path("/")).transfer_outputs

    assert outputs('transfer_output_files = ""\n') == ()
    assert outputs("") is None


def test_a_directory_with_a_slash_brings_back_its_contents_by_name(
    write, run_dag, sh_submit
) -> None:
    script = "mkdir -p d/sub && echo 1 > d/a && echo 2 > d/sub/b && echo 3 > d/c && echo no > x"
    write(
        "t.sub",
        sh_submit(
            script,
            TRANSFER + 'transfer_output_files = d/\ntransfer_output_remaps = "c = elsewhere/c"\n',
        ),
    )
    dag = write("w.dag", "JOB T t.sub\n")
    result, _ = run_dag(dag)
    assert result.succeeded
    here = dag.parent
    assert (here / "a").read_text() == "1\n" and (here / "sub" / "b").read_text() == "2\n"
    assert (here / "elsewhere" / "c").read_text() == "3\n"
    assert not (here / "d").exists() and not (here / "x").exists()


def test_an_empty_directory_is_no_error_a_missing_one_is(write, run_dag, sh_submit) -> None:
    write("ok.sub", sh_submit("mkdir d", TRANSFER + "transfer_output_files = d/\n"))
    write("bad.sub", sh_submit("true", TRANSFER + "transfer_output_files = d/\n"))
    dag = write("w.dag", "JOB OK ok.sub\nJOB BAD bad.sub\n")
    result, _ = run_dag(dag)
    assert result.failed == ["BAD"]
    assert "did not create the directory 'd/'" in str(_failed(dag)["message"])


def test_a_removed_job_fails_with_dagmans_return_for_it_and_is_retried(
    write, run_dag, sh_submit, events: Callable[[Path], list[dict[str, object]]]
) -> None:
    policy = f"periodic_remove = {TRANSFER_HOLD_REMOVE}\n"
    write("t.sub", sh_submit("exit 4", TRANSFER + "transfer_output_files = r\n" + policy))
    dag = write("w.dag", "JOB T t.sub\nRETRY T 2\n")
    result, _ = run_dag(dag)
    assert result.failed == ["T"]
    failed = _failed(dag)
    assert failed["job_return"] == -1002 and failed["attempts"] == 3
    assert str(failed["message"]).startswith("job exited with 4; output transfer failed")
    assert "(HoldReasonCode 12) and its periodic_remove removes it" in str(failed["message"])
    assert [e["rc"] for e in events(dag) if e["event"] == "node_retry"] == [-1002, -1002]


def test_an_input_that_cannot_be_transferred_is_a_hold_too(write, run_dag, sh_submit) -> None:
    policy = f"periodic_remove = {TRANSFER_HOLD_REMOVE}\n"
    write("t.sub", sh_submit("true", TRANSFER + "transfer_input_files = missing.txt\n" + policy))
    dag = write("w.dag", "JOB T t.sub\n")
    result, _ = run_dag(dag)
    failed = _failed(dag)
    assert result.failed == ["T"] and failed["job_return"] == -1002
    assert "input transfer failed" in str(failed["message"])
    assert "(HoldReasonCode 13) and its periodic_remove removes it" in str(failed["message"])


def test_without_a_policy_that_removes_it_the_engine_says_dagman_would_wait(
    write, run_dag, sh_submit
) -> None:
    """HTCondor would leave the job held; the engine cannot wait for ever, so it fails
    the node and says what a pool would do."""
    for name, policy in (("none", ""), ("other", "periodic_remove = HoldReasonCode =?= 34\n")):
        write(f"{name}.sub", sh_submit("true", TRANSFER + "transfer_output_files = r\n" + policy))
    dag = write("w.dag", "JOB NONE none.sub\nJOB OTHER other.sub\n")
    result, _ = run_dag(dag)
    assert sorted(result.failed) == ["NONE", "OTHER"]
    status = json.loads(dag.with_name("w.dag.status").read_text())
    for failed in status["failed"]:
        assert "DAGMan would wait for it until released or removed by hand" in failed["message"]
