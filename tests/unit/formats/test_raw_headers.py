"""NRRD, MetaImage and VGStudio .vgi: header + raw data, sizes checked, pixels streamed."""

from __future__ import annotations

from pathlib import Path

import nrrd
import numpy as np
import pytest

from lims.formats.base import FormatError
from lims.formats.metaimage import MetaImageReader
from lims.formats.nrrd import NrrdReader
from lims.formats.registry import group_files, open_image
from lims.formats.vgi import VgiReader

from .helpers import read_all, write_mhd

RNG = np.random.default_rng(11)
VOL = RNG.integers(0, 65535, (5, 6, 7), dtype=np.uint16)


# --- NRRD -------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["raw", "gzip", "bzip2"])
@pytest.mark.parametrize("dtype", ["<u2", ">i4", "<f4"])
def test_nrrd_attached_round_trip(tmp_path: Path, encoding: str, dtype: str) -> None:
    vol = VOL.astype(dtype)
    path = tmp_path / "v.nrrd"
    header = {"encoding": encoding, "spacings": [0.5, 0.25, 2.0], "space units": ["um"] * 3}
    nrrd.write(str(path), vol, header, index_order="C")
    source = open_image([path])
    assert source.info.shape == (5, 6, 7)
    assert source.info.voxel_size == pytest.approx((2.0, 0.25, 0.5))
    assert source.info.dtype == np.dtype(dtype).newbyteorder("=")
    assert np.array_equal(read_all(source, depth=2), vol)
    again = open_image([path])  # re-reading from the start after a seek back
    assert np.array_equal(np.concatenate([*again.iter_slabs(3), *again.iter_slabs(3)])[5:], vol)
    again.close()


def test_nrrd_detached_with_space_directions(tmp_path: Path) -> None:
    path = tmp_path / "v.nhdr"
    header = {"space": "left-posterior-superior", "space directions": np.diag([0.1, 0.2, 0.3])}
    nrrd.write(str(path), VOL, header, detached_header=True, index_order="C")
    groups = group_files([tmp_path])
    assert groups == [[path, tmp_path / "v.raw.gz"]]  # pynrrd gzips by default
    source = NrrdReader().open(groups[0])
    assert source.info.voxel_size == pytest.approx((300.0, 200.0, 100.0))  # mm by LPS convention
    assert "space_units_assumed" in source.info.metadata
    assert np.array_equal(read_all(source), VOL)


def test_nrrd_2d_without_units_has_no_voxel_size(tmp_path: Path) -> None:
    path = tmp_path / "p.nrrd"
    nrrd.write(str(path), VOL[0], {"encoding": "raw", "spacings": [1.0, 1.0]}, index_order="C")
    source = open_image([path])
    assert source.info.voxel_size is None
    assert source.info.metadata["spacing_without_unit"] == [1.0, 1.0]
    assert np.array_equal(read_all(source), VOL[0])


@pytest.mark.req("A11-04")
def test_nrrd_truncated_raw(tmp_path: Path) -> None:
    path = tmp_path / "v.nrrd"
    nrrd.write(str(path), VOL, {"encoding": "raw"}, index_order="C")
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(
        FormatError, match=rf"v\.nrrd: expected {VOL.nbytes} bytes, file has {VOL.nbytes - 10}"
    ):
        open_image([path])


@pytest.mark.req("A11-04")
def test_nrrd_truncated_gzip(tmp_path: Path) -> None:
    path = tmp_path / "v.nrrd"
    nrrd.write(str(path), RNG.random((5, 60, 70)), {"encoding": "gzip"}, index_order="C")
    path.write_bytes(path.read_bytes()[:-2000])
    with pytest.raises(FormatError, match=r"v\.nrrd"):
        read_all(open_image([path]))


@pytest.mark.req("A11-04")
@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("type: block", "unsupported dtype 'block'"),
        ("encoding: ascii", "unsupported NRRD encoding"),
        ("data file: ../../etc/passwd", "must be a name next to the header"),
        ("data file: missing.raw", "data file missing.raw is missing"),
    ],
)
def test_nrrd_refused_headers(tmp_path: Path, line: str, message: str) -> None:
    key = line.split(":", maxsplit=1)[0]
    fields = {"type": "uint16", "encoding": "raw", "data file": "v.raw"} | {
        key: line.split(": ")[1]
    }
    text = "NRRD0004\ndimension: 3\nsizes: 7 6 5\nendian: little\n"
    text += "".join(f"{k}: {v}\n" for k, v in fields.items())
    (tmp_path / "v.raw").write_bytes(VOL.tobytes())
    (tmp_path / "v.nhdr").write_text(text)
    with pytest.raises(FormatError, match=message):
        open_image([tmp_path / "v.nhdr"])


# --- MetaImage --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["<u2", ">u2"])
def test_mhd_round_trip(tmp_path: Path, dtype: str) -> None:
    vol = VOL.astype(dtype)
    header = write_mhd(tmp_path, vol)
    source = MetaImageReader().open([header, tmp_path / "vol.raw"])
    assert source.info.voxel_size == pytest.approx((30.0, 20.0, 10.0))
    assert np.array_equal(read_all(source, depth=3), vol)


def test_mha_local_data(tmp_path: Path) -> None:
    path = tmp_path / "v.mha"
    plane = VOL[0].astype(np.float32)
    head = (
        b"ObjectType = Image\nNDims = 2\nDimSize = 7 6\nElementType = MET_FLOAT\n"
        b"ElementDataFile = LOCAL\n"
    )
    path.write_bytes(head + plane.tobytes())
    source = open_image([path])
    assert not source.info.is_volume
    assert source.info.voxel_size is None
    assert np.array_equal(read_all(source), plane)


@pytest.mark.req("A11-04")
def test_mhd_size_mismatch(tmp_path: Path) -> None:
    header = write_mhd(tmp_path, VOL)
    (tmp_path / "vol.raw").write_bytes(VOL.tobytes()[:-6])
    with pytest.raises(
        FormatError, match=rf"vol\.raw: expected {VOL.nbytes} bytes, file has {VOL.nbytes - 6}"
    ):
        open_image([header, tmp_path / "vol.raw"])


@pytest.mark.req("A11-04")
def test_mhd_header_size_mismatch(tmp_path: Path) -> None:
    header = write_mhd(tmp_path, VOL, extra="HeaderSize = 100\n")
    with pytest.raises(
        FormatError, match=rf"expected {VOL.nbytes} bytes, file has {VOL.nbytes - 100}"
    ):
        open_image([header, tmp_path / "vol.raw"])


@pytest.mark.req("A11-04")
@pytest.mark.parametrize(
    ("element", "extra", "message"),
    [
        ("MET_STRING", "", "unsupported dtype 'MET_STRING'"),
        ("MET_USHORT", "CompressedData = True\n", "compressed MetaImage"),
        ("MET_USHORT", "ElementNumberOfChannels = 3\n", "multi-channel"),
    ],
)
def test_mhd_refused(tmp_path: Path, element: str, extra: str, message: str) -> None:
    header = write_mhd(tmp_path, VOL, element=element, extra=extra)
    with pytest.raises(FormatError, match=message):
        open_image([header, tmp_path / "vol.raw"])


# --- VGStudio ---------------------------------------------------------------------------------

VGI = """{{volume1}}
[representation]
size = 7 6 5
datatype = {datatype}
datarange = 0 65535
bitsperelement = {bits}
[file1]
SkipHeader = {skip}
FileFormat = raw
Size = 7 6 5
Name = C:\\\\scans\\\\part.vol
Datatype = {datatype}
BitsPerElement = {bits}
[geometry]
resolution = 0.005 0.006 0.007
unit = mm
"""


def _vgi(
    folder: Path, data: bytes, *, datatype: str = "unsigned integer", bits: int = 16, skip: int = 0
) -> list[Path]:
    (folder / "part.vgi").write_text(VGI.format(datatype=datatype, bits=bits, skip=skip))
    (folder / "part.vol").write_bytes(b"\0" * skip + data)
    return [folder / "part.vgi", folder / "part.vol"]


def test_vgi_round_trip(tmp_path: Path) -> None:
    files = _vgi(tmp_path, VOL.tobytes(), skip=64)
    assert group_files([tmp_path]) == [files]
    source = VgiReader().open(files)
    assert source.info.voxel_size == pytest.approx((7.0, 6.0, 5.0))
    assert source.info.metadata["vgi"]["volume1"]["file1"]["fileformat"] == "raw"
    assert np.array_equal(read_all(source), VOL)


def test_vgi_float(tmp_path: Path) -> None:
    vol = VOL.astype(np.float32) / 7
    source = open_image(_vgi(tmp_path, vol.tobytes(), datatype="float", bits=32))
    assert np.array_equal(read_all(source), vol)


@pytest.mark.req("A11-04")
@pytest.mark.parametrize(
    ("datatype", "bits", "message"),
    [
        ("complex", 64, "unsupported dtype 'complex'"),
        ("float", 16, "unsupported dtype"),
        ("", 0, "does not state"),
    ],
)
def test_vgi_unsupported_datatype(tmp_path: Path, datatype: str, bits: int, message: str) -> None:
    files = _vgi(tmp_path, VOL.tobytes(), datatype=datatype, bits=bits)
    with pytest.raises(FormatError, match=message):
        open_image(files)


@pytest.mark.req("A11-04")
def test_vgi_size_mismatch_and_missing_volume(tmp_path: Path) -> None:
    files = _vgi(tmp_path, VOL.tobytes()[:-2])
    with pytest.raises(
        FormatError, match=rf"part\.vol: expected {VOL.nbytes} bytes, file has {VOL.nbytes - 2}"
    ):
        open_image(files)
    files[1].unlink()
    with pytest.raises(FormatError, match=r"part\.vgi: data file part\.vol is missing"):
        VgiReader().open(files[:1])
