"""The job graph of an abstract workflow: explicit edges plus producer -> consumer edges.

Built once, in linear time, and shared by the passes. Nodes are job ids in workflow order.
Plain dicts of successors and lists of predecessors: a networkx DiGraph keeps an attribute
dict per edge and per node, which made building it the largest single cost of planning
10^6 jobs after staging (and about a gigabyte). :meth:`JobGraph.to_networkx` gives one for
the few callers that want networkx's algorithms.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING

from planner.errors import CycleError
from planner.model.workflow import LinkType, Workflow

if TYPE_CHECKING:
    import networkx as nx

_ID = attrgetter("id")


@dataclass(frozen=True)
class JobGraph:
    """A workflow's dependency graph with the file maps the passes need.

    ``producer`` maps an LFN to the first job that writes it (``output``/``checkpoint``,
    or ``inout`` when no other job writes it); ``consumers`` maps an LFN to the jobs that
    read it. ``succ`` maps every job id to its children (a dict used as an ordered set, in
    the order the edges were first seen); ``pred`` maps every job id to its parents, in the
    same order. Each edge is there once.
    """

    succ: dict[str, dict[str, None]]
    pred: dict[str, list[str]]
    producer: dict[str, str] = field(default_factory=dict)
    consumers: dict[str, list[str]] = field(default_factory=dict)
    rewritten: tuple[str, ...] = ()  # LFNs that more than one job writes (validation's cue)

    def parents(self, job_id: str) -> Sequence[str]:
        return self.pred[job_id]

    def children(self, job_id: str) -> Iterable[str]:
        return self.succ[job_id]

    def edges(self) -> Iterator[tuple[str, str]]:
        """Every (parent, child) edge, parents in workflow order."""
        for parent, children in self.succ.items():
            for child in children:
                yield parent, child

    def number_of_edges(self) -> int:
        return sum(map(len, self.pred.values()))

    def workflow_inputs(self) -> list[str]:
        """LFNs read by some job and written by none, in first-use order."""
        return [lfn for lfn in self.consumers if lfn not in self.producer]

    def topological_order(self) -> tuple[str, ...]:
        """Job ids, parents before children: generation by generation (Kahn), each
        generation in the order its jobs became ready (networkx's ``topological_sort``).
        Computed once (validation and the passes share it).

        Raises :class:`planner.errors.CycleError` on a cycle (validation names cycles
        first; this is the backstop).
        """
        cached: tuple[str, ...] | None = self.__dict__.get("_order")
        if cached is None:
            # frozen: the cache goes straight into the instance dict (cached_property's way)
            cached = self.__dict__["_order"] = self._kahn()
        return cached

    def _kahn(self) -> tuple[str, ...]:
        succ = self.succ
        indegree = {job_id: len(ps) for job_id, ps in self.pred.items() if ps}
        generation = [job_id for job_id, ps in self.pred.items() if not ps]
        order: list[str] = []
        while generation:
            order += generation
            following: list[str] = []
            for job_id in generation:
                for child in succ[job_id]:
                    d = indegree[child] - 1
                    if d:
                        indegree[child] = d
                    else:
                        del indegree[child]
                        following.append(child)
            generation = following
        if indegree:
            stuck = ", ".join(sorted(indegree)[:5])
            raise CycleError(f"the workflow's dependencies form a cycle (jobs include {stuck})")
        return tuple(order)

    def levels(self, order: Sequence[str] | None = None) -> dict[str, int]:
        """Level of every job: 1 + the longest distance from a root (roots are level 1).

        ``order`` is :meth:`topological_order`, when the caller has it already.
        """
        level: dict[str, int] = {}
        pred = self.pred
        for job_id in self.topological_order() if order is None else order:
            parents = pred[job_id]
            level[job_id] = 1 + max(map(level.__getitem__, parents)) if parents else 1
        return level

    def to_networkx(self) -> nx.DiGraph:
        """The same graph as a networkx DiGraph (nodes in workflow order)."""
        import networkx as nx

        graph: nx.DiGraph = nx.DiGraph()
        graph.add_nodes_from(self.pred)
        graph.add_edges_from(self.edges())
        return graph


def build_job_graph(workflow: Workflow) -> JobGraph:
    """Derive the job graph: explicit dependencies plus an edge from each file's producer
    to each job that reads it. Edges to unknown job ids and self-loops are ignored here
    (validation reports them)."""
    succ: dict[str, dict[str, None]] = {}
    pred: dict[str, list[str]] = {}
    for job_id in map(_ID, workflow.jobs):
        if job_id not in succ:
            succ[job_id] = {}
            pred[job_id] = []
    producer: dict[str, str] = {}
    inout_writer: dict[str, str] = {}
    consumers: dict[str, list[str]] = {}
    rewritten: dict[str, None] = {}
    output, checkpoint, inout, input_ = (
        LinkType.OUTPUT,
        LinkType.CHECKPOINT,
        LinkType.INOUT,
        LinkType.INPUT,
    )
    for job in workflow.jobs:
        job_id = job.id
        for use in job.uses:
            link = use.link
            if link is input_:
                readers = consumers.get(use.lfn)
                if readers is None:
                    consumers[use.lfn] = [job_id]
                else:
                    readers.append(job_id)
            elif link is output or link is checkpoint:
                first = producer.setdefault(use.lfn, job_id)
                if first != job_id:
                    rewritten[use.lfn] = None
            elif link is inout:
                inout_writer.setdefault(use.lfn, job_id)
                consumers.setdefault(use.lfn, []).append(job_id)
    for lfn, job_id in inout_writer.items():
        producer.setdefault(lfn, job_id)
    for p, c in workflow.dependencies:
        children = succ.get(p)
        if children is not None and c not in children and c in pred and p != c:
            children[c] = None
            pred[c].append(p)
    for lfn, readers in consumers.items():
        src = producer.get(lfn)
        if src is None:
            continue
        children = succ[src]
        for r in readers:
            if r not in children and r != src:
                children[r] = None
                pred[r].append(src)
    return JobGraph(
        succ=succ, pred=pred, producer=producer, consumers=consumers, rewritten=tuple(rewritten)
    )
