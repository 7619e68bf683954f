"""What the test's file system can do (tests of checksum stamps kept in extended
attributes skip where a file system has none)."""

from __future__ import annotations

import os
from pathlib import Path


def xattrs_work(tmp: Path) -> bool:
    """Whether files in ``tmp`` take ``user.*`` extended attributes."""
    probe = tmp / ".xattr-probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.probe", b"1")
    except OSError:
        return False
    finally:
        probe.unlink()
    return True
