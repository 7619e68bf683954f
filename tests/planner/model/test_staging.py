"""The staging plan is a plain immutable value; the passes after staging change it with
``dataclasses.replace`` and keep what they do not touch."""

from __future__ import annotations

import dataclasses

import pytest

from planner.model.concrete import Node, NodeKind, Transfer
from planner.model.staging import Residencies, StagePlan
from planner.passes.cleanup import cleanup
from planner.passes.create_dirs import create_dirs
from planner.passes.register import register


def _plan() -> StagePlan:
    """One compute node on staging site s whose output f is staged out, put behind a
    file server whose write URL differs from its read URL."""
    out = Transfer(lfn="f", dst="put://out/f", src=("file:///s/w/f",), site="local")
    nodes = (
        Node(name="job", kind=NodeKind.COMPUTE, site="s", level=0, staging_site="s"),
        Node(name="so", kind=NodeKind.STAGE_OUT, site="local", level=0, files=(out,)),
    )
    residency = Residencies()
    residency.add_reader(residency.add("f", "s", "file:///s/w/f", "job"), "so")
    return StagePlan(
        nodes=nodes,
        edges=(("job", "so"),),
        residency=residency,
        workdirs={"s": "file:///s/w"},
        writedirs={"s": "put://s/w"},
        read_urls={"put://out": "get://out"},
    )


def test_a_stage_plan_is_frozen_and_slotted() -> None:
    plan = _plan()
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.nodes = ()  # type: ignore[misc]
    assert not hasattr(plan, "__dict__")


def test_the_passes_after_staging_keep_what_they_do_not_change() -> None:
    plan = _plan()
    nodes, edges = plan.nodes, plan.edges
    later = cleanup(create_dirs(register(plan, {"f"}, "local"), "w"), "w")
    assert plan.nodes is nodes and plan.edges is edges  # the input is left as it was
    assert later.residency is plan.residency
    assert (later.workdirs, later.writedirs, later.read_urls) == (
        plan.workdirs,
        plan.writedirs,
        plan.read_urls,
    )
    kinds = sorted(n.kind.value for n in later.nodes)
    assert kinds == ["cleanup", "compute", "create_dir", "register", "stage_out"]
    (reg,) = [n for n in later.nodes if n.kind is NodeKind.REGISTER]
    assert reg.files[0].dst == "get://out/f"  # registered where the next plan reads it
    (mkdir,) = [n for n in later.nodes if n.kind is NodeKind.CREATE_DIR]
    assert mkdir.files[0].dst == "put://s/w"
    (clean,) = [n for n in later.nodes if n.kind is NodeKind.CLEANUP]
    assert [t.dst for t in clean.files] == ["put://s/w/f"]  # removed through the write URL


def test_cleanup_that_consumes_the_residency_map_makes_the_same_plan() -> None:
    kept = cleanup(create_dirs(register(_plan(), {"f"}, "local"), "w"), "w")
    used = create_dirs(register(_plan(), {"f"}, "local"), "w")
    residency = used.residency
    consumed = cleanup(used, "w", consume=True)
    assert (consumed.nodes, consumed.edges) == (kept.nodes, kept.edges)
    assert len(kept.residency) and not residency  # the pipeline's map is emptied
