"""``wfplan-cleanup MANIFEST``: remove the listed files; a file already gone is fine."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence

from planner.tools.transfer import TransferFailed, load_manifest, url_to_path

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: wfplan-cleanup MANIFEST", file=sys.stderr)
        return 2
    doc = load_manifest(args[0], "wfplan-cleanup")
    failed = 0
    for url in doc.get("files", []):
        try:
            path = url_to_path(url)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        except (TransferFailed, OSError) as exc:
            print(f"wfplan-cleanup: {url}: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
