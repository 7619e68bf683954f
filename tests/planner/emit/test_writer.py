"""The submit dir end to end: golden files, htcondor-checked submit files, atomicity."""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import diamonds  # tests/planner/emit/diamonds.py (tests/conftest.py puts it on the path)
import pytest

from planner.emit import write_submit_dir
from planner.errors import EmitError
from planner.model.concrete import ConcreteWorkflow, DataConfiguration, Node, NodeKind

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "emit"
TOOLS = Path("/opt/wfplan/bin")
# Job-ad attributes that hold the submit time, not anything the emitter wrote.
CLOCK_ATTRS = frozenset({"QDate", "EnteredCurrentStatus"})
UPDATE = os.environ.get("WFPLAN_UPDATE_GOLDEN") == "1"


D = diamonds
SHARED, NONSHARED, CONDORIO = (
    DataConfiguration.SHAREDFS,
    DataConfiguration.NONSHAREDFS,
    DataConfiguration.CONDORIO,
)

# variant name -> (data configuration, clustered, reuse, emit mode)
VARIANTS: dict[str, tuple[DataConfiguration, bool, bool, str]] = {
    "sharedfs": (SHARED, False, False, "shared"),
    "sharedfs-clustered": (SHARED, True, False, "shared"),
    "nonsharedfs": (NONSHARED, False, False, "shared"),
    "nonsharedfs-clustered": (NONSHARED, True, False, "shared"),
    "condorio": (CONDORIO, False, False, "shared"),
    "condorio-clustered": (CONDORIO, True, False, "shared"),
    "condorio-reuse": (CONDORIO, False, True, "shared"),
    "sharedfs-clustered-per-node": (SHARED, True, False, "per-node"),
    "condorio-per-node": (CONDORIO, False, False, "per-node"),
}


def _emit(root: Path, variant: str, **kwargs: Any) -> Path:
    dc, clustered, reuse, mode = VARIANTS[variant]
    cw = D.diamond(root, dc, clustered=clustered, reuse=reuse)
    catalog = root / "rc.yml"
    root.mkdir(parents=True, exist_ok=True)
    catalog.write_text("replicas: []\n")
    submit = root / "submit"
    write_submit_dir(
        cw,
        submit,
        catalog_files={"replicas.yml": catalog},
        tools_dir=TOOLS,
        emit_mode=mode,  # type: ignore[arg-type]
        **kwargs,
    )
    assert len(D.submit_ads(submit)) == len(cw.nodes)  # every .sub builds a job ad
    return submit


def _portable(submit: Path, root: Path) -> dict[str, str]:
    """The files' text without this machine's paths; bundle offsets (which depend on the
    length of the root path) become ``@OFFSET@``: test_bundle_offsets_find_each_manifest
    checks them."""
    return D.portable_files(
        {
            p.name: p.read_text().replace(str(root), "@ROOT@").replace(str(TOOLS), "@TOOLS@")
            for p in sorted(submit.iterdir())
        }
    )


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_golden_submit_dir(tmp_path: Path, variant: str) -> None:
    files = _portable(_emit(tmp_path, variant), tmp_path)
    golden = GOLDEN / variant
    if UPDATE:
        golden.mkdir(parents=True, exist_ok=True)
        for old in golden.iterdir():
            old.unlink()
        for name, text in files.items():
            (golden / name).write_text(text)
    expected = {p.name: p.read_text() for p in sorted(golden.iterdir())}
    assert sorted(files) == sorted(expected)
    for name, text in files.items():
        assert text == expected[name], f"{variant}/{name} differs from its golden file"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_submit_file_builds_a_job_ad(tmp_path: Path, variant: str) -> None:
    submit = _emit(tmp_path, variant)
    ads = D.submit_ads(submit)
    dc, clustered, reuse, _ = VARIANTS[variant]
    cw = D.diamond(tmp_path, dc, clustered=clustered, reuse=reuse)
    assert sorted(ads) == sorted(n.name for n in cw.nodes)
    for node in cw.nodes:
        ad = ads[node.name]
        assert ad["Out"] == str(submit / f"{node.name}.out")
        assert ad["Err"] == str(submit / f"{node.name}.err")
        assert ad["UserLog"] == str(submit / "diamond.log")
        if node.kind in (NodeKind.COMPUTE, NodeKind.CLUSTER):
            assert ad["JobUniverse"] == 5  # vanilla: remote sites
        else:
            assert ad["JobUniverse"] == 12  # local: tools run on the submit host
            assert ad["Cmd"].startswith(str(TOOLS) + "/wfplan-")
    assert D.check_bundle_offsets(submit) > 0


def test_shared_and_per_node_submit_files_give_the_same_jobs(tmp_path: Path) -> None:
    for dc in DataConfiguration:
        for clustered in (False, True):
            ads = {}
            for mode in ("shared", "per-node"):
                root = tmp_path / f"{dc.value}-{clustered}-{mode}"
                cw = D.diamond(root, dc, clustered=clustered)
                write_submit_dir(cw, root / "submit", tools_dir=TOOLS, emit_mode=mode)  # type: ignore[arg-type]
                ads[mode] = {
                    name: {
                        k: D.portable_offsets(str(v).replace(str(root), ""))
                        for k, v in ad.items()
                        if k not in CLOCK_ATTRS
                    }
                    for name, ad in D.submit_ads(root / "submit").items()
                }
            assert ads["shared"] == ads["per-node"], (dc, clustered)


def test_tricky_arguments_and_profiles_reach_the_job(tmp_path: Path) -> None:
    submit = _emit(tmp_path, "condorio")
    ad = D.submit_ads(submit)["preprocess_ID1"]
    assert D.split_v2(ad["Arguments"])[-1] == D.TRICKY
    assert D.split_v2(ad["Environment"]) == ["DIAMOND_MODE=fast 'n' loose"]
    assert ad["ProjectName"] == "diamond demo"
    assert ad["RequestMemory"] == 2048
    # initialdir is the staging directory the outputs return to: inputs from there are
    # named by their name, and the outputs need no remap
    assert ad["Iwd"] == str(tmp_path / "staging/local/diamond")
    assert ad["TransferInput"] == "f.a"
    assert ad["TransferOutput"] == "f.b1,f.b2" and "TransferOutputRemaps" not in ad
    assert ad["TransferExecutable"] is False


def test_cluster_manifest_travels_with_a_condorio_job(tmp_path: Path) -> None:
    submit = _emit(tmp_path, "condorio-clustered")
    name = "merge_diamond-findrange-4_0_PID2_ID1"
    ad = D.submit_ads(submit)[name]
    assert D.split_v2(ad["Arguments"]) == [f"{name}.json"]
    assert ad["TransferInput"].split(",")[0] == str(submit / f"{name}.json")
    manifest = json.loads((submit / f"{name}.json").read_text())
    assert [t["id"] for t in manifest["tasks"]] == ["ID2", "ID3"]
    assert "scratch" not in manifest  # false, the runner's default, is left out


def test_nonsharedfs_compute_pulls_and_pushes_through_the_runner(tmp_path: Path) -> None:
    submit = _emit(tmp_path, "nonsharedfs")
    ad = D.submit_ads(submit)["analyze_ID4"]
    assert ad["Cmd"] == str(TOOLS / "wfplan-cluster")
    from planner.tools.manifest import read_manifest

    manifest = read_manifest([str(submit / "analyze_ID4.json")], "test")  # prefixes expanded
    assert manifest["scratch"] is True
    assert [t["lfn"] for t in manifest["inputs"]] == ["f.c1", "f.c2"]
    assert manifest["outputs"][0]["dst"] == (tmp_path / "staging/other/diamond/f.d").as_uri()


def test_sharedfs_job_runs_in_the_shared_scratch(tmp_path: Path) -> None:
    submit = _emit(tmp_path, "sharedfs")
    ad = D.submit_ads(submit)["findrange_ID2"]
    assert ad["RemoteIwd"] == str(tmp_path / "staging/condorpool/diamond")
    assert ad["Cmd"] == "/opt/diamond/bin/findrange"
    assert "TransferInput" not in ad


def _bundled(submit: Path, node: str) -> dict[str, Any]:
    """The manifest a node's job reads, found from its job ad as the tool finds it."""
    from planner.tools.manifest import read_manifest

    words = D.split_v2(D.submit_ads(submit)[node]["Arguments"])
    assert words[0] == str(submit / "manifests.jsonl") and words[2] == node
    return read_manifest(words, "test")


def test_tool_manifests_follow_the_job_tools_contract(tmp_path: Path) -> None:
    submit = _emit(tmp_path, "sharedfs")
    stage_in = _bundled(submit, "stage_in_local_condorpool_0_0")
    assert stage_in["node"] == "stage_in_local_condorpool_0_0"
    (t,) = stage_in["transfers"]
    assert t["src"] == [(tmp_path / "inputs/f.a").as_uri(), "http://data.example.org/diamond/f.a"]
    assert t["sha256"] == D.SHA and "symlink" not in t  # false: the default, left out
    reg = _bundled(submit, "register_local_3_0")
    assert reg["catalog"] == str(tmp_path / "submit/output.db")
    # the line's site once; a replica names its own only when it differs
    assert reg["site"] == "local"
    assert reg["replicas"] == [{"lfn": "f.d", "pfn": (tmp_path / "outputs/f.d").as_uri()}]
    clean = _bundled(submit, "clean_up_condorpool_level_2_0")
    assert clean == {
        "files": [(tmp_path / f"staging/condorpool/diamond/f.b{i}").as_uri() for i in (1, 2)],
        "node": "clean_up_condorpool_level_2_0",
    }
    # read in place, so all in the bundle: no manifest file of its own
    assert [p.name for p in submit.glob("*.json")] == ["plan.json"]


def test_catalogs_are_copied(tmp_path: Path) -> None:
    submit = _emit(tmp_path, "condorio")
    assert (submit / "replicas.yml").read_text() == "replicas: []\n"


def test_same_input_same_bytes(tmp_path: Path) -> None:
    a = _portable(_emit(tmp_path / "a", "nonsharedfs-clustered"), tmp_path / "a")
    b = _portable(_emit(tmp_path / "b", "nonsharedfs-clustered"), tmp_path / "b")
    assert a == b


def test_non_empty_target_is_refused_and_left_alone(tmp_path: Path) -> None:
    submit = tmp_path / "submit"
    submit.mkdir()
    (submit / "keep.txt").write_text("mine")
    with pytest.raises(EmitError, match=f"{submit} exists and is not empty"):
        _emit(tmp_path, "condorio")
    assert [p.name for p in submit.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rc.yml", "submit"]


def test_force_replaces_a_non_empty_target(tmp_path: Path) -> None:
    submit = tmp_path / "submit"
    submit.mkdir()
    (submit / "keep.txt").write_text("old")
    _emit(tmp_path, "condorio", force=True)
    assert not (submit / "keep.txt").exists()
    assert (submit / "diamond.dag").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_an_empty_target_is_used(tmp_path: Path) -> None:
    (tmp_path / "submit").mkdir()
    assert (_emit(tmp_path, "condorio") / "plan.json").is_file()


def _broken(cw: ConcreteWorkflow, name: str) -> ConcreteWorkflow:
    nodes = list(cw.nodes)
    nodes[-1] = nodes[-1]._replace(name=name)
    return replace(cw, nodes=tuple(nodes), edges=())


@pytest.mark.parametrize("bad", ["has.dot", "has space", "a/b", ""])
def test_bad_node_names_leave_nothing_behind(tmp_path: Path, bad: str) -> None:
    cw = _broken(D.diamond(tmp_path, CONDORIO), bad)
    with pytest.raises(EmitError, match="node name"):
        write_submit_dir(cw, tmp_path / "submit", tools_dir=TOOLS)
    assert list(tmp_path.iterdir()) == []


def test_missing_catalog_is_named_and_nothing_written(tmp_path: Path) -> None:
    cw = D.diamond(tmp_path, CONDORIO)
    with pytest.raises(EmitError, match=r"nope\.yml does not exist"):
        write_submit_dir(
            cw,
            tmp_path / "submit",
            tools_dir=TOOLS,
            catalog_files={"rc.yml": tmp_path / "nope.yml"},
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["plan.json", "manifests.jsonl"])
def test_catalog_name_may_not_shadow_an_emitted_file(tmp_path: Path, name: str) -> None:
    cw = D.diamond(tmp_path, CONDORIO)
    src = tmp_path / "x.yml"
    src.write_text("x")
    with pytest.raises(EmitError, match=f"'{name}'"):
        write_submit_dir(cw, tmp_path / "submit", tools_dir=TOOLS, catalog_files={name: src})


def test_failure_while_writing_removes_the_temporary_dir(tmp_path: Path) -> None:
    cw = D.diamond(tmp_path, CONDORIO)
    src = tmp_path / "dir-not-file"
    src.mkdir()
    with pytest.raises(EmitError, match="dir-not-file"):
        write_submit_dir(cw, tmp_path / "submit", tools_dir=TOOLS, catalog_files={"c.yml": src})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir-not-file"]


def test_failure_in_the_manifest_writer_is_reported_and_cleaned_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import planner.emit.writer as writer

    def full_disk(path: Path | str, text: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(writer, "_write", full_disk)  # the manifests' writer thread uses it
    # clustered condorio: the cluster's manifest travels with its job, so it is a file
    cw = D.diamond(tmp_path, CONDORIO, clustered=True)
    with pytest.raises(EmitError, match=r"cannot write submit dir .*No space left"):
        write_submit_dir(cw, tmp_path / "submit", tools_dir=TOOLS)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith((".submit", "submit"))] == []


def test_failure_while_writing_the_bundle_is_reported_and_cleaned_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import planner.emit.writer as writer

    def full_disk(self: object, line: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "manifests.jsonl")

    monkeypatch.setattr(writer._Bundle, "add", full_disk)
    cw = D.diamond(tmp_path, CONDORIO)
    with pytest.raises(EmitError, match=r"cannot write submit dir .*manifests\.jsonl"):
        write_submit_dir(cw, tmp_path / "submit", tools_dir=TOOLS)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith((".submit", "submit"))] == []


def test_unknown_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EmitError, match="'bulk'"):
        write_submit_dir(
            D.diamond(tmp_path, CONDORIO), tmp_path / "s", tools_dir=TOOLS, emit_mode="bulk"
        )  # type: ignore[arg-type]


def test_default_tools_dir_holds_the_console_scripts(tmp_path: Path) -> None:
    cw = ConcreteWorkflow(
        name="one",
        nodes=(
            Node(name="create_dir_one_0_local", kind=NodeKind.CREATE_DIR, site="local", level=0),
        ),
    )
    write_submit_dir(cw, tmp_path / "s", emit_mode="per-node")
    assert list(D.submit_ads(tmp_path / "s", "one")) == ["create_dir_one_0_local"]
    text = (tmp_path / "s" / "create_dir_one_0_local.sub").read_text()
    exe = next(line.split(" = ")[1] for line in text.splitlines() if line.startswith("executable"))
    assert Path(exe).name == "wfplan-mkdir" and Path(exe).exists()
    assert not (tmp_path / "s" / "manifests.jsonl").exists()  # no manifest, no bundle


def test_unwritable_parent_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    with pytest.raises(EmitError, match="cannot create submit dir"):
        write_submit_dir(D.diamond(tmp_path, CONDORIO), blocker / "submit", tools_dir=TOOLS)


def test_tool_nodes_sharing_a_submit_file_find_their_lines_through_vars(tmp_path: Path) -> None:
    """Several stage-in and cleanup nodes: one shared .sub each, the offsets in VARS."""
    from planner.model.concrete import Transfer

    def stage_in(i: int) -> Node:
        t = Transfer(lfn=f"f{i}", src=(f"file:///in/f{i}",), dst=f"file:///s/f{i}")
        return Node(name=f"stage_in_{i}", kind=NodeKind.STAGE_IN, site="local", level=0, files=(t,))

    def cleanup(i: int) -> Node:
        t = Transfer(lfn=f"f{i}", dst=f"file:///s/f{i}")
        return Node(name=f"clean_up_{i}", kind=NodeKind.CLEANUP, site="local", level=1, files=(t,))

    cw = ConcreteWorkflow(
        name="many",
        nodes=(*map(stage_in, range(3)), *map(cleanup, range(2))),
        edges=(("stage_in_0", "clean_up_0"),),
    )
    submit = tmp_path / "s"
    write_submit_dir(cw, submit, tools_dir=TOOLS)
    assert sorted(p.name for p in submit.glob("*.sub")) == [
        "cleanup_local.sub",
        "stage_in_local.sub",
    ]
    # the bundle's path is written once, in the file; each node's offset is its own VARS
    arguments = re.search(r"^arguments = (.*)$", (submit / "stage_in_local.sub").read_text(), re.M)
    assert arguments is not None and "manifests.jsonl $(wf_1) $(wf_node)" in arguments.group(1)
    assert D.check_bundle_offsets(submit, "many") == 5


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_the_submit_dir_honours_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        submit = _emit(tmp_path, "condorio")
    finally:
        os.umask(old)
    assert submit.stat().st_mode & 0o777 == 0o777 & ~umask
    assert (submit / "plan.json").stat().st_mode & 0o777 == 0o666 & ~umask
