"""HTCondor file transfer, done locally: inputs into a job's scratch dir, outputs back.

``transfer_input_files`` entries are paths relative to ``initialdir`` or URLs; a
directory ending in ``/`` sends its contents. Without ``transfer_output_files`` every
file the job created or changed at the top of its scratch dir comes back (HTCondor's
rule); ``transfer_output_files = ""`` brings back nothing; an entry ``dir/`` brings back
what ``dir`` holds, as if each item were listed. Outputs land in ``initialdir`` (or where
``transfer_output_remaps`` says) under a temporary name first and are renamed, so an
interrupted run leaves no half file.

A transfer that fails raises :class:`TransferHold`: on a pool the job would be held
(``HoldReasonCode`` 12 or 13); :func:`removed_when_held` says whether the job's own
``periodic_remove`` then removes it, which is what DAGMan sees.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from planner.engine.submitfile import JobSpec
from planner.errors import TransferHold
from planner.tools.transfer import TransferFailed, fetch

__all__ = [
    "INPUT_HOLD",
    "OUTPUT_HOLD",
    "copy_in",
    "copy_out",
    "removed_when_held",
    "sandbox_executable",
]

OUTPUT_HOLD = 12  # HTCondor's HoldReasonCode TransferOutputError
INPUT_HOLD = 13  # TransferInputError


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
            # on a pool the shadow fails to send it: an input transfer hold
            raise TransferHold(
                f"executable {spec.executable}: {exc.strerror or exc}",
                INPUT_HOLD,
                exc.errno or 0,
                where,
            )
        exe.chmod(0o755)  # the starter makes the shipped executable runnable
    for entry in spec.transfer_inputs:
        if "://" in entry:
            name = entry.rstrip("/").rsplit("/", 1)[-1]
            try:
                fetch(entry, scratch / name)
            except TransferFailed as exc:
                raise TransferHold(f"transfer_input_files: {exc}", INPUT_HOLD, 0, where)
            continue
        src = Path(entry) if os.path.isabs(entry) else spec.initialdir / entry
        if not src.exists():
            raise TransferHold(
                f"transfer_input_files: {src} does not exist", INPUT_HOLD, errno.ENOENT, where
            )
        try:
            if src.is_dir():
                if entry.endswith("/"):
                    shutil.copytree(src, scratch, dirs_exist_ok=True, symlinks=True)
                else:
                    shutil.copytree(src, scratch / src.name, symlinks=True)
            else:
                shutil.copy2(src, scratch / src.name)
        except OSError as exc:
            raise TransferHold(
                f"transfer_input_files: cannot copy {src}: {exc.strerror or exc}",
                INPUT_HOLD,
                exc.errno or 0,
                where,
            )
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


def _listed(spec: JobSpec, scratch: Path, where: str) -> list[tuple[str, Path]]:
    """(name on the submit side, path in scratch) of every listed output; ``dir/``
    stands for the items ``dir`` holds. A missing entry is HTCondor's hold 12."""
    found: list[tuple[str, Path]] = []
    for entry in spec.transfer_outputs or ():
        src = scratch / entry
        if not src.exists():
            what = "directory" if entry.endswith("/") else "file"
            raise TransferHold(
                f"transfer_output_files: the job did not create the {what} {entry!r}",
                OUTPUT_HOLD,
                errno.ENOENT,
                where,
            )
        if entry.endswith("/") and src.is_dir():
            found.extend((item, src / item) for item in sorted(os.listdir(src)))
        else:
            found.append((entry, src))
    return found


def copy_out(spec: JobSpec, scratch: Path, before: dict[str, int]) -> None:
    """Bring the job's outputs back to ``initialdir`` (atomically, one by one)."""
    where = str(spec.submit_file)
    if spec.transfer_outputs is None:
        after = _snapshot(scratch)
        items = [(n, scratch / n) for n in sorted(after) if before.get(n) != after[n]]
    else:
        items = _listed(spec, scratch, where)
    for name, src in items:
        target = spec.output_remaps.get(name, os.path.basename(name.rstrip("/")))
        dst = Path(target) if os.path.isabs(target) else spec.initialdir / target
        try:
            _place(src, dst)
        except OSError as exc:
            raise TransferHold(
                f"cannot transfer {name} back to {dst}: {exc.strerror or exc}",
                OUTPUT_HOLD,
                exc.errno or 0,
                where,
            )


def removed_when_held(spec: JobSpec, hold: TransferHold) -> bool:
    """Whether the job's ``periodic_remove`` is true for it once held by ``hold``
    (evaluated at the moment of the hold, as the schedd's next periodic check would)."""
    if not spec.periodic_remove:
        return False
    # the htcondor bindings' ClassAd language, needed only on this rare path
    import classad  # type: ignore[import-untyped]

    ad = classad.ClassAd()
    ad["JobStatus"] = 5
    ad["HoldReasonCode"] = hold.code
    ad["HoldReasonSubCode"] = hold.subcode
    try:
        ad["PeriodicRemove"] = classad.ExprTree(spec.periodic_remove)
        return ad.eval("PeriodicRemove") is True
    except (SyntaxError, RuntimeError, ValueError, TypeError):
        return False
