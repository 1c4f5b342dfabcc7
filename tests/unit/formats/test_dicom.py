"""DICOM reader: series sorted by position, voxel size in um, rescale kept as metadata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from lims.formats.base import FormatError
from lims.formats.dicom import DicomReader
from lims.formats.registry import group_files, open_image

from .helpers import dicom_series, dicom_slice, read_all

RNG = np.random.default_rng(3)


def test_series_round_trip_sorted_by_position(tmp_path: Path) -> None:
    vol = RNG.integers(-1000, 3000, (6, 8, 10), dtype=np.int16)
    files = dicom_series(tmp_path, vol, dz=0.4)
    files = [files[i] for i in (3, 0, 5, 1, 4, 2)]
    source = open_image(files)
    info = source.info
    assert info.shape == (6, 8, 10)
    assert info.dtype == np.int16
    assert info.voxel_size == pytest.approx((400.0, 500.0, 250.0))
    assert info.unit == "um"
    assert info.metadata["rescale_slope"] == 1.0
    assert info.metadata["rescale_intercept"] == -1024.0
    assert info.metadata["values"] == "stored"
    assert np.array_equal(read_all(source, depth=4), vol)  # stored values, not rescaled


def test_single_slice_is_2d(tmp_path: Path) -> None:
    plane = RNG.integers(0, 4000, (7, 9), dtype=np.uint16)
    path = dicom_slice(tmp_path / "one.dcm", plane, series="1.2.9", z=0.0, number=1)
    source = DicomReader().open([path])
    assert not source.info.is_volume
    assert source.info.voxel_size == pytest.approx((500.0, 250.0))
    assert np.array_equal(read_all(source), plane)


def test_group_files_splits_series(tmp_path: Path) -> None:
    a = dicom_series(tmp_path, np.zeros((3, 4, 4), np.int16), series="1.2.3.1")
    b = [
        dicom_slice(
            tmp_path / f"b{i}.dcm", np.zeros((4, 4), np.int16), series="1.2.3.2", z=i, number=i
        )
        for i in range(2)
    ]
    groups = group_files([tmp_path])
    assert sorted(map(sorted, groups)) == sorted([sorted(a), sorted(b)])


@pytest.mark.req("A11-04")
def test_mixed_series_refused(tmp_path: Path) -> None:
    files = dicom_series(tmp_path, np.zeros((3, 4, 4), np.int16))
    files.append(
        dicom_slice(
            tmp_path / "x.dcm", np.zeros((4, 4), np.int16), series=generate_uid(), z=99, number=9
        )
    )
    with pytest.raises(FormatError, match="2 different series"):
        open_image(files)


@pytest.mark.req("A11-04")
def test_inconsistent_rows_refused(tmp_path: Path) -> None:
    uid = generate_uid()
    files = [
        dicom_slice(tmp_path / "a.dcm", np.zeros((4, 4), np.int16), series=uid, z=0, number=1),
        dicom_slice(tmp_path / "b.dcm", np.zeros((5, 4), np.int16), series=uid, z=1, number=2),
    ]
    with pytest.raises(FormatError, match=r"b\.dcm: Rows 5 differs"):
        open_image(files)


@pytest.mark.req("A11-04")
def test_no_pixel_data_refused(tmp_path: Path) -> None:
    path = dicom_slice(tmp_path / "a.dcm", np.zeros((4, 4), np.int16), series="1.2", z=0, number=1)
    ds = pydicom.dcmread(path)
    del ds.PixelData
    ds.save_as(path)
    with pytest.raises(FormatError, match=r"a\.dcm: DICOM without pixel data"):
        open_image([path])


@pytest.mark.req("A11-04")
def test_truncated_pixel_data_refused(tmp_path: Path) -> None:
    path = dicom_slice(
        tmp_path / "a.dcm", np.zeros((40, 40), np.int16), series="1.2", z=0, number=1
    )
    path.write_bytes(path.read_bytes()[:-500])
    with pytest.raises(FormatError, match=r"a\.dcm"):
        read_all(open_image([path]))


@pytest.mark.req("A11-04")
def test_uneven_spacing_and_duplicate_positions_refused(tmp_path: Path) -> None:
    uid = generate_uid()
    plane = np.zeros((4, 4), np.int16)
    files = [
        dicom_slice(tmp_path / f"{i}.dcm", plane, series=uid, z=z, number=i)
        for i, z in enumerate([0, 1, 3])
    ]
    with pytest.raises(FormatError, match="spacing is not uniform"):
        open_image(files)
    files[2] = dicom_slice(tmp_path / "2.dcm", plane, series=uid, z=1, number=2)
    with pytest.raises(FormatError, match="same position"):
        open_image(files)


@pytest.mark.req("A11-04")
def test_differing_rescale_refused(tmp_path: Path) -> None:
    uid = generate_uid()
    plane = np.zeros((4, 4), np.int16)
    files = [
        dicom_slice(tmp_path / "a.dcm", plane, series=uid, z=0, number=1),
        dicom_slice(tmp_path / "b.dcm", plane, series=uid, z=1, number=2, slope=2.0),
    ]
    with pytest.raises(FormatError, match="rescale slope/intercept differ"):
        open_image(files)


@pytest.mark.req("A11-04")
def test_not_dicom_refused(tmp_path: Path) -> None:
    path = tmp_path / "fake.dcm"
    path.write_bytes(b"\0" * 300)
    with pytest.raises(FormatError, match=r"fake\.dcm: not a DICOM file"):
        DicomReader().open([path])
