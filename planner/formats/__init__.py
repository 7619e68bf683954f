"""Workflow readers and writers, one module per format; pick one by file extension.

>>> from planner.formats import load_workflow
>>> wf = load_workflow("diamond.yml")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

from planner.errors import FormatError
from planner.model.workflow import Workflow

# extension -> reader module under planner.formats
READERS: dict[str, str] = {
    ".yml": "pegasus_yaml",
    ".yaml": "pegasus_yaml",
    ".xml": "dax",
    ".dax": "dax",
    ".json": "wfformat",
}
WRITERS: dict[str, str] = {".yml": "pegasus_yaml", ".yaml": "pegasus_yaml"}


def _suffix(path: str | os.PathLike[str]) -> str:
    return Path(path).suffix.lower()


def load_workflow(path: str | os.PathLike[str]) -> Workflow:
    """Read a workflow, choosing the reader by extension (.yml/.yaml Pegasus YAML,
    .xml/.dax DAX, .json WfFormat)."""
    import importlib

    module_name = READERS.get(_suffix(path))
    if module_name is None:
        known = ", ".join(READERS)
        raise FormatError(
            f"unknown workflow format {_suffix(path) or '(no extension)'!r} (known: {known})",
            source=str(path),
        )
    if not Path(path).is_file():
        raise FormatError("no such workflow file", source=str(path))
    module = importlib.import_module(f"planner.formats.{module_name}")
    workflow: Workflow = module.load(path)
    return workflow


def check_writable(path: str | os.PathLike[str]) -> None:
    """Refuse, before any work, an output path whose format wfplan cannot write."""
    if _suffix(path) not in WRITERS:
        raise FormatError(
            f"cannot write {_suffix(path) or 'files without an extension'!r}: only Pegasus "
            "YAML (.yml/.yaml) is writable; DAX (.xml/.dax) and WfFormat (.json) are read-only",
            source=str(path),
        )


def dump_workflow(workflow: Workflow, path: str | os.PathLike[str]) -> None:
    """Write a workflow in the format named by ``path``'s extension (only Pegasus YAML is
    writable; DAX and WfFormat are read-only)."""
    check_writable(path)
    from planner.formats import pegasus_yaml

    pegasus_yaml.dump(workflow, path)
