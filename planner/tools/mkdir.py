"""``wfplan-mkdir URL ...``: make sure each directory exists (``file://`` or a path)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from planner.tools.transfer import TransferFailed, url_to_path

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: wfplan-mkdir URL ...", file=sys.stderr)
        return 2
    failed = 0
    for url in args:
        try:
            url_to_path(url).mkdir(parents=True, exist_ok=True)
        except TransferFailed as exc:
            print(f"wfplan-mkdir: {url}: {exc}", file=sys.stderr)
            failed += 1
        except OSError as exc:
            print(f"wfplan-mkdir: {url}: {exc.strerror or exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
