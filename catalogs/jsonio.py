"""JSON reading shared by every reader of a JSON file (workflows, plan records, models).

Python's JSON parser recurses once per nesting level and gives up with ``RecursionError``
at about a thousand levels. :func:`loads_json` turns that into a ``ValueError`` (what every
reader already reports as "not JSON"), so a hostile or broken file nested 10^5 deep gets
the same one-line error as any other bad JSON, never a traceback. Catching the error costs
nothing on the normal path, unlike a depth scan of a 10^6-job file.
"""

from __future__ import annotations

import json
import sys
from typing import Any

__all__ = ["JSONTooDeep", "loads_json"]


class JSONTooDeep(ValueError):
    """JSON nested deeper than Python's parser can follow."""


def loads_json(text: str | bytes) -> Any:
    """``json.loads``, with nesting too deep for Python raised as :class:`JSONTooDeep`
    (a ``ValueError``, as ``json.JSONDecodeError`` is)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise JSONTooDeep(
            f"JSON nested too deeply (more than about {sys.getrecursionlimit()} levels)"
        ) from None
