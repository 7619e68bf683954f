"""Heterogeneous sites end to end: an NFS-less HTCondor pool, a remote HTCondor pool
(style condorc) and a Slurm cluster (style glite) in one plan; HEFT over the sites'
own runtimes; ``explain`` naming rejected sites; the embedded engine running it all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import diamonds  # tests/planner/emit/diamonds.py (tests/conftest.py puts it on the path)
import pytest

from planner.cli import main
from planner.emit.record import load_plan_record

D = diamonds

# ID1 -> pool, ID2 -> remote, ID3 -> hpc (pinned, the old hints way), ID4 by the selector
WF = """\
pegasus: "5.0"
name: hetero
jobs:
- {type: job, id: ID1, name: tool, arguments: ["-i", "f.a", "-o", "f.b1", "f.b2"],
   uses: [{lfn: f.a, type: input}, {lfn: f.b1, type: output, stageOut: false},
          {lfn: f.b2, type: output, stageOut: false}],
   profiles: {selector: {execution.site: pool}}}
- {type: job, id: ID2, name: tool, arguments: ["-i", "f.b1", "-o", "f.c1"],
   uses: [{lfn: f.b1, type: input}, {lfn: f.c1, type: output, stageOut: false}],
   profiles: {selector: {execution.site: remote}, pegasus: {cores: "2", memory: "2048"}}}
- {type: job, id: ID3, name: tool, arguments: ["-i", "f.b2", "-o", "f.c2"],
   uses: [{lfn: f.b2, type: input}, {lfn: f.c2, type: output, stageOut: false}],
   profiles: {hints: {execution.site: hpc},
              pegasus: {cores: "4", memory: "8000", diskspace: "10", project: "astro-42"}}}
- {type: job, id: ID4, name: tool, arguments: ["-i", "f.c1", "f.c2", "-o", "f.d"],
   uses: [{lfn: f.c1, type: input}, {lfn: f.c2, type: input}, {lfn: f.d, type: output}]}
"""

SITES = """\
pegasus: "5.0"
sites:
- name: arm
  arch: aarch64
- name: pool
  profiles:
    pegasus: {style: condor}
    condor: {requirements: 'TARGET.pegasus_site == "pool"', +ProjectName: astro}
- name: remote
  grids:
  - {type: condor, contact: ce.remote.org, scheduler: condor, jobtype: compute}
  profiles:
    pegasus: {style: condorc}
    condor: {condor_collector: cm.remote.org}
- name: hpc
  grids:
  - {type: batch, contact: alice@login.hpc.org, scheduler: slurm, jobtype: compute}
  profiles:
    pegasus: {style: glite, queue: normal}
"""


def _tc(tool: Path, runtimes: dict[str, str]) -> str:
    lines = ['pegasus: "5.0"', "transformations:", "- name: tool", "  sites:"]
    for site in ("pool", "remote", "hpc"):
        lines.append(f"  - {{name: {site}, pfn: {tool}, type: installed,")
        lines.append(f"     profiles: {{pegasus: {{runtime: '{runtimes.get(site, '1')}'}}}}}}")
    lines.append("  - {name: arm, pfn: /bin/true, arch: x86_64}")
    return "\n".join(lines) + "\n"


TOOL = """#!/bin/sh
mode=""; ins=""; outs=""
for a in "$@"; do
  case "$a" in -i) mode=i;; -o) mode=o;; *) if [ "$mode" = i ]; then ins="$ins $a"; else outs="$outs $a"; fi;; esac
done
for o in $outs; do cat $ins > "$o"; echo "$o" >> "$o"; done
"""


def _files(root: Path, sites: str = SITES, runtimes: dict[str, str] | None = None) -> list[str]:
    tool = root / "tool"
    tool.write_text(TOOL)
    tool.chmod(0o755)
    (root / "f.a").write_text("a\n")
    (root / "wf.yml").write_text(WF)
    (root / "sites.yml").write_text(sites)
    # hpc's TC entry says 2950 s: its walltime, rounded up to 50 minutes
    default = {"pool": "100", "remote": "1", "hpc": "2950"}
    (root / "tc.yml").write_text(_tc(tool, runtimes or default))
    (root / "rc.yml").write_text(
        f'pegasus: "5.0"\nreplicas:\n- {{lfn: f.a, pfns: [{{site: local, pfn: {root}/f.a}}]}}\n'
    )
    return [
        "plan",
        str(root / "wf.yml"),
        *("--sc", str(root / "sites.yml"), "--tc", str(root / "tc.yml")),
        *("--rc", str(root / "rc.yml"), "--sites", "pool,remote,hpc"),
        *("--site-selector", "heft", "--dir", str(root / "submit")),
    ]


def _ads(submit: Path) -> dict[str, Any]:
    return {n: ad for n, ad in D.submit_ads(submit, "hetero").items() if n.startswith("tool_")}


@pytest.fixture
def planned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(_files(tmp_path)) == 0
    capsys.readouterr()
    return tmp_path / "submit"


def test_every_job_carries_its_site_and_the_sites_condor_profiles(planned: Path) -> None:
    ads = _ads(planned)
    assert {n: ad["pegasus_site"] for n, ad in ads.items()} == {
        "tool_ID1": "pool",
        "tool_ID2": "remote",
        "tool_ID3": "hpc",
        "tool_ID4": "remote",  # heft: 1 s there against 100 s and 2950 s
    }
    pool = ads["tool_ID1"]
    assert pool["JobUniverse"] == 5  # vanilla, in the local pool
    assert 'TARGET.pegasus_site == "pool"' in str(pool["Requirements"])
    assert pool["ProjectName"] == "astro"
    # every bookkeeping job says where it runs too
    every = D.submit_ads(planned, "hetero")
    assert {ad["pegasus_site"] for n, ad in every.items() if not n.startswith("tool_")} == {"local"}


def test_condorc_site_jobs_go_to_the_remote_schedd(planned: Path) -> None:
    ad = _ads(planned)["tool_ID2"]
    assert ad["JobUniverse"] == 9  # grid
    assert ad["GridResource"] == "condor ce.remote.org cm.remote.org"
    assert ad["remote_JobUniverse"] == 5
    assert (ad["RequestCpus"], ad["RequestMemory"]) == (2, 2048)
    text = "\n".join(
        (planned / p).read_text() for p in sorted(p.name for p in planned.glob("*.sub"))
    )
    assert "condor_collector" not in text  # consumed by the style, not a job macro


def test_glite_site_jobs_go_to_the_batch_system_with_their_requirements(planned: Path) -> None:
    ad = _ads(planned)["tool_ID3"]
    assert ad["JobUniverse"] == 9
    assert ad["GridResource"] == "batch slurm alice@login.hpc.org"
    assert ad["BatchQueue"] == "normal"
    assert str(ad["remote_cerequirements"]) == (
        'PASSENV == 1 && QUEUE == "normal" && CORES == "4" && WALLTIME == "00:50:00" && '
        'TOTAL_MEMORY == "8000" && PROJECT == "astro-42"'
    )
    assert (ad["RequestCpus"], ad["RequestMemory"], ad["RequestDisk"]) == (4, 8000, 10 * 1024)


def test_the_plan_record_and_explain_say_how_each_site_is_reached(
    planned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = load_plan_record(planned)
    assert record["sites"]["hpc"] == {
        "style": "glite",
        "grid_resource": "batch slurm alice@login.hpc.org",
    }
    assert record["sites"]["pool"] == {"style": "condor"}
    assert main(["explain", str(planned), "ID3"]) == 0
    out = capsys.readouterr().out
    assert "pinned by hints.execution.site" in out
    assert "  site: hpc (style glite, grid_resource batch slurm alice@login.hpc.org)" in out


def test_the_embedded_engine_runs_grid_universe_jobs_here(
    planned: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(planned), "-j", "2"]) == 0
    capsys.readouterr()
    found = [p for p in planned.parent.rglob("f.d") if "storage" in p.parts]
    assert len(found) == 1, "f.d was not staged out to the output site"
    assert found[0].read_text().splitlines()[-1] == "f.d"
    assert "f.c1" in found[0].read_text() and "f.c2" in found[0].read_text()


def test_a_style_without_its_grids_entry_is_refused_at_plan_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = SITES.replace(
        "  grids:\n  - {type: batch, contact: alice@login.hpc.org, scheduler: slurm, jobtype: compute}\n",
        "",
    )
    assert broken != SITES
    assert main(_files(tmp_path, broken)) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'sites.yml'}: site 'hpc': pegasus.style glite needs a grids entry" in err
    assert "Traceback" not in err
    assert not (tmp_path / "submit").exists()


def test_heft_follows_the_tc_runtimes_and_explain_names_rejected_sites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _files(tmp_path, runtimes={"pool": "100", "remote": "100", "hpc": "5"})
    args[args.index("pool,remote,hpc")] = "arm,pool,remote,hpc"
    assert main(args) == 0
    capsys.readouterr()
    record = load_plan_record(tmp_path / "submit")
    why = record["decisions"]["ID4"][0]
    assert why.startswith("site hpc: heft: earliest finish")
    assert main(["explain", str(tmp_path / "submit")]) == 0
    out = capsys.readouterr().out
    assert "ID4: node tool_ID4 on hpc" in out
    assert "why: site hpc: heft: earliest finish 205 s" in out  # 100 (pool) + 100 + 5
    assert "; rejected: arm: arch x86_64 != aarch64" in out
