"""Chunk-level I/O of canonical datasets: Blosc chunks decoded and encoded in threads.

HDF5 reads a strided selection (an XZ or YZ plane) through its own scatter-gather, one chunk
at a time under h5py's lock, which made side planes of a volume 4-5x slower than XY planes
(docs/benchmarks.md). Here the compressed chunks are fetched with ``read_direct_chunk`` and
decoded by c-blosc (imagecodecs, which releases the GIL) in a thread pool, and numpy copies
the part of each chunk the box needs. Writing is the mirror image: chunks are compressed in
threads and stored with ``write_direct_chunk``. The bytes are those of the HDF5 Blosc filter
(hdf5plugin), so files stay readable by any HDF5 reader with the plugin.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import math
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import imagecodecs
import numpy as np
from numpy.typing import NDArray

BLOSC_FILTER = 32001
CLEVEL = 5
# Chunks fetched but not yet decoded at any time (bounds the memory of one read).
_IN_FLIGHT = 32
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def threads() -> int:
    """Threads that decode or encode chunks (the CPUs this process may use)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def pool() -> ThreadPoolExecutor:
    """The process's chunk codec threads (created on first use)."""
    global _pool  # noqa: PLW0603 - one pool per process, created lazily
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(threads(), thread_name_prefix="ctvault-chunks")
        return _pool


def is_direct(dataset: Any) -> bool:  # noqa: ANN401 - h5py.Dataset is untyped
    """True when the dataset is chunked with exactly the Blosc filter (canonical layout)."""
    if dataset.chunks is None:
        return False
    plist = dataset.id.get_create_plist()
    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    return filters == [BLOSC_FILTER]


Box = tuple[tuple[int, int], ...]


def read_box(dataset: Any, box: Box) -> NDArray[Any]:  # noqa: ANN401
    """The elements ``[start:stop]`` on every axis of a Blosc-chunked dataset.

    Where each chunk lies in the file is asked of HDF5 (a B-tree lookup); its bytes are
    then read with ``pread`` and decoded into per-thread buffers in the pool, so threads
    read, decode and copy in parallel and no fresh memory is touched per chunk (allocating
    it was most of the cost on a VM). Canonical files are immutable, so reading their
    bytes beside HDF5 is safe.

    Args:
        dataset: an h5py dataset for which :func:`is_direct` is True.
        box: ``(start, stop)`` per axis, within the shape.

    Returns:
        A new C-order array of shape ``stop - start`` per axis.
    """
    chunks = tuple(int(c) for c in dataset.chunks)
    dtype = np.dtype(dataset.dtype)
    out = np.empty(tuple(stop - start for start, stop in box), dtype)
    index = _index(dataset)
    fd = os.open(dataset.file.filename, os.O_RDONLY)
    try:
        pending: list[Future[None]] = []
        for offset in _chunk_offsets(box, chunks):
            cell = tuple(o // c for o, c in zip(offset, chunks, strict=True))
            byte_offset = int(index.byte_offset[cell])
            if byte_offset < 0:
                # A chunk never written holds the fill value.
                out[_target(offset, chunks, box)] = dataset.fillvalue
                continue
            job = _Chunk(fd, byte_offset, int(index.size[cell]), int(index.mask[cell]), offset)
            pending.append(pool().submit(_decode_into, out, job, chunks, box))
            if len(pending) >= _IN_FLIGHT:
                pending.pop(0).result()
        for future in pending:
            future.result()
    finally:
        os.close(fd)
    return out


@dataclasses.dataclass(frozen=True, slots=True)
class _Index:
    """Where each chunk of a dataset is in the file, on the chunk grid (-1: not written)."""

    byte_offset: NDArray[np.int64]
    size: NDArray[np.int64]
    mask: NDArray[np.uint32]


_INDEXES_KEPT = 16
_indexes: collections.OrderedDict[tuple[Any, ...], _Index] = collections.OrderedDict()
_indexes_lock = threading.Lock()


def _index(dataset: Any) -> _Index:  # noqa: ANN401
    """The chunk index of a dataset, built once by ``chunk_iter`` and kept (LRU).

    Keyed by the file's identity and modification time, so a file replaced in place (never
    the case for stored canonical arrays) is indexed again.
    """
    stat = Path(dataset.file.filename).stat()
    key = (stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size, dataset.name)
    with _indexes_lock:
        if key in _indexes:
            _indexes.move_to_end(key)
            return _indexes[key]
    chunks = tuple(int(c) for c in dataset.chunks)
    grid = tuple(-(-int(n) // c) for n, c in zip(dataset.shape, chunks, strict=True))
    index = _Index(np.full(grid, -1, np.int64), np.zeros(grid, np.int64), np.zeros(grid, np.uint32))

    def visit(info: Any) -> None:  # noqa: ANN401 - h5py StoreInfo
        cell = tuple(o // c for o, c in zip(info.chunk_offset, chunks, strict=True))
        index.byte_offset[cell] = info.byte_offset
        index.size[cell] = info.size
        index.mask[cell] = info.filter_mask

    dataset.id.chunk_iter(visit)
    with _indexes_lock:
        _indexes[key] = index
        while len(_indexes) > _INDEXES_KEPT:
            _indexes.popitem(last=False)
    return index


@dataclasses.dataclass(frozen=True, slots=True)
class _Chunk:
    fd: int
    byte_offset: int
    size: int
    filter_mask: int
    offset: tuple[int, ...]


_buffers = threading.local()


def _buffer(name: str, size: int) -> NDArray[np.uint8]:
    """This thread's reusable byte buffer ``name`` of at least ``size`` bytes."""
    buffer: NDArray[np.uint8] | None = getattr(_buffers, name, None)
    if buffer is None or buffer.size < size:
        buffer = np.empty(size, np.uint8)
        setattr(_buffers, name, buffer)
    return buffer


def _decode_into(out: NDArray[Any], job: _Chunk, chunks: tuple[int, ...], box: Box) -> None:
    raw = _buffer("raw", job.size)[: job.size]
    if os.preadv(job.fd, [raw.data], job.byte_offset) != job.size:
        raise OSError(f"short read of a chunk at byte {job.byte_offset}")
    nbytes = out.dtype.itemsize * math.prod(chunks)
    if job.filter_mask & 1:
        data = raw
    else:
        data = _buffer("chunk", nbytes)[:nbytes]
        imagecodecs.blosc_decode(raw, numthreads=1, out=data)  # type: ignore[arg-type]
    chunk = data[:nbytes].view(out.dtype).reshape(chunks)
    source = tuple(
        slice(max(start, o) - o, min(stop, o + c) - o)
        for (start, stop), o, c in zip(box, job.offset, chunks, strict=True)
    )
    out[_target(job.offset, chunks, box)] = chunk[source]


def _target(offset: tuple[int, ...], chunks: tuple[int, ...], box: Box) -> tuple[slice, ...]:
    return tuple(
        slice(max(start, o) - start, min(stop, o + c) - start)
        for (start, stop), o, c in zip(box, offset, chunks, strict=True)
    )


def _chunk_offsets(box: Box, chunks: Sequence[int]) -> Iterator[tuple[int, ...]]:
    ranges = [range(start // c * c, stop, c) for (start, stop), c in zip(box, chunks, strict=True)]
    return itertools.product(*ranges)


def encode(chunk: NDArray[Any]) -> bytes:
    """One full chunk compressed as the canonical Blosc filter does (LZ4, level 5, shuffle)."""
    data = np.ascontiguousarray(chunk)
    return bytes(
        imagecodecs.blosc_encode(
            data,  # type: ignore[arg-type]  # an ndarray: its itemsize is the typesize
            level=CLEVEL,
            compressor="lz4",
            shuffle=imagecodecs.BLOSC.SHUFFLE.SHUFFLE,
            typesize=data.dtype.itemsize,
            numthreads=1,
        )
    )


def write_rows(dataset: Any, start: int, block: NDArray[Any]) -> None:  # noqa: ANN401
    """Write ``block`` at rows ``start:`` (axis 0) now (see :class:`ChunkWriter`)."""
    writer = ChunkWriter(dataset)
    writer.submit(start, block)
    writer.drain()


class ChunkWriter:
    """Writes whole chunk layers of a Blosc-chunked dataset, compressed in the pool.

    :meth:`submit` returns once the chunks are queued (finished ones are written on the
    way, in order, with ``write_direct_chunk``), so the caller can go on (reduce the next
    pyramid level) while the pool compresses; :meth:`drain` waits for and writes the rest.
    A submitted block must not change until the next :meth:`drain`.
    """

    def __init__(self, dataset: Any) -> None:  # noqa: ANN401 - h5py.Dataset is untyped
        self._dataset = dataset
        self._chunks = tuple(int(c) for c in dataset.chunks)
        self._shape = tuple(int(n) for n in dataset.shape)
        self._pending: collections.deque[tuple[tuple[int, ...], Future[bytes]]] = (
            collections.deque()
        )

    def submit(self, start: int, block: NDArray[Any]) -> None:
        """Queue ``block`` for rows ``start:``: whole chunk layers (the last may be short).

        Raises:
            ValueError: ``start`` is not on a chunk border or the block is not full width.
        """
        chunks, shape = self._chunks, self._shape
        if start % chunks[0] or tuple(block.shape[1:]) != shape[1:]:
            raise ValueError(f"rows {start}+{block.shape} are not whole chunk layers of {shape}")
        box = ((start, start + len(block)), *((0, n) for n in shape[1:]))
        for offset in _chunk_offsets(box, chunks):
            self._pending.append((offset, pool().submit(_encode_at, block, offset, start, chunks)))
            self._write_done()

    def drain(self) -> None:
        """Wait for every queued chunk and write it."""
        while self._pending:
            offset, future = self._pending.popleft()
            self._dataset.id.write_direct_chunk(offset, future.result())

    def _write_done(self) -> None:
        while self._pending and self._pending[0][1].done():
            offset, future = self._pending.popleft()
            self._dataset.id.write_direct_chunk(offset, future.result())


def _encode_at(
    block: NDArray[Any], offset: tuple[int, ...], start: int, chunks: tuple[int, ...]
) -> bytes:
    first = (slice(offset[0] - start, offset[0] - start + chunks[0]),)
    rest = tuple(slice(o, o + c) for o, c in zip(offset[1:], chunks[1:], strict=True))
    part = block[first + rest]
    if part.shape != chunks:
        # Edge chunks are stored whole; the padding is never read back.
        full = np.zeros(chunks, block.dtype)
        full[tuple(slice(0, n) for n in part.shape)] = part
        part = full
    return encode(part)
