"""Inputs of the makespan simulator: the overhead model, the network and the node graph.

The overhead model's parameters follow semantics.md §3 (HTCondor DAGMan):

* ``cycle``: DAGMan works in cycles of ``DAGMAN_USER_LOG_SCAN_INTERVAL`` (5 s). A node
  that finished is noticed at the first cycle after it finished, and only then are its
  children released; ``0`` means "continuous" (an event loop that reacts at once).
* ``max_submits_per_cycle``: ``DAGMAN_MAX_SUBMITS_PER_INTERVAL`` (100): at most this many
  jobs are submitted per cycle, i.e. about 20 jobs/s; ``None`` means unlimited.
* ``scheduling_delay``: seconds between a job's submission and the moment it may start
  on a free slot (negotiation, matchmaking, shadow/starter start-up); it holds no slot.
* ``release_delay``: a fixed delay between a node finishing and its children being
  released, on top of the cycle (e.g. the embedded engine's polling latency).
* ``job_overhead``: seconds each job holds its slot beyond its runtime (process start-up,
  wrappers, POST script).
* ``task_overhead``: seconds per member task of a compute/cluster node (the cluster
  runner starts one process per member).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field, ValidationError, field_validator

from catalogs.jsonio import loads_json
from planner.input_model import InputModel
from planner.sim.errors import SimulationError

MIN_CYCLE = 1e-3  # seconds; shorter cycles are a typo, and overflow the cycle count


class OverheadModel(InputModel):
    """Per-job costs of the engine that runs the DAG (see the module docstring)."""

    name: str = "custom"
    cycle: float = Field(default=0.0, ge=0.0)
    max_submits_per_cycle: int | None = Field(default=None, ge=1)
    scheduling_delay: float = Field(default=0.0, ge=0.0)
    release_delay: float = Field(default=0.0, ge=0.0)
    job_overhead: float = Field(default=0.0, ge=0.0)
    task_overhead: float = Field(default=0.0, ge=0.0)

    @field_validator("cycle")
    @classmethod
    def _cycle_is_zero_or_a_real_interval(cls, value: float) -> float:
        if 0.0 < value < MIN_CYCLE:
            raise ValueError(f"must be 0 (no cycle) or at least {MIN_CYCLE} s")
        return value


class Network(InputModel):
    """Bandwidth in bytes/s, per (source site, destination site) pair, with a default.

    ``pairs`` keys are ``"src->dst"``; ``latency`` is added once per file moved.
    """

    default_bandwidth: float = Field(default=100e6, gt=0.0)
    pairs: dict[str, float] = Field(default_factory=dict)
    latency: float = Field(default=0.0, ge=0.0)

    def bandwidth(self, src: str, dst: str) -> float:
        return self.pairs.get(f"{src}->{dst}", self.default_bandwidth)


NONE = OverheadModel(name="none")

# HTCondor >= 8.7 (2018) defaults: 100 submits per 5 s cycle, 5 s log scan. The
# scheduling delay is what a personal pool adds per job (a chain link costs 5-15 s).
DAGMAN = OverheadModel(
    name="dagman", cycle=5.0, max_submits_per_cycle=100, scheduling_delay=2.0, job_overhead=0.5
)

# The pre-2018 DAGMan of the Montage grid paper: about one submitted job per second.
DAGMAN_2005 = OverheadModel(
    name="dagman-2005", cycle=1.0, max_submits_per_cycle=1, scheduling_delay=2.0, job_overhead=0.5
)

# The embedded engine: a process start per job and per cluster member, and the engine's
# own bookkeeping per node. Replaced by bench/results/engine_overhead.json when present.
LOCAL_DEFAULT = OverheadModel(name="local", job_overhead=0.01, task_overhead=0.005)

BUILTIN: dict[str, OverheadModel] = {
    "none": NONE,
    "dagman": DAGMAN,
    "dagman-2005": DAGMAN_2005,
}

ENGINE_OVERHEAD_JSON = (
    Path(__file__).resolve().parents[2] / "bench" / "results" / "engine_overhead.json"
)


def load_overhead(spec: str, *, engine_results: Path = ENGINE_OVERHEAD_JSON) -> OverheadModel:
    """An overhead model by name (``none``, ``dagman``, ``dagman-2005``, ``local``) or
    from a JSON file holding :class:`OverheadModel` fields.

    >>> load_overhead("dagman").cycle
    5.0
    """
    if spec in BUILTIN:
        return BUILTIN[spec]
    if spec == "local":
        return local_overhead(engine_results)
    path = Path(spec)
    if not path.is_file():
        raise SimulationError(
            f"unknown overhead model {spec!r}: not one of "
            f"{', '.join([*BUILTIN, 'local'])} and no such JSON file"
        )
    return _model_from_file(path)


def _model_from_file(path: Path) -> OverheadModel:
    data = _read_object(path, "overhead model")
    data.setdefault("name", path.stem)
    return _validated(data, "overhead model", path)


def local_overhead(engine_results: Path = ENGINE_OVERHEAD_JSON) -> OverheadModel:
    """The embedded engine's measured per-node cost (``bench/engine_overhead.py`` writes
    it), or :data:`LOCAL_DEFAULT` when the benchmark has not been run.

    Accepted keys: the :class:`OverheadModel` fields, or ``per_node_seconds`` (the
    engine's cost per no-op node, which becomes ``job_overhead``).
    """
    if not engine_results.is_file():
        return LOCAL_DEFAULT
    data = _read_object(engine_results, "engine overhead")
    fields = {k: v for k, v in data.items() if k in OverheadModel.model_fields}
    per_node = data.get("per_node_seconds")
    if isinstance(per_node, int | float) and "job_overhead" not in fields:
        fields["job_overhead"] = float(per_node)
    fields["name"] = "local"
    base = LOCAL_DEFAULT.model_dump()
    base.update(fields)
    return _validated(base, "engine overhead", engine_results)


def _read_object(path: Path, what: str) -> dict[str, object]:
    """The JSON object in ``path``; ``what`` names it in the error."""
    try:
        data = loads_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SimulationError(f"cannot read {what}: {exc}", source=str(path))
    if not isinstance(data, dict):
        raise SimulationError(f"{what} must be a JSON object", source=str(path))
    return data


def _validated(data: dict[str, object], what: str, path: Path) -> OverheadModel:
    """``data`` as an :class:`OverheadModel`; the error names the first bad field."""
    try:
        return OverheadModel.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SimulationError(f"{what} field {where!r}: {first['msg']}", source=str(path))


@dataclass(frozen=True)
class SimGraph:
    """The concrete workflow as the simulator needs it: parallel tuples indexed by node.

    ``duration`` excludes overheads (runtime, or transfer time); ``tasks`` counts the
    abstract jobs a node runs (0 for auxiliary nodes); ``parents`` are node indices.
    """

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    sites: tuple[str, ...]
    duration: tuple[float, ...]
    tasks: tuple[int, ...]
    parents: tuple[tuple[int, ...], ...]
    unknown_runtime: int = 0  # compute/cluster nodes whose runtime was unknown (0 s)
    categories: tuple[str | None, ...] = ()  # DAGMan CATEGORY per node (empty: none)
    category_limits: Mapping[str, int] = field(default_factory=dict)  # MAXJOBS

    def __len__(self) -> int:
        return len(self.names)
