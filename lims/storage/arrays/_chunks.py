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

import itertools
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
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

    Args:
        dataset: an h5py dataset for which :func:`is_direct` is True.
        box: ``(start, stop)`` per axis, within the shape.

    Returns:
        A new C-order array of shape ``stop - start`` per axis.
    """
    chunks = tuple(int(c) for c in dataset.chunks)
    dtype = np.dtype(dataset.dtype)
    out = np.empty(tuple(stop - start for start, stop in box), dtype)
    fill = dataset.fillvalue
    pending: list[Future[None]] = []
    for offset in _chunk_offsets(box, chunks):
        try:
            mask, raw = dataset.id.read_direct_chunk(offset)
        except (KeyError, OSError, RuntimeError):
            # A chunk never written holds the fill value.
            out[_target(offset, chunks, box)] = fill
            continue
        pending.append(pool().submit(_decode_into, out, raw, mask, offset, chunks, box, dtype))
        if len(pending) >= _IN_FLIGHT:
            pending.pop(0).result()
    for future in pending:
        future.result()
    return out


def _decode_into(  # noqa: PLR0917 - private, called through the pool
    out: NDArray[Any],
    raw: bytes,
    mask: int,
    offset: tuple[int, ...],
    chunks: tuple[int, ...],
    box: Box,
    dtype: np.dtype[Any],
) -> None:
    data = raw if mask & 1 else imagecodecs.blosc_decode(raw, numthreads=1)
    chunk = np.frombuffer(data, dtype).reshape(chunks)
    source = tuple(
        slice(max(start, o) - o, min(stop, o + c) - o)
        for (start, stop), o, c in zip(box, offset, chunks, strict=True)
    )
    out[_target(offset, chunks, box)] = chunk[source]


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
    """Write ``block`` at rows ``start:`` (axis 0) of a Blosc-chunked dataset, chunk by chunk.

    ``start`` must be a multiple of the chunk's first side and the block must reach to the
    end of the other axes (whole chunk layers; the last layer of the dataset may be short).
    Chunks are compressed in the pool and stored in order with ``write_direct_chunk``.
    """
    chunks = tuple(int(c) for c in dataset.chunks)
    shape = tuple(int(n) for n in dataset.shape)
    if start % chunks[0] or tuple(block.shape[1:]) != shape[1:]:
        raise ValueError(f"rows {start}+{block.shape} are not whole chunk layers of {shape}")
    box = ((start, start + len(block)), *((0, n) for n in shape[1:]))
    pending: list[tuple[tuple[int, ...], Future[bytes]]] = []
    for offset in _chunk_offsets(box, chunks):
        pending.append((offset, pool().submit(_encode_at, block, offset, start, chunks)))
        if len(pending) >= _IN_FLIGHT:
            done, future = pending.pop(0)
            dataset.id.write_direct_chunk(done, future.result())
    for done, future in pending:
        dataset.id.write_direct_chunk(done, future.result())


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
