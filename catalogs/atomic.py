"""Writing a file all at once: a temporary file beside it, then one rename.

Every file wfplan writes outside the submit directory (catalogs, workflows, pictures,
Montage tables and images, the engine's status) goes through :func:`atomic_write`, so a
reader sees the old file or the new one, never half of one, and a failure leaves no
temporary file behind. It lives in ``catalogs`` because that package is the bottom of the
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
        fill(tmp)
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


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, error: type[WfplanError] = CatalogWriteError
) -> None:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_write`."""

    def fill(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(path, fill, error=error)
