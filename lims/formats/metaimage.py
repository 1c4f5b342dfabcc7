"""MetaImage (.mhd + .raw, or .mha with LOCAL data): header parsed here, pixels memory-mapped."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lims.formats._common import data_path, make_info, read_head
from lims.formats._raw import raw_source
from lims.formats.base import FormatError, SourceImage

_MAX_HEADER = 1 << 16
_SNIFF = re.compile(rb"\s*(ObjectType|NDims|Comment|ObjectSubType)\s*=")
_TYPES = {
    "MET_CHAR": "i1",
    "MET_UCHAR": "u1",
    "MET_SHORT": "i2",
    "MET_USHORT": "u2",
    "MET_INT": "i4",
    "MET_UINT": "u4",
    "MET_LONG": "i4",
    "MET_ULONG": "u4",
    "MET_LONG_LONG": "i8",
    "MET_ULONG_LONG": "u8",
    "MET_FLOAT": "f4",
    "MET_DOUBLE": "f8",
}  # fmt: skip  - MetaIO sizes: MET_LONG is 4 bytes
_TRUE = {"true", "1", "yes"}


def read_mhd_header(path: Path) -> tuple[dict[str, str], int]:
    """Header fields (keys as written) and the byte offset just after ElementDataFile.

    Raises:
        FormatError: not text, no ElementDataFile line, or a header that is too long.
    """
    fields: dict[str, str] = {}
    with path.open("rb") as fh:
        while True:
            raw = fh.readline(_MAX_HEADER)
            if not raw:
                raise FormatError(f"{path.name}: MetaImage header without ElementDataFile")
            if fh.tell() > _MAX_HEADER:
                raise FormatError(f"{path.name}: MetaImage header longer than {_MAX_HEADER} bytes")
            try:
                line = raw.decode("ascii").strip()
            except UnicodeDecodeError as exc:
                raise FormatError(f"{path.name}: MetaImage header is not text") from exc
            if not line:
                continue
            key, sep, value = line.partition("=")
            if not sep:
                raise FormatError(f"{path.name}: bad MetaImage header line {line[:60]!r}")
            fields[key.strip()] = value.strip()
            if key.strip() == "ElementDataFile":
                return fields, fh.tell()


def _ints(fields: dict[str, str], key: str, label: str) -> list[int]:
    try:
        return [int(v) for v in fields[key].split()]
    except (KeyError, ValueError) as exc:
        raise FormatError(f"{label}: MetaImage {key} missing or not integers") from exc


def _spacing(fields: dict[str, str], ndims: int, label: str) -> list[float] | None:
    text = fields.get("ElementSpacing") or fields.get("ElementSize")
    if not text:
        return None
    try:
        values = [float(v) for v in text.split()]
    except ValueError as exc:
        raise FormatError(f"{label}: MetaImage ElementSpacing is not numbers") from exc
    if len(values) != ndims:
        raise FormatError(f"{label}: ElementSpacing has {len(values)} values for {ndims} dims")
    return values


def _location(
    path: Path, fields: dict[str, str], end: int, files: Sequence[Path]
) -> tuple[Path, int]:
    """The data file and byte offset (-1: the data ends the file)."""
    label = path.name
    name = fields["ElementDataFile"]
    if name.upper() == "LIST" or "%" in name or " " in name.strip():
        raise FormatError(f"{label}: multi-file MetaImage data is not supported")
    try:
        skip = int(fields.get("HeaderSize", "0"))
    except ValueError as exc:
        raise FormatError(f"{label}: MetaImage HeaderSize is not an integer") from exc
    if name.upper() == "LOCAL":
        return path, (end + skip if skip >= 0 else -1)
    return data_path(path, name, files), skip


class MetaImageReader:
    """MetaImage: .mhd header + .raw data, or .mha with data after the header (LOCAL)."""

    name = "metaimage"
    extensions = (".mhd", ".mha")

    def sniff(self, files: Sequence[Path]) -> bool:
        """True when exactly one file is a MetaImage header (plus at most its data)."""
        heads = [f for f in files if _is_header(f)]
        return len(heads) == 1 and len(files) <= 2  # noqa: PLR2004 - header + data

    def open(self, files: Sequence[Path]) -> SourceImage:
        """Open a MetaImage image.

        Raises:
            FormatError: unsupported fields, compressed or multi-file data, size mismatch.
        """
        heads = [f for f in files if _is_header(f)]
        if len(heads) != 1:
            raise FormatError(f"{files[0].name if files else '?'}: expected one MetaImage header")
        path = heads[0]
        label = path.name
        fields, end = read_mhd_header(path)
        if fields.get("ObjectType", "Image") != "Image":
            raise FormatError(f"{label}: MetaImage ObjectType {fields['ObjectType']} is not Image")
        ndims = _ints(fields, "NDims", label)[0]
        sizes = _ints(fields, "DimSize", label)
        if len(sizes) != ndims or ndims not in {2, 3}:
            raise FormatError(f"{label}: unsupported MetaImage NDims {ndims} / DimSize {sizes}")
        if int(fields.get("ElementNumberOfChannels", "1")) != 1:
            raise FormatError(f"{label}: multi-channel MetaImage is not supported")
        if fields.get("CompressedData", "False").lower() in _TRUE:
            raise FormatError(f"{label}: compressed MetaImage data is not supported")
        code = _TYPES.get(fields.get("ElementType", ""))
        if code is None:
            raise FormatError(f"{label}: unsupported dtype {fields.get('ElementType')!r}")
        msb = fields.get("BinaryDataByteOrderMSB") or fields.get("ElementByteOrderMSB") or "False"
        stored = np.dtype(code).newbyteorder(">" if msb.lower() in _TRUE else "<")
        source, offset = _location(path, fields, end, files)
        spacing = _spacing(fields, ndims, label)
        meta: dict[str, Any] = {
            "mhd_header": fields,
            "byte_order": "big" if stored.byteorder == ">" else "little",
        }
        if spacing:
            meta["spacing_unit_assumed"] = "mm (MetaImage/ITK convention)"
        info = make_info(
            label,
            shape=tuple(reversed(sizes)),
            dtype=stored,
            voxel_size=[v * 1e3 for v in reversed(spacing)] if spacing else None,
            format_name="metaimage",
            metadata=meta,
        )
        return raw_source(info, source, stored=stored, offset=offset)


def _is_header(path: Path) -> bool:
    return bool(_SNIFF.match(read_head(path, 256).split(b"\n", 1)[0]))


def data_file_name(path: Path) -> str | None:
    """The data file a .mhd header names (None for LOCAL data or a bad header)."""
    try:
        fields, _ = read_mhd_header(path)
    except (FormatError, OSError):
        return None
    name = fields.get("ElementDataFile", "")
    return None if name.upper() in {"LOCAL", "LIST", ""} else name
