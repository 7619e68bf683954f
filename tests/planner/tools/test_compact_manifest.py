"""A compact manifest (defaults left out, files sharing directories in groups) makes every
tool do what the same manifest written out in full does; an old, explicit one, and one in
the earlier "prefixes" form, still work."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from planner.emit.submit import EmitContext, tool_manifest_json
from planner.model.concrete import Node, NodeKind, Transfer
from planner.tools import cleanup, register, transfer
from planner.tools.manifest import expand_manifest, expand_prefixes, read_manifest


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
    assert '"lfns":' in compact.read_text() or '"names":' in compact.read_text()  # groups
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
    _refused_in_one_line(tmp_path, doc, message, capsys)


def test_expand_prefixes_leaves_a_manifest_without_them_alone() -> None:
    doc = {"files": ["file:///a/f"], "node": "n"}
    assert expand_prefixes(doc) is doc
    assert expand_prefixes({"prefixes": ["file:///a/"], "files": [[0, "f"], "x"]}) == {
        "files": ["file:///a/f", "x"]
    }


def test_a_relative_catalog_is_the_one_beside_the_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The emitter names a catalog inside the submit dir relative to it; the tool finds
    it there from any working directory (DAGMan runs it in the submit dir, a user by hand
    anywhere)."""
    submit, elsewhere = tmp_path / "submit", tmp_path / "elsewhere"
    submit.mkdir()
    elsewhere.mkdir()
    files = _files(tmp_path)
    node = Node(name="n", kind=NodeKind.REGISTER, site="local", level=0, files=files)
    ctx = EmitContext(
        submit_dir=submit, tools_dir=tmp_path, workflow="w", output_rc=str(submit / "w.db")
    )
    text = tool_manifest_json(node, ctx, True)
    assert json.loads(text)["catalog"] == "w.db"
    bundle = submit / "manifests.jsonl"
    bundle.write_text(text + "\n")
    monkeypatch.chdir(elsewhere)
    assert register.main([str(bundle), "0", "n"]) == 0
    assert len(_rows(submit / "w.db")) >= 3 and not (elsewhere / "w.db").exists()


def test_a_relative_catalog_is_read_against_the_submit_dir_as_named(tmp_path: Path) -> None:
    """The submit dir named through a symbolic link and ``..`` (``--dir link/../submit``):
    the emitter compares the names as written, so the tool must join the catalog to the
    directory as the job names it, not to a lexically shortened one, which is another
    directory when ``link`` leads elsewhere."""
    real = tmp_path / "real"
    (real / "deep").mkdir(parents=True)
    (real / "submit").mkdir()
    (tmp_path / "link").symlink_to(real / "deep")
    submit = Path(f"{tmp_path}/link/../submit")  # the directory real/submit
    (tmp_path / "submit").mkdir()  # what a lexical shortening of that name would give
    node = Node(name="n", kind=NodeKind.REGISTER, site="local", level=0, files=_files(tmp_path))
    ctx = EmitContext(
        submit_dir=submit, tools_dir=tmp_path, workflow="w", output_rc=f"{submit}/w.db"
    )
    text = tool_manifest_json(node, ctx, True)
    assert json.loads(text)["catalog"] == "w.db"
    (submit / "manifests.jsonl").write_text(text + "\n")
    assert register.main([f"{submit}/manifests.jsonl", "0", "n"]) == 0
    assert len(_rows(real / "submit" / "w.db")) >= 3
    assert not (tmp_path / "submit" / "w.db").exists()


def test_groups_expand_to_the_entries_they_stand_for() -> None:
    doc = {
        "transfers": [
            {"dst": "file:///o/", "lfns": [{"mid": ["1", "2"], "pre": "f", "suf": ".d"}],
             "meta": "p.meta", "src": ["file:///s/", "http://h/"], "symlink": True},
            {"lfn": "x", "src": ["file:///a/y"], "dst": "file:///b/x"},
            {"dst": "file:///o/", "lfns": ["g"], "meta": ["q.meta"], "metadir": "file:///m/",
             "optional": True, "sha256": ["ab"], "src": ["file:///s/"]},
        ],
        "replicas": [{"lfns": ["a", "b"], "pfn": "file:///o/", "meta": "r.meta",
                      "metadir": "file:///s/", "site": "x"}],
        "files": [{"dir": "file:///s/", "names": [{"mid": ["1", "2"], "pre": "f"}, "g"]}, "file:///t"],
    }  # fmt: skip
    assert expand_manifest(doc) == {
        "transfers": [
            {"lfn": "f1.d", "src": ["file:///s/f1.d", "http://h/f1.d"], "dst": "file:///o/f1.d",
             "meta": "file:///s/p.meta", "symlink": True},
            {"lfn": "f2.d", "src": ["file:///s/f2.d", "http://h/f2.d"], "dst": "file:///o/f2.d",
             "meta": "file:///s/p.meta", "symlink": True},
            {"lfn": "x", "src": ["file:///a/y"], "dst": "file:///b/x"},
            {"lfn": "g", "src": ["file:///s/g"], "dst": "file:///o/g", "meta": "file:///m/q.meta",
             "optional": True, "sha256": "ab"},
        ],
        "replicas": [
            {"lfn": "a", "pfn": "file:///o/a", "meta": "file:///s/r.meta", "site": "x"},
            {"lfn": "b", "pfn": "file:///o/b", "meta": "file:///s/r.meta", "site": "x"},
        ],
        "files": ["file:///s/f1", "file:///s/f2", "file:///s/g", "file:///t"],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"transfers": [{"lfns": ["a"], "src": ["file:///s/"]}]}, "has no 'dst' text"),
        ({"transfers": [{"lfns": ["a"], "dst": "d/", "src": "s/"}]}, "is not a list of prefixes"),
        ({"transfers": [{"lfns": "a", "dst": "d/", "src": ["s/"]}]}, '"lfns" "a" is not a list'),
        ({"transfers": [{"lfns": ["a"], "dst": "d/", "src": ["s/"], "sha256": []}]},
         '"sha256" does not have one item per LFN'),
        ({"transfers": [{"lfns": ["a"], "dst": "d/", "src": ["s/"], "meta": ["x", "y"]}]},
         '"meta" does not have one item per LFN'),
        ({"replicas": [{"lfns": ["a"], "pfn": "p/", "meta": "m"}]}, 'has "meta" but no "metadir"'),
        ({"files": [{"dir": "d/", "names": [{"mid": [1]}]}]}, "is not a list of names"),
        ({"files": [{"dir": "d/", "names": {"mid": ["a"]}}]}, "is not a list of names"),
    ],
)  # fmt: skip
def test_a_bad_group_is_one_line_and_exit_1(
    tmp_path: Path, doc: dict[str, Any], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _refused_in_one_line(tmp_path, doc, message, capsys)


def test_a_manifest_in_the_prefixes_form_reads_as_written_out() -> None:
    """What the release before the groups wrote."""
    doc = {"node": "n", "prefixes": ["file:///o/", "file:///s/"],
           "transfers": [{"dst": 0, "lfn": "a", "meta": [1, "p.meta"], "src": [1]}]}  # fmt: skip
    assert expand_manifest(doc) == {
        "node": "n",
        "transfers": [
            {"dst": "file:///o/a", "lfn": "a", "meta": "file:///s/p.meta", "src": ["file:///s/a"]}
        ],
    }


def _refused_in_one_line(
    tmp_path: Path, doc: dict[str, Any], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tool exits 1 with one line naming the manifest and saying ``message``."""
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SystemExit) as exit_:
        read_manifest([str(path)], "wfplan-transfer")
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert message in err and str(path) in err and len(err.strip().splitlines()) == 1
