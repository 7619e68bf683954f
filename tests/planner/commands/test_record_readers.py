"""explain, simulate and graph read both plan record layouts alike, and what they read
back from a submit dir (the record and its DAG) is what the planner held."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import diamonds  # tests/planner/emit/diamonds.py (tests/conftest.py puts it on the path)
import pytest

from planner.cli import main
from planner.commands.explain import explain_lines
from planner.commands.graph import concrete_picture
from planner.emit import write_submit_dir
from planner.emit.record import RECORD_VERSION, load_plan_record, plan_record
from planner.model.concrete import DataConfiguration

# plan.json of the condorio diamond as the release before the compact record wrote it
# (one JSON object, edges and submit files in it); its paths are under @ROOT@.
PREVIOUS_RELEASE = Path(__file__).resolve().parents[2] / "golden" / "record" / "previous-release"
# The same diamond's plan.json as record version 2 wrote it (JSON lines, every field of a
# node on its line, edges in the DAG beside it).
RECORD_2 = PREVIOUS_RELEASE.parent / "record-2"
# And as record version 3 wrote it (each node line said what differs from the line
# before it, of whatever kind).
RECORD_3 = PREVIOUS_RELEASE.parent / "record-3"


D = diamonds


def _submit(root: Path, **kw: bool) -> Path:
    cw = D.diamond(root, DataConfiguration.CONDORIO, **kw)
    write_submit_dir(cw, root / "submit", tools_dir=Path("/opt/wfplan/bin"))
    return root / "submit"


def _both(root: Path, earlier: Path = PREVIOUS_RELEASE) -> tuple[Path, Path]:
    """The diamond's submit dir as written now, and an earlier release's record of it
    (with the DAG written now beside it, which holds the same edges)."""
    new = _submit(root)
    head = (new / "plan.json").read_text().split("\n", 1)[0]
    assert json.loads(head)["plan_record"] == RECORD_VERSION  # the compact layout
    old = root / "old"
    old.mkdir()
    text = (earlier / "plan.json").read_text().replace("@ROOT@", str(root))
    (old / "plan.json").write_text(text)
    (old / "diamond.dag").write_text((new / "diamond.dag").read_text())
    return old, new


EARLIER = pytest.mark.parametrize(
    "earlier", [PREVIOUS_RELEASE, RECORD_2, RECORD_3], ids=["object", "v2", "v3"]
)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _every_question(submit: Path) -> list[list[str]]:
    record = load_plan_record(submit)
    names = [n["name"] for n in record["nodes"]]
    jobs = [j for n in record["nodes"] for j in n["jobs"]] + [p["job"] for p in record["pruned"]]
    return [[], *([name] for name in names + jobs)]


@EARLIER
def test_a_previous_release_record_explains_as_the_compact_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], earlier: Path
) -> None:
    old, new = _both(tmp_path, earlier)
    questions = _every_question(new)
    assert len(questions) > 10
    for question in questions:
        expected = _run(capsys, "explain", str(old), *question)
        assert _run(capsys, "explain", str(new), *question) == expected


@EARLIER
def test_a_previous_release_record_simulates_and_draws_as_the_compact_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], earlier: Path
) -> None:
    old, new = _both(tmp_path, earlier)
    code, expected, _ = _run(capsys, "simulate", str(old), "--slots", "2", "--json")
    assert code == 0 and json.loads(expected)["nodes"] > 0
    assert _run(capsys, "simulate", str(new), "--slots", "2", "--json") == (0, expected, "")
    assert concrete_picture(new) == concrete_picture(old)
    assert concrete_picture(new).edges


@EARLIER
def test_an_earlier_record_loads_as_the_compact_one(tmp_path: Path, earlier: Path) -> None:
    """Every field of every node, as ``load_plan_record`` gives it, is the same from the
    earlier record and from the one written now."""
    old, new = _both(tmp_path, earlier)
    before, now = load_plan_record(old), load_plan_record(new)
    assert now["plan_record"] == RECORD_VERSION
    assert [n["name"] for n in now["nodes"]] == [n["name"] for n in before["nodes"]]
    for a, b in zip(before["nodes"], now["nodes"], strict=True):
        assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@pytest.mark.parametrize("kw", [{}, {"reuse": True}, {"clustered": True}])
def test_the_submit_dir_explains_as_the_plan_in_memory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kw: dict[str, bool]
) -> None:
    cw = D.diamond(tmp_path, DataConfiguration.CONDORIO, **kw)
    submit = tmp_path / "submit"
    write_submit_dir(cw, submit, tools_dir=Path("/opt/wfplan/bin"))
    on_disk = load_plan_record(submit)
    in_memory = plan_record(cw, {n["name"]: n["submit"] for n in on_disk["nodes"]})
    assert on_disk["nodes"] == in_memory["nodes"]
    assert all((submit / n["submit"]).is_file() for n in on_disk["nodes"])
    for question in _every_question(submit):
        expected = "".join(f"{line}\n" for line in explain_lines(in_memory, *question[:1]))
        assert _run(capsys, "explain", str(submit), *question) == (0, expected, "")


def _lines(submit: Path) -> list[str]:
    return (submit / "plan.json").read_text().splitlines(keepends=True)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda lines: [*lines, "{not json\n"], "line {n}: not a plan record line"),
        (lambda lines: [*lines, '["a", "b"]\n'], "line {n}: not a plan record line"),
        (lambda lines: [*lines, '{"k": 0}\n'], "line {n}: not a plan record line (KeyError"),
        (
            lambda lines: [lines[0].replace('"plan_record":4', '"plan_record":5'), *lines[1:]],
            "plan record version 5; this wfplan reads 4, 3, 2 and",
        ),
        (lambda lines: [*lines, "[7]\n"], "line {n}: not a plan record line"),
        (lambda lines: [*lines, '{"n":"x","f":[100000]}\n'], "line {n}: not a plan record line"),
    ],
)
def test_a_broken_compact_record_names_the_file_and_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    edit: Callable[[list[str]], list[str]],
    message: str,
) -> None:
    submit = _submit(tmp_path)
    lines = edit(_lines(submit))
    (submit / "plan.json").write_text("".join(lines))
    for command in ("explain", "simulate"):
        code, out, err = _run(capsys, command, str(submit))
        assert code == 1 and out == ""
        assert err.startswith(f"wfplan: error: {submit / 'plan.json'}: ")
        assert message.format(n=len(lines)) in err and "Traceback" not in err


def test_a_compact_record_without_its_dag_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    submit = _submit(tmp_path)
    summary = _run(capsys, "explain", str(submit))
    (submit / "diamond.dag").unlink()
    assert _run(capsys, "explain", str(submit)) == summary  # it shows no edges
    for command in (["explain", str(submit), "analyze_ID4"], ["simulate", str(submit)]):
        code, _, err = _run(capsys, *command)
        assert code == 1
        assert err.startswith(f"wfplan: error: {submit / 'diamond.dag'}: cannot read the DAG")
