"""wfplan-transfer against slow http servers: deadlines, bounded retries, a log of every
source left, and no temporary file left behind when it fails or is stopped.

The servers are raw sockets on 127.0.0.1 that misbehave on purpose; the tool runs as a
real process where time or signals matter, with small deadlines set through the
``WFPLAN_TRANSFER_*`` environment variables.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from planner.tools import transfer
from planner.tools.deadlines import BadLimit, HttpLimits, limits_from, planned_limits

TOOL = Path(sys.executable).parent / "wfplan-transfer"
LIMIT = 20.0  # seconds any run of the tool may take here before the test gives up


@dataclass
class SlowServer:
    """Accepts connections; ``mode`` "silent" never answers, "trickle" sends a 200 with
    ``size`` announced and then one byte every ``interval`` seconds."""

    mode: str
    size: int = 100
    interval: float = 0.2
    accepted: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def serve(self, listener: socket.socket) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue  # look at stop again
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            if self.mode == "silent":
                self.stop.wait(LIMIT)
                return
            request = b""
            while b"\r\n\r\n" not in request and not self.stop.is_set():
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            try:
                conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {self.size}\r\n\r\n".encode())
                for _ in range(self.size):
                    if self.stop.wait(self.interval):
                        return
                    conn.sendall(b"x")
            except OSError:
                return  # the client gave up


@pytest.fixture
def slow_server() -> Iterator[SlowServer]:
    """A silent server; a test may change ``mode`` and the trickle before using it."""
    server = SlowServer(mode="silent")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    server.url = f"http://127.0.0.1:{listener.getsockname()[1]}/f.dat"

    thread = threading.Thread(target=server.serve, args=(listener,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        listener.close()
        thread.join(2)


def _manifest(tmp_path: Path, transfers: list[dict[str, object]], **extra: object) -> Path:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"transfers": transfers, **extra}))
    return path


def _env(**limits: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WFPLAN_TRANSFER_")}
    env.update({f"WFPLAN_TRANSFER_{k.upper()}": v for k, v in limits.items()})
    return env


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_server_that_never_answers_is_left_after_bounded_attempts(
    tmp_path: Path, slow_server: SlowServer
) -> None:
    out = tmp_path / "out"
    m = _manifest(tmp_path, [{"lfn": "f.dat", "src": [slow_server.url], "dst": str(out / "f")}])
    started = time.monotonic()
    done = subprocess.run(
        [str(TOOL), str(m)],
        env=_env(read_timeout="0.3", min_deadline="5", attempts="2"),
        capture_output=True,
        text=True,
        timeout=LIMIT,
    )
    took = time.monotonic() - started
    assert done.returncode == 1
    assert slow_server.accepted == 2  # one GET per attempt, then the source is left
    lines = done.stderr.strip().splitlines()
    assert "attempt 1 of 2 failed (no data for 0.3 s), retrying" in lines[0]
    assert lines[-1].startswith("wfplan-transfer: f.dat: could not transfer")
    assert f"{slow_server.url}: no data for 0.3 s" in lines[-1]
    assert took < 5  # two read timeouts and a backoff, not minutes
    assert _leftovers(out) == []


def test_a_trickling_server_is_left_at_its_deadline(
    tmp_path: Path, slow_server: SlowServer
) -> None:
    slow_server.mode = "trickle"  # 100 bytes, one each 0.2 s: 20 s to finish
    # allowed: max(1 s, 100 bytes at 100 bytes/s) = 1 s
    out = tmp_path / "out"
    m = _manifest(tmp_path, [{"lfn": "f.dat", "src": [slow_server.url], "dst": str(out / "f")}])
    started = time.monotonic()
    done = subprocess.run(
        [str(TOOL), str(m)],
        env=_env(min_deadline="1", min_rate="100"),
        capture_output=True,
        text=True,
        timeout=LIMIT,
    )
    took = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    assert "too slow:" in done.stderr and "past the deadline of 1 s" in done.stderr
    assert slow_server.accepted == 1  # a source behind its deadline is not asked again
    assert 1 < took < 5
    assert _leftovers(out) == []


def test_a_steady_download_may_take_longer_than_the_floor(
    tmp_path: Path, slow_server: SlowServer
) -> None:
    slow_server.mode, slow_server.size, slow_server.interval = "trickle", 12, 0.1
    dst = tmp_path / "f"
    m = _manifest(tmp_path, [{"lfn": "f.dat", "src": [slow_server.url], "dst": str(dst)}])
    # it takes ~1.2 s, past the 0.5 s floor but within the 2 s that 12 bytes at 6 bytes/s get
    limits = HttpLimits(min_deadline=0.5, min_rate=6)
    assert transfer.run_transfers(json.loads(m.read_text())["transfers"], limits=limits) == []
    assert dst.read_bytes() == b"x" * 12


def test_sigterm_mid_download_leaves_no_part_file(tmp_path: Path, slow_server: SlowServer) -> None:
    slow_server.mode = "trickle"
    out = tmp_path / "out"
    m = _manifest(tmp_path, [{"lfn": "f.dat", "src": [slow_server.url], "dst": str(out / "f")}])
    proc = subprocess.Popen([str(TOOL), str(m)], env=_env(), stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + LIMIT
        while not (out.is_dir() and _leftovers(out)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _leftovers(out) and _leftovers(out)[0].startswith(".f.wfplan-part")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=LIMIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _leftovers(out) == []
    assert proc.returncode == -signal.SIGTERM  # still dies of the signal, after cleaning up
    assert "stopped by SIGTERM" in err


def test_a_checksum_mismatch_then_a_good_mirror_is_logged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad, good = tmp_path / "bad.dat", tmp_path / "good.dat"
    bad.write_bytes(b"wrong")
    good.write_bytes(b"right")
    want, found = hashlib.sha256(b"right").hexdigest(), hashlib.sha256(b"wrong").hexdigest()
    dst = tmp_path / "f.dat"
    m = _manifest(
        tmp_path,
        [{"lfn": "f.dat", "src": [bad.as_uri(), good.as_uri()], "dst": str(dst), "sha256": want}],
    )
    assert transfer.main([str(m)]) == 0
    assert dst.read_bytes() == b"right"
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"wfplan-transfer: f.dat: left source 1 of 2: sha256 mismatch from {bad.as_uri()}: "
        f"expected {want}, found {found}",
        f"wfplan-transfer: f.dat: delivered by {good.as_uri()} after 1 source(s) left",
    ]


def test_limits_come_from_the_manifest_over_the_environment(
    tmp_path: Path, slow_server: SlowServer
) -> None:
    out = tmp_path / "out"
    m = _manifest(
        tmp_path,
        [{"lfn": "f.dat", "src": [slow_server.url], "dst": str(out / "f")}],
        http={"read_timeout": 0.2, "attempts": 1},
    )
    done = subprocess.run(
        [str(TOOL), str(m)],
        env=_env(read_timeout="600", attempts="5"),
        capture_output=True,
        text=True,
        timeout=LIMIT,
    )
    assert done.returncode == 1 and "no data for 0.2 s" in done.stderr
    assert slow_server.accepted == 1


def test_limits_precedence_and_defaults() -> None:
    assert limits_from({}, {}) == HttpLimits()
    env = {"WFPLAN_TRANSFER_MIN_RATE": "100", "WFPLAN_TRANSFER_ATTEMPTS": "4"}
    limits = limits_from({"http": {"attempts": 2}}, env)
    assert (limits.min_rate, limits.attempts) == (100.0, 2)
    assert limits.deadline(10) == limits.min_deadline
    assert limits.deadline(10**9) == 10**9 / 100


@pytest.mark.parametrize(
    ("manifest", "env", "named"),
    [
        ({"http": {"min_rate": 0}}, {}, 'manifest key "http.min_rate" is 0'),
        ({"http": {"attempts": 1.5}}, {}, 'manifest key "http.attempts" is 1.5'),
        ({"http": {"speed": 1}}, {}, 'manifest key "http.speed" is not one of'),
        ({"http": [1]}, {}, 'manifest key "http" is [1], not an object'),
        ({}, {"WFPLAN_TRANSFER_CONNECT_TIMEOUT": "nan"}, "WFPLAN_TRANSFER_CONNECT_TIMEOUT is"),
        ({"http": {"read_timeout": True}}, {}, 'manifest key "http.read_timeout" is True'),
    ],
)
def test_bad_limits_are_named(manifest: dict[str, object], env: dict[str, str], named: str) -> None:
    with pytest.raises(BadLimit, match=named.replace("[", r"\[").replace("]", r"\]")):
        limits_from(manifest, env)


def test_a_bad_limit_in_the_manifest_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    m = _manifest(tmp_path, [], http={"min_deadline": -1})
    assert transfer.main([str(m)]) == 1
    err = capsys.readouterr().err
    assert err == 'wfplan-transfer: manifest key "http.min_deadline" is -1, not a positive number\n'


def test_planned_limits_name_the_property() -> None:
    props = {"pegasus.transfer.http.min.rate": "1024", "pegasus.transfer.http.attempts": "5"}
    assert planned_limits(props) == {"attempts": 5, "min_rate": 1024.0}
    assert planned_limits({"pegasus.selector.site": "random"}) == {}
    with pytest.raises(BadLimit, match=r"pegasus.transfer.http.connect.timeout in conf"):
        planned_limits({"pegasus.transfer.http.connect.timeout": "soon"}, "conf")


def test_main_outside_the_main_thread_sets_no_handlers(tmp_path: Path) -> None:
    src = tmp_path / "a"
    src.write_text("a")
    m = _manifest(tmp_path, [{"lfn": "a", "src": [src.as_uri()], "dst": str(tmp_path / "b")}])
    codes: list[int] = []
    worker = threading.Thread(target=lambda: codes.append(transfer.main([str(m)])))
    worker.start()
    worker.join(LIMIT)
    assert codes == [0] and (tmp_path / "b").read_text() == "a"
