"""NRRD (.nrrd attached, .nhdr detached): raw, gzip or bzip2 data, streamed slab by slab."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nrrd
import numpy as np

from lims.formats._common import (
    READ_ERRORS,
    data_path,
    make_info,
    read_head,
    unit_factor,
)
from lims.formats._raw import raw_source
from lims.formats.base import FormatError, SourceImage

_MAX_HEADER = 1 << 20
_TYPES = {
    "i1": "signed char|int8|int8_t",
    "u1": "uchar|unsigned char|uint8|uint8_t",
    "i2": "short|short int|signed short|signed short int|int16|int16_t",
    "u2": "ushort|unsigned short|unsigned short int|uint16|uint16_t",
    "i4": "int|signed int|int32|int32_t",
    "u4": "uint|unsigned int|uint32|uint32_t",
    "i8": "longlong|long long|long long int|signed long long|signed long long int|int64|int64_t",
    "u8": "ulonglong|unsigned long long|unsigned long long int|uint64|uint64_t",
    "f4": "float",
    "f8": "double",
}
_DTYPES = {alias: code for code, names in _TYPES.items() for alias in names.split("|")}
_ENCODINGS = {"raw": "raw", "gzip": "gzip", "gz": "gzip", "bzip2": "bzip2", "bz2": "bzip2"}
_COLOUR_KINDS = {"rgb-color", "rgba-color", "3-color", "4-color"}
_ANATOMICAL = {"left-posterior-superior", "right-anterior-superior", "left-anterior-superior",
               "lps", "ras", "las", "scanner-xyz", "3d-right-handed", "3d-left-handed"}  # fmt: skip


def _dtype(name: str, label: str) -> np.dtype[Any]:
    code = _DTYPES.get(" ".join(name.lower().split()))
    if code is not None:
        return np.dtype(code)
    raise FormatError(f"{label}: unsupported dtype {name!r}")


def read_nrrd_header(path: Path) -> tuple[dict[str, Any], int]:
    """The parsed header and the byte offset where attached data begins.

    Raises:
        FormatError: wrong magic, a header without end, or fields pynrrd rejects.
    """
    if not read_head(path, 8).startswith(b"NRRD000"):
        raise FormatError(f"{path.name}: not an NRRD file (wrong magic)")
    lines: list[str] = []
    with path.open("rb") as fh:
        while True:
            line = fh.readline()
            if not line.strip() or fh.tell() > _MAX_HEADER:
                break
            lines.append(line.decode("latin-1").rstrip("\r\n"))
        offset = fh.tell()
    if offset > _MAX_HEADER:
        raise FormatError(f"{path.name}: NRRD header longer than {_MAX_HEADER} bytes")
    try:
        return dict(nrrd.read_header(lines)), offset
    except (*READ_ERRORS, nrrd.NRRDError) as exc:
        raise FormatError(f"{path.name}: invalid NRRD header ({exc})") from exc


def _location(
    path: Path, header: dict[str, Any], end: int, encoding: str, files: Sequence[Path]
) -> tuple[Path, int]:
    """The data file and byte offset (-1: the data ends the file)."""
    label = path.name
    if int(header.get("line skip", 0)):
        raise FormatError(f"{label}: NRRD 'line skip' is not supported")
    skip = int(header.get("byte skip", 0))
    if skip and encoding != "raw":
        raise FormatError(f"{label}: 'byte skip' with compressed data is not supported")
    name = header.get("data file") or header.get("datafile")
    if not name:
        return path, end + skip if skip >= 0 else -1
    if str(name).startswith("LIST") or "%" in str(name):
        raise FormatError(f"{label}: multi-file NRRD data is not supported")
    return data_path(path, str(name), files), skip


def _spacing(header: dict[str, Any], meta: dict[str, Any]) -> list[float] | None:
    """Per-axis spacing in um, fastest axis first (None when units are not known)."""
    if "space directions" in header:
        dirs = np.asarray(header["space directions"], dtype=float)
        spacing = [float(np.linalg.norm(row)) for row in dirs if np.isfinite(row).all()]
    elif "spacings" in header:
        spacing = [float(v) for v in header["spacings"] if math.isfinite(float(v))]
    else:
        return None
    units = header.get("space units") or header.get("units")
    if not units and str(header.get("space", "")).lower() in _ANATOMICAL:
        units = ["mm"] * len(spacing)
        meta["space_units_assumed"] = "mm (anatomical space convention)"
    factors = {unit_factor(str(u)) for u in units or []}
    if len(factors) != 1 or None in factors:
        meta["spacing_without_unit"] = spacing
        return None
    factor = factors.pop() or 0.0
    return [v * factor for v in spacing]


class NrrdReader:
    """NRRD with attached (.nrrd) or detached (.nhdr + data file) raw/gzip/bzip2 data."""

    name = "nrrd"
    extensions = (".nrrd", ".nhdr")

    def sniff(self, files: Sequence[Path]) -> bool:
        """True when exactly one file starts with the NRRD magic (plus at most its data)."""
        heads = [f for f in files if read_head(f, 7) == b"NRRD000"]
        return len(heads) == 1 and len(files) <= 2  # noqa: PLR2004 - header + data

    def open(self, files: Sequence[Path]) -> SourceImage:
        """Open an NRRD image.

        Raises:
            FormatError: unsupported type or encoding, wrong size, missing data file.
        """
        heads = [f for f in files if read_head(f, 7) == b"NRRD000"]
        if len(heads) != 1:
            raise FormatError(f"{files[0].name if files else '?'}: expected one NRRD header")
        path = heads[0]
        header, offset = read_nrrd_header(path)
        label = path.name
        dtype = _dtype(str(header.get("type", "")), label)
        if dtype.itemsize > 1:
            endian = header.get("endian")
            if endian not in {"little", "big"}:
                raise FormatError(f"{label}: NRRD header lacks a valid endian field")
            dtype = dtype.newbyteorder("<" if endian == "little" else ">")
        encoding = _ENCODINGS.get(str(header.get("encoding", "")).lower())
        if encoding is None:
            raise FormatError(f"{label}: unsupported NRRD encoding {header.get('encoding')!r}")
        source, offset = _location(path, header, offset, encoding, files)
        sizes = [int(n) for n in header["sizes"]]
        kinds = [str(k).lower() for k in header.get("kinds", [])]
        colour = len(sizes) == 3 and bool(kinds) and kinds[0] in _COLOUR_KINDS  # noqa: PLR2004
        meta = {"nrrd_header": {k: v for k, v in header.items() if k != "data file"}}
        spacing = _spacing(header, meta)
        voxel = list(reversed(spacing)) if spacing else None
        if colour and voxel:
            voxel = voxel[:2]
        info = make_info(
            label,
            shape=tuple(reversed(sizes)),
            dtype=dtype,
            voxel_size=voxel,
            format_name="nrrd",
            metadata=meta | {"encoding": encoding, "detached": source != path},
            colour=colour,
        )
        return raw_source(info, source, stored=dtype, offset=offset, encoding=encoding)


def data_file_name(path: Path) -> str | None:
    """The detached data file an .nhdr names (None for attached data or a bad header)."""
    try:
        header, _ = read_nrrd_header(path)
    except (FormatError, OSError):
        return None
    name = header.get("data file") or header.get("datafile")
    return str(name) if name else None
