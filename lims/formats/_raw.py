"""Raw arrays at an offset in a file: memory-mapped, or streamed from gzip/bzip2."""

from __future__ import annotations

import bz2
import gzip
import math
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from lims.formats._common import PlaneSource
from lims.formats.base import FormatError, ImageInfo


def raw_source(
    info: ImageInfo,
    path: Path,
    *,
    stored: np.dtype[Any],
    offset: int,
    encoding: str = "raw",
) -> PlaneSource:
    """Stream a raw array (C order, first axis slowest) stored at ``offset`` in ``path``.

    Args:
        info: the image; its shape is the stored array shape.
        path: the data file.
        stored: the dtype as stored (byte order included).
        offset: byte offset of the data; -1 means the data ends the file.
        encoding: "raw", "gzip" or "bzip2".

    Raises:
        FormatError: the file is shorter or longer than the header says.
    """
    count = math.prod(info.shape) * stored.itemsize
    size = path.stat().st_size
    if encoding == "raw":
        if offset < 0:
            offset = size - count
        if offset < 0 or size - offset != count:
            have = size - max(offset, 0)
            raise FormatError(f"{path.name}: expected {count} bytes, file has {have}")
        held = [np.memmap(path, dtype=stored, mode="r", offset=offset, shape=info.shape)]
        return PlaneSource(info, lambda a, b: held[0][a:b], path.name, close=held.clear)
    return _StreamReader(info, path, stored, offset, encoding).source()


class _StreamReader:
    """Sequential reader of a compressed raw stream; seeking back re-opens it."""

    def __init__(
        self, info: ImageInfo, path: Path, stored: np.dtype[Any], offset: int, encoding: str
    ) -> None:
        self.info, self.path, self.stored, self.offset = info, path, stored, offset
        self.opener: Callable[[IO[bytes]], gzip.GzipFile | bz2.BZ2File]
        if encoding == "gzip":
            self.opener = lambda fh: gzip.GzipFile(fileobj=fh, mode="rb")
        elif encoding == "bzip2":
            self.opener = lambda fh: bz2.BZ2File(fh, mode="rb")
        else:
            raise FormatError(f"{path.name}: unsupported data encoding {encoding!r}")
        self.row = math.prod(info.shape[1:]) * stored.itemsize
        self.raw: IO[bytes] | None = None
        self.stream: gzip.GzipFile | bz2.BZ2File | None = None
        self.pos = 0

    def _reopen(self) -> None:
        self.close()
        self.raw = self.path.open("rb")
        self.raw.seek(self.offset)
        self.stream = self.opener(self.raw)
        self.pos = 0

    def read(self, start: int, stop: int) -> NDArray[Any]:
        if self.stream is None or start < self.pos:
            self._reopen()
        assert self.stream is not None  # noqa: S101 - set by _reopen
        while self.pos < start:  # skip forward
            self._exact((min(start - self.pos, 64)) * self.row)
            self.pos = min(start, self.pos + 64)
        data = self._exact((stop - start) * self.row)
        self.pos = stop
        if stop == self.info.shape[0] and self.stream.read(1):
            raise FormatError(f"{self.path.name}: more data than the header says")
        arr = np.frombuffer(data, dtype=self.stored)
        return arr.reshape((stop - start, *self.info.shape[1:]))

    def _exact(self, n: int) -> bytes:
        assert self.stream is not None  # noqa: S101
        data = self.stream.read(n)
        if len(data) != n:
            total = math.prod(self.info.shape) * self.stored.itemsize
            raise FormatError(
                f"{self.path.name}: truncated compressed data (expected {total} bytes)"
            )
        return data

    def close(self) -> None:
        for fh in (self.stream, self.raw):
            if fh is not None:
                fh.close()
        self.stream = self.raw = None

    def source(self) -> PlaneSource:
        return PlaneSource(self.info, self.read, self.path.name, close=self.close)
