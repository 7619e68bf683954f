"""A real http file server for the tests of a site behind a staging server.

``file_server`` serves a temporary directory on 127.0.0.1 (port 0, in a thread) with GET,
PUT (parents created, the body written to a temporary name then renamed) and DELETE, as a
plain PUT server does (nginx with ``dav_methods PUT``); MKCOL is not implemented (501).
``dav = True`` makes it a small WebDAV server for MKCOL (201, 405 when it exists, 409
when the parent is missing). Every request is recorded as ``(method, path, status)``;
``fail[(method, path)] = status`` makes that request fail.
"""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest


@dataclass
class FileServer:
    root: Path
    url: str = ""
    dav: bool = False
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    fail: dict[tuple[str, str], int] = field(default_factory=dict)

    def methods(self, method: str) -> list[str]:
        """The paths of the requests made with ``method``, in order."""
        return [p for m, p, _ in self.requests if m == method]


def _handler(state: FileServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _path(self) -> tuple[str, Path]:
            path = unquote(urlsplit(self.path).path)
            local = (state.root / path.lstrip("/")).resolve()
            if not local.is_relative_to(state.root.resolve()):
                raise PermissionError(path)
            return path, local

        def _reply(self, method: str, path: str, status: int, body: bytes = b"") -> None:
            state.requests.append((method, path, status))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def _forced(self, method: str, path: str) -> bool:
            status = state.fail.get((method, path))
            if status is None:
                return False
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._reply(method, path, status)
            return True

        def do_GET(self) -> None:
            path, local = self._path()
            if self._forced("GET", path):
                return
            if not local.is_file():
                self._reply("GET", path, 404)
                return
            self._reply("GET", path, 200, local.read_bytes())

        def do_PUT(self) -> None:
            path, local = self._path()
            if self._forced("PUT", path):
                return
            length = int(self.headers["Content-Length"])
            local.parent.mkdir(parents=True, exist_ok=True)
            tmp = local.with_name(f".{local.name}.put")
            tmp.write_bytes(self.rfile.read(length))
            os.replace(tmp, local)
            self._reply("PUT", path, 201)

        def do_DELETE(self) -> None:
            path, local = self._path()
            if self._forced("DELETE", path):
                return
            if not local.is_file():
                self._reply("DELETE", path, 404)
                return
            local.unlink()
            self._reply("DELETE", path, 204)

        def do_MKCOL(self) -> None:
            path, local = self._path()
            if self._forced("MKCOL", path):
                return
            if not state.dav:
                self._reply("MKCOL", path, 501)
            elif local.exists():
                self._reply("MKCOL", path, 405)
            elif not local.parent.is_dir():
                self._reply("MKCOL", path, 409)
            else:
                local.mkdir()
                self._reply("MKCOL", path, 201)

    return Handler


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[FileServer]:
    """A GET/PUT/DELETE server over ``tmp_path/served`` at ``file_server.url``."""
    state = FileServer(root=tmp_path / "served")
    state.root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
