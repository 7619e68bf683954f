"""Catalogs for the end-to-end tests: real programs installed on file:// sites in a tmp dir."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path


def install_programs(src: Path, names: Sequence[str], tmp: Path) -> Path:
    """Copy ``<name>.py`` of each name from ``src`` into ``tmp/bin``, executable."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    for name in names:
        shutil.copy2(src / f"{name}.py", bin_dir / f"{name}.py")
        (bin_dir / f"{name}.py").chmod(0o755)
    return bin_dir


def write_tc(tmp: Path, bin_dir: Path, names: Sequence[str], pools: Sequence[str]) -> Path:
    """``tmp/tc.yml``: every program installed on every site of ``pools``."""
    tc = "\n".join(
        f"  - name: {t}\n    sites: ["
        + ", ".join(f"{{name: {p}, pfn: {bin_dir / (t + '.py')}, type: installed}}" for p in pools)
        + "]"
        for t in names
    )
    path = tmp / "tc.yml"
    path.write_text(f'pegasus: "5.0"\ntransformations:\n{tc}\n')
    return path


def write_rc(tmp: Path, lfn: str, sha256: str | None = None) -> Path:
    """``tmp/rc.yml``: ``lfn`` on site local at ``tmp/<lfn>`` (with its checksum if given)."""
    checksum = f"\n    checksum: {{sha256: {sha256}}}" if sha256 else ""
    path = tmp / "rc.yml"
    path.write_text(
        f'pegasus: "5.0"\nreplicas:\n  - lfn: {lfn}\n'
        f"    pfns: [{{site: local, pfn: {tmp / lfn}}}]{checksum}\n"
    )
    return path


def _directory(kind: str, path: Path) -> str:
    return (
        f"      - type: {kind}\n        path: {path}\n"
        f'        fileServers: [{{url: "file://{path}", operation: all}}]\n'
    )


def write_file_sites(tmp: Path, pools: Sequence[str]) -> Path:
    """``tmp/sites.yml``: local (scratch ``local-scratch``, storage ``outputs``) and each
    pool with its scratch (``pool-scratch`` for condorpool, ``<pool>-scratch`` for others),
    all reached through file:// URLs."""
    path = tmp / "sites.yml"
    path.write_text(
        'pegasus: "5.0"\nsites:\n  - name: local\n    directories:\n'
        + _directory("sharedScratch", tmp / "local-scratch")
        + _directory("localStorage", tmp / "outputs")
        + "".join(
            f"  - name: {p}\n    directories:\n"
            + _directory(
                "sharedScratch", tmp / ("pool-scratch" if p == "condorpool" else f"{p}-scratch")
            )
            for p in pools
        )
    )
    return path
