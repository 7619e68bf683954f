"""A compact manifest (defaults left out, URL directories in "prefixes") makes every tool
do what the same manifest written out in full does; an old, explicit one still works."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from planner.emit.submit import EmitContext, tool_manifest_json
from planner.model.concrete import Node, NodeKind, Transfer
from planner.tools import cleanup, register, transfer
from planner.tools.manifest import expand_prefixes, read_manifest


def _files(tmp_path: Path) -> tuple[Transfer, ...]:
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir(exist_ok=True)
    for name in ("a.dat", "b.dat", "c.dat"):
        (src / name).write_text(name)
    return tuple(
        Transfer(lfn=n, dst=(dst / n).as_uri(), src=((src / n).as_uri(),), site="local")
        for n in ("a.dat", "b.dat", "c.dat")
    )


def _explicit(node: Node, catalog: str) -> dict[str, Any]:
    """What releases before the compact form wrote: every field, every URL in full."""
    if node.kind is NodeKind.CLEANUP:
        return {"files": [t.dst for t in node.files]}
    if node.kind is NodeKind.REGISTER:
        return {
            "catalog": catalog,
            "replicas": [
                {"lfn": t.lfn, "pfn": t.dst, "site": t.site, "sha256": None} for t in node.files
            ],
        }
    return {
        "transfers": [
            {"lfn": t.lfn, "src": list(t.src), "dst": t.dst, "sha256": None, "symlink": False}
            for t in node.files
        ]
    }


def _write_both(tmp_path: Path, node: Node, catalog: str) -> tuple[Path, Path]:
    ctx = EmitContext(submit_dir=tmp_path, tools_dir=tmp_path, workflow="w", output_rc=catalog)
    compact = tmp_path / "compact.json"
    compact.write_text(tool_manifest_json(node, ctx, False))
    explicit = tmp_path / "explicit.json"
    explicit.write_text(json.dumps(_explicit(node, catalog)))
    assert "prefixes" in json.loads(compact.read_text())  # the compact form is exercised
    assert compact.stat().st_size < explicit.stat().st_size
    return compact, explicit


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_transfer_does_the_same_from_either_form(tmp_path: Path) -> None:
    node = Node(name="n", kind=NodeKind.STAGE_OUT, site="local", level=0, files=_files(tmp_path))
    compact, explicit = _write_both(tmp_path, node, "")
    assert transfer.main([str(explicit)]) == 0
    by_explicit = _tree(tmp_path / "out")
    for p in (tmp_path / "out").iterdir():
        p.unlink()
    assert transfer.main([str(compact)]) == 0
    assert (
        _tree(tmp_path / "out")
        == by_explicit
        == {"a.dat": "a.dat", "b.dat": "b.dat", "c.dat": "c.dat"}
    )


def test_cleanup_does_the_same_from_either_form(tmp_path: Path) -> None:
    files = tuple(t._replace(dst=t.src[0]) for t in _files(tmp_path))
    node = Node(name="n", kind=NodeKind.CLEANUP, site="local", level=0, files=files)
    compact, explicit = _write_both(tmp_path, node, "")
    assert cleanup.main([str(explicit)]) == 0
    assert _tree(tmp_path / "in") == {}
    _files(tmp_path)
    assert cleanup.main([str(compact)]) == 0
    assert _tree(tmp_path / "in") == {}


def _rows(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = [(n, *r) for n in names for r in conn.execute(f"SELECT * FROM {n}")]
    return sorted(rows, key=repr)


def test_register_does_the_same_from_either_form(tmp_path: Path) -> None:
    files = _files(tmp_path)
    files = (files[0]._replace(site="archive"), *files[1:])  # one replica names its own site
    node = Node(name="n", kind=NodeKind.REGISTER, site="local", level=0, files=files)
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    compact, explicit = _write_both(tmp_path, node, str(one))
    assert register.main([str(explicit)]) == 0
    doc = json.loads(compact.read_text())
    doc["catalog"] = str(two)
    compact.write_text(json.dumps(doc))
    assert register.main([str(compact)]) == 0
    assert _rows(one) == _rows(two) and len(_rows(one)) >= 3


def test_an_old_bundle_line_reads_as_written(tmp_path: Path) -> None:
    old = {"node": "x", "transfers": [{"lfn": "f", "src": ["file:///a/f"], "dst": "file:///b/f",
                                        "sha256": None, "symlink": False}]}  # fmt: skip
    bundle = tmp_path / "manifests.jsonl"
    bundle.write_text(json.dumps(old) + "\n")
    assert read_manifest([str(bundle), "0", "x"], "t") == old


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"prefixes": "file:///a/", "files": []}, '"prefixes" is not a list of strings'),
        ({"prefixes": ["file:///a/"], "files": [[3, "f"]]}, "names no entry"),
        ({"prefixes": ["file:///a/"], "files": [0]}, 'needs the entry\'s "lfn"'),
        ({"prefixes": ["file:///a/"], "files": [[0]]}, "is not [prefix number, text]"),
        ({"prefixes": ["file:///a/"], "transfers": [{"dst": [True, "f"]}]}, "names no entry"),
    ],
)
def test_a_bad_prefix_reference_is_one_line_and_exit_1(
    tmp_path: Path, doc: dict[str, Any], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SystemExit) as exit_:
        read_manifest([str(path)], "wfplan-transfer")
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert message in err and str(path) in err and len(err.strip().splitlines()) == 1


def test_expand_prefixes_leaves_a_manifest_without_them_alone() -> None:
    doc = {"files": ["file:///a/f"], "node": "n"}
    assert expand_prefixes(doc) is doc
    assert expand_prefixes({"prefixes": ["file:///a/"], "files": [[0, "f"], "x"]}) == {
        "files": ["file:///a/f", "x"]
    }
