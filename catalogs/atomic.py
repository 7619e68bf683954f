"""Writing a file all at once: a temporary file beside it, then one rename.

Every file wfplan writes outside the submit directory (catalogs, workflows, pictures,
Montage tables and images, the engine's status) goes through :func:`atomic_write`, so a
reader sees the old file or the new one, never half of one, and a failure leaves no
temporary file behind. The file gets the mode a plain ``open(path, "w")`` would give it:
the old file's, else 0666 less the umask (a temporary file starts at 0600). It lives in
``catalogs`` because that package is the bottom of the
import order (``planner`` may import it; it imports nothing of ``planner``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from catalogs.errors import CatalogWriteError, WfplanError


def atomic_write(
    path: str | os.PathLike[str],
    fill: Callable[[Path], object],
    *,
    error: type[WfplanError] = CatalogWriteError,
) -> None:
    """Create ``path`` by letting ``fill`` write a temporary file beside it, then renaming
    it into place. An OS or encoding failure becomes ``error`` naming ``path``."""
    path = Path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise error(f"cannot write: {exc.strerror or exc}", source=str(path)) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        mode = _mode_for(path)
        fill(tmp)
        os.chmod(tmp, mode)  # after fill: a fill may replace the file it was given
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise error(f"cannot write: {exc.strerror or exc}", source=str(path)) from None
    except UnicodeEncodeError as exc:
        tmp.unlink(missing_ok=True)
        bad = exc.object[exc.start : exc.end]
        raise error(f"cannot write: {bad!r} is not valid Unicode text", source=str(path)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    """The permission bits ``open(path, "w")`` would leave ``path`` with."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process's umask, read without changing it where Linux shows it (``os.umask``
    can only be read by setting it, which another thread could observe)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, error: type[WfplanError] = CatalogWriteError
) -> None:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_write`."""

    def fill(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(path, fill, error=error)
