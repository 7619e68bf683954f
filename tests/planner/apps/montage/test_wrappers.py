"""The Montage wrapper scripts: status lines, mConcatFit, mBackground -t, exit codes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from planner.apps.montage.ipac import read_table, table_lines
from planner.apps.montage.wrappers import (
    CONCAT_HEADER,
    MontageFailed,
    concat_fit_lines,
    correction_for,
    fit_status_line,
    mBackground_main,
    mConcatFit_main,
    mProjectPP_main,
    mViewer_main,
    parse_status_line,
)
from planner.errors import FormatError

FIT = {
    "a": 0.12, "b": -0.5, "c": 101.25, "crpix1": 101.5, "crpix2": 279.5, "xmin": -100.5,
    "xmax": -81.5, "ymin": -279.5, "ymax": -81.5, "xcenter": -91.03, "ycenter": -180.37,
    "npixel": 3449, "rms": 0.549, "boxx": -91, "boxy": -180.5, "boxwidth": 198,
    "boxheight": 21, "boxang": 90,
}  # fmt: skip


def test_status_line_round_trip() -> None:
    line = fit_status_line(FIT)
    assert line.startswith('[struct stat="OK", a=0.12, b=-0.5, c=101.25, crpix1=101.5')
    parsed = parse_status_line(line)
    assert parsed["stat"] == "OK"
    assert {k: float(v) for k, v in parsed.items() if k != "stat"} == pytest.approx(FIT)
    assert parse_status_line('[struct stat="ERROR", msg="a, b = c"]') == {
        "stat": "ERROR",
        "msg": "a, b = c",
    }
    with pytest.raises(ValueError, match="not a Montage status line"):
        parse_status_line("hello")


def _statfiles(tmp: Path, entries: list[tuple[int, int, str | None]]) -> Path:
    rows = []
    for i, j, content in entries:
        name = f"fit.{i:06d}.{j:06d}.txt"
        rows.append((str(i), str(j), name))
        if content is not None:
            (tmp / name).write_text(content)
    path = tmp / "statfile.tbl"
    path.write_text(
        "\n".join(table_lines([("cntr1", "int"), ("cntr2", "int"), ("stat", "char")], rows)) + "\n"
    )
    return path


def test_concat_fit_counts_warnings_failures_and_missing(tmp_path: Path) -> None:
    statfile = _statfiles(
        tmp_path,
        [
            (1, 2, fit_status_line(FIT)),
            (1, 3, '[struct stat="WARNING", msg="no overlap"]\n'),
            (2, 3, '[struct stat="ERROR", msg="bad"]\n'),
            (3, 4, None),
        ],
    )
    lines, counts = concat_fit_lines(statfile, tmp_path)
    assert counts == {"count": 4, "failed": 1, "missing": 1, "warning": 1}
    assert lines[0] == CONCAT_HEADER
    assert lines[1].split()[:5] == ["1", "2", "1.20000e-01", "-5.00000e-01", "1.01250e+02"]
    # C's atoi truncates "-100.5" to -100, as Montage writes it.
    assert lines[1].split()[7:11] == ["-100", "-81", "-279", "-81"]
    out = tmp_path / "fits.tbl"
    assert mConcatFit_main([str(statfile), str(out), str(tmp_path)]) == 0
    rows = read_table(out)
    assert [(r["plus"], r["minus"], r["npixel"]) for r in rows] == [("1", "2", "3449")]


def test_concat_fit_abort_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    statfile = _statfiles(tmp_path, [(1, 2, '[struct stat="ABORT", msg="disk full"]\n')])
    assert mConcatFit_main([str(statfile), str(tmp_path / "fits.tbl"), str(tmp_path)]) == 1
    assert capsys.readouterr().err == "wfplan-mConcatFit: error: disk full\n"


def _tables(tmp: Path) -> tuple[Path, Path]:
    images = tmp / "pimages.tbl"
    images.write_text(
        "\n".join(
            table_lines([("cntr", "int"), ("fname", "char")], [("1", "pa.fits"), ("2", "pb.fits")])
        )
        + "\n"
    )
    corrections = tmp / "corrections.tbl"
    corrections.write_text(
        "|   id   |      a       |      b       |      c       |\n"
        "        1   -2.04228e-02   -1.06649e-01    4.80244e+01\n"
    )
    return images, corrections


def test_correction_found_by_exact_file_name(tmp_path: Path) -> None:
    images, corrections = _tables(tmp_path)
    assert correction_for("pa.fits", images, corrections) == (-2.04228e-02, -1.06649e-01, 48.0244)
    assert correction_for("pb.fits", images, corrections) == (0.0, 0.0, 0.0)
    with pytest.raises(MontageFailed, match=r"pc\.fits is not listed"):
        correction_for("pc.fits", images, corrections)


def test_errors_are_one_line_naming_the_module(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert mProjectPP_main(["-X", "in.fits", "out.fits", "region.hdr"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("wfplan-mProjectPP: error: input file 'in.fits' not found")
    assert err.count("\n") == 1
    images, corrections = _tables(tmp_path)
    (tmp_path / "px.fits").write_bytes(b"")
    assert mBackground_main(["-t", "px.fits", "cx.fits", str(images), str(corrections)]) == 1
    assert "px.fits is not listed" in capsys.readouterr().err
    assert mViewer_main(["-ct", "1", "-gray", "x.fits", "min", "max"]) == 1
    assert capsys.readouterr().err == "wfplan-mViewer: error: need -out FILE\n"


def test_bad_table_is_a_format_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tbl"
    bad.write_text(" 1 2 3\n")
    with pytest.raises(FormatError, match=r"bad\.tbl: line 1: data before the column header"):
        read_table(bad)


DEBIAN = shutil.which("mConcatFit") and shutil.which("mBackground")


@pytest.mark.skipif(
    not DEBIAN,
    reason="Debian's montage/montage-gridtools binaries (mConcatFit, mBackground) are not "
    "installed: cannot compare with the real Montage",
)
def test_same_bytes_as_debian_montage(montage_chain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    work = montage_chain.work
    real = tmp_path / "fits.tbl"
    subprocess.run(["mConcatFit", "statfile.tbl", str(real), "."], cwd=work, check=True,
                   capture_output=True)  # fmt: skip
    assert real.read_text() == (work / "fits.tbl").read_text()

    from astropy.io import fits

    image = montage_chain.built.images[4].image.lfn
    out = tmp_path / "c.fits"
    proc = subprocess.run(
        ["mBackground", "-t", "p" + image, str(out), "pimages.tbl", "corrections.tbl"],
        cwd=work, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert 'stat="OK"' in proc.stdout
    ours = fits.getdata(work / ("c" + image))
    theirs = fits.getdata(out)
    assert ours.shape == theirs.shape
    assert float(abs(ours - theirs)[ours == ours].max()) < 1e-3


def test_difffit_of_a_pair_that_does_not_overlap_is_a_warning(
    montage_chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from planner.apps.montage.wrappers import mDiffFit_main

    monkeypatch.chdir(montage_chain.work)
    status = tmp_path / "fit.txt"
    diff = tmp_path / "diff.fits"
    argv = [
        "-s",
        str(status),
        "p2mass-k-r00c00.fits",
        "p2mass-k-r02c02.fits",
        str(diff),
        "big_region.hdr",
    ]
    assert mDiffFit_main(argv) == 0
    assert parse_status_line(status.read_text()) == {
        "stat": "WARNING",
        "msg": "Images don't overlap",
    }
    assert diff.is_file()  # condorio transfers every declared output
    assert (tmp_path / "diff_area.fits").is_file()  # its area image is declared too
    lines, counts = concat_fit_lines(_statfiles(tmp_path, [(1, 9, status.read_text())]), tmp_path)
    assert counts["warning"] == 1 and lines == [CONCAT_HEADER]
