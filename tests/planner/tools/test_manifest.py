"""How the tools find their manifest: a whole file, or one line of manifests.jsonl."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from planner.tools import cleanup, cluster, register, transfer
from planner.tools.manifest import describe, load_bundled_manifest, read_manifest


def _bundle(tmp_path: Path, docs: list[dict[str, object]]) -> tuple[str, list[str]]:
    """A bundle of ``docs`` (one line each, non-ASCII text included) and their offsets."""
    path = tmp_path / "manifests.jsonl"
    offsets, data = [], b""
    for doc in docs:
        offsets.append(str(len(data)))
        data += (json.dumps(doc, ensure_ascii=False) + "\n").encode("utf-8")
    path.write_bytes(data)
    return str(path), offsets


DOCS: list[dict[str, object]] = [
    {"node": "a", "files": ["file:///tmp/ä"]},
    {"node": "b", "files": []},
    {"node": "c", "transfers": []},
]


def test_each_offset_gives_its_own_line(tmp_path: Path) -> None:
    bundle, offsets = _bundle(tmp_path, DOCS)
    for doc, offset in zip(DOCS, offsets, strict=True):
        assert load_bundled_manifest(bundle, offset, str(doc["node"]), "t") == doc
        assert read_manifest([bundle, offset, str(doc["node"])], "t") == doc


def test_a_whole_file_is_still_a_manifest(tmp_path: Path) -> None:
    m = tmp_path / "m.json"
    m.write_text('{"files": []}')
    assert read_manifest([str(m)], "t") == {"files": []}
    assert describe([str(m)]) == str(m)
    assert describe(["b.jsonl", "7", "n"]) == "b.jsonl@7 (node n)"


@pytest.mark.parametrize(
    ("offset", "node", "message"),
    [
        ("x", "a", r"byte offset 'x' for node a in manifest bundle .* is not a non-negative"),
        ("-1", "a", r"byte offset '-1' for node a .* is not a non-negative integer"),
        ("3", "a", r"byte offset 3 of manifest bundle .* is not the start of a line \(node a\)"),
        ("99999", "a", r"byte offset 99999 of manifest bundle .* at or past its end \(node a\)"),
        ("0", "b", r"the line at byte offset 0 of .* is the manifest of node 'a', not of 'b'"),
    ],
)
def test_a_bad_reference_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], offset: str, node: str, message: str
) -> None:
    bundle, _ = _bundle(tmp_path, DOCS)
    with pytest.raises(SystemExit) as info:
        load_bundled_manifest(bundle, offset, node, "wfplan-x")
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("wfplan-x: ")
    assert bundle in err
    assert re.search(message, err), err


DEEP = b"[" * 100_000 + b"]" * 100_000 + b"\n"


@pytest.mark.parametrize("line", [b"{not json\n", b"[1, 2]\n", b"\xff\xfe\n", DEEP])
def test_a_line_that_is_not_a_manifest_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: bytes
) -> None:
    path = tmp_path / "manifests.jsonl"
    path.write_bytes(line)
    with pytest.raises(SystemExit) as info:
        load_bundled_manifest(str(path), "0", "a", "wfplan-x")
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "byte offset 0 of manifest bundle" in err
    assert "not JSON" in err or "not a JSON object" in err


def test_a_whole_manifest_nested_too_deeply_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(DEEP)
    with pytest.raises(SystemExit) as info:
        read_manifest([str(path)], "wfplan-x")
    assert info.value.code == 1
    assert capsys.readouterr().err == f"wfplan-x: manifest {path} is not JSON: nested too deeply\n"


def test_a_missing_bundle_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gone = str(tmp_path / "gone.jsonl")
    with pytest.raises(SystemExit):
        load_bundled_manifest(gone, "0", "a", "wfplan-x")
    assert f"cannot read manifest bundle {gone}" in capsys.readouterr().err


def test_every_tool_takes_the_bundle_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    src, doomed = tmp_path / "src.txt", tmp_path / "doomed.txt"
    src.write_text("x")
    doomed.write_text("y")
    db = tmp_path / "rc.db"
    docs: list[dict[str, object]] = [
        {"node": "in", "transfers": [{"lfn": "f", "src": [src.as_uri()], "dst": "copy.txt"}]},
        {"node": "rm", "files": [doomed.as_uri()]},
        {
            "node": "reg",
            "catalog": str(db),
            "replicas": [{"lfn": "f", "pfn": "file:///o/f", "site": "local"}],
        },
        {"node": "run", "tasks": [{"id": "t", "executable": "/bin/sh", "arguments": ["-c", ":"]}]},
    ]
    bundle, offsets = _bundle(tmp_path, docs)
    assert transfer.main([bundle, offsets[0], "in"]) == 0
    assert (tmp_path / "copy.txt").read_text() == "x"
    assert cleanup.main([bundle, offsets[1], "rm"]) == 0
    assert not doomed.exists()
    assert register.main([bundle, offsets[2], "reg"]) == 0 and db.exists()
    assert cluster.main([bundle, offsets[3], "run"]) == 0


@pytest.mark.parametrize("tool", [transfer, cleanup, register, cluster])
def test_two_arguments_are_a_usage_error(tool: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert tool.main(["b.jsonl", "0"]) == 2  # type: ignore[attr-defined]
    assert "MANIFEST | BUNDLE OFFSET NODE" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("tool", "name"),
    [
        (transfer, "wfplan-transfer"),
        (cleanup, "wfplan-cleanup"),
        (register, "wfplan-register"),
        (cluster, "wfplan-cluster"),
    ],
)
@pytest.mark.parametrize("args", [[], ["b.jsonl", "0"], ["b.jsonl", "0", "n", "x"]])
def test_a_usage_error_is_one_line_naming_the_tool(
    tool: object, name: str, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 2, nothing on stdout, and exactly the usage line on stderr: no file is read."""
    assert tool.main(args) == 2  # type: ignore[attr-defined]
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"usage: {name} MANIFEST | BUNDLE OFFSET NODE\n")
