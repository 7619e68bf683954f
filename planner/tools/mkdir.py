"""``wfplan-mkdir URL ...``: make sure each directory exists (``file://``, a path, or http(s)).

An ``http(s)://`` directory is on a file server (a staging site behind a staging server).
A plain PUT server (nginx's ``dav_methods PUT`` with ``create_full_put_path``, the test
server) creates directories as files arrive and has no verb to make one: the tool asks
with WebDAV's MKCOL and takes 405 (Method Not Allowed: WebDAV's "exists", a plain
server's "no such verb") and 501 (Not Implemented) as done. A WebDAV server creates the
collection (201), and its missing parents first when it answers 409 (Conflict).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

from planner.tools.transfer import TransferFailed, http_request, is_http, url_to_path

__all__ = ["main", "make_remote_dir"]

_DONE = (405, 501)  # exists, or a server that makes directories on PUT
_CONFLICT = 409  # WebDAV: the parent collection is missing


def make_remote_dir(url: str) -> None:
    """Make sure the http(s) directory ``url`` can receive files (see the module doc)."""
    target = url.rstrip("/") + "/"  # WebDAV names a collection with a trailing slash
    status = http_request("MKCOL", target, ok=(*_DONE, _CONFLICT))
    if status != _CONFLICT:
        return
    parts = urlsplit(target)
    parent_path = parts.path.rstrip("/").rpartition("/")[0]
    if not parent_path:
        raise TransferFailed(f"MKCOL {target}: HTTP 409 Conflict at the server's root")
    make_remote_dir(urlunsplit(parts._replace(path=parent_path + "/")))
    http_request("MKCOL", target, ok=_DONE)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: wfplan-mkdir URL ...", file=sys.stderr)
        return 2
    failed = 0
    for url in args:
        try:
            if is_http(url):
                make_remote_dir(url)
            else:
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
