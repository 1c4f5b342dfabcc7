"""Low-level TIFF access: a checked open, and row reads that decode only the tiles needed."""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
from numpy.typing import NDArray

from lims.formats._common import READ_ERRORS, ReadFn, read_head
from lims.formats.base import FormatError

MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_decoder_lock = threading.Lock()
_decoder_pool: ThreadPoolExecutor | None = None
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
    """Read rows [y0, y1) of a 2D page, touching only the strips/tiles that cover them.

    Uncompressed pages are read straight from the file into the result; others are decoded
    segment by segment. Every call returns a new array.
    """
    direct = _uncompressed_rows(tif, page)
    return direct if direct is not None else _decoded_rows(tif, page)


def _decoders() -> ThreadPoolExecutor:
    """Threads that decode compressed segments (the codecs release the GIL)."""
    global _decoder_pool  # noqa: PLW0603 - one pool per process, created lazily
    with _decoder_lock:
        if _decoder_pool is None:
            _decoder_pool = ThreadPoolExecutor(
                max(1, len(os.sched_getaffinity(0))), thread_name_prefix="ctvault-tiff"
            )
        return _decoder_pool


def _decoded_rows(tif: tifffile.TiffFile, page: tifffile.TiffPage) -> ReadFn:
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
        planes = range(0, nseg, per_plane) if separate else range(1)
        rows = range(y0 // seg_h * across, min(per_plane, -(-y1 // seg_h) * across))
        wanted = [plane + idx for plane in planes for idx in rows]
        raw = []
        for idx in wanted:  # read in file order here, decode in threads below
            data = None
            if page.databytecounts[idx]:
                fh.seek(page.dataoffsets[idx])
                data = fh.read(page.databytecounts[idx])
            raw.append((data, idx))
        for decoded, where, _ in _decoders().map(lambda item: page.decode(*item, **kwargs), raw):
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


def _uncompressed_rows(tif: tifffile.TiffFile, page: tifffile.TiffPage) -> ReadFn | None:
    """Rows of an uncompressed, interleaved page read with ``preadv``; None for other pages."""
    dtype, samples = page.dtype, page.samplesperpixel
    if (
        int(page.compression) != 1
        or dtype is None
        or page.bitspersample != dtype.itemsize * 8
        or page.fillorder != 1
        or page.imagedepth != 1
        or (samples > 1 and page.planarconfig != 1)
    ):
        return None
    layout = _SegmentLayout.of(page, dtype)
    if layout is None:
        return None
    dtype = dtype.newbyteorder(tif.byteorder)  # as stored; the source converts to native
    fd = tif.filehandle.fileno()
    pixel_shape = (samples,) if samples > 1 else ()

    name = tif.filehandle.name

    def read(y0: int, y1: int) -> NDArray[Any]:
        out = np.empty((y1 - y0, layout.width, *pixel_shape), dtype)
        rows = out.reshape(y1 - y0, layout.width, samples)
        try:
            for index in range(y0 // layout.seg_h, -(-y1 // layout.seg_h)):
                layout.copy_segment_row(fd, index, y0, y1, rows)
        except _Truncated as cut:
            raise FormatError(f"{name}: the file ends inside its pixel data (byte {cut})") from cut
        return out

    return read


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class _SegmentLayout:
    """Where the whole, uncompressed strips or tiles of a page lie in its file."""

    width: int
    height: int
    seg_h: int
    seg_w: int
    across: int
    pixel_bytes: int
    offsets: tuple[int, ...]
    buffer: NDArray[np.uint8]

    @classmethod
    def of(cls, page: tifffile.TiffPage, dtype: np.dtype[Any]) -> _SegmentLayout | None:
        """The layout, or None when a segment is not stored whole."""
        width, height = int(page.imagewidth), int(page.imagelength)
        seg_h = int(page.tilelength if page.is_tiled else page.rowsperstrip)
        seg_w = int(page.tilewidth) if page.is_tiled else width
        pixel_bytes = int(page.samplesperpixel) * dtype.itemsize
        across = -(-width // seg_w)
        counts = [int(c) for c in page.databytecounts]
        if len(counts) != -(-height // seg_h) * across:
            return None
        for index, count in enumerate(counts):
            rows = seg_h if page.is_tiled else min(seg_h, height - index * seg_h)
            if count != rows * seg_w * pixel_bytes:
                return None
        offsets = tuple(int(o) for o in page.dataoffsets)
        # A row of tiles narrower than the image is read here, then copied into place.
        buffer = np.empty(0 if seg_w == width else across * seg_h * seg_w * pixel_bytes, np.uint8)
        return cls(width, height, seg_h, seg_w, across, pixel_bytes, offsets, buffer)

    def copy_segment_row(self, fd: int, index: int, y0: int, y1: int, out: NDArray[Any]) -> None:
        """Copy the rows [y0, y1) that segment row ``index`` holds into ``out`` (rows y0:)."""
        top = index * self.seg_h
        lo, hi = max(y0, top), min(y1, top + self.seg_h, self.height)
        if self.seg_w == self.width:  # a strip (or a column of tiles): rows read into place
            row_bytes = self.width * self.pixel_bytes
            _pread_into(fd, out[lo - y0 : hi - y0], self.offsets[index] + (lo - top) * row_bytes)
            return
        first = index * self.across
        size = self.seg_h * self.seg_w * self.pixel_bytes
        start = 0
        while start < self.across:  # runs of tiles that follow each other in the file
            stop = start + 1
            while stop < self.across and (
                self.offsets[first + stop] == self.offsets[first + stop - 1] + size
            ):
                stop += 1
            _pread_into(fd, self.buffer[start * size : stop * size], self.offsets[first + start])
            start = stop
        tiles = self.buffer.view(out.dtype).reshape(self.across, self.seg_h, self.seg_w, -1)
        part = tiles[:, lo - top : hi - top].transpose(1, 0, 2, 3)
        whole = self.width // self.seg_w
        target = out[lo - y0 : hi - y0, : whole * self.seg_w]
        target.shape = (hi - lo, whole, self.seg_w, part.shape[-1])  # a view, never a copy
        target[...] = part[:, :whole]
        if whole < self.across:
            rest = self.width - whole * self.seg_w
            out[lo - y0 : hi - y0, whole * self.seg_w :] = part[:, whole, :rest]


def _pread_into(fd: int, target: NDArray[Any], offset: int) -> None:
    view = target.data.cast("B")
    if os.preadv(fd, [view], offset) != view.nbytes:
        raise _Truncated(offset)


class _Truncated(Exception):  # noqa: N818 - internal, turned into a FormatError
    """The file ended before a segment did (it was cut after it was opened)."""
