"""Sub-workflow jobs (issue 17): checks, the files they will produce, their DAG nodes.

The top level is planned without reading its sub-workflows. Ordinary jobs go through the
other passes; a sub-workflow job becomes one ``SUBDAG EXTERNAL`` node whose edges are
added here, after planning:

* before it: the nodes of its parent jobs, and the stage-out and registration nodes of the
  files it reads (a sub-workflow finds the parent's outputs in the output replica catalog);
* after it: the nodes of its child jobs, and every node that moves a file it writes (a
  parent job reading a sub-workflow's output waits for it).

A sub-workflow's outputs reach the parent's output site, named by LFN (the flat output
mapper), so a job of the parent reads them from there: :func:`future_replicas` adds those
locations to the replica catalog the ordinary passes see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from catalogs.replica import PFN, Replica, ReplicaCatalog
from planner.errors import CycleError, DuplicateJobId, MissingReplica, PlannerError, UnknownJob
from planner.model.base import Namespace
from planner.model.concrete import ConcreteWorkflow, Node, NodeKind, SubWorkflowNode
from planner.model.generations import generations
from planner.model.workflow import SubWorkflow, SubWorkflowKind, Workflow

__all__ = [
    "attach",
    "check",
    "future_replicas",
    "node_name",
    "plan_arguments",
    "through_edges",
    "workflow_file_url",
]

# pegasus-plan option -> wfplan plan option (None: the parent decides; dropped)
_WITH_VALUE: dict[str, str | None] = {
    "--sites": "--sites",
    "-s": "--sites",
    "--output-sites": "--output-site",
    "--output-site": "--output-site",
    "-o": "--output-site",
    "--staging-site": "--staging-site",
    "--cluster": "--cluster",
    "-C": "--cluster",
    "--cleanup": "--cleanup",
    "--reuse-scope": "--reuse-scope",
    "--data-configuration": "--data-configuration",
    "--dir": None,
    "--relative-dir": None,
    "--relative-submit-dir": None,
    "--basename": None,
}
_FLAGS: dict[str, str | None] = {
    "--force": "--force",
    "-f": "--force",
    "--submit": None,
    "-v": None,
    "--verbose": None,
    "-q": None,
    "--quiet": None,
}


# Jobs are read through ``uses``, not their ``inputs``/``outputs`` views: a view computed
# here first (on a job built by pydantic rather than the readers) would add its attribute
# out of the readers' order and cost every later job its shared key table.


def node_name(sub: SubWorkflow) -> str:
    """Pegasus's node names: ``pegasus-plan_<id>`` (planned when ready), ``subdag_<id>``."""
    prefix = "pegasus-plan" if sub.kind is SubWorkflowKind.PEGASUS else "subdag"
    return f"{prefix}_{sub.id}"


def plan_arguments(sub: SubWorkflow, source: str | None = None) -> tuple[str, ...]:
    """The ``wfplan plan`` arguments for a sub-workflow's pegasus-plan arguments.

    >>> from planner.model.workflow import SubWorkflow, SubWorkflowKind
    >>> sub = SubWorkflow(id="S", kind=SubWorkflowKind.PEGASUS, file="s.yml",
    ...                   arguments=("-s", "condorpool", "--output-sites", "local,x", "-Da=1"))
    >>> plan_arguments(sub)
    ('--sites', 'condorpool', '--output-site', 'local', '-Da=1')
    """
    out: list[str] = []
    args = list(sub.arguments)
    i = 0
    while i < len(args):
        word = args[i]
        option, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        if word.startswith("-D") and len(word) > 2:
            out.append(word)
        elif word == "-D" and i + 1 < len(args):
            out.append("-D" + args[i + 1])
            i += 1
        elif option in _WITH_VALUE:
            if not eq:
                if i + 1 >= len(args):
                    raise PlannerError(
                        f"sub-workflow job {sub.id!r}: {word} needs a value", source=source
                    )
                i += 1
                inline = args[i]
            target = _WITH_VALUE[option]
            if target == "--output-site":
                inline = inline.split(",")[0]  # wfplan has one output site
            if target is not None:
                out += [target, inline]
        elif word in _FLAGS:
            flag = _FLAGS[word]
            if flag is not None:
                out.append(flag)
        else:
            raise PlannerError(
                f"sub-workflow job {sub.id!r}: pegasus-plan argument {word!r} is not one wfplan "
                "knows (--sites, --output-sites, --staging-site, --force, --cluster, --cleanup, "
                "-Dkey=value)",
                source=source,
            )
        i += 1
    return tuple(out)


def check(workflow: Workflow) -> None:
    """Ids unique across jobs and sub-workflows, edges between known ids, no cycle, no
    file written both by a job and a sub-workflow, and pegasus-plan arguments known."""
    ids = {job.id for job in workflow.jobs}
    for sub in workflow.subworkflows:
        if sub.id in ids:
            raise DuplicateJobId(
                f"sub-workflow job id {sub.id!r} is used twice", source=workflow.source
            )
        ids.add(sub.id)
        if sub.kind is SubWorkflowKind.PEGASUS:
            plan_arguments(sub, workflow.source)
    for parent, child in workflow.subworkflow_edges:
        for end in (parent, child):
            if end not in ids:
                raise UnknownJob(
                    f"dependency {parent} -> {child} names unknown job {end!r}",
                    source=workflow.source,
                )
    producers = {use.lfn: job.id for job in workflow.jobs for use in job.uses if use.is_output}
    for sub in workflow.subworkflows:
        for use in sub.outputs:
            other = producers.get(use.lfn)
            if other is not None:
                raise PlannerError(
                    f"file {use.lfn!r} is written by job {other!r} and by sub-workflow "
                    f"job {sub.id!r}",
                    source=workflow.source,
                )
            producers[use.lfn] = sub.id
    _check_acyclic(workflow, producers)


def _abstract_edges(workflow: Workflow, producers: Mapping[str, str]) -> set[tuple[str, str]]:
    """Edges with a sub-workflow at either end: explicit, and implied by files."""
    edges = set(workflow.subworkflow_edges)
    subs = {sub.id for sub in workflow.subworkflows}
    for sub in workflow.subworkflows:
        for lfn in (sub.file, *(u.lfn for u in sub.inputs)):
            maker = producers.get(lfn)
            if maker is not None and maker != sub.id:
                edges.add((maker, sub.id))
    sub_outputs = {u.lfn: sub.id for sub in workflow.subworkflows for u in sub.outputs}
    for job in workflow.jobs:
        for use in job.uses:
            maker = sub_outputs.get(use.lfn) if use.is_input else None
            if maker is not None:
                edges.add((maker, job.id))
    return {e for e in edges if e[0] in subs or e[1] in subs}


def _check_acyclic(workflow: Workflow, producers: Mapping[str, str]) -> None:
    children: dict[str, set[str]] = {}
    for parent, child in (*workflow.dependencies, *_abstract_edges(workflow, producers)):
        children.setdefault(parent, set()).add(child)
    for job in workflow.jobs:
        for use in job.uses:
            maker = producers.get(use.lfn) if use.is_input else None
            if maker is not None and maker != job.id:
                children.setdefault(maker, set()).add(job.id)
    state: dict[str, int] = {}
    for start in [sub.id for sub in workflow.subworkflows]:
        stack = [(start, iter(sorted(children.get(start, ()))))]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                raise CycleError(
                    f"dependency cycle through sub-workflow job {nxt!r}", source=workflow.source
                )
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(sorted(children.get(nxt, ())))))


def through_edges(workflow: Workflow) -> tuple[tuple[str, str], ...]:
    """Edges between ordinary jobs that run before and after a sub-workflow.

    The other passes see ordinary jobs only; without these a job after a sub-workflow
    would look like a root, and level-based grouping (stage-in, stage-out, cleanup) could
    put it with a job before the sub-workflow: a cycle once the sub-workflow is back.
    """
    producers = {use.lfn: job.id for job in workflow.jobs for use in job.uses if use.is_output}
    for sub in workflow.subworkflows:
        for use in sub.outputs:
            producers[use.lfn] = sub.id
    subs = {sub.id for sub in workflow.subworkflows}
    before: dict[str, set[str]] = {s: set() for s in subs}
    after: dict[str, set[str]] = {s: set() for s in subs}
    sub_parents: dict[str, set[str]] = {s: set() for s in subs}
    for parent, child in _abstract_edges(workflow, producers):
        if parent in subs and child in subs:
            sub_parents[child].add(parent)
        elif child in subs:
            before[child].add(parent)
        else:
            after[parent].add(child)
    for sub_id in _sub_order(sub_parents):  # parents first: their sets are complete
        for up in sub_parents[sub_id]:
            before[sub_id] |= before[up]
    children: dict[str, set[str]] = {s: set() for s in subs}
    for child, ups in sub_parents.items():
        for up in ups:
            children[up].add(child)
    for sub_id in reversed(_sub_order(sub_parents)):
        for down in children[sub_id]:
            after[sub_id] |= after[down]
    edges = {(p, c) for s in subs for p in before[s] for c in after[s]}
    return tuple(sorted(edges))


def _sub_order(parents: Mapping[str, set[str]]) -> list[str]:
    order: list[str] = []
    placed: set[str] = set()
    while len(order) < len(parents):  # acyclic (checked): each round places one or more
        for sub_id in sorted(parents):
            if sub_id not in placed and parents[sub_id] <= placed:
                order.append(sub_id)
                placed.add(sub_id)
    return order


def future_replicas(workflow: Workflow, output_site: str, output_url: str) -> ReplicaCatalog:
    """Where each staged-out output of a sub-workflow will be: the output site's storage,
    named by LFN. Jobs of the parent that read them are planned to read them there."""
    return ReplicaCatalog(
        replicas=tuple(
            Replica(lfn=use.lfn, pfns=(PFN(url=f"{output_url}/{use.lfn}", site=output_site),))
            for sub in workflow.subworkflows
            for use in sub.outputs
            if use.stage_out
        ),
        source="sub-workflow outputs",
    )


def workflow_file_url(sub: SubWorkflow, rc: ReplicaCatalog, source: str | None) -> str:
    """The sub-workflow's file, found through the replica catalog (a ``file://`` URL or a
    plain path on the submit host: the PRE script and DAGMan read it there)."""
    for pfn in rc.lookup(sub.file):
        url = pfn.url
        if url.startswith("file://"):
            return url
        if url.startswith("/"):
            return "file://" + url
    raise MissingReplica(
        f"no replica on the submit host for LFN {sub.file!r} (the workflow file of "
        f"sub-workflow job {sub.id!r}); add a file:// entry to the replica catalog",
        source=source,
    )


def attach(
    cw: ConcreteWorkflow,
    workflow: Workflow,
    urls: Mapping[str, str],
    retry: str,
) -> ConcreteWorkflow:
    """``cw`` with a node per sub-workflow job and the edges that order it (module doc)."""
    if not workflow.subworkflows:
        return cw
    producers = {use.lfn: job.id for job in workflow.jobs for use in job.uses if use.is_output}
    for sub in workflow.subworkflows:
        for use in sub.outputs:
            producers[use.lfn] = sub.id
    abstract = _abstract_edges(workflow, producers)
    names = {sub.id: node_name(sub) for sub in workflow.subworkflows}
    by_job: dict[str, list[Node]] = {}
    by_lfn: dict[str, list[Node]] = {}
    for node in cw.nodes:
        for job_id in node.jobs:
            by_job.setdefault(job_id, []).append(node)
        for transfer in (*node.files, *node.inputs):
            by_lfn.setdefault(transfer.lfn, []).append(node)
    outputs = {job.id: [u.lfn for u in job.uses if u.is_output] for job in workflow.jobs}
    level = {node.name: node.level for node in cw.nodes}
    edges: set[tuple[str, str]] = set()
    for parent, child in abstract:
        if parent in names and child in names:
            edges.add((names[parent], names[child]))
        elif child in names:  # a job before a sub-workflow: its node and its files' moves
            reads = {u.lfn for u in _sub(workflow, child).uses} | {_sub(workflow, child).file}
            for node in by_job.get(parent, ()):
                edges.add((node.name, names[child]))
            for lfn in outputs.get(parent, ()):
                if lfn in reads:
                    for node in by_lfn.get(lfn, ()):
                        if node.kind in (NodeKind.STAGE_OUT, NodeKind.REGISTER):
                            edges.add((node.name, names[child]))
        else:
            for node in by_job.get(child, ()):
                edges.add((names[parent], node.name))
    for sub in workflow.subworkflows:
        for use in sub.outputs:
            for node in by_lfn.get(use.lfn, ()):
                edges.add((names[sub.id], node.name))
    _check_concrete_acyclic(cw, edges, workflow.source)
    nodes = _levelled(workflow, names, urls, edges, level, retry)
    return replace(cw, subworkflows=nodes, subworkflow_edges=tuple(sorted(edges)))


def _check_concrete_acyclic(
    cw: ConcreteWorkflow, extra: set[tuple[str, str]], source: str | None
) -> None:
    """The generations of the whole DAG: a cycle here is a planner bug, reported before
    anything is written rather than by DAGMan."""
    index = {node.name: i for i, node in enumerate(cw.nodes)}
    # the sub-workflow nodes' edges are the only ones naming them: none is in cw.edges
    edges = (*cw.edges, *extra)
    for parent, child in extra:
        index.setdefault(parent, len(index))
        index.setdefault(child, len(index))
    _, stuck = generations(
        len(index), (index[p] for p, _ in edges), (index[c] for _, c in edges), len(edges)
    )
    if stuck:
        names = list(index)
        listed = sorted(names[i] for i in stuck)
        raise CycleError(
            f"the sub-workflow nodes would close a cycle in the DAG through {', '.join(listed[:5])}",
            source=source,
        )


def _sub(workflow: Workflow, sub_id: str) -> SubWorkflow:
    return next(s for s in workflow.subworkflows if s.id == sub_id)


def _levelled(
    workflow: Workflow,
    names: Mapping[str, str],
    urls: Mapping[str, str],
    edges: Iterable[tuple[str, str]],
    level: dict[str, int],
    retry: str,
) -> tuple[SubWorkflowNode, ...]:
    """The sub-workflow nodes, by level and name."""
    _sub_levels(names, edges, level)
    out = [
        _sub_node(sub, names[sub.id], urls[sub.id], level[names[sub.id]], retry, workflow.source)
        for sub in workflow.subworkflows
    ]
    return tuple(sorted(out, key=lambda n: (n.level, n.name)))


def _sub_levels(
    names: Mapping[str, str], edges: Iterable[tuple[str, str]], level: dict[str, int]
) -> None:
    """Add each sub-workflow node's level to ``level`` (1 + its deepest parent's)."""
    parents: dict[str, list[str]] = {}
    for parent, child in edges:
        parents.setdefault(child, []).append(parent)
    pending = dict(names.items())
    while pending:  # a few sub-workflows: repeat until every level is known
        for sub_id, name in list(pending.items()):
            above = parents.get(name, [])
            if all(p in level for p in above):
                level[name] = 1 + max((level[p] for p in above), default=0)
                del pending[sub_id]


def _sub_node(
    sub: SubWorkflow, name: str, url: str, level: int, retry: str, source: str | None
) -> SubWorkflowNode:
    """The ``SUBDAG EXTERNAL`` node of one sub-workflow job."""
    value = sub.profiles.get(Namespace.DAGMAN, {}).get("retry", retry)
    try:
        tries = int(value)
    except ValueError:
        raise PlannerError(
            f"sub-workflow job {sub.id!r}: dagman retry {value!r} is not an integer",
            source=source,
        )
    pegasus = sub.kind is SubWorkflowKind.PEGASUS
    kind = SubWorkflowKind(sub.kind).value
    return SubWorkflowNode(
        name=name,
        job=sub.id,
        kind=kind,
        file=sub.file,
        url=url,
        arguments=plan_arguments(sub, source) if pegasus else (),
        outputs=tuple(u.lfn for u in sub.outputs if u.stage_out),
        level=level,
        retry=tries,
        reasons=(
            f"sub-workflow {sub.file} ({kind}) from {url}",
            "planned by its PRE script when the node is ready" if pegasus else "run as given",
        ),
    )
