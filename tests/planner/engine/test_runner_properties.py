"""Property: on any small DAG with any failing nodes, every node runs at most once and after
all its parents, and exactly the nodes with no failing ancestor (or self) succeed."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.engine.runner import Engine


@st.composite
def dags(draw: st.DrawFn) -> tuple[int, set[tuple[int, int]], set[int]]:
    n = draw(st.integers(min_value=1, max_value=7))
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]  # a < b: acyclic
    edges = set(draw(st.lists(st.sampled_from(pairs), max_size=10))) if pairs else set()
    failing = set(draw(st.lists(st.integers(0, n - 1), max_size=2)))
    return n, edges, failing


@settings(max_examples=25, deadline=None)
@given(dags(), st.integers(min_value=1, max_value=3))
def test_order_and_failure_propagation(dag: tuple[int, set[tuple[int, int]], set[int]], slots: int):
    n, edges, failing = dag
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "ok.sub").write_text(
            "executable = /bin/sh\narguments = \"-c 'echo $(JOB) >> ran.txt'\"\nqueue\n"
        )
        (d / "bad.sub").write_text("executable = /bin/sh\narguments = \"-c 'exit 2'\"\nqueue\n")
        lines = [f"JOB N{i} {'bad' if i in failing else 'ok'}.sub" for i in range(n)]
        lines += [f"PARENT N{a} CHILD N{b}" for a, b in sorted(edges)]
        lines += [f"CATEGORY N{i} throttled" for i in range(0, n, 2)]  # parked and released
        lines += ["MAXJOBS throttled 1"]
        (d / "w.dag").write_text("\n".join(lines) + "\n")
        result = Engine(d / "w.dag", slots=slots, progress=False, out=io.StringIO()).run()
        ran = (d / "ran.txt").read_text().split() if (d / "ran.txt").exists() else []

    parents = {i: {a for a, b in edges if b == i} for i in range(n)}

    def blocked(i: int) -> bool:
        return i in failing or any(blocked(p) for p in parents[i])

    expected = {f"N{i}" for i in range(n) if not blocked(i)}
    assert len(ran) == len(set(ran)) and set(ran) == expected
    position = {name: k for k, name in enumerate(ran)}
    for a, b in edges:
        if f"N{b}" in position:
            assert position[f"N{a}"] < position[f"N{b}"]
    reached = [i for i in sorted(failing) if not any(blocked(p) for p in parents[i])]
    assert sorted(result.failed) == sorted(f"N{i}" for i in reached)
    assert len(result.unrunnable) == n - len(expected) - len(reached)
    assert result.succeeded == (not failing)
    assert (result.rescue is None) == (not failing)
