"""DICOM: a series of single-frame slices (or one multi-frame file) as a volume."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from numpy.typing import NDArray
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.pixels.utils import pixel_array
from pydicom.valuerep import IS, DSfloat

from lims.formats._common import READ_ERRORS, PlaneSource, make_info, read_head
from lims.formats.base import FormatError, SourceImage

_DICOM_ERRORS: tuple[type[Exception], ...] = (*READ_ERRORS, InvalidDicomError, AttributeError)
_SAME = ("Rows", "Columns", "BitsAllocated", "PixelRepresentation", "SamplesPerPixel")
_KEEP = (
    "Modality",
    "Manufacturer",
    "ManufacturerModelName",
    "SoftwareVersions",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SeriesNumber",
    "SeriesDescription",
    "StudyDate",
    "SeriesDate",
    "AcquisitionDate",
    "BodyPartExamined",
    "KVP",
    "XRayTubeCurrent",
    "ExposureTime",
    "Exposure",
    "ConvolutionKernel",
    "SliceThickness",
    "SpacingBetweenSlices",
    "PixelSpacing",
    "ImageOrientationPatient",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "PhotometricInterpretation",
    "WindowCenter",
    "WindowWidth",
    "RescaleType",
    "FrameOfReferenceUID",
)  # fmt: skip  - no patient-identifying tags are copied
_TOLERANCE_MM = 1e-3


def header(path: Path) -> Dataset:
    """Read a DICOM header without pixel data.

    Raises:
        FormatError: not a DICOM file (no DICM preamble) or a corrupt header.
    """
    if read_head(path, 4, 128) != b"DICM":
        raise FormatError(f"{path.name}: not a DICOM file (no DICM signature)")
    try:
        return pydicom.dcmread(path, defer_size=1024)  # big values (pixels) stay on disk
    except _DICOM_ERRORS as exc:
        raise FormatError(f"{path.name}: corrupt DICOM header ({exc})") from exc


def _value(ds: Dataset, keyword: str) -> Any:  # noqa: ANN401 - DICOM values vary
    value = ds.get(keyword)
    if value is None:
        return None
    if isinstance(value, MultiValue):
        return [_value_one(v) for v in value]
    return _value_one(value)


def _value_one(value: Any) -> Any:  # noqa: ANN401
    if isinstance(value, IS):
        return int(value)
    if isinstance(value, DSfloat):
        return float(value)
    return value if isinstance(value, int | float) else str(value)


def _dtype(ds: Dataset, label: str) -> np.dtype[Any]:
    bits = int(ds.get("BitsAllocated", 0))
    if "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
        return np.dtype(f"f{bits // 8}")
    if ds.get("SamplesPerPixel", 1) != 1:
        raise FormatError(f"{label}: only greyscale DICOM is supported (SamplesPerPixel != 1)")
    if bits not in {8, 16, 32}:
        raise FormatError(f"{label}: unsupported dtype ({bits} bits allocated)")
    return np.dtype(f"{'i' if ds.get('PixelRepresentation') == 1 else 'u'}{bits // 8}")


def _order(headers: list[tuple[Path, Dataset]]) -> tuple[list[Path], float | None]:
    """Sort slices along the slice normal (else InstanceNumber); return the z spacing in mm."""
    if all("ImagePositionPatient" in ds and "ImageOrientationPatient" in ds for _, ds in headers):
        iop = np.array(headers[0][1].ImageOrientationPatient, dtype=float)
        normal = np.cross(iop[:3], iop[3:])
        pos = [
            float(np.dot(normal, np.array(ds.ImagePositionPatient, dtype=float)))
            for _, ds in headers
        ]
        pairs = sorted(zip(pos, (p for p, _ in headers), strict=True))
        steps = np.diff([z for z, _ in pairs])
        if len(steps) and steps.min() < _TOLERANCE_MM:
            raise FormatError(f"{pairs[0][1].name}: two slices at the same position")
        if len(steps) and steps.max() - steps.min() > _TOLERANCE_MM * max(1.0, steps.mean()):
            raise FormatError(
                f"{pairs[0][1].name}: slice spacing is not uniform "
                f"({steps.min():.4g} to {steps.max():.4g} mm)"
            )
        return [p for _, p in pairs], float(steps.mean()) if len(steps) else None
    if all("InstanceNumber" in ds for _, ds in headers):
        numbered = sorted(((int(ds.InstanceNumber), p) for p, ds in headers), key=lambda t: t[0])
        if len({n for n, _ in numbered}) != len(numbered):
            raise FormatError(f"{headers[0][0].name}: duplicate InstanceNumber in the series")
        return [p for _, p in numbered], None
    raise FormatError(f"{headers[0][0].name}: slices have neither positions nor instance numbers")


def _pixels(path: Path, index: int | None = None) -> NDArray[Any]:
    try:
        ds = pydicom.dcmread(path)
        if index is None:
            return ds.pixel_array
        return pixel_array(path, index=index)
    except FormatError:
        raise
    except _DICOM_ERRORS as exc:
        raise FormatError(f"{path.name}: cannot decode pixel data ({exc})") from exc


def _check_consistent(headers: list[tuple[Path, Dataset]]) -> None:
    """Refuse mixed series, slices without pixels, and slices that differ in layout."""
    first_path, first = headers[0]
    uids = {str(ds.get("SeriesInstanceUID", "")) for _, ds in headers}
    if len(uids) > 1:
        raise FormatError(f"{first_path.name}: files from {len(uids)} different series")
    for path, ds in headers:
        if not {"PixelData", "FloatPixelData", "DoubleFloatPixelData"} & set(ds.dir()):
            raise FormatError(f"{path.name}: DICOM without pixel data")
        for key in _SAME:
            if ds.get(key) != first.get(key):
                raise FormatError(
                    f"{path.name}: {key} {ds.get(key)} differs from {first_path.name} "
                    f"({first.get(key)})"
                )


def _rescale(headers: list[tuple[Path, Dataset]]) -> dict[str, Any]:
    """The series' rescale slope/intercept (pixels stay stored values)."""
    found = {
        (float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0)))
        for _, ds in headers
    }
    if len(found) > 1:
        raise FormatError(f"{headers[0][0].name}: rescale slope/intercept differ between slices")
    slope, intercept = found.pop()
    return {"rescale_slope": slope, "rescale_intercept": intercept, "values": "stored"}


class DicomReader:
    """A DICOM series (one SeriesInstanceUID) or one multi-frame file."""

    name = "dicom"
    extensions = (".dcm", ".dicom", ".ima")

    def sniff(self, files: Sequence[Path]) -> bool:
        """True when every file has the DICM signature at byte 128."""
        return bool(files) and all(read_head(f, 4, 128) == b"DICM" for f in files)

    def open(self, files: Sequence[Path]) -> SourceImage:
        """Open the files as one series.

        Raises:
            FormatError: mixed series, inconsistent slices, missing pixel data.
        """
        if not files:
            raise FormatError("no files given")
        headers = [(p, header(p)) for p in files]
        first_path, first = headers[0]
        _check_consistent(headers)
        dtype = _dtype(first, first_path.name)
        frames = int(first.get("NumberOfFrames", 1) or 1)
        if frames > 1 and len(files) > 1:
            raise FormatError(f"{first_path.name}: a series of multi-frame files is not supported")
        meta = {k: _value(first, k) for k in _KEEP if k in first}
        meta["transfer_syntax"] = str(first.file_meta.get("TransferSyntaxUID", ""))
        meta |= _rescale(headers)
        rows, cols = int(first.Rows), int(first.Columns)
        pixel = first.get("PixelSpacing")
        xy = (float(pixel[0]) * 1e3, float(pixel[1]) * 1e3) if pixel else None
        if frames > 1:
            paths, z_mm = (
                list(files),
                first.get("SpacingBetweenSlices") or first.get("SliceThickness"),
            )
            shape: tuple[int, ...] = (frames, rows, cols)
        else:
            paths, z_mm = _order(headers)
            z_mm = z_mm or first.get("SpacingBetweenSlices") or first.get("SliceThickness")
            shape = (len(paths), rows, cols) if len(paths) > 1 else (rows, cols)
        meta["slices"] = len(paths) if frames == 1 else frames
        voxel: tuple[float, ...] | None = (float(z_mm) * 1e3, *xy) if xy and z_mm else None
        if len(shape) == 2:  # noqa: PLR2004 - one slice
            voxel = xy
        info = make_info(
            first_path.name, shape=shape, dtype=dtype, voxel_size=voxel,
            format_name="dicom", metadata=meta,
        )  # fmt: skip

        def read(start: int, stop: int) -> NDArray[Any]:
            if frames > 1:
                return np.stack([_pixels(paths[0], i) for i in range(start, stop)])
            if len(shape) == 2:  # noqa: PLR2004
                return _pixels(paths[0])[start:stop]
            return np.stack([_pixels(p) for p in paths[start:stop]])

        return PlaneSource(info, read, first_path.name)


def series_uid(path: Path) -> str:
    """The SeriesInstanceUID of a DICOM file ("" when absent)."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SeriesInstanceUID"])
    except _DICOM_ERRORS:
        return ""
    return str(ds.get("SeriesInstanceUID", ""))
