"""The examples in docs/catalogs.md load and mean what the text says."""

from __future__ import annotations

import re
from pathlib import Path

from catalogs import replica_text, replica_yaml, transformation_text, transformation_yaml
from catalogs.replica import PFN
from sites import site_yaml
from sites.style import SiteStyle, Style, site_style

DOC = Path(__file__).resolve().parents[2] / "docs" / "catalogs.md"


def _blocks() -> list[tuple[str, str]]:
    return re.findall(r"```(\w*)\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def _block(lang: str, marker: str) -> str:
    found = [body for kind, body in _blocks() if kind == lang and marker in body]
    assert len(found) == 1, f"expected one {lang!r} block containing {marker!r} in {DOC}"
    return found[0]


def test_replica_examples_agree() -> None:
    expected = (PFN(url="file:///sky/12/raw_12.fits", site="local"),)
    from_yaml = replica_yaml.loads(_block("yaml", "replicas:"), str(DOC))
    from_text = replica_text.loads(_block("text", "# LFN"), str(DOC))
    assert from_yaml.lookup("raw_12.fits") == expected
    assert from_text.lookup("raw_12.fits") == expected
    assert from_yaml.lookup("f.a") == from_text.lookup("f.a")


def test_transformation_examples_agree() -> None:
    from_yaml = transformation_yaml.loads(_block("yaml", "transformations:"), str(DOC))
    from_text = transformation_text.loads(_block("text", "# tc.txt"), str(DOC))
    for tc in (from_yaml, from_text):
        keg = tc.lookup("example", "keg", "1.0")
        assert keg is not None
        assert keg.sites[0].profiles == {"pegasus": {"clusters.size": "3"}}


def test_site_example_loads() -> None:
    sc = site_yaml.loads(_block("yaml", "- name: cluster"), str(DOC))
    cluster = sc.get("cluster")
    assert cluster is not None
    assert cluster.profile("pegasus", "slots") == "16"


def test_site_style_example_means_what_the_text_says() -> None:
    sc = site_yaml.loads(_block("yaml", "style: glite"), str(DOC))
    styles = {s.name: site_style(s, sc.source) for s in sc.sites}
    assert styles == {
        "remotepool": SiteStyle(Style.CONDORC, "condor ce.remote.org cm.remote.org", "vanilla"),
        "hpc": SiteStyle(Style.GLITE, "batch slurm alice@login.hpc.org"),
    }
