"""Emitters: the only code that writes a submit directory.

``write_submit_dir(cw, submit_dir)`` writes ``<wf>.dag``, the submit descriptions, the job
manifests, ``plan.json`` and copies of the catalogs used (docs/submit-dir.md).
"""

from __future__ import annotations

from planner.emit.quoting import quote_arguments, quote_environment
from planner.emit.writer import (
    DEFAULT_EMIT_MODE,
    EMIT_MODES,
    EmitMode,
    check_submit_dir,
    write_submit_dir,
)

__all__ = [
    "DEFAULT_EMIT_MODE",
    "EMIT_MODES",
    "EmitMode",
    "check_submit_dir",
    "quote_arguments",
    "quote_environment",
    "write_submit_dir",
]
