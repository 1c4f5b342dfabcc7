"""TIFF: single-page slice stacks, multi-page volumes, BigTIFF and huge tiled 2D mosaics."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
from numpy.typing import NDArray

from lims.formats._common import (
    READ_ERRORS,
    PlaneSource,
    make_info,
    natural_key,
    number_pattern,
    read_head,
    unit_factor,
)
from lims.formats._tiffio import MAGICS, open_tiff, row_reader
from lims.formats.base import FormatError, SourceImage

_SCREEN_DPI = {72.0, 96.0}
_RESUNIT_UM = {2: 25400.0, 3: 1e4, 4: 1e3, 5: 1.0}  # inch, cm, mm, um (tifffile RESUNIT)
_OME_SIZE = re.compile(r'PhysicalSize([XYZ])="([^"]+)"(?:\s+PhysicalSize\1Unit="([^"]+)")?')
_TAGS = ("Software", "DateTime", "Make", "Model", "Artist", "HostComputer", "DocumentName")


def _pixel_size(
    page: tifffile.TiffPage, ij: dict[str, Any] | None, notes: dict[str, Any]
) -> tuple[float, float] | None:
    """(y, x) pixel size in um from ImageJ metadata or the resolution tags."""
    try:
        xres, yres = (float(v) for v in page.resolution)
    except READ_ERRORS:
        return None
    if xres <= 0 or yres <= 0:
        return None
    factor = unit_factor(str(ij.get("unit", ""))) if ij else None
    unit = int(page.resolutionunit)
    if factor is None and unit in _RESUNIT_UM:
        factor = _RESUNIT_UM[unit]
        if unit == 2 and {xres, yres} <= _SCREEN_DPI:  # noqa: PLR2004 - inch
            notes["resolution_ignored"] = f"{xres:g} dpi is a screen default, not a pixel size"
            return None
    if factor is None:
        return None
    return factor / yres, factor / xres


def _ome_sizes(tif: tifffile.TiffFile) -> dict[str, float]:
    """PhysicalSizeX/Y/Z in um from OME-XML (first Pixels element)."""
    sizes: dict[str, float] = {}
    for axis, value, unit in _OME_SIZE.findall(tif.ome_metadata or ""):
        factor = unit_factor(unit or "um")
        if axis not in sizes and factor is not None:
            try:
                sizes[axis] = float(value) * factor
            except ValueError:
                continue
    return sizes


def _page_metadata(tif: tifffile.TiffFile, page: tifffile.TiffPage) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "bigtiff": tif.is_bigtiff,
        "pages": len(tif.pages),
        "compression": tifffile.COMPRESSION(page.compression).name,
        "photometric": tifffile.PHOTOMETRIC(page.photometric).name,
        "bits_per_sample": page.bitspersample,
        "tiled": page.is_tiled,
        "byteorder": tif.byteorder,
    }
    for name in _TAGS:
        tag = page.tags.get(name)
        if tag is not None:
            meta[name.lower()] = tag.value
    if tif.imagej_metadata:
        meta["imagej"] = tif.imagej_metadata
    elif page.description and not tif.is_ome:
        meta["description"] = page.description
    return meta


def _open_file(path: Path) -> SourceImage:
    with contextlib.ExitStack() as on_error:
        tif = open_tiff(path)
        on_error.callback(tif.close)
        try:
            source = _open_tiff(path, tif)
        except READ_ERRORS as exc:
            raise FormatError(f"{path.name}: corrupt TIFF ({exc})") from exc
        on_error.pop_all()
        return source


def _open_tiff(path: Path, tif: tifffile.TiffFile) -> SourceImage:
    if not tif.series:
        raise FormatError(f"{path.name}: TIFF without images")
    series = tif.series[0]
    page = series.keyframe
    if page.dtype is None:
        raise FormatError(f"{path.name}: unsupported TIFF sample format")
    meta = _page_metadata(tif, page) | {"axes": series.axes, "series": len(tif.series)}
    ij = tif.imagej_metadata
    ome = _ome_sizes(tif) if tif.is_ome else {}
    size = _pixel_size(page, ij, meta)
    if "X" in ome and "Y" in ome:
        size = (ome["Y"], ome["X"])
    shape = tuple(series.shape)
    colour = len(shape) == 3 and "S" in series.axes and page.samplesperpixel in {3, 4}  # noqa: PLR2004
    if len(shape) == 2 or colour:  # noqa: PLR2004 - one 2D page
        if page.imagedepth != 1 or (page.samplesperpixel > 1 and not colour):
            raise FormatError(f"{path.name}: unsupported TIFF layout (axes {series.axes})")
        rgb = (page.imagelength, page.imagewidth, page.samplesperpixel)
        info = make_info(
            path.name,
            shape=rgb if colour else rgb[:2],
            dtype=page.dtype,
            voxel_size=size,
            format_name="tiff",
            metadata=meta,
            colour=colour,
        )
        return PlaneSource(info, row_reader(tif, page), path.name, close=tif.close, fresh=True)
    if len(shape) != 3 or page.samplesperpixel > 1:  # noqa: PLR2004
        raise FormatError(f"{path.name}: unsupported TIFF layout (axes {series.axes})")
    z = (ij or {}).get("spacing")
    z_um = ome.get("Z") or (
        float(z) * (unit_factor(str(ij.get("unit", ""))) or 0) if ij and z else 0
    )
    info = make_info(
        path.name,
        shape=shape,
        dtype=series.dtype,
        voxel_size=(z_um, *size) if size and z_um else None,
        format_name="tiff",
        metadata=meta | ({"pixel_size_um": list(size)} if size else {}),
    )

    def read(z0: int, z1: int) -> NDArray[Any]:
        arr = tif.asarray(key=range(z0, z1), series=0)
        return np.reshape(arr, (z1 - z0, *shape[1:]))

    return PlaneSource(info, read, path.name, close=tif.close)


def check_numbering(paths: Sequence[Path]) -> None:
    """Refuse slice names that are not one gap-free numbered sequence.

    Raises:
        FormatError: names without numbers, mixed name patterns, duplicates or missing slices.
    """
    patterns = [number_pattern(p) for p in paths]
    first = patterns[0]
    if first is None or any(p is None or p[::2] != first[::2] for p in patterns):
        bad = (
            next(paths[i].name for i, p in enumerate(patterns) if p is None or p[::2] != first[::2])
            if first
            else paths[0].name
        )
        raise FormatError(f"slice files do not form one numbered sequence (see {bad})")
    widths = {len(p[1]) for p in patterns if p}
    width = widths.pop() if len(widths) == 1 else 0
    numbers: dict[int, Path] = {}
    for path, pattern in zip(paths, patterns, strict=True):
        n = int(pattern[1]) if pattern else 0
        if n in numbers:
            raise FormatError(f"slice {n:0{width}d} appears twice: {numbers[n].name}, {path.name}")
        numbers[n] = path
    missing = sorted(set(range(min(numbers), max(numbers) + 1)) - set(numbers))
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise FormatError(f"slice {missing[0]:0{width}d} is missing{more}")


def _open_stack(files: Sequence[Path]) -> SourceImage:
    paths = sorted(files, key=natural_key)
    check_numbering(paths)
    ref: tuple[tuple[int, ...], np.dtype[Any]] | None = None
    meta: dict[str, Any] = {}
    size: tuple[float, float] | None = None
    z_um = 0.0
    for path in paths:
        with open_tiff(path) as tif:
            if len(tif.pages) != 1:
                raise FormatError(
                    f"{path.name}: has {len(tif.pages)} pages; slices must be single-page"
                )
            page = tif.pages.first
            found = (tuple(page.shape), np.dtype(page.dtype))
            if ref is None:
                ref = found
                meta = _page_metadata(tif, page)
                size = _pixel_size(page, tif.imagej_metadata, meta)
                ij = tif.imagej_metadata or {}
                z_um = float(ij.get("spacing", 0)) * (unit_factor(str(ij.get("unit", ""))) or 0)
            elif found != ref:
                raise FormatError(
                    f"{path.name}: shape {found[0]} {found[1]} differs from "
                    f"{paths[0].name} ({ref[0]} {ref[1]})"
                )
    assert ref is not None  # noqa: S101 - files is not empty
    meta |= {"slices": len(paths), "first": paths[0].name, "last": paths[-1].name}
    if size:
        meta["pixel_size_um"] = list(size)
    info = make_info(
        paths[0].name,
        shape=(len(paths), *ref[0]),
        dtype=ref[1],
        voxel_size=(z_um, *size) if size and z_um else None,
        format_name="tiff-stack",
        metadata=meta,
    )

    def read(z0: int, z1: int) -> NDArray[Any]:
        planes = []
        for path in paths[z0:z1]:
            try:
                with open_tiff(path) as tif:
                    planes.append(tif.pages.first.asarray())
            except READ_ERRORS as exc:
                raise FormatError(f"{path.name}: cannot read slice ({exc})") from exc
        return np.stack(planes)

    return PlaneSource(info, read, paths[0].name)


class TiffReader:
    """Slice folders, multi-page and BigTIFF volumes, tiled 2D mosaics."""

    name = "tiff"
    extensions = (".tif", ".tiff", ".btf", ".tf8")

    def sniff(self, files: Sequence[Path]) -> bool:
        """True when every file starts with a TIFF or BigTIFF signature."""
        return bool(files) and all(read_head(f, 4) in MAGICS for f in files)

    def open(self, files: Sequence[Path]) -> SourceImage:
        """Open one TIFF file, or several single-page slices as one volume.

        Raises:
            FormatError: not TIFF, corrupt, mixed shapes or missing slices.
        """
        if not files:
            raise FormatError("no files given")
        return _open_file(files[0]) if len(files) == 1 else _open_stack(files)
