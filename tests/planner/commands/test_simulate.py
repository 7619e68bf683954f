"""``wfplan simulate`` on hand-written submit directories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.cli import main
from planner.emit.record import load_plan_record


def write_submit_dir(tmp: Path, slots: int | None = None) -> Path:
    nodes = [
        {
            "name": f"j{i}",
            "kind": "compute",
            "site": "condorpool",
            "parents": [],
            "runtime": 10,
            "jobs": [f"j{i}"],
            "level": 1,
        }
        for i in range(100)
    ]
    nodes.append(
        {
            "name": "last",
            "kind": "compute",
            "site": "condorpool",
            "parents": [f"j{i}" for i in range(100)],
            "runtime": 5,
            "jobs": ["last"],
            "level": 2,
        }
    )
    (tmp / "plan.json").write_text(json.dumps({"workflow": "w", "nodes": nodes}))
    if slots is not None:
        (tmp / "sites.yml").write_text(
            f"sites:\n- name: condorpool\n  profiles:\n    pegasus:\n      slots: '{slots}'\n"
        )
    return tmp


def test_slots_come_from_the_copied_site_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_submit_dir(tmp_path, slots=10)
    assert main(["simulate", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["makespan"] == 105.0
    assert data["slots"] == {"condorpool": 10}
    assert [step["name"] for step in data["critical_path"]][-1] == "last"


def test_slots_option_overrides_and_text_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_submit_dir(tmp_path, slots=10)
    assert main(["simulate", str(tmp_path), "--slots", "condorpool=20"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("makespan: 55.00 s (101 nodes, overhead model none)")
    assert "condorpool: " in out


def test_overhead_model_from_a_json_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_submit_dir(tmp_path)
    model = tmp_path / "slow.json"
    model.write_text(json.dumps({"job_overhead": 1.0}))
    assert (
        main(["simulate", str(tmp_path), "--slots", "50", "--overhead-model", str(model), "--json"])
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    # two rounds of 11 s on 50 slots, then the 6 s join
    assert data["makespan"] == 28.0
    assert data["overhead_model"]["name"] == "slow"


def test_gantt_chart_is_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_submit_dir(tmp_path)
    out = tmp_path / "g.png"
    assert main(["simulate", str(tmp_path), "--slots", "4", "--gantt", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_input_same_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_submit_dir(tmp_path)
    args = ["simulate", str(tmp_path), "--slots", "7", "--overhead-model", "dagman", "--json"]
    main(args)
    first = capsys.readouterr().out
    main(args)
    assert capsys.readouterr().out == first


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--overhead-model", "fast"], "unknown overhead model 'fast'"),
        (["--slots", "condorpool=zero"], "--slots 'condorpool=zero'"),
        (["--slots", "0"], "at least 1 slot"),
        (["--bandwidth", "a=5"], "SRC->DST"),
        (["--bandwidth", "fast"], "--bandwidth 'fast': 'fast' is not a number"),
        (["--bandwidth", "nan"], "'nan' is not a number"),
        (["--bandwidth", "local->condorpool=NaN"], "'NaN' is not a number"),
        (["--bandwidth", "local->condorpool=0"], "'0' must be positive"),
        (["--bandwidth", "inf"], "'inf' must be finite"),
    ],
)
def test_bad_options_give_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    write_submit_dir(tmp_path)
    assert main(["simulate", str(tmp_path), *extra]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_missing_or_bad_plan_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(tmp_path)]) == 1
    assert "no plan.json" in capsys.readouterr().err
    (tmp_path / "plan.json").write_text("{not json")
    assert main(["simulate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "plan.json" in err and "Traceback" not in err


def test_bad_overhead_file_names_field_and_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_submit_dir(tmp_path)
    model = tmp_path / "bad.json"
    model.write_text(json.dumps({"cycle": -1}))
    assert main(["simulate", str(tmp_path), "--overhead-model", str(model)]) == 1
    err = capsys.readouterr().err
    assert "bad.json" in err and "'cycle'" in err


def test_bad_slots_profile_names_the_site_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_submit_dir(tmp_path)
    (tmp_path / "sites.yml").write_text(
        "sites:\n- name: condorpool\n  profiles:\n    pegasus:\n      slots: many\n"
    )
    assert main(["simulate", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sites.yml" in err[0] and "condorpool" in err[0]


def test_nodes_without_runtime_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_submit_dir(tmp_path)
    record = load_plan_record(tmp_path)
    record["nodes"][0]["runtime"] = None
    (tmp_path / "plan.json").write_text(json.dumps(record))
    assert main(["simulate", str(tmp_path), "--slots", "100"]) == 0
    out = capsys.readouterr().out
    assert "note: 1 compute/cluster nodes have no runtime" in out
    assert out.startswith("makespan: 15.00 s")


def test_runtimes_file_fills_unknown_runtimes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nodes = [
        {"name": "a", "kind": "compute", "site": "s", "parents": [], "runtime": None,
         "jobs": ["a"], "tasks": [{"transformation": "x"}]},
        {"name": "m", "kind": "cluster", "site": "s", "parents": ["a"], "runtime": None,
         "jobs": ["b", "c"], "tasks": [{"transformation": "x"}, {"transformation": "y"}]},
        {"name": "out", "kind": "stage_out", "site": "s", "parents": ["m"], "files": []},
    ]  # fmt: skip
    (tmp_path / "plan.json").write_text(json.dumps({"workflow": "w", "nodes": nodes}))
    runtimes = tmp_path / "cal.json"
    runtimes.write_text(
        json.dumps(
            {"calibration": {"by_transformation": {"x": 2, "y": 3}, "by_kind": {"stage_out": 1},
                             "per_cluster": 0.5}}
        )
    )  # fmt: skip
    assert main(["simulate", str(tmp_path), "--runtimes", str(runtimes), "--json"]) == 0
    # a: 2 s, then the cluster: 2 + 3 + 0.5 s, then the stage-out: 1 s
    assert json.loads(capsys.readouterr().out)["makespan"] == 8.5
    runtimes.write_text('{"by_transformation": {"x": "fast"}}')
    assert main(["simulate", str(tmp_path), "--runtimes", str(runtimes)]) == 1
    assert "cal.json" in capsys.readouterr().err


def test_a_plan_without_any_runtime_is_not_simulated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_submit_dir(tmp_path)
    record = load_plan_record(tmp_path)
    for node in record["nodes"]:
        del node["runtime"]
        node["tasks"] = [{"transformation": "t"}]
    (tmp_path / "plan.json").write_text(json.dumps(record))
    assert main(["simulate", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(
        f"wfplan: error: {tmp_path / 'plan.json'}: nothing to simulate: none of the 101 job "
        "nodes has a runtime estimate; give runtimes with the pegasus.runtime profile"
    )
    assert "--runtimes FILE.json" in err
    runtimes = tmp_path / "runtimes.json"
    runtimes.write_text(json.dumps({"by_transformation": {"t": 2}}))
    assert main(["simulate", str(tmp_path), "--runtimes", str(runtimes), "--json"]) == 0
    # 100 nodes of 2 s on one slot, then the last one
    assert json.loads(capsys.readouterr().out)["makespan"] == 202.0


def test_one_runtime_is_enough_to_simulate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_submit_dir(tmp_path)
    record = load_plan_record(tmp_path)
    for node in record["nodes"][1:]:
        del node["runtime"]
    (tmp_path / "plan.json").write_text(json.dumps(record))
    assert main(["simulate", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["makespan"] == 10.0
