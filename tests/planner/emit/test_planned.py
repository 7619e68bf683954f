"""The diamond planned by ``plan()`` and emitted: golden files for each data configuration,
with and without clustering and reuse; every submit file checked by htcondor.

A planner change that alters the plan shows up here as a golden diff; review it, then
regenerate with ``WFPLAN_UPDATE_GOLDEN=1 pytest tests/planner/emit/test_planned.py``.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import diamonds  # tests/planner/emit/diamonds.py (tests/conftest.py puts it on the path)
import pytest

from catalogs.replica import PFN, Replica, ReplicaCatalog
from catalogs.transformation import Transformation, TransformationCatalog, TransformationSite
from planner.emit import write_submit_dir
from planner.emit.dag import node_priority
from planner.engine.dagfile import parse_dag
from planner.errors import PlannerError
from planner.model.base import Namespace
from planner.model.concrete import ConcreteWorkflow, DataConfiguration, Node, NodeKind, Transfer
from planner.model.workflow import Job, LinkType, Use, Workflow
from planner.plan import Catalogs, PlanOptions, plan
from planner.tools.manifest import load_bundled_manifest, load_manifest
from sites.model import Directory, DirectoryType, FileServer, Site, SiteCatalog

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "emit" / "planned"
TOOLS = Path("/opt/wfplan/bin")
UPDATE = os.environ.get("WFPLAN_UPDATE_GOLDEN") == "1"
IN, OUT = LinkType.INPUT, LinkType.OUTPUT
SIZE2 = {Namespace.PEGASUS: {"clusters.size": "2"}}


D = diamonds


def _use(lfn: str, link: LinkType = IN) -> Use:
    return Use(lfn=lfn, link=link)


def _workflow() -> Workflow:
    return Workflow(
        name="diamond",
        jobs=(
            Job(
                id="ID1",
                name="preprocess",
                arguments=("-i", "f.a", "-o", "f.b1", "f.b2"),
                uses=(_use("f.a"), _use("f.b1", OUT), _use("f.b2", OUT)),
            ),
            Job(
                id="ID2",
                name="findrange",
                arguments=("-i", "f.b1", "-o", "f.c1"),
                uses=(_use("f.b1"), _use("f.c1", OUT)),
                profiles=SIZE2,
            ),
            Job(
                id="ID3",
                name="findrange",
                arguments=("-i", "f.b2", "-o", "f.c2"),
                uses=(_use("f.b2"), _use("f.c2", OUT)),
                profiles=SIZE2,
            ),
            Job(
                id="ID4",
                name="analyze",
                arguments=("-i", "f.c1", "f.c2", "-o", "f.d"),
                uses=(_use("f.c1"), _use("f.c2"), _use("f.d", OUT)),
            ),
        ),
        source="diamond.yml",
    )


def _site(root: Path, name: str) -> Site:
    base = root / "sites" / name
    return Site(
        name=name,
        directories=(
            Directory(
                type=DirectoryType.SHARED_SCRATCH,
                path=str(base / "scratch"),
                file_servers=(FileServer(url=(base / "scratch").as_uri()),),
            ),
            Directory(
                type=DirectoryType.LOCAL_STORAGE,
                path=str(base / "storage"),
                file_servers=(FileServer(url=(base / "storage").as_uri()),),
            ),
        ),
    )


def _catalogs(root: Path, reuse: bool) -> Catalogs:
    tc = TransformationCatalog(
        transformations=tuple(
            Transformation(
                name=t, sites=(TransformationSite(name="condorpool", pfn=f"/opt/diamond/{t}"),)
            )
            for t in ("preprocess", "findrange", "analyze")
        ),
        source="tc.yml",
    )
    lfns = ["f.a", "f.b1", "f.b2"] if reuse else ["f.a"]
    rc = ReplicaCatalog(
        replicas=tuple(
            Replica(lfn=f, pfns=(PFN(url=(root / "inputs" / f).as_uri(), site="local"),))
            for f in lfns
        ),
        source="rc.yml",
    )
    sc = SiteCatalog(sites=(_site(root, "local"), _site(root, "condorpool")), source="sites.yml")
    return Catalogs(replicas=rc, transformations=tc, sites=sc)


VARIANTS = {
    f"{dc.value}-{extra}": (dc, extra)
    for dc in DataConfiguration
    for extra in ("plain", "clustered", "reuse")
}


def _planned(root: Path, variant: str) -> tuple[Path, int]:
    cw = _plan(root, variant)
    submit = root / "submit"
    write_submit_dir(cw, submit, tools_dir=TOOLS)
    return submit, len(cw.nodes)


def _plan(root: Path, variant: str) -> ConcreteWorkflow:
    dc, extra = VARIANTS[variant]
    submit = root / "submit"
    cw = plan(
        _workflow(),
        _catalogs(root, reuse=extra == "reuse"),
        PlanOptions(
            sites=("condorpool",),
            submit_dir=str(submit),
            data_configuration=dc,
            cluster=("horizontal",) if extra == "clustered" else (),
        ),
    )
    if extra == "clustered":
        assert any(n.kind is NodeKind.CLUSTER for n in cw.nodes)
    if extra == "reuse":
        assert [p.job for p in cw.pruned] == ["ID1"]
    return cw


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_engine_reads_the_plans_edges_and_priorities(tmp_path: Path, variant: str) -> None:
    """The embedded engine's parser, reading the DAG as DAGMan does, gives every node
    exactly the plan's parents and children and the priority the planner gave it (0 for
    none), with edges grouped on shared lines and the common priority said once."""
    cw = _plan(tmp_path, variant)
    write_submit_dir(cw, tmp_path / "submit", tools_dir=TOOLS)
    dag = parse_dag(tmp_path / "submit" / "diamond.dag")
    assert sorted(dag.nodes) == sorted(n.name for n in cw.nodes)
    edges = set(cw.edges)
    for node in cw.nodes:
        read = dag.nodes[node.name]
        assert sorted(read.parents) == sorted(p for p, c in edges if c == node.name)
        assert sorted(read.children) == sorted(c for p, c in edges if p == node.name)
        assert read.priority == (node_priority(node) or 0)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_planned_diamond_golden_and_valid(tmp_path: Path, variant: str) -> None:
    submit, n_nodes = _planned(tmp_path, variant)
    assert len(D.submit_ads(submit)) == n_nodes
    files = D.portable_files(
        {
            p.name: p.read_text().replace(str(tmp_path), "@ROOT@").replace(str(TOOLS), "@TOOLS@")
            for p in sorted(submit.iterdir())
        }
    )
    D.check_bundle_offsets(submit)
    golden = GOLDEN / variant
    if UPDATE:
        golden.mkdir(parents=True, exist_ok=True)
        for old in golden.iterdir():
            old.unlink()
        for name, text in files.items():
            (golden / name).write_text(text)
    expected = {p.name: p.read_text() for p in sorted(golden.iterdir())}
    assert sorted(files) == sorted(expected)
    for name, text in files.items():
        assert text == expected[name], f"{variant}/{name} differs from its golden file"


TOOL = """#!/bin/sh
mode=""; ins=""; outs=""
for a in "$@"; do
  case "$a" in -i) mode=i;; -o) mode=o;; *) if [ "$mode" = i ]; then ins="$ins $a"; else outs="$outs $a"; fi;; esac
done
for o in $outs; do cat $ins > "$o"; echo "$o" >> "$o"; done
"""


@pytest.mark.slow
def test_planned_diamond_runs_in_the_embedded_engine(tmp_path: Path) -> None:
    """The emitted files are what runs: plan, emit with the real tools, ``wfplan run``."""
    from planner.cli import main

    tool = tmp_path / "tool"
    tool.write_text(TOOL)
    tool.chmod(0o755)
    (tmp_path / "inputs").mkdir()
    (tmp_path / "inputs" / "f.a").write_text("a\n")
    catalogs = _catalogs(tmp_path, reuse=False)
    tc = TransformationCatalog(
        transformations=tuple(
            Transformation(name=t, sites=(TransformationSite(name="condorpool", pfn=str(tool)),))
            for t in ("preprocess", "findrange", "analyze")
        ),
        source="tc.yml",
    )
    submit = tmp_path / "submit"
    cw = plan(
        _workflow(),
        replace(catalogs, transformations=tc),
        PlanOptions(
            sites=("condorpool",),
            submit_dir=str(submit),
            data_configuration=DataConfiguration.CONDORIO,
            cluster=("horizontal",),
        ),
    )
    write_submit_dir(cw, submit)
    assert main(["run", str(submit), "-j", "2"]) == 0
    final = tmp_path / "sites" / "local" / "storage" / "f.d"
    assert final.read_text() == "a\nf.b1\nf.c1\na\nf.b2\nf.c2\nf.d\n"


def test_transfer_limit_properties_reach_every_transfer_manifest(tmp_path: Path) -> None:
    submit = tmp_path / "submit"
    props = {"pegasus.transfer.http.min.deadline": "900", "pegasus.transfer.http.attempts": "5"}
    cw = plan(
        _workflow(),
        _catalogs(tmp_path, reuse=False),
        PlanOptions(sites=("condorpool",), submit_dir=str(submit), properties=props),
    )
    write_submit_dir(cw, submit, tools_dir=TOOLS)
    D.check_bundle_offsets(submit)
    lines = [json.loads(line) for line in (submit / "manifests.jsonl").read_text().splitlines()]
    transfers = [m for m in lines if "transfers" in m]
    assert transfers and all(m["http"] == {"attempts": 5, "min_deadline": 900.0} for m in transfers)
    assert not any("http" in m for m in lines if "transfers" not in m)


def test_a_bad_transfer_limit_property_is_named(tmp_path: Path) -> None:
    props = {"pegasus.transfer.http.min.rate": "fast"}
    with pytest.raises(PlannerError, match=r"pegasus\.transfer\.http\.min\.rate in the properties"):
        plan(_workflow(), _catalogs(tmp_path, reuse=False), PlanOptions(properties=props))


def _full_transfer(t: Transfer) -> dict[str, Any]:
    """A transfer written out the way the tools read one in the full form: every field
    the tools look at, ``sha256`` null and ``symlink`` false when absent."""
    entry: dict[str, Any] = {"lfn": t.lfn, "src": list(t.src), "dst": t.dst}
    entry.update(sha256=t.sha256, symlink=t.symlink)
    for flag in ("executable", "optional"):
        if getattr(t, flag):
            entry[flag] = True
    if t.meta is not None:
        entry["meta"] = t.meta
    return entry


def _read_transfer(entry: dict[str, Any]) -> dict[str, Any]:
    return {"sha256": None, "symlink": False, **entry}


def _expected_manifest(node: Node, output_rc: str) -> dict[str, Any]:
    """What a tool node's manifest must say, from the plan's own transfers alone."""
    files = node.files
    if node.kind is NodeKind.CLEANUP:
        return {"files": sorted(t.dst for t in files)}
    if node.kind is NodeKind.REGISTER:
        replicas = []
        for t in files:
            replica = {"lfn": t.lfn, "pfn": t.dst, "sha256": t.sha256, "site": t.site or node.site}
            if t.meta is not None:
                replica["meta"] = t.meta
            replicas.append(replica)
        return {"catalog": output_rc, "replicas": replicas}
    return {"transfers": [_full_transfer(t) for t in files]}


def _as_read(doc: dict[str, Any]) -> dict[str, Any]:
    """A manifest as a tool acts on it: defaults filled in, cleanup order immaterial."""
    if "files" in doc:
        return {"files": sorted(doc["files"])}
    if "replicas" in doc:
        site = doc.get("site")
        replicas = [{"sha256": None, "site": site, **r} for r in doc["replicas"]]
        return {"catalog": doc["catalog"], "replicas": replicas}
    return {"transfers": [_read_transfer(t) for t in doc["transfers"]]}


INTEGRITY = ("full", "nosymlink", "none")


@pytest.mark.parametrize("integrity", INTEGRITY)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_tool_reads_exactly_the_plans_transfers(
    tmp_path: Path, variant: str, integrity: str
) -> None:
    """The compact manifests, read back through the tools' own loader from the emitted
    bundle (and a condorio runner's own file), give each tool node every transfer,
    replica and file of the plan, in order, with each field the plan set; a scratch
    runner pulls and pushes exactly its node's inputs and outputs."""
    dc, extra = VARIANTS[variant]
    submit = tmp_path / "submit"
    props = {"pegasus.integrity.checking": integrity}
    cw = plan(
        _workflow(),
        _catalogs(tmp_path, reuse=extra == "reuse"),
        PlanOptions(
            sites=("condorpool",),
            submit_dir=str(submit),
            data_configuration=dc,
            cluster=("horizontal",) if extra == "clustered" else (),
            properties=props,
        ),
    )
    write_submit_dir(cw, submit, tools_dir=TOOLS)
    bundle = submit / "manifests.jsonl"
    read: dict[str, dict[str, Any]] = {}
    offset = 0
    for line in bundle.read_bytes().splitlines(keepends=True):
        name = json.loads(line)["node"]
        read[name] = load_bundled_manifest(str(bundle), str(offset), name, "test")
        offset += len(line)
    for own in submit.glob("*.json"):
        if own.name != "plan.json":
            read[own.stem] = load_manifest(str(own), "test")
    output_rc = json.loads((submit / "plan.json").read_text().splitlines()[0])["options"][
        "output_rc"
    ].replace("@ROOT@", str(tmp_path))
    tools = {NodeKind.CLEANUP, NodeKind.REGISTER, NodeKind.STAGE_IN, NodeKind.STAGE_OUT}
    tools.add(NodeKind.STAGE_INTER)
    checked = 0
    for node in cw.nodes:
        doc = read.get(node.name)
        if node.kind in tools:
            assert doc is not None, node.name
            assert _as_read(doc) == _expected_manifest(node, output_rc), node.name
            checked += 1
        elif doc is not None and doc.get("scratch"):
            recorded = any(t.meta is not None for t in node.outputs)
            pushed = [t._replace(meta=None) if recorded else t for t in node.outputs]
            assert [_read_transfer(t) for t in doc["inputs"]] == [
                _full_transfer(t) for t in node.inputs
            ], node.name
            assert [_read_transfer(t) for t in doc["outputs"]] == [
                _full_transfer(t) for t in pushed
            ], node.name
            checked += 1
    assert checked >= 4
