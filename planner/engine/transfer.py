"""HTCondor file transfer, done locally: inputs into a job's scratch dir, outputs back.

``transfer_input_files`` entries are paths relative to ``initialdir`` or URLs; a
directory ending in ``/`` sends its contents. Without ``transfer_output_files`` every
file the job created or changed at the top of its scratch dir comes back (HTCondor's
rule). Outputs land in ``initialdir`` (or where ``transfer_output_remaps`` says) under a
temporary name first and are renamed, so an interrupted run leaves no half file.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from planner.engine.submitfile import JobSpec
from planner.errors import EngineError
from planner.tools.transfer import TransferFailed, fetch

__all__ = ["copy_in", "copy_out", "sandbox_executable"]


def sandbox_executable(spec: JobSpec, scratch: Path) -> Path:
    """Where a shipped executable lands in the sandbox: under its own basename (what a
    current HTCondor starter does; older ones named it ``condor_exec.exe``)."""
    return scratch / os.path.basename(spec.executable)


def _snapshot(scratch: Path) -> dict[str, int]:
    return {e.name: e.stat().st_mtime_ns for e in os.scandir(scratch)}


def copy_in(spec: JobSpec, scratch: Path) -> dict[str, int]:
    """Copy the job's inputs (and its executable, unless ``transfer_executable = false``)
    into ``scratch``; return the scratch dir's state after."""
    where = str(spec.submit_file)
    if spec.transfer_executable:
        exe = sandbox_executable(spec, scratch)
        try:
            shutil.copyfile(spec.executable, exe)
        except OSError as exc:
            raise EngineError(f"executable {spec.executable}: {exc.strerror or exc}", source=where)
        exe.chmod(0o755)  # the starter makes the shipped executable runnable
    for entry in spec.transfer_inputs:
        if "://" in entry:
            name = entry.rstrip("/").rsplit("/", 1)[-1]
            try:
                fetch(entry, scratch / name)
            except TransferFailed as exc:
                raise EngineError(f"transfer_input_files: {exc}", source=where)
            continue
        src = Path(entry) if os.path.isabs(entry) else spec.initialdir / entry
        if not src.exists():
            raise EngineError(f"transfer_input_files: {src} does not exist", source=where)
        if src.is_dir():
            if entry.endswith("/"):
                shutil.copytree(src, scratch, dirs_exist_ok=True, symlinks=True)
            else:
                shutil.copytree(src, scratch / src.name, symlinks=True)
        else:
            shutil.copy2(src, scratch / src.name)
    return _snapshot(scratch)


def _place(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.wfplan-part{os.getpid()}")
    if src.is_dir() and not src.is_symlink():
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(src, tmp, symlinks=True)
        if dst.is_dir() and not dst.is_symlink():
            shutil.rmtree(dst)
    else:
        shutil.copy2(src, tmp, follow_symlinks=True)
    os.replace(tmp, dst)


def copy_out(spec: JobSpec, scratch: Path, before: dict[str, int]) -> None:
    """Bring the job's outputs back to ``initialdir`` (atomically, one by one)."""
    where = str(spec.submit_file)
    if spec.transfer_outputs is None:
        after = _snapshot(scratch)
        names = sorted(n for n, m in after.items() if before.get(n) != m)
        missing_ok = True
    else:
        names = list(spec.transfer_outputs)
        missing_ok = False
    for name in names:
        src = scratch / name
        if not src.exists():
            if missing_ok:
                continue
            raise EngineError(
                f"transfer_output_files: the job did not create {name!r}", source=where
            )
        target = spec.output_remaps.get(name, os.path.basename(name.rstrip("/")))
        dst = Path(target) if os.path.isabs(target) else spec.initialdir / target
        try:
            _place(src, dst)
        except OSError as exc:
            raise EngineError(f"cannot transfer {name} back to {dst}: {exc}", source=where)
