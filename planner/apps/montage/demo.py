"""``wfplan montage demo``: the whole chain around NGC 3372, on this machine.

sky -> ``wfplan montage build`` -> ``wfplan plan`` over two sites (``shared``: sharedfs;
``pool``: condorio; both directories under DIR) -> ``wfplan run`` (embedded engine) ->
``DIR/mosaic.fits`` and ``DIR/mosaic.png`` -> plan again with the output replica catalog,
which must reuse every job. Each step goes through the same entry point a user types.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from catalogs.atomic import atomic_write
from planner.emit.record import load_plan_record
from planner.errors import PlannerError, WriteError
from sites.model import Directory, DirectoryType, FileServer, Site, SiteCatalog

NGC3372 = (161.265, -59.685)
MARKER = ".wfplan-montage-demo"
# What the demo itself creates under DIR (and may remove when run again).
OWNED = ("images", "workflow", "sites", "outputs", "submit", "replan", "sites.yml",
         "outputs-rc.db", "mosaic.fits", "mosaic.png")  # fmt: skip


class DemoFailed(PlannerError):
    """A step of the demo did not do what it should."""


def demo_sites(root: Path) -> SiteCatalog:
    """``local`` (submit host: scratch and the output storage), ``shared`` (a shared file
    system, sharedfs) and ``pool`` (HTCondor file transfer, condorio)."""

    def directory(kind: DirectoryType, path: Path) -> Directory:
        return Directory(type=kind, path=str(path), file_servers=(FileServer(url=path.as_uri()),))

    return SiteCatalog(
        sites=(
            Site(
                name="local",
                directories=(
                    directory(DirectoryType.SHARED_SCRATCH, root / "sites" / "local" / "scratch"),
                    directory(DirectoryType.LOCAL_STORAGE, root / "outputs"),
                ),
            ),
            Site(
                name="shared",
                directories=(
                    directory(DirectoryType.SHARED_SCRATCH, root / "sites" / "shared" / "scratch"),
                ),
                profiles={"pegasus": {"data.configuration": "sharedfs"}},
            ),
            Site(name="pool", profiles={"pegasus": {"data.configuration": "condorio"}}),
        )
    )


def _prepare(root: Path) -> None:
    if root.exists() and any(root.iterdir()) and not (root / MARKER).exists():
        raise DemoFailed(
            f"{root} exists and is not a demo directory (no {MARKER}); choose an empty --dir"
        )
    root.mkdir(parents=True, exist_ok=True)
    for name in OWNED:
        path = root / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    (root / MARKER).write_text("made by wfplan montage demo; its contents may be replaced\n")


def _cli(argv: list[str]) -> None:
    from planner.cli import main

    print(f"$ wfplan {' '.join(argv)}", flush=True)
    code = main(argv)
    if code != 0:
        raise DemoFailed(f"'wfplan {' '.join(argv)}' exited {code}")


def _copy(src: Path, dst: Path) -> None:
    atomic_write(dst, lambda tmp: shutil.copyfile(src, tmp), error=WriteError)


def run_demo(
    root: Path,
    *,
    tiles: tuple[int, int] = (3, 3),
    tile_pixels: tuple[int, int] = (256, 256),
    jobs: int = 2,
    seed: int = 3372,
) -> int:
    """Run the demo into ``root``; 0 when the mosaic is made and every job is reused."""
    root = root.absolute()
    _prepare(root)
    started = time.perf_counter()
    paths = _DemoPaths.under(root)
    _make_inputs(paths, tiles, tile_pixels, seed)
    plan = ["plan", str(paths.wf), "--sc", str(paths.sc), "--tc", str(paths.tc),
            "--sites", "shared,pool", "--output-site", "local", "--seed", "1",
            "--output-rc", str(root / "outputs-rc.db")]  # fmt: skip
    _cli([*plan, "--rc", str(paths.rc), "--dir", str(root / "submit")])
    run_started = time.perf_counter()
    _cli(["run", str(root / "submit"), "-j", str(jobs), "--progress", "auto"])
    run_seconds = time.perf_counter() - run_started
    _copy_mosaic(root)
    print(
        f"mosaic: {root / 'mosaic.fits'} and {root / 'mosaic.png'} (run took {run_seconds:.1f} s)"
    )
    _cli(
        [*plan, "--rc", str(paths.rc), "--rc", str(root / "outputs-rc.db"),
         "--dir", str(root / "replan")]
    )  # fmt: skip
    _check_replan(root, paths.wf)
    print(f"demo done in {time.perf_counter() - started:.1f} s")
    return 0


@dataclass(frozen=True, slots=True)
class _DemoPaths:
    """The workflow and catalogs the demo writes and plans from."""

    root: Path
    wf: Path
    rc: Path
    tc: Path
    sc: Path

    @staticmethod
    def under(root: Path) -> _DemoPaths:
        workflow = root / "workflow"
        return _DemoPaths(
            root, workflow / "workflow.yml", workflow / "rc.yml", workflow / "tc.yml",
            root / "sites.yml",
        )  # fmt: skip


def _make_inputs(
    paths: _DemoPaths, tiles: tuple[int, int], tile_pixels: tuple[int, int], seed: int
) -> None:
    """The sky, the Montage workflow and its catalogs, the site catalog; then validate."""
    from sites import site_yaml

    root = paths.root
    nx, ny = tiles
    # ~0.05 degree per tile keeps the demo small (the real 2MASS tiles are 512 x 1024 px).
    size = (round(0.05 * nx, 4), round(0.05 * ny, 4))
    center = [str(NGC3372[0]), str(NGC3372[1])]
    _cli(["montage", "sky", "--center", *center, "--size", str(size[0]), str(size[1]),
          "--tiles", str(nx), str(ny), "--tile-pixels", str(tile_pixels[0]), str(tile_pixels[1]),
          "--seed", str(seed), "-o", str(root / "images")])  # fmt: skip
    _cli(["montage", "build", "--images", str(root / "images"), "--center", *center,
          "--size", str(size[0]), str(size[1]), "--sites", "shared,pool",
          "-o", str(paths.wf)])  # fmt: skip
    site_yaml.dump(demo_sites(root), paths.sc)
    print(f"wrote {paths.sc}: sites local, shared (sharedfs), pool (condorio)")
    _cli(["validate", str(paths.wf), "--rc", str(paths.rc), "--tc", str(paths.tc),
          "--sc", str(paths.sc)])  # fmt: skip


def _copy_mosaic(root: Path) -> None:
    """The mosaic and its PNG from the output site to the top of ``root``."""
    for src, dst in (("mosaic.fits", "mosaic.fits"), ("shrunken.png", "mosaic.png")):
        produced = root / "outputs" / src
        if not produced.is_file():
            raise DemoFailed(f"the run finished but {produced} is missing")
        _copy(produced, root / dst)


def _check_replan(root: Path, wf: Path) -> None:
    """The second plan must reuse every job of ``wf`` and run no compute node."""
    record = load_plan_record(root / "replan")
    total = sum(1 for _ in _jobs(wf))
    pruned = len(record.get("pruned", []))
    compute = [
        n["name"] for n in record.get("nodes", []) if n.get("kind") in ("compute", "cluster")
    ]
    if pruned != total or compute:
        raise DemoFailed(
            f"re-plan reused {pruned} of {total} jobs and still runs {len(compute)} "
            f"compute node(s) (first: {compute[:3]})"
        )
    print(f"re-plan: all {total} jobs reused from {root / 'outputs-rc.db'}; nothing left to run")


def _jobs(wf: Path) -> list[str]:
    from planner.formats import pegasus_yaml

    return [job.id for job in pegasus_yaml.load(wf).jobs]
