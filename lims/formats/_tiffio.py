"""Low-level TIFF access: a checked open, and row reads that decode only the tiles needed."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
from numpy.typing import NDArray

from lims.formats._common import READ_ERRORS, ReadFn, read_head
from lims.formats.base import FormatError

MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_JPEG = {6, 7, 33007, 34892}


class _Problems(logging.Handler):
    """Collects what tifffile logs while it parses (it logs, not raises, on broken IFDs)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def open_tiff(path: Path) -> tifffile.TiffFile:
    """Open and check a TIFF: every IFD parses and every strip/tile lies inside the file.

    Raises:
        FormatError: wrong magic, a broken IFD chain, or data past the end of the file.
    """
    if read_head(path, 4) not in MAGICS:
        raise FormatError(f"{path.name}: not a TIFF file (wrong magic {read_head(path, 4)!r})")
    problems = _Problems()
    logger = logging.getLogger("tifffile")
    logger.addHandler(problems)
    tif = None
    try:
        tif = tifffile.TiffFile(path)
        size = path.stat().st_size
        for index, page in enumerate(tif.pages):
            ends = [o + c for o, c in zip(page.dataoffsets, page.databytecounts, strict=False)]
            if max(ends, default=0) > size:
                problems.messages.append(
                    f"page {index} data ends at byte {max(ends)}, file has {size}"
                )
                break
        _ = tif.series
    except READ_ERRORS as exc:
        problems.messages.append(str(exc))
    finally:
        logger.removeHandler(problems)
    if problems.messages:
        if tif is not None:
            tif.close()
        raise FormatError(f"{path.name}: corrupt or truncated TIFF ({problems.messages[0]})")
    assert tif is not None  # noqa: S101 - no problem means it opened
    return tif


def row_reader(tif: tifffile.TiffFile, page: tifffile.TiffPage) -> ReadFn:
    """Read rows [y0, y1) of a 2D page by decoding only the strips/tiles that cover them."""
    height, width, samples = page.imagelength, page.imagewidth, page.samplesperpixel
    nseg = len(page.dataoffsets)
    separate = page.planarconfig == 2 and samples > 1  # noqa: PLR2004
    per_plane = nseg // samples if separate else nseg
    seg_h = page.tilelength if page.is_tiled else page.rowsperstrip
    across = math.ceil(width / page.tilewidth) if page.is_tiled else 1
    kwargs: dict[str, Any] = {"_fullsize": page.is_tiled}
    if int(page.compression) in _JPEG:
        kwargs |= {"jpegtables": page.jpegtables, "jpegheader": page.jpegheader}
    fh = tif.filehandle

    def read(y0: int, y1: int) -> NDArray[Any]:
        out = np.zeros((y1 - y0, width, samples), dtype=page.dtype)
        for idx in range(nseg):
            top = (idx % per_plane) // across * seg_h
            if top >= y1 or top + seg_h <= y0:
                continue
            data = None
            if page.databytecounts[idx]:
                fh.seek(page.dataoffsets[idx])
                data = fh.read(page.databytecounts[idx])
            decoded, where, _ = page.decode(data, idx, **kwargs)
            if decoded is None:
                continue
            s, h, w = int(where[0]), int(where[2]), int(where[3])
            seg: NDArray[Any] = decoded.reshape(decoded.shape[1:])  # (rows, cols, samples)
            lo, hi = max(y0, h), min(y1, h + seg.shape[0], height)
            cols = min(seg.shape[1], width - w)
            part = seg[lo - h : hi - h, :cols]
            out[lo - y0 : hi - y0, w : w + cols, s : s + part.shape[2]] = part
        return out if samples > 1 else out[..., 0]

    return read
