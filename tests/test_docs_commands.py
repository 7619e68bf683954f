"""Every command block of README.md and docs/*.md runs as written from a fresh clone.

The convention (also described in docs/user-guide.md, "Examples in these pages"):

* A fence's info string says what the block is. ```` ```sh ```` blocks are shell scripts:
  they run with bash (``set -euo pipefail``). ```` ```console ```` blocks are transcripts:
  each line starting with ``$ `` is a command (a line ending in ``\\`` continues on the
  next), the lines up to the next ``$ `` are its output, which must match what the
  command prints (stdout and stderr together); ``...`` alone on a line stands for any
  number of lines, inside a line for any text. A command expected to fail says so at its
  end, ``# exits N``; every other command must exit 0.
* Any other info string (``text``, ``yaml``, ``python`` ...) is never run. A fence without
  an info string is refused, so a command block cannot be left out by accident.
* ``<!-- not run: REASON -->`` on the line just before a ``sh``/``console`` fence keeps
  that block from running; the reason is required.
* A page's blocks run in order, in one fresh directory holding a copy of the clone's files
  (``git ls-files``), with ``.venv`` linked to the environment running the tests and its
  ``bin`` first on PATH. Paths under that directory are shown relative in the output.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")))
RUN = frozenset({"sh", "console"})
# Pages whose blocks take more than a few seconds (the Montage tutorial plans and runs a
# real mosaic); marked so they can be selected, but `make test` runs them too.
SLOW = frozenset({"docs/montage-tutorial.md"})
BLOCK_TIMEOUT = 600

_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
_SKIP = re.compile(r"^<!--\s*not run:(.*?)-->\s*$")
_EXITS = re.compile(r"#\s*exits\s+(\d+)\s*$")


class DocFormatError(Exception):
    """A page breaks the block convention."""


@dataclass(frozen=True, slots=True)
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    lang: str
    body: tuple[str, ...]
    skip: str | None  # the reason given in a `not run` marker


@dataclass(frozen=True, slots=True)
class Command:
    line: int  # 1-based page line of the `$ ` prompt
    text: str
    expected: tuple[str, ...]
    exit_code: int


def parse_blocks(text: str, page: str) -> list[Block]:
    """The fenced blocks of a markdown page, in order."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence, info = match.groups()
        lang = info.strip().split()[0] if info.strip() else ""
        if not lang:
            raise DocFormatError(
                f"{page}:{i + 1}: a fence without an info string (sh, console, text ...)"
            )
        skip = _SKIP.match(lines[i - 1].strip()) if i > 0 else None
        if skip and not skip.group(1).strip():
            raise DocFormatError(f"{page}:{i}: a 'not run' marker without a reason")
        if skip and lang not in RUN:
            raise DocFormatError(
                f"{page}:{i}: a 'not run' marker on a {lang!r} block, which never runs"
            )
        end = i + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        if end == len(lines):
            raise DocFormatError(f"{page}:{i + 1}: fence never closed")
        body = tuple(
            line[len(indent) :] if line.startswith(indent) else line for line in lines[i + 1 : end]
        )
        blocks.append(Block(page, i + 1, lang, body, skip.group(1).strip() if skip else None))
        i = end + 1
    return blocks


def parse_console(block: Block) -> list[Command]:
    """The commands of a ``console`` block with the output each must print."""
    commands: list[Command] = []
    i = 0
    body = block.body
    while i < len(body):
        if not body[i].startswith("$ "):
            raise DocFormatError(
                f"{block.page}:{block.line + 1 + i}: output before any '$ ' command"
            )
        start = i
        parts = [body[i][2:]]
        while parts[-1].endswith("\\") and i + 1 < len(body):
            i += 1
            parts.append(body[i])
        i += 1
        expected: list[str] = []
        while i < len(body) and not body[i].startswith("$ "):
            expected.append(body[i])
            i += 1
        text = "\n".join(parts)
        exits = _EXITS.search(parts[-1])
        commands.append(
            Command(
                block.line + 1 + start, text, tuple(expected), int(exits.group(1)) if exits else 0
            )
        )
    return commands


def output_matches(expected: tuple[str, ...], output: str) -> bool:
    """Whether ``output`` is what ``expected`` shows; ``...`` is a wildcard."""
    pattern = "".join(
        r"(?:[^\n]*\n)*?"
        if line.strip() == "..."
        else r"[^\n]*?".join(map(re.escape, line.rstrip().split("..."))) + r"\n"
        for line in expected
    )
    return re.fullmatch(pattern, _normal(output)) is not None


def _normal(output: str) -> str:
    lines = [line.rstrip() for line in output.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return "".join(line + "\n" for line in lines)


def _clone(dst: Path) -> None:
    """Copy the files a fresh clone has, and link .venv to the running environment."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.fail(
            f"the docs tests need a git checkout: git ls-files said {listed.stderr.decode()!r}"
        )
    for name in listed.stdout.decode().split("\0"):
        src = ROOT / name
        if name and src.is_file():  # listed but deleted in the work tree: not in a clone either
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / name)
    env = Path(sys.prefix)
    if not (env / "bin" / "wfplan").exists():
        pytest.fail(f"no wfplan in {env}/bin: run the tests from the environment `make test` makes")
    (dst / ".venv").symlink_to(env)


def _env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WFPLAN_", "PYTEST_"))}
    env["PATH"] = f"{workdir / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"  # keep stdout and stderr in the order they were written
    env.pop("VIRTUAL_ENV", None)
    return env


def _relative(output: str, workdir: Path) -> str:
    for prefix in {str(workdir.resolve()), str(workdir)}:
        output = output.replace(prefix + "/", "")
    return output


def _run_sh(block: Block, workdir: Path) -> None:
    # The trap names the page line of the failing command; the body starts on line 2.
    offset = block.line - 1
    script = (
        f"set -euo pipefail; trap 'echo \"docs: command at {block.page} line "
        f"$((LINENO + {offset})) exited $?\" >&2' ERR\n" + "\n".join(block.body) + "\n"
    )
    result = subprocess.run(
        ["bash", "-c", script], cwd=workdir, env=_env(workdir), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=BLOCK_TIMEOUT, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.fail(
            f"{block.page}: the sh block at line {block.line} failed (exit {result.returncode}):\n"
            + _relative(result.stdout, workdir),
            pytrace=False,
        )


def _run_console(block: Block, workdir: Path) -> None:
    for command in parse_console(block):
        result = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command.text], cwd=workdir, env=_env(workdir),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=BLOCK_TIMEOUT,
            check=False,
        )  # fmt: skip
        output = _relative(result.stdout, workdir)
        where = f"{block.page} line {command.line} (console block at line {block.line})"
        if result.returncode != command.exit_code:
            pytest.fail(
                f"{where}: '{command.text}' exited {result.returncode}, expected "
                f"{command.exit_code}:\n{output}",
                pytrace=False,
            )
        if not output_matches(command.expected, output):
            pytest.fail(
                f"{where}: '{command.text}' printed\n{output}\nbut the page shows\n"
                + "\n".join(command.expected),
                pytrace=False,
            )


def _page_param(page: str) -> object:
    marks = [pytest.mark.slow] if page in SLOW else []
    return pytest.param(page, marks=marks, id=page)


@pytest.mark.parametrize("page", [_page_param(p) for p in PAGES])
def test_every_command_block_runs_as_written(page: str, tmp_path: Path) -> None:
    blocks = [
        b for b in parse_blocks((ROOT / page).read_text(), page) if b.lang in RUN and not b.skip
    ]
    if not blocks:
        return
    workdir = tmp_path / "clone"
    workdir.mkdir()
    _clone(workdir)
    for block in blocks:
        if block.lang == "sh":
            _run_sh(block, workdir)
        else:
            _run_console(block, workdir)


@pytest.mark.parametrize("page", PAGES)
def test_pages_follow_the_block_convention(page: str) -> None:
    text = (ROOT / page).read_text()
    parse_blocks(text, page)  # raises on an untagged fence or a marker without a reason
    for block in parse_blocks(text, page):
        if block.lang == "console":
            parse_console(block)
    # The data folder of the development machine is not part of a clone.
    assert "../shared/" not in text, f"{page} names a file outside the repository"


# The extraction itself, on tiny literal pages.


def test_blocks_are_found_with_their_language_line_and_skip_reason() -> None:
    page = "intro\n```sh\nwfplan info wf.yml\n```\n<!-- not run: needs a schedd -->\n```console\n$ x\n```\n"
    blocks = parse_blocks(page, "p.md")
    assert [(b.line, b.lang, b.body, b.skip) for b in blocks] == [
        (2, "sh", ("wfplan info wf.yml",), None),
        (6, "console", ("$ x",), "needs a schedd"),
    ]


def test_a_fence_without_a_language_or_a_marker_without_a_reason_is_refused() -> None:
    with pytest.raises(DocFormatError, match=r"p\.md:2: a fence without an info string"):
        parse_blocks("x\n```\nwfplan run s\n```\n", "p.md")
    with pytest.raises(DocFormatError, match="without a reason"):
        parse_blocks("<!-- not run: -->\n```sh\nmake test\n```\n", "p.md")
    with pytest.raises(DocFormatError, match="never closed"):
        parse_blocks("```sh\nls\n", "p.md")


def test_console_commands_continue_over_backslashes_and_carry_their_exit_code() -> None:
    block = parse_blocks(
        "```console\n$ wfplan plan wf.yml \\\n    --dir s\nplanned\n...\n$ wfplan validate bad.yml  # exits 1\n"
        "wfplan: error: bad.yml: ...\n```\n",
        "p.md",
    )[0]
    assert parse_console(block) == [
        Command(2, "wfplan plan wf.yml \\\n    --dir s", ("planned", "..."), 0),
        Command(6, "wfplan validate bad.yml  # exits 1", ("wfplan: error: bad.yml: ...",), 1),
    ]


@pytest.mark.parametrize(
    ("expected", "output", "matches"),
    [
        (("a", "b"), "a\nb\n", True),
        (("a", "b"), "a\nb\nc\n", False),
        (("a", "...", "d"), "a\nb\nc\nd\n", True),
        (("a", "...", "d"), "a\nd\n", True),
        (("a", "...", "d"), "a\nb\n", False),
        (("took ... s",), "took 3.5 s  \n\n", True),
        (("took ... s",), "took 3.5 s\nmore\n", False),
        (("a.b",), "axb\n", False),
        ((), "", True),
        ((), "noise\n", False),
    ],
)
def test_output_matching(expected: tuple[str, ...], output: str, matches: bool) -> None:
    assert output_matches(expected, output) is matches


_LINE = (
    st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=20)
    .map(str.rstrip)
    .filter(lambda line: "..." not in line)
)


@given(st.lists(_LINE, max_size=8), st.data())
def test_output_matches_itself_with_any_lines_left_out(
    lines: list[str], data: st.DataObject
) -> None:
    # Trailing blank lines are not output anyone can see, so the comparison drops them.
    while lines and not lines[-1]:
        lines.pop()
    hidden = data.draw(st.sets(st.integers(0, max(len(lines) - 1, 0))))
    expected = tuple("..." if i in hidden else line for i, line in enumerate(lines))
    output = "".join(line + "\n" for line in lines)
    assert output_matches(expected, output)
    assert not output_matches(expected, output + "an extra line\n") or expected[-1:] == ("...",)


@given(
    st.lists(
        st.tuples(st.sampled_from(["sh", "console", "text", "yaml"]), st.lists(_LINE, max_size=4)),
        max_size=5,
    )
)
def test_blocks_are_read_back_as_written(spec: list[tuple[str, list[str]]]) -> None:
    bodies = [
        (lang, [line for line in body if not line.lstrip().startswith(("```", "~~~"))])
        for lang, body in spec
    ]
    page = "".join(
        f"text\n```{lang}\n" + "".join(f"{line}\n" for line in body) + "```\n"
        for lang, body in bodies
    )
    assert [(b.lang, list(b.body)) for b in parse_blocks(page, "p.md")] == bodies
