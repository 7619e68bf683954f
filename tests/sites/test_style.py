"""Site styles: pegasus.style condor, condorc and glite, and the grids entries they need."""

from __future__ import annotations

import pytest

from catalogs.errors import CatalogFormatError
from sites import site_yaml
from sites.style import SiteStyle, Style, site_style


def _site(text: str) -> SiteStyle:
    sc = site_yaml.loads(text, "sites.yml")
    return site_style(sc.sites[0], sc.source)


def test_no_style_is_condor_in_the_local_pool() -> None:
    assert _site("sites: [{name: pool}]") == SiteStyle(Style.CONDOR)
    assert (
        _site("sites: [{name: pool, profiles: {pegasus: {style: Condor}}}]").grid_resource is None
    )


def test_condorc_sends_jobs_to_the_remote_schedd_of_its_grids_entry() -> None:
    style = _site(
        """
sites:
- name: remote
  grids:
  - {type: condor, contact: schedd.remote.org, scheduler: condor, jobtype: auxillary}
  - {type: condor, contact: ce.remote.org, scheduler: condor, jobtype: compute}
  profiles:
    pegasus: {style: condorc}
    condor: {condor_collector: cm.remote.org, universe: Vanilla}
"""
    )
    assert style == SiteStyle(Style.CONDORC, "condor ce.remote.org cm.remote.org", "vanilla")


def test_condorc_collector_defaults_to_the_schedds_host() -> None:
    style = _site(
        """
sites:
- name: remote
  grids: [{type: condor, contact: alice@ce.remote.org, scheduler: condor}]
  profiles: {pegasus: {style: condorc}}
"""
    )
    assert style.grid_resource == "condor alice@ce.remote.org ce.remote.org"
    assert style.remote_universe == "vanilla"


@pytest.mark.parametrize(
    ("grid", "expected"),
    [
        (
            "{type: batch, contact: alice@login.hpc.org, scheduler: slurm}",
            "batch slurm alice@login.hpc.org",
        ),
        ("{type: batch, contact: localhost, scheduler: PBS, jobtype: compute}", "batch pbs"),
        ("{type: batch, contact: login.hpc.org, scheduler: sge}", "batch sge login.hpc.org"),
        ("{type: batch, contact: '', scheduler: lsf}", "batch lsf"),
    ],
)
def test_glite_builds_the_batch_grid_resource_from_its_grids_entry(
    grid: str, expected: str
) -> None:
    text = f"sites: [{{name: hpc, grids: [{grid}], profiles: {{pegasus: {{style: glite}}}}}}]"
    assert _site(text) == SiteStyle(Style.GLITE, expected)


def test_glite_takes_pegasus_documented_condor_grid_resource_profile() -> None:
    text = "sites: [{name: hpc, profiles: {pegasus: {style: glite}, condor: {grid_resource: batch SLURM}}}]"
    assert _site(text).grid_resource == "batch slurm"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "sites: [{name: hpc, profiles: {pegasus: {style: glite}}}]",
            "sites.yml: site 'hpc': pegasus.style glite needs a grids entry of type batch",
        ),
        (
            "sites: [{name: remote, grids: [{type: batch, contact: x, scheduler: slurm}], "
            "profiles: {pegasus: {style: condorc}}}]",
            "sites.yml: site 'remote': pegasus.style condorc needs a grids entry of type condor",
        ),
        (
            "sites: [{name: hpc, grids: [{type: batch, contact: x, scheduler: fork}], "
            "profiles: {pegasus: {style: glite}}}]",
            "sites.yml: site 'hpc': grids scheduler 'fork' is not a batch system",
        ),
        (
            "sites: [{name: hpc, profiles: {pegasus: {style: glite}, condor: {grid_resource: condor a b}}}]",
            "sites.yml: site 'hpc': condor.grid_resource 'condor a b' is not 'batch",
        ),
        (
            "sites: [{name: remote, grids: [{type: condor, contact: 'a b', scheduler: condor}], "
            "profiles: {pegasus: {style: condorc}}}]",
            "sites.yml: site 'remote': grids contact (the remote schedd) 'a b' must be one word",
        ),
        (
            "sites: [{name: x, profiles: {pegasus: {style: cream}}}]",
            "sites.yml: site 'x': profile pegasus.style 'cream' is not one of condor, condorc, glite",
        ),
    ],
)
def test_a_style_missing_what_it_needs_names_the_site_and_catalog(text: str, message: str) -> None:
    with pytest.raises(CatalogFormatError) as err:
        _site(text)
    assert str(err.value).startswith(message)


def test_the_record_leaves_out_what_is_unset() -> None:
    assert SiteStyle().record() == {"style": "condor"}
    assert SiteStyle(Style.GLITE, "batch slurm").record() == {
        "style": "glite",
        "grid_resource": "batch slurm",
    }
