"""VGStudio .vgi header + .vol raw volume (the common {volume1} [file1] [geometry] fields)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lims.formats._common import data_path, make_info, read_head, unit_factor
from lims.formats._raw import raw_source
from lims.formats.base import FormatError, SourceImage

_MAX_HEADER = 1 << 20
_BLOCK = re.compile(r"^\{(.+)\}$")
_SECTION = re.compile(r"^\[(.+)\]$")
_BITS = re.compile(r"(\d+)")
_SNIFF = re.compile(rb"^\s*(\{[^}\n]+\}|\[[^\]\n]+\])\s*$", re.MULTILINE)

Sections = dict[str, dict[str, dict[str, str]]]


def parse_vgi(path: Path) -> Sections:
    """Parse a .vgi into {block: {section: {key (lower case): value}}}.

    Lines before any ``{block}`` belong to block "". Keys are case-insensitive.

    Raises:
        FormatError: a file that is too long, not text, or has lines that are not key = value.
    """
    if path.stat().st_size > _MAX_HEADER:
        raise FormatError(f"{path.name}: too large for a .vgi header")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        text = path.read_bytes().decode("latin-1")
    if "\x00" in text:
        raise FormatError(f"{path.name}: not a .vgi text header")
    out: Sections = {}
    block, section = "", ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if m := _BLOCK.match(line):
            block, section = m.group(1).strip().lower(), ""
        elif m := _SECTION.match(line):
            section = m.group(1).strip().lower()
        elif "=" in line:
            key, _, value = line.partition("=")
            out.setdefault(block, {}).setdefault(section, {})[key.strip().lower()] = value.strip()
        else:
            raise FormatError(f"{path.name}: line {number} is not 'key = value': {line[:60]!r}")
    return out


def _dtype(datatype: str, bits_text: str, label: str) -> np.dtype[Any]:
    words = datatype.lower()
    found = _BITS.search(words) or _BITS.search(bits_text)
    if not words or not found:
        raise FormatError(f"{label}: .vgi does not state the datatype and bits per element")
    bits = int(found.group(1))
    if "float" in words or "real" in words:
        kind = "f"
    elif "unsigned" in words:
        kind = "u"
    elif "int" in words or "signed" in words:
        kind = "i"
    else:
        raise FormatError(f"{label}: unsupported dtype {datatype!r} in .vgi")
    if bits not in {8, 16, 32, 64} or (kind == "f" and bits < 32):  # noqa: PLR2004
        raise FormatError(f"{label}: unsupported dtype {datatype!r} with {bits} bits")
    return np.dtype(f"{kind}{bits // 8}")


def _floats(text: str, label: str, what: str) -> list[float]:
    try:
        return [float(v) for v in text.replace(",", " ").split()]
    except ValueError as exc:
        raise FormatError(f"{label}: .vgi {what} is not numbers: {text!r}") from exc


def _volume(sections: Sections, label: str) -> tuple[str, dict[str, dict[str, str]]]:
    for name, block in sections.items():
        if "file1" in block:
            return name, block
    raise FormatError(f"{label}: .vgi has no [file1] section (cannot find the volume data)")


class VgiReader:
    """VGStudio MAX .vgi + .vol (raw) volumes."""

    name = "vgi"
    extensions = (".vgi",)

    def sniff(self, files: Sequence[Path]) -> bool:
        """True when exactly one file is a .vgi header (plus at most its data)."""
        heads = [f for f in files if _is_vgi(f)]
        return len(heads) == 1 and len(files) <= 2  # noqa: PLR2004 - header + data

    def open(self, files: Sequence[Path]) -> SourceImage:
        """Open a .vgi/.vol pair.

        Raises:
            FormatError: unknown datatype or file format, bad size, missing .vol.
        """
        heads = [f for f in files if _is_vgi(f)]
        if len(heads) != 1:
            raise FormatError(f"{files[0].name if files else '?'}: expected one .vgi header")
        path = heads[0]
        label = path.name
        sections = parse_vgi(path)
        block_name, block = _volume(sections, label)
        file1 = block["file1"]
        fmt = file1.get("fileformat", "raw").lower()
        if fmt != "raw":
            raise FormatError(f"{label}: .vgi FileFormat {fmt!r} is not supported (raw only)")
        size_text = file1.get("size") or block.get("representation", {}).get("size", "")
        sizes = [int(v) for v in _floats(size_text, label, "Size")]
        if len(sizes) != 3:  # noqa: PLR2004
            raise FormatError(f"{label}: .vgi Size must give x y z, got {size_text!r}")
        rep = block.get("representation", {})
        dtype = _dtype(
            file1.get("datatype") or rep.get("datatype", ""),
            file1.get("bitsperelement") or rep.get("bitsperelement", ""),
            label,
        )
        order = (file1.get("byteorder") or file1.get("endian") or "little").lower()
        stored = dtype.newbyteorder(">" if "big" in order or "motorola" in order else "<")
        name = file1.get("name", "")
        if not name:
            raise FormatError(f"{label}: .vgi [file1] has no Name")
        base = re.split(r"[\\/]", name)[-1]  # VGStudio often writes an absolute Windows path
        source = data_path(path, base, files)
        offset = int(
            _floats(file1.get("skipheader") or file1.get("offset") or "0", label, "Offset")[0]
        )
        meta: dict[str, Any] = {
            "vgi": sections,
            "volume_block": block_name,
            "blocks": list(sections),
        }
        geometry = block.get("geometry", {})
        voxel = None
        if "resolution" in geometry:
            res = _floats(geometry["resolution"], label, "resolution")
            if len(res) == 1:
                res *= 3
                meta["resolution_isotropic"] = True
            unit = geometry.get("unit", "")
            factor = unit_factor(unit or "mm")
            if not unit:
                meta["resolution_unit_assumed"] = "mm (VGStudio default)"
            if factor is not None and len(res) == 3:  # noqa: PLR2004
                voxel = [v * factor for v in reversed(res)]
        info = make_info(
            label,
            shape=tuple(reversed(sizes)),
            dtype=stored,
            voxel_size=voxel,
            format_name="vgi",
            metadata=meta,
        )
        return raw_source(info, source, stored=stored, offset=offset)


def _is_vgi(path: Path) -> bool:
    head = read_head(path, 256)
    return bool(_SNIFF.match(head)) and b"\x00" not in head and path.suffix.lower() == ".vgi"


def data_file_name(path: Path) -> str | None:
    """The .vol file name a .vgi names (None when unreadable)."""
    try:
        _, block = _volume(parse_vgi(path), path.name)
    except (FormatError, OSError):
        return None
    name = block["file1"].get("name", "")
    return re.split(r"[\\/]", name)[-1] or None
