"""Pass 1 (feasibility) and pass 5 (replica ranking)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from catalogs.replica import PFN
from planner.errors import Problems
from planner.model.graph import build_job_graph
from planner.passes.replicas import check_feasibility, lookup_replicas
from planner.passes.select_replicas import ReplicaSelectionError, order_pfns


def test_missing_replica_names_the_lfn_the_jobs_and_the_catalog(kit: SimpleNamespace) -> None:
    wf = kit.diamond()
    graph = build_job_graph(wf)
    with pytest.raises(Problems) as err:
        check_feasibility(wf, graph, {}, "rc.yml")
    assert err.value.lines() == ["rc.yml: no replica for LFN 'f.a' (needed by job ID1)"]


def test_feasible_when_every_raw_input_has_a_replica(kit: SimpleNamespace) -> None:
    wf = kit.diamond()
    cats = kit.catalogs(["x"], ["f.a"])
    found = lookup_replicas(["f.a", "f.b1"], cats.replicas)
    assert list(found) == ["f.a"]
    check_feasibility(wf, build_job_graph(wf), found, "rc.yml")


def test_optional_inputs_need_no_replica(kit: SimpleNamespace) -> None:
    from planner.model.workflow import Job, Workflow

    wf = Workflow(name="w", jobs=(Job(id="A", name="t", uses=(kit.use("opt", optional=True),)),))
    check_feasibility(wf, build_job_graph(wf), {}, None)


SITE_A = PFN(url="file:///a/f", site="siteA")
LOCAL = PFN(url="/l/f", site="local")
REMOTE = PFN(url="http://example.org/f", site="web")


def test_default_order_prefers_site_then_local_file_then_remote() -> None:
    assert order_pfns("f", (REMOTE, LOCAL, SITE_A), "siteA") == (SITE_A, LOCAL, REMOTE)
    assert order_pfns("f", (REMOTE, SITE_A, LOCAL), "siteB") == (LOCAL, REMOTE, SITE_A)


def test_local_selector_keeps_only_local_and_fails_clearly() -> None:
    assert order_pfns("f", (REMOTE, LOCAL), "siteA", "Local") == (LOCAL,)
    with pytest.raises(ReplicaSelectionError, match="'f' has no replica on site local"):
        order_pfns("f", (REMOTE,), "siteA", "local")


def test_restricted_selector_ignores_and_prefers_sites() -> None:
    props = {
        "pegasus.selector.replica.*.ignore.stagein.sites": "local",
        "pegasus.selector.replica.*.prefer.stagein.sites": "web",
    }
    assert order_pfns("f", (LOCAL, SITE_A, REMOTE), "siteA", "restricted", props) == (
        REMOTE,
        SITE_A,
    )


def test_regex_selector_ranks_by_pattern() -> None:
    props = {
        "pegasus.selector.replica.regex.rank.1": "^http:",
        "pegasus.selector.replica.regex.rank.2": "/l/",
    }
    assert order_pfns("f", (SITE_A, LOCAL, REMOTE), "siteA", "regex", props) == (
        REMOTE,
        LOCAL,
        SITE_A,
    )
