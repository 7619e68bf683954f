"""A 3 x 3 synthetic sky run through the whole Montage chain once per test session."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from planner.apps.montage.generator import (
    MontageWorkflow,
    build_montage,
    region_from_center,
    scan_images,
    write_side_files,
)
from planner.apps.montage.inprocess import run_in_process
from planner.apps.montage.sky import make_sky, write_sky

CENTER = (161.265, -59.685)
SIZE = (0.15, 0.15)


@dataclass(frozen=True)
class Chain:
    images: Path
    work: Path
    built: MontageWorkflow


@pytest.fixture(scope="session")
def montage_chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    """Sky -> build -> every job's wrapper in dependency order, in one flat directory."""
    base = tmp_path_factory.mktemp("montage")
    sky = make_sky(CENTER, SIZE, (3, 3), tile_pixels=(200, 200), seed=11)
    write_sky(sky, base / "images")
    work = base / "work"
    region = region_from_center(*CENTER, *SIZE, pixel_scale_arcsec=sky.pixel_scale_arcsec)
    built = build_montage(scan_images(base / "images"), region, header_dir=work)
    write_side_files(built.files, work)
    for image in built.images:
        shutil.copy(image.image.path, work / image.image.lfn)
    run_in_process(built.workflow, work)
    return Chain(base / "images", work, built)
