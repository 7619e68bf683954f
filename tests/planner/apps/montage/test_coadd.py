"""The tail of the Montage workflow: the tiled co-add, the preview's shrink factor and the
priorities that follow the critical path."""

from __future__ import annotations

import os
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from astropy.io import fits
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.apps.montage.generator import (
    PRIORITY_STEP,
    CoaddGridTooFine,
    build_montage,
    coadd_grid,
    coadd_tiles,
    priorities,
    region_from_center,
    scan_images,
    shrink_factor,
    write_side_files,
)
from planner.apps.montage.inprocess import run_in_process
from planner.model.workflow import Job, LinkType, Use

CENTER = (161.265, -59.685)


def test_tiled_coadd_equals_one_madd(montage_chain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The same corrected images co-added in 2 x 2 tiles and then as tiles give the
    mosaic (and its area) that one mAdd over all of them gives, within floating point."""
    chain = montage_chain
    region = region_from_center(*CENTER, 0.15, 0.15, pixel_scale_arcsec=chain.built.images[0]
                                .image.header["CDELT2"] * 3600)  # fmt: skip
    built = build_montage(scan_images(chain.images), region, coadd=(2, 2))
    assert len(built.tiles) == 4
    adds = [j for j in built.workflow.jobs if j.name == "mAdd"]
    assert [j.name for j in built.workflow.jobs].count("mImgtbl") == 0
    assert len(adds) == 5 and adds[-1].arguments[:2] == ("-e", "tiles.tbl")
    work = tmp_path / "tiled"
    write_side_files(built.files, work)
    for image in built.images:
        for name in ("c" + image.base, "c" + image.base[: -len(".fits")] + "_area.fits"):
            os.symlink(chain.work / name, work / name)
    keep = {"mAdd"}
    run_in_process(built.workflow, work, skip=frozenset(j.name for j in built.workflow.jobs) - keep)
    for name in ("mosaic.fits", "mosaic_area.fits"):
        one, tiled = fits.getdata(chain.work / name), fits.getdata(work / name)
        assert one.shape == tiled.shape
        assert np.array_equal(np.isnan(one), np.isnan(tiled)), name
        assert np.allclose(one, tiled, rtol=1e-12, atol=0.0, equal_nan=True), name


@settings(deadline=None)
@given(
    width=st.integers(1, 700),
    height=st.integers(1, 700),
    nx_=st.integers(1, 8),
    ny_=st.integers(1, 8),
)
def test_tiles_cover_every_pixel_once(width: int, height: int, nx_: int, ny_: int) -> None:
    region = region_from_center(*CENTER, 1.0, 1.0)
    h = region.header.copy()
    h["NAXIS1"], h["NAXIS2"] = width, height
    region = type(region)(h)
    if nx_ > width or ny_ > height:
        with pytest.raises(CoaddGridTooFine, match="does not fit"):
            coadd_tiles(region, (nx_, ny_))
        return
    tiles = coadd_tiles(region, (nx_, ny_))
    count = np.zeros((height, width), dtype=int)
    for t in tiles:
        w, hh = t.region.naxis
        count[t.y0 : t.y0 + hh, t.x0 : t.x0 + w] += 1
        # the same sky: a tile's pixel (1, 1) is the region's (x0 + 1, y0 + 1)
        assert float(t.region.header["CRPIX1"]) == float(region.header["CRPIX1"]) - t.x0
        assert float(t.region.header["CRPIX2"]) == float(region.header["CRPIX2"]) - t.y0
        assert w >= width // nx_ and hh >= height // ny_
    assert (count == 1).all()


def test_grid_and_shrink_follow_the_mosaic_size() -> None:
    assert coadd_grid((3600, 3600)) == (2, 2)
    assert coadd_grid((2048, 100)) == (1, 1)
    assert coadd_grid((2049, 4097)) == (2, 3)
    assert shrink_factor((180, 180)) == 1  # mDAG's factor for its small mosaics
    assert shrink_factor((3600, 3600)) == 4  # a 900 x 900 preview
    assert shrink_factor((1025, 10)) == 2


def _job(job_id: str, ins: tuple[str, ...], outs: tuple[str, ...]) -> Job:
    uses = tuple(Use(lfn=f, link=LinkType.INPUT) for f in ins) + tuple(
        Use(lfn=f, link=LinkType.OUTPUT) for f in outs
    )
    return Job(id=job_id, name="t", uses=uses)


def test_priorities_count_the_longest_chain_to_the_end() -> None:
    # a -> b -> d and a -> c: a has the longest chain behind it, c and d end it
    jobs = [
        _job("a", ("raw",), ("x",)),
        _job("b", ("x",), ("y",)),
        _job("c", ("x",), ("z",)),
        _job("d", ("y",), ("w",)),
    ]
    assert priorities(jobs) == {
        "a": 3 * PRIORITY_STEP, "b": 2 * PRIORITY_STEP, "c": PRIORITY_STEP, "d": PRIORITY_STEP,
    }  # fmt: skip
    assert priorities([]) == {}
    assert priorities([_job("solo", (), ())]) == {"solo": PRIORITY_STEP}


def test_montage_priorities_follow_the_critical_path(montage_chain) -> None:  # type: ignore[no-untyped-def]
    """Every job outranks its children, and the first job has the whole chain behind it;
    all stay below Pegasus's stage-in (700)."""
    chain = montage_chain
    region = region_from_center(*CENTER, 0.15, 0.15, pixel_scale_arcsec=chain.built.images[0]
                                .image.header["CDELT2"] * 3600)  # fmt: skip
    for coadd in ((1, 1), (2, 2)):
        wf = build_montage(scan_images(chain.images), region, coadd=coadd).workflow
        prio = {j.id: int(j.profiles["dagman"]["priority"]) for j in wf.jobs}  # type: ignore[index]
        producer = {u.lfn: j.id for j in wf.jobs for u in j.outputs}
        g = nx.DiGraph()
        g.add_nodes_from(prio)
        g.add_edges_from(
            (producer[u.lfn], j.id) for j in wf.jobs for u in j.inputs if u.lfn in producer
        )
        assert all(prio[a] > prio[b] for a, b in g.edges)
        assert max(prio.values()) == PRIORITY_STEP * len(nx.dag_longest_path(g)) < 700


def test_planned_dag_carries_the_priorities(tmp_path: Path) -> None:
    """The priorities reach the DAG as a user's dagman profiles do: the first projection
    outranks every later compute node, mViewer (last on the critical path) is lowest, and
    Pegasus's stage-in and stage-out stay above them all."""
    from planner.cli import main
    from sites import site_yaml
    from sites.model import Directory, DirectoryType, FileServer, Site, SiteCatalog

    images = tmp_path / "images"
    assert main(["montage", "sky", "--center", *map(str, CENTER), "--size", "0.1", "0.1",
                 "--tiles", "2", "2", "--tile-pixels", "64", "64", "-o", str(images)]) == 0  # fmt: skip
    wf = tmp_path / "wf" / "workflow.yml"
    assert main(["montage", "build", "--images", str(images), "--center", *map(str, CENTER),
                 "--size", "0.1", "0.1", "--coadd-tiles", "2", "1", "-o", str(wf)]) == 0  # fmt: skip

    def directory(kind: DirectoryType, path: Path) -> Directory:
        return Directory(type=kind, path=str(path), file_servers=(FileServer(url=path.as_uri()),))

    site = Site(
        name="local",
        directories=(
            directory(DirectoryType.SHARED_SCRATCH, tmp_path / "scratch"),
            directory(DirectoryType.LOCAL_STORAGE, tmp_path / "outputs"),
        ),
        profiles={"pegasus": {"data.configuration": "sharedfs"}},
    )
    site_yaml.dump(SiteCatalog(sites=(site,)), tmp_path / "sites.yml")
    submit = tmp_path / "submit"
    assert main(["plan", str(wf), "--sc", str(tmp_path / "sites.yml"),
                 "--rc", str(wf.parent / "rc.yml"), "--tc", str(wf.parent / "tc.yml"),
                 "--sites", "local", "--output-site", "local", "--cleanup", "none",
                 "--dir", str(submit)]) == 0  # fmt: skip
    prio = {
        line.split()[1]: int(line.split()[2])
        for line in next(submit.glob("*.dag")).read_text().splitlines()
        if line.startswith("PRIORITY ")
    }
    compute = {n: p for n, p in prio.items() if n.startswith("m")}
    [viewer] = [p for n, p in compute.items() if n.startswith("mViewer_")]
    assert viewer == min(compute.values()) == PRIORITY_STEP
    assert max(compute.values()) == max(p for n, p in compute.items() if "mProjectPP" in n)
    movers = [p for n, p in prio.items() if n.startswith(("stage_in_", "stage_out_"))]
    assert movers and min(movers) > max(compute.values())
    assert sum(n.startswith("mAdd_") for n in prio) == 3  # two tiles, then the mosaic
