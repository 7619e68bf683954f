"""The one temp-then-rename writer every non-submit-dir file goes through."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalogs.atomic import atomic_write, atomic_write_text
from catalogs.errors import CatalogWriteError, WfplanError


class _Mine(WfplanError):
    pass


def test_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old\n", encoding="utf-8")
    atomic_write_text(target, "new\n")
    assert target.read_text(encoding="utf-8") == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_failing_fill_keeps_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old\n", encoding="utf-8")

    def fill(tmp: Path) -> None:
        tmp.write_text("half", encoding="utf-8")
        raise OSError(28, "No space left on device")

    with pytest.raises(_Mine) as exc:
        atomic_write(target, fill, error=_Mine)
    assert str(exc.value) == f"{target}: cannot write: No space left on device"
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_missing_folder_is_the_given_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogWriteError, match="cannot write"):
        atomic_write_text(tmp_path / "no" / "f.txt", "x")


def test_text_that_is_not_unicode_is_named(tmp_path: Path) -> None:
    with pytest.raises(CatalogWriteError, match="not valid Unicode"):
        atomic_write_text(tmp_path / "f.txt", "bad \udc80 surrogate")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_file_honours_the_umask(tmp_path: Path, umask: int) -> None:
    import os

    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "sites.yml", "sites: []\n")
        atomic_write(tmp_path / "m.png", lambda tmp: tmp.write_bytes(b"png"))
    finally:
        os.umask(old)
    for name in ("sites.yml", "m.png"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o640)
    atomic_write_text(target, "new\n")
    assert target.stat().st_mode & 0o777 == 0o640


def test_the_umask_is_read_without_changing_it() -> None:
    import os

    from catalogs.atomic import current_umask

    old = os.umask(0o027)
    try:
        assert current_umask() == 0o027
        assert current_umask() == 0o027
    finally:
        os.umask(old)
