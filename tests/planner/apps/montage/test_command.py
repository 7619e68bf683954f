"""``wfplan montage sky|build``: files written, catalogs that load, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalogs import replica_yaml, transformation_yaml
from planner.cli import main
from planner.formats import pegasus_yaml

CENTER = ["161.265", "-59.685"]


def _sky(tmp_path: Path) -> Path:
    out = tmp_path / "images"
    argv = ["montage", "sky", "--center", *CENTER, "--size", "0.1", "0.1", "--tiles", "2", "2",
            "--tile-pixels", "64", "64", "--seed", "4", "-o", str(out)]  # fmt: skip
    assert main(argv) == 0
    return out


def test_sky_then_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images = _sky(tmp_path)
    assert sorted(p.name for p in images.iterdir()) == [
        "2mass-k-r00c00.fits", "2mass-k-r00c01.fits", "2mass-k-r01c00.fits",
        "2mass-k-r01c01.fits", "truth.tbl",
    ]  # fmt: skip
    wf = tmp_path / "wf" / "workflow.yml"
    argv = ["montage", "build", "--images", str(images), "--center", *CENTER,
            "--size", "0.1", "0.1", "--sites", "a,b", "-o", str(wf)]  # fmt: skip
    assert main(argv) == 0
    assert "wrote" in capsys.readouterr().out
    workflow = pegasus_yaml.load(wf)
    assert len(workflow.jobs) == 2 * 4 + 6 + 6
    rc = replica_yaml.load(wf.parent / "rc.yml")
    assert (
        rc.lookup("2mass-k-r00c00.fits")[0].url
        == (images / "2mass-k-r00c00.fits").resolve().as_uri()
    )
    assert rc.lookup("big_region.hdr")[0].url == (wf.parent / "big_region.hdr").resolve().as_uri()
    tc = transformation_yaml.load(wf.parent / "tc.yml")
    entry = tc.lookup(None, "mAdd", None)
    assert entry is not None and [s.name for s in entry.sites] == ["a", "b"]
    assert Path(entry.sites[0].pfn).name == "wfplan-mAdd"
    for name in ("region.hdr", "big_region.hdr", "statfile.tbl", "pimages.tbl", "cimages.tbl"):
        assert (wf.parent / name).is_file()
    assert main(["validate", str(wf), "--rc", str(wf.parent / "rc.yml"),
                 "--tc", str(wf.parent / "tc.yml")]) == 0  # fmt: skip


def test_build_is_deterministic(tmp_path: Path) -> None:
    images = _sky(tmp_path)
    outs = []
    for name in ("one", "two"):
        wf = tmp_path / name / "workflow.yml"
        argv = ["montage", "build", "--images", str(images), "--center", *CENTER,
                "--size", "0.1", "0.1", "-o", str(wf)]  # fmt: skip
        assert main(argv) == 0
        outs.append(wf)
    for name in ("workflow.yml", "tc.yml", "pimages.tbl", "statfile.tbl", "region.hdr"):
        assert (outs[0].parent / name).read_bytes() == (outs[1].parent / name).read_bytes()


def test_build_background_option(tmp_path: Path) -> None:
    images = _sky(tmp_path)
    for choice, name, script in (("exact", "mBgExact", "wfplan-mBgExact"),
                                 ("mBgModel", "mBgModel", "wfplan-mBgModel")):  # fmt: skip
        wf = tmp_path / choice / "workflow.yml"
        argv = ["montage", "build", "--images", str(images), "--center", *CENTER,
                "--size", "0.1", "0.1", "--background", choice, "-o", str(wf)]  # fmt: skip
        assert main(argv) == 0
        names = [j.name for j in pegasus_yaml.load(wf).jobs]
        assert names.count(name) == 1
        assert ({"mBgExact", "mBgModel"} - {name}).isdisjoint(names)
        entry = transformation_yaml.load(wf.parent / "tc.yml").lookup(None, name, None)
        assert entry is not None and Path(entry.sites[0].pfn).name == script
        assert Path(entry.sites[0].pfn).is_file()  # the console script is installed


def test_build_from_header_file(tmp_path: Path) -> None:
    images = _sky(tmp_path)
    first = tmp_path / "a" / "workflow.yml"
    base = ["montage", "build", "--images", str(images)]
    assert main([*base, "--center", *CENTER, "--size", "0.1", "0.1", "-o", str(first)]) == 0
    again = tmp_path / "b" / "workflow.yml"
    assert main([*base, "--header", str(first.parent / "region.hdr"), "-o", str(again)]) == 0
    assert first.read_bytes() == again.read_bytes()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--center", *CENTER], "need --center RA DEC and --size W H"),
        (["--center", "10", "10", "--size", "0.1", "0.1"], "no image touches the region"),
        (["--center", *CENTER, "--size", "0.1", "0.1", "--projection", "TANGENT"], "three-letter"),
        (["--header", "missing.hdr"], "missing.hdr: cannot read"),
        (
            ["--center", *CENTER, "--size", "0.1", "0.1", "--coadd-tiles", "0", "1"],
            "--coadd-tiles 0 1: co-add grid 0 x 1 does not fit the mosaic's",
        ),
    ],
)
def test_build_errors_are_one_line_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    images = _sky(tmp_path)
    capsys.readouterr()
    wf = tmp_path / "out" / "workflow.yml"
    assert main(["montage", "build", "--images", str(images), *extra, "-o", str(wf)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not wf.parent.exists()


def test_build_names_a_bad_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images = _sky(tmp_path)
    (images / "broken.fits").write_bytes(b"not a fits file")
    capsys.readouterr()
    argv = ["montage", "build", "--images", str(images), "--center", *CENTER,
            "--size", "0.1", "0.1", "-o", str(tmp_path / "w.yml")]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "broken.fits" in err and err.count("\n") == 1


def test_sky_rejects_bad_grid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["montage", "sky", "--center", *CENTER, "--size", "0.1", "0.1", "--tiles", "0", "2",
            "-o", str(tmp_path / "s")]  # fmt: skip
    assert main(argv) == 1
    assert "--tiles 0 2" in capsys.readouterr().err
