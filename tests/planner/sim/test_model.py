"""Overhead models: built-ins, the engine's measurement, JSON files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.sim import SimulationError, load_overhead
from planner.sim.model import LOCAL_DEFAULT, local_overhead


def test_builtin_dagman_has_semantics_parameters() -> None:
    dagman = load_overhead("dagman")
    assert (dagman.cycle, dagman.max_submits_per_cycle) == (5.0, 100)
    assert load_overhead("none").job_overhead == 0.0


def test_local_uses_the_engine_measurement(tmp_path: Path) -> None:
    assert local_overhead(tmp_path / "absent.json") == LOCAL_DEFAULT
    measured = tmp_path / "engine_overhead.json"
    measured.write_text(json.dumps({"per_node_seconds": 0.02, "release_delay": 0.001, "x": 1}))
    model = load_overhead("local", engine_results=measured)
    assert (model.name, model.job_overhead, model.release_delay) == ("local", 0.02, 0.001)


def test_bad_engine_measurement_names_the_file(tmp_path: Path) -> None:
    measured = tmp_path / "engine_overhead.json"
    measured.write_text("[1, 2]")
    with pytest.raises(SimulationError, match=r"engine_overhead\.json"):
        local_overhead(measured)


def test_model_file_rejects_unknown_fields(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"cycles": 5}))
    with pytest.raises(SimulationError, match="'cycles'"):
        load_overhead(str(path))


def test_with_runtimes_fills_tasks_kinds_and_cluster_start() -> None:
    from planner.sim.record import with_runtimes

    record = {
        "workflow": "w",
        "nodes": [
            {"name": "c", "kind": "compute", "tasks": [{"transformation": "a"}], "runtime": None},
            {
                "name": "m",
                "kind": "cluster",
                "tasks": [{"transformation": "a"}, {"transformation": "b"}],
            },
            {"name": "u", "kind": "compute", "tasks": [{"transformation": "zz"}], "runtime": 7},
            {"name": "s", "kind": "stage_in", "files": []},
        ],
    }
    out = with_runtimes(record, {"a": 1.0, "b": 2.0}, {"stage_in": 0.5}, per_cluster=0.25)
    assert [n.get("runtime") for n in out["nodes"]] == [1.0, 3.25, 7, 0.5]
    assert record["nodes"][0]["runtime"] is None and out["workflow"] == "w"


def test_a_cycle_is_zero_or_at_least_a_millisecond(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"cycle": 1e-300}))
    with pytest.raises(SimulationError, match=r"'cycle'.*at least 0\.001 s"):
        load_overhead(str(path))
