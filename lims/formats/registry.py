"""Every reader, in sniffing order; open a file set as one image and group uploads into images."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import tifffile

from lims.formats import dicom, metaimage, nrrd, vgi
from lims.formats._common import natural_key, number_pattern
from lims.formats.base import FormatError, Reader, SourceImage
from lims.formats.dicom import DicomReader
from lims.formats.hdf5 import Hdf5Reader
from lims.formats.images import ImagesReader
from lims.formats.metaimage import MetaImageReader
from lims.formats.mrc import MrcReader
from lims.formats.nrrd import NrrdReader
from lims.formats.tiff import TiffReader
from lims.formats.vgi import VgiReader

READERS: tuple[Reader, ...] = (
    TiffReader(),
    DicomReader(),
    NrrdReader(),
    MetaImageReader(),
    VgiReader(),
    Hdf5Reader(),
    MrcReader(),
    ImagesReader(),
)

_HEADERS: dict[str, Callable[[Path], str | None]] = {
    ".mhd": metaimage.data_file_name,
    ".nhdr": nrrd.data_file_name,
    ".vgi": vgi.data_file_name,
}


def supported() -> str:
    """Reader names, comma separated, for messages."""
    return ", ".join(r.name for r in READERS)


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files of ``paths``; a folder stands for its visible files, recursively, sorted."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = (p for p in path.rglob("*") if p.is_file())
            rel = (
                p
                for p in found
                if not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            out.extend(sorted(rel, key=lambda p: (str(p.parent), natural_key(p))))
        else:
            out.append(path)
    return out


def open_image(files: Sequence[Path]) -> SourceImage:
    """Open ``files`` (or one folder) as one image with the first reader that recognises them.

    Raises:
        FormatError: missing/unreadable files, or no reader recognises them.
    """
    paths = expand(files)
    if not paths:
        raise FormatError("no files given")
    for path in paths:
        if not path.is_file():
            raise FormatError(f"{path.name}: not a readable file")
    for reader in READERS:
        if reader.sniff(paths):
            return reader.open(paths)
    names = ", ".join(p.name for p in paths[:3]) + (" ..." if len(paths) > 3 else "")  # noqa: PLR2004
    hint = ""
    claimed = [
        r.name
        for r in READERS
        for p in paths[:1]
        if p.suffix.lower() in getattr(r, "extensions", ())
    ]
    if claimed:
        hint = f"; the name says {claimed[0]} but the content does not match that format"
    raise FormatError(f"not a recognised image format: {names}{hint} (supported: {supported()})")


def group_files(paths: Iterable[Path]) -> list[list[Path]]:
    """Split uploaded files into the file sets that each make one image.

    Header + data pairs (.mhd/.nhdr/.vgi with the file they name), DICOM files by
    SeriesInstanceUID, numbered single-page TIFF slices by name pattern and folder; every
    other file is a set of its own. Only sets that some reader recognises by signature are
    returned (notes, spreadsheets, stray raw files are left out); opening a set may still
    fail with a FormatError (a missing slice, a truncated file). Folders are expanded.

    Returns:
        File sets ordered by their first file; each set in reading order.
    """
    pool = expand(paths)
    taken: set[Path] = set()
    groups: list[list[Path]] = []
    by_name = {p.resolve(): p for p in pool}
    for path in pool:
        reader_of = _HEADERS.get(path.suffix.lower())
        name = reader_of(path) if reader_of else None
        data = (
            by_name.get((path.parent / name).resolve())
            if name and "/" not in name and "\\" not in name
            else None
        )
        if data is not None and data != path:
            groups.append([path, data])
            taken |= {path, data}
    series: dict[str, list[Path]] = defaultdict(list)
    stacks: dict[tuple[Path, str, str], list[Path]] = defaultdict(list)
    for path in pool:
        if path in taken:
            continue
        if DicomReader().sniff([path]) and (uid := dicom.series_uid(path)):
            series[uid].append(path)
        elif TiffReader().sniff([path]) and (pattern := number_pattern(path)):
            stacks[path.parent, pattern[0], pattern[2]].append(path)
        else:
            groups.append([path])
    groups.extend(sorted(members, key=natural_key) for members in series.values())
    for members in stacks.values():
        if len(members) > 1 and _single_page(members[0]):
            groups.append(sorted(members, key=natural_key))
        else:
            groups.extend([p] for p in members)
    known = [g for g in groups if any(r.sniff(g) for r in READERS)]
    return sorted(known, key=lambda g: (str(g[0].parent), natural_key(g[0])))


def _single_page(path: Path) -> bool:
    try:
        with tifffile.TiffFile(path) as tif:
            return len(tif.pages) == 1
    except (OSError, ValueError):
        return False
