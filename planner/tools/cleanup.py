"""``wfplan-cleanup MANIFEST``: remove the listed files; a file already gone is fine.

An ``http(s)://`` file (on a staging site's file server) is removed with HTTP DELETE;
404 and 410 mean it is already gone.

The manifest may also be named as ``BUNDLE OFFSET NODE`` (planner.tools.manifest).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from typing import Any

from planner.tools.manifest import run_with_manifest
from planner.tools.transfer import TransferFailed, http_request, is_http, url_to_path

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    return run_with_manifest("wfplan-cleanup", argv, _clean)


def _clean(doc: dict[str, Any], name: str) -> int:
    """Remove the manifest's ``files``; 1 when any could not be removed."""
    failed = 0
    for url in doc.get("files", []):
        try:
            if is_http(url):
                http_request("DELETE", url, ok=(404, 410))
                continue
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
