"""Hand-built concrete diamonds (preprocess, 2 x findrange, analyze) and submit-dir checks.

Loaded by path from the emit and command tests (no packages under tests/).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from planner.model.base import Namespace
from planner.model.concrete import (
    ConcreteWorkflow,
    DataConfiguration,
    Node,
    NodeKind,
    Pruned,
    Task,
    Transfer,
)

SHA = "0" * 63 + "1"
TRICKY = 'it\'s "x" $(HOME) back\\slash'


def _url(path: Path) -> str:
    return path.as_uri()


def diamond(
    root: Path, dc: DataConfiguration, *, clustered: bool = False, reuse: bool = False
) -> ConcreteWorkflow:
    """The diamond planned by hand for data configuration ``dc`` under ``root``.

    ``clustered`` merges the two findrange jobs into one cluster node; ``reuse`` prunes
    preprocess as if its outputs had replicas (they are then staged in instead).
    """
    wf = "diamond"
    inputs_dir = root / "inputs"
    outputs_dir = root / "outputs"
    if dc is DataConfiguration.CONDORIO:
        staging = {"condorpool": "local", "other": "local"}
    else:
        staging = {"condorpool": "condorpool", "other": "other"}
    stage_dirs = {s: root / "staging" / s / wf for s in sorted(set(staging.values()))}

    def staged(site: str, lfn: str) -> str:
        return _url(stage_dirs[staging[site]] / lfn)

    def workdir(site: str) -> str | None:
        if dc is DataConfiguration.SHAREDFS:
            return str(stage_dirs[staging[site]])
        return None

    def io(site: str, reads: list[str], writes: list[str]) -> dict[str, Any]:
        return {
            "inputs": tuple(Transfer(lfn=f, src=(staged(site, f),), dst=f) for f in reads),
            "outputs": tuple(
                Transfer(lfn=f, src=(f,), dst=staged(site, f), size=100) for f in writes
            ),
            "working_dir": workdir(site),
            "data_configuration": dc,
            "staging_site": staging[site],
        }

    def task(job: str, tx: str, args: list[str], runtime: float | None) -> Task:
        return Task(
            job_id=job,
            transformation=f"diamond::{tx}:4.0",
            executable=f"/opt/diamond/bin/{tx}",
            arguments=tuple(args),
            runtime=runtime,
        )

    nodes: list[Node] = []
    edges: list[tuple[str, str]] = []
    pruned: list[Pruned] = []
    first_staging = staging["condorpool"]
    mkdirs = []
    for i, site in enumerate(sorted(set(staging.values()))):
        name = f"create_dir_{wf}_{i}_{site}"
        mkdirs.append(name)
        nodes.append(
            Node(
                name=name,
                kind=NodeKind.CREATE_DIR,
                site="local",
                level=0,
                files=(Transfer(lfn="", dst=_url(stage_dirs[site]), site=site),),
            )
        )
    raw = ["f.b1", "f.b2"] if reuse else ["f.a"]
    stage_in = f"stage_in_local_{first_staging}_0_0"
    nodes.append(
        Node(
            name=stage_in,
            kind=NodeKind.STAGE_IN,
            site="local",
            level=0,
            files=tuple(
                Transfer(
                    lfn=f,
                    src=(_url(inputs_dir / f), f"http://data.example.org/diamond/{f}"),
                    dst=staged("condorpool", f),
                    sha256=SHA,
                    size=1000,
                    site=first_staging,
                )
                for f in raw
            ),
            staging_site=first_staging,
        )
    )
    edges.extend((m, stage_in) for m in mkdirs)
    if reuse:
        pruned.append(Pruned(job="ID1", reason="outputs f.b1, f.b2 have replicas in rc.yml"))
        level1_parents = [stage_in]
    else:
        nodes.append(
            Node(
                name="preprocess_ID1",
                kind=NodeKind.COMPUTE,
                site="condorpool",
                level=1,
                transformation="diamond::preprocess:4.0",
                jobs=("ID1",),
                tasks=(
                    task(
                        "ID1",
                        "preprocess",
                        ["-a", "preprocess", "-i", "f.a", "-o", "f.b1", "f.b2", TRICKY],
                        60.0,
                    ),
                ),
                profiles={
                    Namespace.CONDOR: {"request_memory": "2048", "+ProjectName": "diamond demo"},
                    Namespace.ENV: {"DIAMOND_MODE": "fast 'n' loose"},
                },
                reasons=("site condorpool: installed preprocess, random selector seed 1",),
                **io("condorpool", ["f.a"], ["f.b1", "f.b2"]),
            )
        )
        edges.append((stage_in, "preprocess_ID1"))
        level1_parents = ["preprocess_ID1"]
    findrange = [
        task("ID2", "findrange", ["-a", "findrange", "-i", "f.b1", "-o", "f.c1"], 60.0),
        task("ID3", "findrange", ["-a", "findrange", "-i", "f.b2", "-o", "f.c2"], 45.5),
    ]
    if clustered:
        level2 = ["merge_diamond-findrange-4_0_PID2_ID1"]
        nodes.append(
            Node(
                name=level2[0],
                kind=NodeKind.CLUSTER,
                site="condorpool",
                level=2,
                transformation="diamond::findrange:4.0",
                jobs=("ID2", "ID3"),
                tasks=tuple(findrange),
                reasons=("horizontal cluster: level 2, findrange, condorpool, size 2",),
                **io("condorpool", ["f.b1", "f.b2"], ["f.c1", "f.c2"]),
            )
        )
    else:
        level2 = ["findrange_ID2", "findrange_ID3"]
        for name, t, n in zip(level2, findrange, (1, 2), strict=True):
            nodes.append(
                Node(
                    name=name,
                    kind=NodeKind.COMPUTE,
                    site="condorpool",
                    level=2,
                    transformation="diamond::findrange:4.0",
                    jobs=(t.job_id,),
                    tasks=(t,),
                    **io("condorpool", [f"f.b{n}"], [f"f.c{n}"]),
                )
            )
    edges.extend((p, c) for p in level1_parents for c in level2)
    analyze_parents = list(level2)
    if dc is not DataConfiguration.CONDORIO:
        inter = "stage_inter_condorpool_other_2_0"
        nodes.append(
            Node(
                name=inter,
                kind=NodeKind.STAGE_INTER,
                site="local",
                level=2,
                files=tuple(
                    Transfer(
                        lfn=f, src=(staged("condorpool", f),), dst=staged("other", f), site="other"
                    )
                    for f in ("f.c1", "f.c2")
                ),
                staging_site="other",
            )
        )
        edges.extend((p, inter) for p in level2)
        edges.extend((m, inter) for m in mkdirs)
        analyze_parents = [inter]
    nodes.append(
        Node(
            name="analyze_ID4",
            kind=NodeKind.COMPUTE,
            site="other",
            level=3,
            transformation="diamond::analyze:4.0",
            jobs=("ID4",),
            tasks=(task("ID4", "analyze", ["-a", "analyze", "-i", "f.c1", "f.c2"], None),),
            profiles={Namespace.DAGMAN: {"retry": "3"}},
            **io("other", ["f.c1", "f.c2"], ["f.d"]),
        )
    )
    edges.extend((p, "analyze_ID4") for p in analyze_parents)
    stage_out = f"stage_out_local_{staging['other']}_3_0"
    nodes.append(
        Node(
            name=stage_out,
            kind=NodeKind.STAGE_OUT,
            site="local",
            level=3,
            files=(
                Transfer(
                    lfn="f.d",
                    src=(staged("other", "f.d"),),
                    dst=_url(outputs_dir / "f.d"),
                    size=100,
                    site="local",
                ),
            ),
        )
    )
    register = "register_local_3_0"
    nodes.append(
        Node(
            name=register,
            kind=NodeKind.REGISTER,
            site="local",
            level=3,
            files=(Transfer(lfn="f.d", dst=_url(outputs_dir / "f.d"), site="local"),),
        )
    )
    cleanup = f"clean_up_{first_staging}_level_2_0"
    nodes.append(
        Node(
            name=cleanup,
            kind=NodeKind.CLEANUP,
            site="local",
            level=2,
            files=tuple(Transfer(lfn=f, dst=staged("condorpool", f)) for f in ("f.b1", "f.b2")),
        )
    )
    edges += [("analyze_ID4", stage_out), (stage_out, register)]
    edges.extend((p, cleanup) for p in level2)
    return ConcreteWorkflow(
        name=wf,
        nodes=tuple(nodes),
        edges=tuple(edges),
        pruned=tuple(pruned),
        options={
            "data_configuration": dc.value,
            "output_rc": str(root / "submit" / "output.db"),
            "sites": ["condorpool", "other"],
            "output_site": "local",
            "seed": 1,
        },
        decisions={
            "ID1": ("placed on condorpool: installed preprocess (random, seed 1)",),
            "ID4": ("placed on other: only site with analyze",),
        },
    )


_JOB = re.compile(r"JOB (\S+) (\S+)$")
_VARS_PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def dag_nodes(dag_text: str) -> dict[str, tuple[str, dict[str, str]]]:
    """node -> (submit file, VARS) as DAGMan reads them: JOB lines first, then VARS in
    file order (ALL_NODES for every node, the last value wins), backslash escapes undone
    and ``$(JOB)`` replaced by the node's name."""
    nodes: dict[str, tuple[str, dict[str, str]]] = {}
    for line in dag_text.splitlines():
        m = _JOB.match(line)
        if m:
            nodes[m.group(1)] = (m.group(2), {})
    for line in dag_text.splitlines():
        if not line.startswith("VARS "):
            continue
        target = line.split()[1]
        names = list(nodes) if target.upper() == "ALL_NODES" else [target]
        for key, raw in _VARS_PAIR.findall(line):
            value = re.sub(r"\\(.)", r"\1", raw)
            for name in names:
                nodes[name][1][key] = value.replace("$(JOB)", name)
    return nodes


def submit_ads(submit_dir: Path, workflow: str = "diamond") -> dict[str, Any]:
    """Every node's job ad, built offline by htcondor 24's own condor_submit code.

    VARS become macro definitions placed before the description, as DAGMan passes them.
    """
    import htcondor

    ads = {}
    dag_text = (submit_dir / f"{workflow}.dag").read_text()
    for node, (sub, macros) in dag_nodes(dag_text).items():
        text = "".join(f"{k} = {v}\n" for k, v in macros.items())
        text += (submit_dir / sub).read_text()
        description = htcondor.Submit(text)
        # condor_submit needs initialdir to exist; DAGMan submits a condorio job only
        # after the create_dir node has made its staging directory, where it lands
        Path(description.expand("initialdir") or submit_dir).mkdir(parents=True, exist_ok=True)
        jobs = list(description.jobs())
        assert len(jobs) == 1, node
        ads[node] = jobs[0]
    return ads


def split_v2(raw: str) -> list[str]:
    """Split an ad's V2 ``Arguments``/``Environment`` back into words."""
    words: list[str] = []
    current: list[str] = []
    started = False
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == "'":
            started = True
            i += 1
            while i < len(raw):
                if raw[i] == "'":
                    if raw[i + 1 : i + 2] == "'":
                        current.append("'")
                        i += 2
                        continue
                    break
                current.append(raw[i])
                i += 1
            i += 1
        elif c in " \t":
            if started:
                words.append("".join(current))
                current, started = [], False
            i += 1
        else:
            current.append(c)
            started = True
            i += 1
    if started:
        words.append("".join(current))
    return words


_OFFSET = re.compile(r"(manifests\.jsonl) [0-9]+ ")


_OFFSET_MACRO = re.compile(r"manifests\.jsonl \$\((wf_\w+)\)")


def portable_offsets(text: str) -> str:
    """Bundle offsets as ``@OFFSET@``: they move with the length of the submit dir's path,
    which goldens cannot hold (check_bundle_offsets checks them instead)."""
    return _OFFSET.sub(r"\1 @OFFSET@ ", text)


def portable_files(files: dict[str, str]) -> dict[str, str]:
    """:func:`portable_offsets` of every file, and in the DAG the VARS values a shared
    ``.sub`` puts right after ``manifests.jsonl`` (the offsets) as ``@OFFSET@`` too."""
    files = {name: portable_offsets(text) for name, text in files.items()}
    macros = {
        name: set(_OFFSET_MACRO.findall(text))
        for name, text in files.items()
        if name.endswith(".sub")
    }
    for name, text in files.items():
        if name.endswith(".dag"):
            files[name] = _portable_vars(text, macros)
    return files


def _portable_vars(dag: str, macros: dict[str, set[str]]) -> str:
    sub_of = {m.group(1): m.group(2) for m in map(_JOB.match, dag.splitlines()) if m}
    lines = []
    for line in dag.splitlines(keepends=True):
        words = line.split(None, 2)
        if words[:1] == ["VARS"] and words[1] in sub_of:
            for macro in macros.get(sub_of[words[1]], ()):
                line = re.sub(rf'\b{macro}="[0-9]+"', f'{macro}="@OFFSET@"', line)
        lines.append(line)
    return "".join(lines)


def check_bundle_offsets(submit_dir: Path, workflow: str = "diamond") -> int:
    """Every job whose arguments name ``manifests.jsonl`` finds its own manifest there,
    read by the tools' own code, and every line of the bundle is some job's; the count."""
    from planner.tools.manifest import load_bundled_manifest

    bundle = submit_dir / "manifests.jsonl"
    found = []
    for node, ad in submit_ads(submit_dir, workflow).items():
        words = split_v2(ad.get("Arguments", ""))
        if words[:1] != [str(bundle)]:
            continue
        assert len(words) == 3 and words[2] == node, words
        assert load_bundled_manifest(words[0], words[1], words[2], "test")["node"] == node
        found.append(int(words[1]))
    offsets = [0]
    if bundle.exists():
        for line in bundle.read_bytes().splitlines(keepends=True):
            offsets.append(offsets[-1] + len(line))
    assert sorted(found) == offsets[:-1]
    return len(found)
