"""Chunk-level writes of canonical datasets: Blosc chunks compressed in threads.

Through h5py, HDF5 compresses every chunk in the calling thread under h5py's lock. Here
chunks are compressed by c-blosc (imagecodecs, which releases the GIL) in a thread pool and
stored from there with ``write_direct_chunk``. The bytes are those the HDF5 Blosc filter
(hdf5plugin) writes, so the files are read by HDF5 as before, by any reader with the plugin.
"""

from __future__ import annotations

import collections
import itertools
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from typing import Any

import imagecodecs
import numpy as np
from numpy.typing import NDArray

CLEVEL = 5
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def threads() -> int:
    """Threads that compress chunks (the CPUs this process may use)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def pool() -> ThreadPoolExecutor:
    """The process's chunk compression threads (created on first use)."""
    global _pool  # noqa: PLW0603 - one pool per process, created lazily
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(threads(), thread_name_prefix="ctvault-chunks")
        return _pool


def write_rows(dataset: Any, start: int, block: NDArray[Any]) -> None:  # noqa: ANN401
    """Write ``block`` at rows ``start:`` (axis 0) now (see :class:`ChunkWriter`)."""
    writer = ChunkWriter(dataset)
    writer.submit(start, block)
    writer.wait()


class ChunkWriter:
    """Writes whole chunk layers of a Blosc-chunked dataset from the pool.

    Each chunk layer (one chunk deep along axis 0) is one pool task: its chunks are cut
    out, compressed by c-blosc (which releases the GIL) and stored with
    ``write_direct_chunk``. h5py serialises every HDF5 call with its own lock, so layers may
    be stored by several threads in any order. :meth:`submit` returns at once and the
    caller goes on (reads the next block, reduces the next level) while the pool works;
    :meth:`wait` waits for the layers queued so far (or the first ``layers`` of them).
    A submitted block must not change until its layers are written.
    """

    def __init__(self, dataset: Any) -> None:  # noqa: ANN401 - h5py.Dataset is untyped
        self._dataset_id = dataset.id
        self._chunks = tuple(int(c) for c in dataset.chunks)
        self._shape = tuple(int(n) for n in dataset.shape)
        self._pending: collections.deque[Future[None]] = collections.deque()
        self.submitted = 0
        self._finished = 0

    def submit(self, start: int, block: NDArray[Any]) -> None:
        """Queue ``block`` for rows ``start:``: whole chunk layers (the last may be short).

        Raises:
            ValueError: ``start`` is not on a chunk border or the block is not full width.
        """
        depth, shape = self._chunks[0], self._shape
        if start % depth or tuple(block.shape[1:]) != shape[1:]:
            raise ValueError(f"rows {start}+{block.shape} are not whole chunk layers of {shape}")
        for top in range(0, len(block), depth):
            layer = block[top : top + depth]
            self._pending.append(pool().submit(self._store_layer, start + top, layer))
            self.submitted += 1

    def wait(self, layers: int | None = None) -> None:
        """Wait until the first ``layers`` queued layers (default: all) are stored.

        Raises:
            Exception: what storing a layer raised.
        """
        until = self.submitted if layers is None else layers
        while self._pending and self._finished < until:
            future = self._pending.popleft()
            self._finished += 1
            future.result()

    def abandon(self) -> None:
        """Cancel the layers not started and wait for the others, ignoring their errors."""
        while self._pending:
            future = self._pending.popleft()
            if not future.cancel():
                futures_wait([future])
        self._finished = self.submitted

    def _store_layer(self, start: int, layer: NDArray[Any]) -> None:
        chunks = self._chunks
        box = ((start, start + len(layer)), *((0, n) for n in self._shape[1:]))
        for offset in _chunk_offsets(box, chunks):
            self._dataset_id.write_direct_chunk(offset, _encode_at(layer, offset, start, chunks))


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


def _chunk_offsets(
    box: tuple[tuple[int, int], ...], chunks: Sequence[int]
) -> Iterator[tuple[int, ...]]:
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
