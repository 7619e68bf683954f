"""The ``wfplan`` entry point: version, one-line errors, quiet exits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from planner import __version__
from planner.cli import main

WFPLAN = [sys.executable, "-m", "planner.cli"]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"wfplan {__version__}"


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    from planner.cli import COMMANDS

    for name in COMMANDS:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0, name
        assert "usage: wfplan " + name in capsys.readouterr().out


def test_reader_going_away_is_not_a_traceback(shared_data: Path) -> None:
    proc = subprocess.Popen(
        [*WFPLAN, "info", "--json", str(shared_data / "dax" / "CyberShake_1000.xml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `| head` exiting before wfplan writes
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 141
    assert "Traceback" not in err


def test_submit_without_a_pool_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "w.dag").write_text("JOB a a.sub\n", encoding="utf-8")
    (tmp_path / "a.sub").write_text("executable = /bin/true\nqueue\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CONDOR_CONFIG"}
    done = subprocess.run(
        [*WFPLAN, "submit", str(tmp_path)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wfplan: error: "), done.stderr
