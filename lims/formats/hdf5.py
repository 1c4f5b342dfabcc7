"""HDF5: DXchange (/exchange/data) and NeXus (NXdata signal), streamed with h5py slicing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from numpy.typing import NDArray

from lims.formats._common import READ_ERRORS, PlaneSource, make_info, plain, read_head, unit_factor
from lims.formats.base import FormatError, SourceImage

MAGIC = b"\x89HDF\r\n\x1a\n"
_USERBLOCKS = (0, 512, 1024, 2048, 4096)
_MAX_META = 200  # metadata values copied from /measurement or the NeXus entry


def _is_hdf5(path: Path) -> bool:
    return any(read_head(path, 8, offset) == MAGIC for offset in _USERBLOCKS)


def _text(value: Any) -> str:  # noqa: ANN401 - h5py attributes
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.size == 1:
        return _text(value.reshape(-1)[0])
    return str(value)


def _collect(group: h5py.Group, limit: int = _MAX_META) -> dict[str, Any]:
    """Small scalar/short datasets and attributes under ``group`` as plain values."""
    out: dict[str, Any] = {}

    def visit(name: str, obj: Any) -> None:  # noqa: ANN401
        if len(out) >= limit:
            return
        for key, value in obj.attrs.items():
            kept = plain(value)
            if kept is not None:
                out[f"{name}@{key}"] = kept
        if isinstance(obj, h5py.Dataset) and obj.size <= 64 and obj.dtype.kind in "biufSO":  # noqa: PLR2004
            kept = plain(obj[()])
            if kept is not None:
                out[name] = kept

    group.visititems(visit)
    return out


def _nexus_signal(f: h5py.File) -> tuple[h5py.Dataset, h5py.Group] | None:
    """The NXdata signal dataset (following @default), or /entry/data/data."""
    groups = []
    node = f
    while "default" in node.attrs and _text(node.attrs["default"]) in node:
        node = node[_text(node.attrs["default"])]
        groups.append(node)
    found: list[h5py.Group] = []
    f.visititems(lambda _, obj: found.append(obj) if _nx_class(obj) == "NXdata" else None)
    for group in [g for g in groups if _nx_class(g) == "NXdata"] + found:
        signal = _text(group.attrs.get("signal", "")) or None
        if signal and signal in group and isinstance(group[signal], h5py.Dataset):
            return group[signal], group
    if isinstance(f.get("entry/data/data"), h5py.Dataset):
        return f["entry/data/data"], f["entry/data"]
    return None


def _nx_class(obj: Any) -> str:  # noqa: ANN401
    return _text(obj.attrs.get("NX_class", "")) if isinstance(obj, h5py.Group) else ""


def _nexus_voxel(group: h5py.Group, ndim: int) -> list[float] | None:
    """Axis spacing in um from NXdata @axes coordinate datasets with @units."""
    axes = group.attrs.get("axes")
    if axes is None:
        return None
    names = [_text(a) for a in np.atleast_1d(axes)]
    if len(names) != ndim:
        return None
    out = []
    for name in names:
        axis = group.get(name)
        if not isinstance(axis, h5py.Dataset) or axis.ndim != 1 or axis.size < 2:  # noqa: PLR2004
            return None
        factor = unit_factor(_text(axis.attrs.get("units", "")))
        steps = np.diff(np.asarray(axis[()], dtype=float))
        if factor is None or not np.allclose(steps, steps[0], rtol=1e-6) or steps[0] == 0:
            return None
        out.append(abs(float(steps[0])) * factor)
    return out


def _dxchange_pixel(f: h5py.File) -> list[float] | None:
    """Detector pixel size (y, x) in um from /measurement/instrument/detector."""
    det = f.get("measurement/instrument/detector")
    if not isinstance(det, h5py.Group):
        return None
    out = []
    for axis in ("actual_pixel_size_y", "actual_pixel_size_x"):
        ds = det.get(axis)
        if not isinstance(ds, h5py.Dataset) or ds.size != 1:
            return None
        factor = unit_factor(_text(ds.attrs.get("units", "um")))
        if factor is None:
            return None
        out.append(float(np.asarray(ds[()]).reshape(-1)[0]) * factor)
    return out


def _dxchange(f: h5py.File, meta: dict[str, Any]) -> tuple[h5py.Dataset, list[float] | None]:
    """/exchange/data, with flats/darks/angles and /measurement noted in ``meta``."""
    ds = f["exchange/data"]
    meta["layout"] = "dxchange"
    for extra in ("data_white", "data_dark", "theta"):
        other = f.get(f"exchange/{extra}")
        if isinstance(other, h5py.Dataset):
            meta[extra] = {"shape": list(other.shape), "dtype": str(other.dtype)}
    if isinstance(f.get("measurement"), h5py.Group):
        meta["measurement"] = _collect(f["measurement"])
    pixel = _dxchange_pixel(f)
    if pixel:
        meta["pixel_size_um"] = pixel
    return ds, pixel if pixel and ds.ndim == 2 else None  # noqa: PLR2004 - z: angle or unknown


class Hdf5Reader:
    """DXchange and NeXus HDF5 files (one image dataset each)."""

    name = "hdf5"
    extensions = (".h5", ".hdf5", ".hdf", ".nxs", ".nx5", ".cxi")

    def sniff(self, files: Sequence[Path]) -> bool:
        """True for one file with the HDF5 signature."""
        return len(files) == 1 and _is_hdf5(files[0])

    def open(self, files: Sequence[Path]) -> SourceImage:
        """Open the image dataset of a DXchange or NeXus file.

        Raises:
            FormatError: not HDF5, no image dataset, unsupported dtype or shape.
        """
        if len(files) != 1:
            raise FormatError("an HDF5 image is a single file")
        path = files[0]
        label = path.name
        if not _is_hdf5(path):
            raise FormatError(f"{label}: not an HDF5 file (wrong magic)")
        try:
            f = h5py.File(path, "r")
        except READ_ERRORS as exc:
            raise FormatError(f"{label}: cannot open HDF5 file ({exc})") from exc
        try:
            return self._open(f, label)
        except FormatError:
            f.close()
            raise
        except READ_ERRORS as exc:
            f.close()
            raise FormatError(f"{label}: corrupt HDF5 file ({exc})") from exc

    def _open(self, f: h5py.File, label: str) -> SourceImage:
        meta: dict[str, Any] = {}
        voxel: list[float] | None = None
        if isinstance(f.get("exchange/data"), h5py.Dataset):
            ds, voxel = _dxchange(f, meta)
        else:
            found = _nexus_signal(f)
            if found is None:
                raise FormatError(
                    f"{label}: no image dataset (neither DXchange /exchange/data "
                    "nor a NeXus NXdata signal)"
                )
            ds, group = found
            meta["layout"] = "nexus"
            voxel = _nexus_voxel(group, ds.ndim)
            entry = f.get(ds.name.split("/")[1]) if ds.name.count("/") > 1 else None
            if isinstance(entry, h5py.Group):
                meta["entry"] = _collect(entry)
        meta |= {"dataset": ds.name, "attrs": plain(dict(ds.attrs)) or {}}
        if ds.dtype.kind not in "uif":
            raise FormatError(f"{label}: unsupported dtype {ds.dtype} in {ds.name}")
        if ds.ndim not in {2, 3}:
            raise FormatError(f"{label}: {ds.name} has shape {ds.shape}; need 2D or 3D")
        if ds.chunks:
            meta["chunks"] = list(ds.chunks)
        meta["compression"] = ds.compression
        info = make_info(
            label, shape=ds.shape, dtype=ds.dtype, voxel_size=voxel,
            format_name="hdf5", metadata=meta,
        )  # fmt: skip

        def read(start: int, stop: int) -> NDArray[Any]:
            return np.asarray(ds[start:stop])

        return PlaneSource(info, read, label, close=f.close)
