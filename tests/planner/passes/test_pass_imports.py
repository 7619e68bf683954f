"""A pass never imports another pass: what passes share lives in the model or beside it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import planner.passes

PASSES = Path(planner.passes.__file__).parent
# the passes after clustering: staging sites, replica selection, staging and the three
# that add nodes to its plan
STAGING_PASSES = ("staging_sites", "select_replicas", "stage", "register", "create_dirs", "cleanup")


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


@pytest.mark.parametrize("path", sorted(PASSES.glob("*.py")), ids=lambda p: p.stem)
def test_no_pass_imports_a_staging_pass(path: Path) -> None:
    imported = _imported(path)
    own = f"planner.passes.{path.stem}"
    bad = sorted(
        name
        for name in imported
        for stem in STAGING_PASSES
        if name == f"planner.passes.{stem}" and name != own
    )
    assert bad == []


# --cluster auto is the clustering pass's other mode: it runs the clustering pass's own
# horizontal clustering for each candidate count, so it may import that one pass
_MODE_OF = {"autocluster": "planner.passes.cluster"}


@pytest.mark.parametrize("path", sorted(PASSES.glob("*.py")), ids=lambda p: p.stem)
def test_no_pass_imports_another_pass(path: Path) -> None:
    imported = _imported(path)
    allowed = {f"planner.passes.{path.stem}", _MODE_OF.get(path.stem)}
    others = sorted(
        name
        for name in imported
        if name.startswith("planner.passes.") and name.count(".") == 2 and name not in allowed
    )
    assert others == []
