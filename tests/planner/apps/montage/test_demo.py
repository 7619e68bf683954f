"""``wfplan montage demo`` end to end on a tiny sky: plan over two sites, run, reuse."""

from __future__ import annotations

from pathlib import Path

import diamonds  # tests/planner/emit/diamonds.py (tests/conftest.py puts it on the path)
import pytest
from astropy.io import fits

from planner.apps.montage.demo import MARKER, DemoFailed, run_demo
from planner.emit.record import load_plan_record


@pytest.mark.slow
def test_demo_makes_the_mosaic_and_reuses_every_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "demo"
    assert run_demo(root, tiles=(2, 2), tile_pixels=(48, 48), jobs=2, seed=5) == 0
    out = capsys.readouterr().out
    assert "re-plan: all 20 jobs reused" in out
    assert (root / "mosaic.png").read_bytes()[:4] == b"\x89PNG"
    with fits.open(root / "mosaic.fits") as hdul:
        assert hdul[0].data.ndim == 2
    plan = load_plan_record(root / "submit")
    sites = {n["site"] for n in plan["nodes"] if n["kind"] == "compute"}
    assert sites <= {"shared", "pool"} and len(sites) == 2
    assert (root / MARKER).is_file()
    # every node's description is one HTCondor's own condor_submit code accepts, each
    # job carrying the site it was planned for
    ads = diamonds.submit_ads(root / "submit", "montage")
    assert len(ads) == len(plan["nodes"])
    site_of = {n["name"]: n["site"] for n in plan["nodes"]}
    for name, ad in ads.items():
        assert ad["pegasus_site"] == site_of[name], name
    # With cleanup, no data file is left behind on the sites' scratch or in the submit
    # directory: every file a job writes is declared, so cleanup knows it.
    data = (".fits", ".txt", ".tbl", ".hdr", ".png")
    left = sorted(
        str(p.relative_to(root))
        for where in ("sites", "submit")
        for p in (root / where).rglob("*")
        if p.is_file() and p.name.endswith(data)
    )
    assert left == []


def test_demo_refuses_a_directory_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(DemoFailed, match="not a demo directory"):
        run_demo(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"
