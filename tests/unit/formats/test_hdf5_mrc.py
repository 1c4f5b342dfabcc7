"""HDF5 (DXchange, NeXus) and MRC readers."""

from __future__ import annotations

from pathlib import Path

import h5py
import mrcfile
import numpy as np
import pytest

from lims.formats.base import FormatError
from lims.formats.hdf5 import Hdf5Reader
from lims.formats.mrc import MrcReader
from lims.formats.registry import open_image

from .helpers import read_all

RNG = np.random.default_rng(5)
VOL = RNG.integers(0, 4000, (6, 5, 4), dtype=np.uint16)


def _dxchange(path: Path) -> None:
    with h5py.File(path, "w") as f:
        f.create_dataset("exchange/data", data=VOL, chunks=(2, 5, 4), compression="gzip")
        f["exchange/data"].attrs["axes"] = "theta:y:x"
        f.create_dataset("exchange/data_white", data=np.ones((2, 5, 4), np.uint16))
        f.create_dataset("exchange/data_dark", data=np.zeros((2, 5, 4), np.uint16))
        det = f.create_group("measurement/instrument/detector")
        det["actual_pixel_size_x"] = 0.65
        det["actual_pixel_size_y"] = 0.65
        det["actual_pixel_size_x"].attrs["units"] = "microns"
        det["actual_pixel_size_y"].attrs["units"] = "microns"
        f["measurement/instrument/source/energy"] = 25.0
        f["measurement/sample/name"] = b"bone-12"


def test_dxchange_round_trip_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "scan.h5"
    _dxchange(path)
    source = open_image([path])
    meta = source.info.metadata
    assert meta["layout"] == "dxchange"
    assert meta["data_white"] == {"shape": [2, 5, 4], "dtype": "uint16"}
    assert meta["pixel_size_um"] == pytest.approx([0.65, 0.65])
    assert meta["measurement"]["sample/name"] == "bone-12"
    assert meta["attrs"] == {"axes": "theta:y:x"}
    assert source.info.voxel_size is None  # first axis is the rotation angle
    assert np.array_equal(read_all(source, depth=4), VOL)


def test_nexus_signal_and_axes(tmp_path: Path) -> None:
    path = tmp_path / "scan.nxs"
    with h5py.File(path, "w") as f:
        f.attrs["default"] = "entry"
        entry = f.create_group("entry")
        entry.attrs.update({"NX_class": "NXentry", "default": "recon"})
        data = entry.create_group("recon")
        data.attrs.update({"NX_class": "NXdata", "signal": "volume", "axes": ["z", "y", "x"]})
        data["volume"] = VOL.astype(np.float32)
        for name, n, step in (("z", 6, 0.002), ("y", 5, 0.001), ("x", 4, 0.001)):
            data[name] = np.arange(n) * step
            data[name].attrs["units"] = "mm"
        entry["title"] = "recon 1"
    source = Hdf5Reader().open([path])
    assert source.info.metadata["layout"] == "nexus"
    assert source.info.metadata["entry"]["title"] == "recon 1"
    assert source.info.voxel_size == pytest.approx((2.0, 1.0, 1.0))
    assert np.array_equal(read_all(source, depth=5), VOL.astype(np.float32))


def test_nexus_entry_data_data_fallback(tmp_path: Path) -> None:
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        f["entry/data/data"] = VOL[0]
    source = open_image([path])
    assert not source.info.is_volume
    assert np.array_equal(read_all(source), VOL[0])


@pytest.mark.req("A11-04")
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (np.zeros(5, dtype=[("a", "i4"), ("b", "f4")]), "unsupported dtype"),
        (np.zeros((2, 2), np.complex64), "unsupported dtype complex64"),
        (np.zeros(5, np.uint8), r"has shape \(5,\); need 2D or 3D"),
        (np.zeros((2, 2, 2, 2), np.uint8), "need 2D or 3D"),
    ],
)
def test_hdf5_bad_dtype_or_shape(tmp_path: Path, data: np.ndarray, message: str) -> None:
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f["exchange/data"] = data
    with pytest.raises(FormatError, match=rf"bad\.h5: .*{message}"):
        open_image([path])


@pytest.mark.req("A11-04")
def test_hdf5_without_image_and_truncated(tmp_path: Path) -> None:
    path = tmp_path / "empty.h5"
    with h5py.File(path, "w") as f:
        f["notes"] = "nothing"
    with pytest.raises(FormatError, match=r"empty\.h5: no image dataset"):
        open_image([path])
    big = tmp_path / "cut.h5"
    _dxchange(big)
    big.write_bytes(big.read_bytes()[:1500])
    with pytest.raises(FormatError, match=r"cut\.h5"):
        read_all(open_image([big]))


def test_mrc_volume_voxel_size_in_um(tmp_path: Path) -> None:
    path = tmp_path / "map.mrc"
    vol = VOL.astype(np.float32)
    with mrcfile.new(path) as mrc:
        mrc.set_data(vol)
        mrc.voxel_size = (10.0, 20.0, 30.0)  # x, y, z in Angstrom
    source = open_image([path])
    assert source.info.voxel_size == pytest.approx((0.003, 0.002, 0.001))
    assert source.info.metadata["kind"] == "volume"
    assert np.array_equal(read_all(source, depth=4), vol)


def test_mrc_single_image_is_2d(tmp_path: Path) -> None:
    path = tmp_path / "img.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(VOL[0].astype(np.int16))
    source = MrcReader().open([path])
    assert source.info.shape == (5, 4)
    assert source.info.voxel_size is None  # the header says 0
    assert np.array_equal(read_all(source), VOL[0])


@pytest.mark.req("A11-04")
def test_mrc_complex_and_truncated_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.mrc"
    with mrcfile.new(path) as mrc:
        mrc.set_data(np.zeros((2, 3, 4), np.complex64))
    with pytest.raises(FormatError, match=r"c\.mrc: unsupported dtype complex64"):
        open_image([path])
    cut = tmp_path / "cut.mrc"
    with mrcfile.new(cut) as mrc:
        mrc.set_data(VOL.astype(np.float32))
    cut.write_bytes(cut.read_bytes()[:-8])
    with pytest.raises(FormatError, match=r"cut\.mrc: invalid MRC file"):
        open_image([cut])
