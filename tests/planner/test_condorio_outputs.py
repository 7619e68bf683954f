"""condorio through ``wfplan plan`` + ``wfplan run``: only declared outputs come back, an
optional output the job did not make is no error, and a missing required output fails
the node the way a pool with the emitted policy would (held, removed, retried)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from e2e_catalogs import install_programs, write_file_sites, write_rc, write_tc

from planner.cli import main
from planner.emit.record import load_plan_record
from planner.emit.submit import TRANSFER_HOLD_REMOVE

HERE = Path(__file__).resolve().parents[1] / "e2e" / "condorio"
# what the engine and HTCondor write beside the DAG and for each job while it runs
RUN_FILES = (".events", ".journal", ".status", ".lock", ".nodes.log", ".scripts.out")


def _plan(tmp: Path, mode: str) -> Path:
    bin_dir = install_programs(HERE, ("maker", "reader"), tmp)
    (tmp / "f.in").write_text("data\n")
    (tmp / "wf.yml").write_text((HERE / "workflow.yml").read_text().replace("MODE", mode))
    write_tc(tmp, bin_dir, ("maker", "reader"), ("condorpool",))
    write_rc(tmp, "f.in")
    write_file_sites(tmp, ("condorpool",))
    submit = tmp / "submit"
    argv = [
        "plan", str(tmp / "wf.yml"), "--sc", str(tmp / "sites.yml"), "--tc", str(tmp / "tc.yml"),
        "--rc", str(tmp / "rc.yml"), "--dir", str(submit), "--sites", "condorpool",
        "--data-configuration", "condorio", "--output-rc", str(tmp / "out.db"),
        "--cleanup", "none",  # the staged files stay, to be looked at
    ]  # fmt: skip
    assert main(argv) == 0
    return submit


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _staged(tmp: Path) -> Path:
    """The staging directory the maker's outputs go to (from the plan record)."""
    record = load_plan_record(tmp / "submit")
    (maker,) = [n for n in record["nodes"] if n["name"] == "maker_ID1"]
    (home,) = {Path(o["dst"].removeprefix("file://")).parent for o in maker["outputs"]}
    return home


def test_files_the_job_did_not_declare_never_reach_the_submit_dir(tmp_path: Path, capsys):
    submit = _plan(tmp_path, "sneaky")
    before = _digests(submit)
    assert main(["run", str(submit), "-j", "2"]) == 0, capsys.readouterr().err
    after = _digests(submit)
    changed = sorted(name for name, digest in before.items() if after.get(name) != digest)
    assert changed == []  # plan.json, sneaky.dag, manifests.jsonl untouched
    new = sorted(set(after) - set(before))
    stray = [n for n in new if not n.endswith((".out", ".err", ".log", *RUN_FILES))]
    assert stray == []  # no diff.1_area.fits either
    staging = _staged(tmp_path)
    assert (staging / "f.out").read_text() == "DATA\n"
    assert not any((staging / n).exists() for n in ("plan.json", "diff.1_area.fits"))
    assert (tmp_path / "outputs" / "f.read").read_text() == "read(DATA)\n"
    # and the next run of the same directory still reads it
    assert main(["run", str(submit)]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("mode", ["sneaky", "maybe"])
def test_an_optional_output_arrives_when_made_and_is_no_error_when_not(
    tmp_path: Path, mode: str, capsys
):
    submit = _plan(tmp_path, mode)
    assert main(["run", str(submit), "-j", "2"]) == 0, capsys.readouterr().err
    staging = _staged(tmp_path)
    assert (staging / "f.out").read_text() == "DATA\n"
    if mode == "maybe":
        assert (staging / "f.maybe").read_text() == "made\n"
    else:
        assert not (staging / "f.maybe").exists()  # absent, not an empty placeholder
    assert not (submit / "f.maybe").exists() and not (submit / "f.out").exists()


@pytest.mark.parametrize(("mode", "exit_text"), [("forget", ""), ("fail", "job exited with 3; ")])
def test_a_missing_required_output_fails_the_node_which_is_retried(
    tmp_path: Path, mode: str, exit_text: str, capsys
):
    submit = _plan(tmp_path, mode)
    sub = next(p for p in submit.glob("*.sub") if "maker" in p.read_text())
    assert f"periodic_remove = {TRANSFER_HOLD_REMOVE}" in sub.read_text()
    assert main(["run", str(submit), "-j", "2"]) == 1
    status = json.loads((submit / "sneaky.dag.status").read_text())
    (failed,) = status["failed"]
    assert failed["node"] == "maker_ID1"
    assert failed["attempts"] == 2  # RETRY 1: run again, as DAGMan does after the removal
    assert failed["job_return"] == -1002  # DAGMan's $RETURN for a removed job
    assert failed["message"].startswith(f"{exit_text}output transfer failed")
    assert "f.out" in failed["message"] and "periodic_remove removes it" in failed["message"]
    events = [json.loads(line) for line in (submit / "sneaky.dag.events").read_text().splitlines()]
    assert [e["rc"] for e in events if e["event"] == "node_retry"] == [1]  # the POST said 1
    assert (submit / "sneaky.dag.rescue001").exists()
    assert not (_staged(tmp_path) / "f.out").exists()
