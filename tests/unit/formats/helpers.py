"""Builders of small synthetic files for the format tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from lims.formats.base import SourceImage


def read_all(source: SourceImage, depth: int = 2) -> NDArray[Any]:
    """Concatenate every slab (and close the source)."""
    try:
        slabs = list(source.iter_slabs(depth))
    finally:
        source.close()
    return np.concatenate(slabs) if source.info.is_volume else slabs[0]


def write_mhd(
    folder: Path,
    arr: NDArray[Any],
    *,
    name: str = "vol",
    extra: str = "",
    element: str = "MET_USHORT",
    spacing: str = "0.01 0.02 0.03",
) -> Path:
    """A .mhd + .raw pair (arr in z, y, x order; spacing x y z in mm)."""
    dims = " ".join(str(n) for n in reversed(arr.shape))
    header = (
        f"ObjectType = Image\nNDims = {arr.ndim}\nDimSize = {dims}\nElementType = {element}\n"
        f"ElementSpacing = {spacing}\nBinaryDataByteOrderMSB = "
        f"{'True' if arr.dtype.byteorder == '>' else 'False'}\n{extra}"
        f"ElementDataFile = {name}.raw\n"
    )
    (folder / f"{name}.mhd").write_text(header)
    arr.tofile(folder / f"{name}.raw")
    return folder / f"{name}.mhd"


def dicom_slice(
    path: Path,
    arr: NDArray[Any],
    *,
    series: str,
    z: float,
    number: int,
    spacing: tuple[float, float] = (0.5, 0.25),
    slope: float = 1.0,
    intercept: float = -1024.0,
) -> Path:
    """One CT slice at z (mm) with the given stored pixel values."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    ds.SeriesInstanceUID = series
    ds.StudyInstanceUID = "1.2.3"
    ds.InstanceNumber = number
    ds.ImagePositionPatient = [0.0, 0.0, z]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.PixelSpacing = list(spacing)
    ds.SliceThickness = 1.0
    ds.RescaleSlope = slope
    ds.RescaleIntercept = intercept
    ds.Rows, ds.Columns = arr.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = arr.dtype.itemsize * 8
    ds.BitsStored = arr.dtype.itemsize * 8
    ds.HighBit = arr.dtype.itemsize * 8 - 1
    ds.PixelRepresentation = 1 if arr.dtype.kind == "i" else 0
    ds.PixelData = np.ascontiguousarray(arr).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def dicom_series(
    folder: Path, vol: NDArray[Any], *, z0: float = 10.0, dz: float = 0.5, series: str | None = None
) -> list[Path]:
    """A series of slices (written in reverse order, numbered 1..n)."""
    uid = series or generate_uid()
    return [
        dicom_slice(folder / f"im{i:03d}.dcm", vol[i], series=uid, z=z0 + i * dz, number=i + 1)
        for i in reversed(range(vol.shape[0]))
    ]
