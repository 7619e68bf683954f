"""The job graph of an abstract workflow: explicit edges plus producer -> consumer edges.

Built once, in linear time, and shared by the passes, with its topological order. Nodes are job ids in workflow order.
Plain dicts of successors and lists of predecessors: a networkx DiGraph keeps an attribute
dict per edge and per node, which made building it the largest single cost of planning
10^6 jobs after staging (and about a gigabyte). :meth:`JobGraph.to_networkx` gives one for
the few callers that want networkx's algorithms.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING

from planner.errors import CycleError
from planner.model.generations import walk_generations
from planner.model.workflow import LinkType, Workflow

if TYPE_CHECKING:
    import networkx as nx

_ID = attrgetter("id")


@dataclass(frozen=True, slots=True)
class JobGraph:
    """A workflow's dependency graph with the file maps the passes need.

    ``producer`` maps an LFN to the first job that writes it (``output``/``checkpoint``,
    or ``inout`` when no other job writes it); ``consumers`` maps an LFN to the jobs that
    read it. ``succ`` maps every job id to its children (distinct, in the order the edges
    were first seen); ``pred`` maps every job id to its parents, in the
    same order. Each edge is there once.

    ``order`` holds the jobs reachable from the roots generation by generation (Kahn),
    each generation in the order its jobs became ready (networkx's ``topological_sort``);
    ``ends[g]`` is where generation ``g`` ends in it. ``cyclic`` holds the jobs on or
    behind a cycle, in workflow order (empty for a DAG). All three are filled once by
    :func:`build_job_graph`, so validation and the passes share one walk.
    """

    succ: Mapping[str, Sequence[str]]
    pred: Mapping[str, Sequence[str]]
    producer: dict[str, str] = field(default_factory=dict)
    consumers: Mapping[str, Sequence[str]] = field(default_factory=dict)
    rewritten: tuple[str, ...] = ()  # LFNs that more than one job writes (validation's cue)
    order: tuple[str, ...] = ()
    ends: tuple[int, ...] = ()
    cyclic: tuple[str, ...] = ()

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
        """Job ids, parents before children (:attr:`order`).

        Raises :class:`planner.errors.CycleError` on a cycle (validation names cycles
        first; this is the backstop).
        """
        if self.cyclic:
            stuck = ", ".join(sorted(self.cyclic)[:5])
            raise CycleError(f"the workflow's dependencies form a cycle (jobs include {stuck})")
        return self.order

    def levels(self) -> dict[str, int]:
        """Level of every job: 1 + the longest distance from a root (roots are level 1)."""
        order = self.topological_order()
        level: dict[str, int] = {}
        start = 0
        for depth, end in enumerate(self.ends, start=1):
            level.update(dict.fromkeys(order[start:end], depth))
            start = end
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
    producer, consumers, rewritten = _file_maps(workflow)
    _add_dependencies(succ, pred, workflow.dependencies)
    _add_file_edges(succ, pred, producer, consumers)
    order, ends, cyclic = _generations(succ, pred)
    # Built, the neighbour sets and reader lists become tuples: a small dict costs about
    # 230 bytes, a tuple of two 56 (at 10^5 jobs the graph shrinks by a third, and it
    # lives until staging is done).
    return JobGraph(
        succ={job_id: tuple(children) for job_id, children in succ.items()},
        pred={job_id: tuple(parents) for job_id, parents in pred.items()},
        producer=producer,
        consumers={lfn: tuple(readers) for lfn, readers in consumers.items()},
        rewritten=rewritten,
        order=order,
        ends=ends,
        cyclic=cyclic,
    )


def _file_maps(
    workflow: Workflow,
) -> tuple[dict[str, str], dict[str, list[str]], tuple[str, ...]]:
    """(producer, consumers, rewritten) of :class:`JobGraph`."""
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
    return producer, consumers, tuple(rewritten)


def _add_dependencies(
    succ: dict[str, dict[str, None]],
    pred: dict[str, list[str]],
    dependencies: Iterable[tuple[str, str]],
) -> None:
    for p, c in dependencies:
        children = succ.get(p)
        if children is not None and c not in children and c in pred and p != c:
            children[c] = None
            pred[c].append(p)


def _add_file_edges(
    succ: dict[str, dict[str, None]],
    pred: dict[str, list[str]],
    producer: dict[str, str],
    consumers: dict[str, list[str]],
) -> None:
    for lfn, readers in consumers.items():
        src = producer.get(lfn)
        if src is None:
            continue
        children = succ[src]
        for r in readers:
            if r not in children and r != src:
                children[r] = None
                pred[r].append(src)


def _generations(
    succ: dict[str, dict[str, None]], pred: dict[str, list[str]]
) -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...]]:
    """(order, ends, cyclic) of :class:`JobGraph`, by the one generations walk over
    integer job indices (ids in workflow order)."""
    ids = list(succ)
    index = dict(zip(ids, range(len(ids)), strict=True))
    to_index = index.__getitem__
    kids_of = [list(map(to_index, children)) for children in succ.values()]
    del index
    levels, stuck = walk_generations(kids_of, list(map(len, pred.values())))
    order: list[str] = []
    ends: list[int] = []
    for generation in levels:
        order += map(ids.__getitem__, generation)
        ends.append(len(order))
    return tuple(order), tuple(ends), tuple(map(ids.__getitem__, stuck))
