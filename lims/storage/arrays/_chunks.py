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
            memoryview(data.reshape(-1).view(np.uint8)),  # type: ignore[arg-type]
            level=CLEVEL,
            compressor="lz4",
            shuffle=imagecodecs.BLOSC.SHUFFLE.SHUFFLE,
            typesize=data.dtype.itemsize,
            numthreads=1,
        )
    )
