"""``wfplan-exitcode NODE RETURN``: the SCRIPT POST of every node (docs/job-tools.md).

Exit 0 iff ``RETURN`` is 0. DAGMan passes a negative ``$RETURN`` when the job was killed
by a signal (``-9`` for SIGKILL) or never ran (``-100x``).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence

__all__ = ["describe", "main"]


def describe(code: int) -> str:
    """Say in words what a DAGMan ``$RETURN`` value means."""
    if code > 0:
        return f"job exited with {code}"
    if -64 < code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"job was killed by {name} ($RETURN {code})"
    return f"job did not run or did not finish normally ($RETURN {code})"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: wfplan-exitcode NODE RETURN", file=sys.stderr)
        return 2
    node, value = args
    try:
        code = int(value)
    except ValueError:
        print(f"node {node} failed: $RETURN is not a number: {value!r}")
        return 1
    if code == 0:
        return 0
    print(f"node {node} failed: {describe(code)}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
