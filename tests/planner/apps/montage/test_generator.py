"""The generated workflow against what Montage's own mDAG wrote for 16 tiles."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import networkx as nx
import pytest

from planner.apps.montage.generator import (
    InputImage,
    NoImagesInRegion,
    build_montage,
    mbgmodel_iterations,
    region_from_center,
    region_from_text,
    transformation_catalog,
)
from planner.apps.montage.ipac import read_table
from planner.apps.montage.sky import make_sky
from planner.errors import FormatError
from planner.model.workflow import Workflow

CENTER = (161.265, -59.685)
STAMP = re.compile(r"_\d{8}_\d{6}_\d+")
TILE = re.compile(r"2mass-k-r\d\dc\d\d")


def _sky_images(nx_: int, ny_: int) -> list[InputImage]:
    sky = make_sky(CENTER, (0.05 * nx_, 0.05 * ny_), (nx_, ny_), tile_pixels=(48, 48), seed=1)
    return [InputImage(t.name, Path("/data") / t.name, t.header) for t in sky.tiles]


def _build(nx_: int, ny_: int, background: str = "exact") -> Workflow:
    region = region_from_center(*CENTER, 0.05 * nx_, 0.05 * ny_, pixel_scale_arcsec=4.0)
    return build_montage(_sky_images(nx_, ny_), region, background=background).workflow


# A job is named by what it works on, so both workflows can be compared whatever their
# ids and image numbering: mProjectPP/mBackground by their tile, mDiffFit by its two tiles.
JobKey = tuple[str, tuple[str, ...]]
Files = tuple[frozenset[str], frozenset[str]]


def _normal(lfn: str, tiles_by_cntr: dict[int, str]) -> str:
    m = re.fullmatch(r"(fit|diff)\.(\d+)\.(\d+)\.(txt|fits)", lfn)
    if m:
        a, b = sorted((tiles_by_cntr[int(m.group(2))], tiles_by_cntr[int(m.group(3))]))
        return f"{m.group(1)}.{a}.{b}.{m.group(4)}"
    name = STAMP.sub("", lfn)
    return "shrunken.png" if name == "shrunken.jpg" else name


def _key(name: str, inputs: frozenset[str]) -> JobKey:
    tiles = sorted({m.group(0) for f in inputs for m in [TILE.search(f)] if m})
    if name in ("mProjectPP", "mBackground", "mDiffFit"):
        return name, tuple(tiles)
    return name, ()


def _from_workflow(
    wf: Workflow,
) -> tuple[dict[JobKey, Files], set[tuple[JobKey, JobKey]], dict[JobKey, tuple[str, ...]]]:
    """Files, edges (explicit and file-implied) and arguments of each job, by job key."""
    proj = [j for j in wf.jobs if j.name == "mProjectPP"]
    # Images are numbered in mProjectPP order: fit.000001.000003 means images 1 and 3.
    tiles_by_cntr = {i + 1: TILE.search(j.arguments[1]).group(0) for i, j in enumerate(proj)}  # type: ignore[union-attr]
    out: dict[JobKey, Files] = {}
    args: dict[JobKey, tuple[str, ...]] = {}
    key_by_id: dict[str, JobKey] = {}
    producer: dict[str, str] = {}
    for job in wf.jobs:
        # mDAG's bookkeeping: mJPEG passes the DAX itself and the raw image table through.
        uses = [u for u in job.uses if not u.lfn.startswith(("dag_", "images_"))]
        # wfplan also declares mDiff's area image, which mDAG's DAX leaves out.
        uses = [u for u in uses if not re.fullmatch(r"diff\.\d+\.\d+_area\.fits", u.lfn)]
        ins = frozenset(_normal(u.lfn, tiles_by_cntr) for u in uses if u.is_input)
        outs = frozenset(_normal(u.lfn, tiles_by_cntr) for u in uses if u.is_output)
        name = "mViewer" if job.name == "mJPEG" else job.name
        key = key_by_id[job.id] = _key(name, ins)
        out[key] = (ins, outs)
        args[key] = tuple(_normal(a, tiles_by_cntr) for a in job.arguments)
        for u in uses:
            if u.is_output:
                producer[u.lfn] = job.id
    edges = {
        (key_by_id[producer[u.lfn]], key_by_id[job.id])
        for job in wf.jobs
        for u in job.inputs
        if u.lfn in producer and producer[u.lfn] != job.id
    } | {(key_by_id[a], key_by_id[b]) for a, b in wf.dependencies}
    return out, edges, args


def test_matches_mdag_16_tiles(shared_data: Path) -> None:
    from planner.formats import dax

    dax_jobs, dax_edges, dax_args = _from_workflow(
        dax.load(shared_data / "montage" / "mdag-16tiles.dax.xml")
    )
    # mBgModel as mDAG runs it (the default background job is the exact solve).
    our_jobs, our_edges, our_args = _from_workflow(_build(4, 4, background="mBgModel"))

    assert Counter(k[0] for k in our_jobs) == Counter(k[0] for k in dax_jobs)
    assert len(our_jobs) == len(dax_jobs) == 80
    assert set(our_jobs) == set(dax_jobs)
    for key, files in dax_jobs.items():
        assert our_jobs[key] == files, key
        if key[0] == "mDiffFit":  # which image is "plus" follows the numbering
            assert sorted(our_args[key]) == sorted(dax_args[key]), key
        elif key[0] != "mViewer":  # mJPEG's options are not mViewer's
            assert our_args[key] == dax_args[key], key
    # mDAG's edges are not transitively reduced (mAdd has 17 parents): compare reductions.
    dax_g = nx.DiGraph(dax_edges)
    our_g = nx.DiGraph(our_edges)
    assert set(nx.transitive_reduction(our_g).edges) == set(nx.transitive_reduction(dax_g).edges)
    closure = nx.transitive_closure_dag(our_g)
    assert all(closure.has_edge(a, b) for a, b in dax_edges)


def test_job_count_formula_and_order() -> None:
    wf = _build(3, 2)
    overlaps = 3 * 1 + 2 * 2 + 2 * 2 * 1
    assert len(wf.jobs) == 2 * 6 + overlaps + 6
    names = [j.name for j in wf.jobs]
    assert names[:6] == ["mProjectPP"] * 6
    assert names[-4:] == ["mImgtbl", "mAdd", "mShrink", "mViewer"]
    assert [j.id for j in wf.jobs] == [f"ID{i:06d}" for i in range(1, len(wf.jobs) + 1)]


def test_only_final_products_are_staged_out() -> None:
    wf = _build(2, 2)
    kept = sorted(u.lfn for j in wf.jobs for u in j.outputs if u.stage_out)
    assert kept == ["mosaic.fits", "mosaic_area.fits", "shrunken.fits", "shrunken.png"]
    diffs = [u for j in wf.jobs for u in j.outputs if u.lfn.startswith("diff.")]
    assert diffs and all(u.optional for u in diffs)
    # Every difference image's area image is declared (mDAG leaves it out), so cleanup
    # removes it: each mDiffFit job declares both.
    for job in (j for j in wf.jobs if j.name == "mDiffFit"):
        outs = sorted(u.lfn for u in job.outputs if u.lfn.startswith("diff."))
        assert len(outs) == 2 and outs[1] == outs[0].replace(".fits", "_area.fits")


def test_images_outside_the_region_are_dropped() -> None:
    images = _sky_images(2, 2)
    middle = images[3].header  # r01c01: a tiny region around its centre touches only it
    far = region_from_center(
        middle["CRVAL1"], middle["CRVAL2"], 0.005, 0.005, pixel_scale_arcsec=4.0
    )
    result = build_montage(images, far)
    assert [p.image.lfn for p in result.images] == ["2mass-k-r01c01.fits"]
    assert result.pairs == ()
    nowhere = region_from_center(10.0, 10.0, 0.1, 0.1)
    with pytest.raises(NoImagesInRegion, match="no image touches the region"):
        build_montage(images, nowhere)


def test_side_tables_number_images_from_one_like_the_fits() -> None:
    region = region_from_center(*CENTER, 0.1, 0.1, pixel_scale_arcsec=4.0)
    result = build_montage(_sky_images(2, 2), region)
    tables = {name: text for name, text in result.files.items()}
    tmp_rows = [
        line for line in tables["pimages.tbl"].splitlines() if not line.startswith(("|", "\\"))
    ]
    assert [int(r.split()[0]) for r in tmp_rows] == [1, 2, 3, 4]
    assert tables["statfile.tbl"].splitlines()[2].split() == ["1", "2", "fit.000001.000002.txt"]
    assert "END" in tables["region.hdr"].splitlines()[-1]


def test_side_tables_read_back(tmp_path: Path) -> None:
    region = region_from_center(*CENTER, 0.1, 0.1, pixel_scale_arcsec=4.0)
    result = build_montage(_sky_images(2, 2), region)
    (tmp_path / "pimages.tbl").write_text(result.files["pimages.tbl"])
    rows = read_table(tmp_path / "pimages.tbl")
    assert [r["fname"] for r in rows] == [
        f"p2mass-k-r0{r}c0{c}.fits" for r in (0, 1) for c in (0, 1)
    ]
    assert all(int(r["naxis1"]) > 0 for r in rows)


def test_region_header_round_trip_and_errors() -> None:
    region = region_from_center(*CENTER, 0.1, 0.05, pixel_scale_arcsec=2.0)
    again = region_from_text(region.text(), "r.hdr")
    assert again.naxis == region.naxis == (180, 90)
    with pytest.raises(FormatError, match=r"r\.hdr: header lacks NAXIS1"):
        region_from_text("CTYPE1  = 'RA---TAN'\nEND\n", "r.hdr")
    with pytest.raises(FormatError, match="three-letter"):
        region_from_center(*CENTER, 0.1, 0.1, projection="TANGENT")
    with pytest.raises(FormatError, match="must be positive"):
        region_from_center(*CENTER, 0.0, 0.1)


def test_transformation_catalog_points_at_the_wrappers(tmp_path: Path) -> None:
    tc = transformation_catalog(["condorpool", "local"], tmp_path)
    entry = tc.lookup(None, "mDiffFit", None)
    assert entry is not None
    assert [(s.name, s.pfn) for s in entry.sites] == [
        ("condorpool", str(tmp_path / "wfplan-mDiffFit")),
        ("local", str(tmp_path / "wfplan-mDiffFit")),
    ]
    assert len(tc.transformations) == 10


def test_background_model_is_exact_unless_mbgmodel_is_asked_for() -> None:
    exact = _build(2, 2)
    [job] = [j for j in exact.jobs if j.name in ("mBgExact", "mBgModel")]
    assert (job.name, job.arguments) == ("mBgExact", ("pimages.tbl", "fits.tbl", "corrections.tbl"))
    region = region_from_center(*CENTER, 0.1, 0.1, pixel_scale_arcsec=4.0)
    built = build_montage(_sky_images(2, 2), region)
    assert [t.name for t in built.transformation_catalog.transformations] == [
        "mProjectPP", "mDiffFit", "mConcatFit", "mBgExact", "mBackground",
        "mImgtbl", "mAdd", "mShrink", "mViewer",
    ]  # fmt: skip
    with pytest.raises(FormatError, match="background model 'fast' is not one of"):
        build_montage(_sky_images(2, 2), region, background="fast")


def test_mbgmodel_iterations_grow_with_the_images() -> None:
    assert mbgmodel_iterations(16) == 100_000  # mDAG's count for its 16-image case
    assert mbgmodel_iterations(4) == 100_000
    assert mbgmodel_iterations(32) == 200_000
    assert mbgmodel_iterations(210) == 1_312_500
    [job] = [j for j in _build(5, 4, background="mBgModel").jobs if j.name == "mBgModel"]
    assert job.arguments[:2] == ("-i", "125000")


def test_image_tables_predict_what_mprojectpp_writes(tmp_path: Path) -> None:
    """pimages.tbl/cimages.tbl give each image the size and reference pixel mProjectPP -X
    writes. A frame whose pixels are not the tiles' (1.37 against about 2 arcsec) puts
    footprint edges just past pixel boundaries, where mProjectPP's allocation cuts one."""
    from astropy.io import fits

    from planner.apps.montage.sky import write_sky
    from planner.apps.montage.wrappers import mProjectPP_main

    mismatches = []
    for seed in range(4):
        sky = make_sky(CENTER, (0.1, 0.1), (3, 2), tile_pixels=(64, 128), seed=seed)
        where = tmp_path / str(seed)
        write_sky(sky, where)
        region = region_from_center(*CENTER, 0.1, 0.1, pixel_scale_arcsec=1.37)
        images = [InputImage(t.name, where / t.name, t.header) for t in sky.tiles]
        built = build_montage(images, region)
        (where / "big_region.hdr").write_text(built.files["big_region.hdr"])
        for name in ("pimages.tbl", "cimages.tbl"):
            (where / name).write_text(built.files[name])
        rows = {r["fname"][1:]: r for r in read_table(where / "pimages.tbl")}
        assert [r["fname"][1:] for r in read_table(where / "cimages.tbl")] == list(rows)
        for p in built.images:
            out = where / ("p" + p.base)
            assert (
                mProjectPP_main(["-X", str(p.image.path), str(out), str(where / "big_region.hdr")])
                == 0
            )
            h = fits.getheader(out)
            row = rows[p.base]
            predicted = (
                int(row["naxis1"]),
                int(row["naxis2"]),
                float(row["crpix1"]),
                float(row["crpix2"]),
            )
            written = (h["NAXIS1"], h["NAXIS2"], h["CRPIX1"], h["CRPIX2"])
            if predicted != written:
                mismatches.append((seed, p.base, predicted, written))
    assert mismatches == []
