"""Submit descriptions: macros, both argument/environment syntaxes, paths, transfer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.engine.submitfile import (
    parse_arguments,
    parse_environment,
    parse_v2_raw,
    quote_arguments,
    read_submit_text,
)
from planner.errors import EngineError, UnsupportedFeature


def _spec(text: str, node_vars: dict[str, str] | None = None, cwd: Path = Path("/w")):
    return read_submit_text(text, cwd / "j.sub", node_vars or {}, "N1", 0, cwd)


def test_new_syntax_arguments():
    assert parse_arguments("\"1 'two words' 'it''s' \"\"q\"\" ''\"") == [
        "1",
        "two words",
        "it's",
        '"q"',
        "",
    ]


def test_old_syntax_arguments():
    assert parse_arguments('a \\"b c') == ["a", '"b', "c"]
    with pytest.raises(ValueError):
        parse_arguments('a "b')


def test_lone_apostrophe_is_an_error():
    with pytest.raises(ValueError, match="single quote"):
        parse_arguments('"it\'s"')


def test_environment_both_syntaxes():
    assert parse_environment("\"A=1 B='x y'\"") == {"A": "1", "B": "x y"}
    assert parse_environment("A=1;B=2") == {"A": "1", "B": "2"}


def test_macros_vars_dollar_and_case_insensitive_keys():
    spec = _spec(
        'Executable = /bin/echo\nbase = run\nARGUMENTS = "$(base)-$(x) $(JOB) $(DOLLAR)(HOME) $(none:dflt)"\n'
        "queue\n",
        {"x": "7"},
    )
    assert spec.arguments == ("run-7", "N1", "$(HOME)", "dflt")


def test_paths_resolve_against_initialdir_and_node_dir():
    spec = _spec(
        "executable = bin/tool\ninitialdir = out\noutput = o.txt\nerror = /tmp/e.txt\n"
        'log = l.log\nrequest_cpus = 3\n+wfplan_transformation = "ns::t:1"\nqueue\n'
    )
    assert spec.executable == "/w/bin/tool"
    assert spec.initialdir == Path("/w/out") and spec.stdout == Path("/w/out/o.txt")
    assert spec.stderr == Path("/tmp/e.txt") and spec.request_cpus == 3
    assert spec.attributes == {"wfplan_transformation": '"ns::t:1"'}


@pytest.mark.parametrize(
    "resource", ["condor ce.remote.org cm.remote.org", "batch slurm", "batch pbs me@hpc.org"]
)
def test_grid_universe_jobs_are_read_like_vanilla_ones(resource):
    # condorc and glite sites: the remote schedd or batch system is this machine here
    spec = _spec(
        f"universe = grid\ngrid_resource = {resource}\nremote_universe = vanilla\n"
        "executable = /bin/true\nshould_transfer_files = YES\ntransfer_input_files = a\n"
        '+pegasus_site = "hpc"\n+remote_cerequirements = PASSENV==1 && CORES=="4"\nqueue\n'
    )
    assert spec.universe == "grid" and spec.transfer and spec.transfer_inputs == ("a",)
    assert spec.attributes["pegasus_site"] == '"hpc"'


def test_transfer_settings():
    spec = _spec(
        "executable = /bin/true\nshould_transfer_files = YES\n"
        "transfer_input_files = a.txt, dir/, http://h/x\ntransfer_output_files = r.txt\n"
        'transfer_output_remaps = "r.txt=res/r.txt"\nqueue\n'
    )
    assert spec.transfer and spec.transfer_inputs == ("a.txt", "dir/", "http://h/x")
    assert spec.transfer_outputs == ("r.txt",) and spec.output_remaps == {"r.txt": "res/r.txt"}
    assert _spec("executable = /bin/true\nqueue\n").transfer_outputs is None
    nothing = _spec('executable = /bin/true\ntransfer_output_files = ""\nqueue\n')
    assert nothing.transfer_outputs == () and nothing.output_remaps == {}


def test_streams_cpus_and_remote_initialdir():
    text = (
        "executable = x.sh\ninitialdir = run\noutput = o.txt\nerror = o.txt\n"
        "input = /dev/null\nrequest_cpus = 2.0\nremote_initialdir = /scratch\nqueue\n"
    )
    spec = _spec(text)
    assert spec.executable == "/w/x.sh" and spec.initialdir == Path("/scratch")
    assert spec.stdout == spec.stderr == Path("/w/run/o.txt")
    assert (spec.stdin, spec.log, spec.request_cpus) == (None, None, 2)
    transferred = _spec(text.replace("queue", "should_transfer_files = YES\nqueue"))
    assert transferred.initialdir == Path("/w/run") and transferred.transfer_executable
    assert _spec("executable = /bin/true\nrequest_cpus = 0\nqueue\n").request_cpus == 1


@pytest.mark.parametrize(
    ("text", "error", "pattern"),
    [
        ("executable = /bin/true\n", EngineError, "no 'queue'"),
        ("arguments = x\nqueue\n", EngineError, "no 'executable'"),
        ("executable = /bin/true\nqueue 3\n", UnsupportedFeature, "queue 3"),
        ("executable = /bin/true\nuniverse = java\nqueue\n", UnsupportedFeature, "java"),
        (
            "executable = /bin/true\nuniverse = grid\nqueue\n",
            EngineError,
            "grid_resource attribute not defined for grid universe job",
        ),
        (
            "executable = /bin/true\nuniverse = grid\ngrid_resource = gt2 x\nqueue\n",
            EngineError,
            "invalid grid type 'gt2'",
        ),
        ("executable = /bin/true\njunk line\nqueue\n", EngineError, "line 2"),
        ("include : x.sub\nexecutable = /bin/true\nqueue\n", UnsupportedFeature, "line 1"),
        # the missing executable is named first, as condor_submit does
        ("universe = java\nqueue\n", EngineError, "no 'executable'"),
        ("executable = /bin/true\nrequest_cpus = many\nqueue\n", EngineError, "request_cpus"),
        ('executable = /bin/true\narguments = "a \'b"\nqueue\n', EngineError, "N1: unbalanced"),
    ],
)
def test_submit_errors_name_the_file(text, error, pattern):
    with pytest.raises(error, match=pattern) as info:
        _spec(text)
    assert "/w/j.sub" in str(info.value)


ARG = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="$\x85\xa0"),
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(ARG, min_size=1, max_size=5))
def test_quoting_round_trips_through_our_parser_and_htcondor(args):
    os.environ.setdefault("CONDOR_CONFIG", "/dev/null")
    import htcondor

    args = [a for a in args if not any(c.isspace() and c not in " \t" for c in a)] or ["x"]
    text = quote_arguments(args)
    assert parse_arguments(text) == args
    ad = next(iter(htcondor.Submit(f"executable = /bin/true\narguments = {text}\nqueue\n").jobs()))
    assert parse_v2_raw(ad["Arguments"]) == args
