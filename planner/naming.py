"""The names the planner gives DAG nodes."""

from __future__ import annotations

import re

__all__ = ["safe_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def safe_name(name: str) -> str:
    """A DAG node name: only ``[A-Za-z0-9_-]`` (DAGMan rejects ``.`` in names).

    >>> safe_name("stage_in_local_condor.pool_0")
    'stage_in_local_condor_pool_0'
    """
    return _UNSAFE.sub("_", name)
