"""Pass 8a: one create-dir node per staging site, ancestor of every node writing there."""

from __future__ import annotations

from types import SimpleNamespace

import networkx as nx

from planner.model.concrete import DataConfiguration, NodeKind
from planner.plan import PlanOptions, plan

ALL = ("preprocess", "findrange", "analyze")


def test_one_create_dir_per_staging_site_before_its_writers(kit: SimpleNamespace) -> None:
    cw = plan(
        kit.diamond(),
        kit.catalogs(ALL, ["f.a"]),
        PlanOptions(data_configuration=DataConfiguration.SHAREDFS, site_selector="round-robin"),
    )
    dirs = [n for n in cw.nodes if n.kind == NodeKind.CREATE_DIR]
    assert [(n.name, n.files[0].dst) for n in dirs] == [
        ("create_dir_diamond_0_siteA", "file:///data/siteA/scratch/diamond"),
        ("create_dir_diamond_1_siteB", "file:///data/siteB/scratch/diamond"),
    ]
    g = nx.DiGraph(cw.edges)
    for node in cw.nodes:
        target = node.staging_site if node.kind in (NodeKind.COMPUTE, NodeKind.STAGE_IN) else None
        if node.kind == NodeKind.STAGE_INTER:
            target = node.files[0].site
        if target is not None:
            assert f"create_dir_diamond_{0 if target == 'siteA' else 1}_{target}" in nx.ancestors(
                g, node.name
            ), node.name


def test_no_create_dir_without_jobs(kit: SimpleNamespace) -> None:
    from planner.model.workflow import Workflow

    cw = plan(Workflow(name="e", jobs=()), kit.catalogs([], []), PlanOptions())
    assert cw.nodes == ()
