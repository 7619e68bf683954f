"""plan() as a pipeline: the context resolves every option and property once, the state
is a frozen value, the passes run in their listed order, and depth costs nothing extra."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from planner.errors import PlannerError
from planner.model.base import Namespace
from planner.model.concrete import DataConfiguration, NodeKind
from planner.model.workflow import Job, LinkType, Use, Workflow
from planner.plan import PASSES, Catalogs, PlanOptions, PlanState, plan
from planner.plan_context import plan_context
from tests.planner.test_plan import catalogs_for, diamond


def test_options_beat_properties_and_properties_beat_defaults() -> None:
    props = {
        "pegasus.data.reuse.scope": "partial",
        "pegasus.selector.site": "round_robin",
        "pegasus.selector.site.seed": "7",
        "pegasus.data.configuration": "sharedfs",
        "pegasus.file.cleanup.scope": "leaf",
        "pegasus.file.cleanup.clusters.num": "3",
        "dagman.retry": "4",
        "wfplan.cluster.auto.slots": "a=2, 5",
        "wfplan.cluster.auto.overhead": "none",
        "condor.request_memory": "2048",
    }
    ctx = plan_context("wf", PlanOptions(properties=props))
    assert (ctx.reuse_scope, ctx.site_selector, ctx.seed) == ("partial", "round-robin", 7)
    assert ctx.staging.data_configuration is DataConfiguration.SHAREDFS
    assert not ctx.staging.force_data_configuration
    assert (ctx.cleanup_scope, ctx.cleanup_clusters_num, ctx.cleanup_clusters_size) == (
        "leaf",
        3,
        None,
    )
    assert ctx.staging.retry == "4"
    assert ctx.auto_slots == ("a=2", "5") and ctx.auto_overhead == "none"
    # the profile layer: planner settings are left out, dagman.retry is a profile too
    assert ctx.profiles == {
        Namespace.CONDOR: {"request_memory": "2048"},
        Namespace.DAGMAN: {"retry": "4"},
    }
    given = PlanOptions(
        properties=props,
        reuse_scope="none",
        site_selector="heft",
        seed=1,
        data_configuration=DataConfiguration.CONDORIO,
        cleanup="none",
    )
    ctx = plan_context("wf", given)
    assert (ctx.reuse_scope, ctx.site_selector, ctx.seed) == ("none", "heft", 1)
    assert ctx.staging.data_configuration is DataConfiguration.CONDORIO
    assert ctx.staging.force_data_configuration and ctx.cleanup_scope == "none"
    defaults = plan_context("wf", PlanOptions())
    assert (defaults.reuse_scope, defaults.site_selector, defaults.seed) == ("full", "random", 0)
    assert defaults.staging.integrity == "full" and defaults.transfer_http == {}


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("pegasus.data.reuse.scope", "some", "unknown data reuse scope 'some'"),
        ("pegasus.selector.site.seed", "x", "property value 'x' is not an integer"),
        ("pegasus.data.configuration", "nfs", "pegasus.data.configuration 'nfs'"),
        ("pegasus.integrity.checking", "half", "pegasus.integrity.checking 'half'"),
        ("pegasus.selector.site", "best", "unknown site selector 'best'"),
    ],
)
def test_a_bad_property_is_refused_before_any_pass(key: str, value: str, named: str) -> None:
    with pytest.raises(PlannerError, match=named):
        plan_context("wf", PlanOptions(properties={key: value}))
    with pytest.raises(PlannerError, match=named):
        plan(diamond(), catalogs_for(diamond()), PlanOptions(properties={key: value}))


def test_the_state_is_frozen_and_every_pass_returns_a_new_one() -> None:
    wf = diamond()
    ctx = plan_context(wf.name, PlanOptions())
    state = PlanState(workflow=wf, catalogs=catalogs_for(wf))
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.workflow = wf  # type: ignore[misc]
    seen = []
    for step in PASSES:
        before = state
        fields = {f.name: getattr(before, f.name) for f in dataclasses.fields(before)}
        state = step(state, ctx)
        # the pass left its input as it was
        assert {f.name: getattr(before, f.name) for f in dataclasses.fields(before)} == fields
        seen.append(step.__name__)
    assert len(set(seen)) == len(PASSES)
    assert state.result == plan(wf, catalogs_for(wf), PlanOptions())
    # what staging and cleanup no longer need is not kept to the end
    assert state.graph is None and state.staged is None and not state.placements


def _chain(n: int) -> Workflow:
    files = [f"link_{i:05d}" for i in range(n + 1)]
    jobs = tuple(
        Job(
            id=f"step_{i:05d}",
            name="step",
            uses=(Use(files[i], LinkType.INPUT), Use(files[i + 1], LinkType.OUTPUT)),
        )
        for i in range(n)
    )
    return Workflow(name="chain", jobs=jobs)


def test_a_ten_thousand_deep_chain_plans() -> None:
    n = 10_000
    assert n > sys.getrecursionlimit()  # a recursive walk would stop here
    wf = _chain(n)
    cw = plan(wf, catalogs_for(wf), PlanOptions(sites=("a",)))
    level = {node.name: node.level for node in cw.nodes}
    compute = [node for node in cw.nodes if node.kind is NodeKind.COMPUTE]
    assert len(compute) == n
    assert [node.jobs for node in compute] == [(job.id,) for job in wf.jobs]
    depths = [level[node.name] for node in compute]
    assert depths == sorted(depths) and len(set(depths)) == n
    assert all(level[p] < level[c] for p, c in cw.edges)


def test_empty_catalogs_and_workflow() -> None:
    assert plan(Workflow(name="empty", jobs=()), Catalogs(), PlanOptions()).nodes == ()
