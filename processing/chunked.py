"""Chunked processing of images larger than memory: slabs along axis 0 with an overlap halo.

A local operation whose output at a voxel depends only on input voxels within ``depth``
planes (Gaussian: ``int(truncate * sigma + 0.5)``; median: the footprint radius; opening and
closing: twice the radius) gives *bit-identical* results when applied slab by slab with a
halo of ``depth`` planes on each side, because every output voxel sees exactly the same input
values in the same order, and the true borders of the image are only ever met at the true
borders. :func:`map_slabs` does that between two array-likes (numpy arrays, memmaps, h5py
datasets). :func:`iter_slabs` feeds reductions (histograms, counts) without a halo.

The slab thickness comes from the memory budget, so it may differ between machines; steps
whose result depends on the slab thickness (non-local means) fix it by a parameter instead.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from lims.errors import UserError


class ArraySource(Protocol):
    """A readable array-like: numpy array, memmap, h5py dataset."""

    @property
    def shape(self) -> tuple[int, ...]:
        """Extent per axis."""

    @property
    def dtype(self) -> np.dtype[Any]:
        """Element type."""

    def __getitem__(self, key: Any, /) -> Any: ...  # noqa: ANN401 - numpy/h5py indexing


class ArraySink(ArraySource, Protocol):
    """A writable array-like (output of a step)."""

    def __setitem__(self, key: Any, value: Any, /) -> None: ...  # noqa: ANN401 - as numpy


Allocator = Callable[[tuple[int, ...], np.dtype[Any]], ArraySink]


def allocate_in_memory(shape: tuple[int, ...], dtype: np.dtype[Any]) -> ArraySink:
    """Default allocator: a zeroed numpy array."""
    return np.zeros(shape, dtype)


class MemoryBudgetError(UserError):
    """The operation cannot run within the memory budget; nothing was written."""


@dataclasses.dataclass(frozen=True, slots=True)
class Slab:
    """Output planes ``[start, stop)``, computed from input planes ``[read_start, read_stop)``."""

    start: int
    stop: int
    read_start: int
    read_stop: int

    @property
    def core(self) -> slice:
        """Where the output planes sit inside the block that was read."""
        return slice(self.start - self.read_start, self.stop - self.read_start)


def plane_voxels(shape: tuple[int, ...]) -> int:
    """Voxels in one plane (one index along axis 0)."""
    return math.prod(shape[1:])


def planes_for_budget(
    shape: tuple[int, ...], *, bytes_per_voxel: int, depth: int, budget_bytes: int, what: str
) -> int:
    """Largest number of output planes per slab that fits the memory budget.

    Args:
        shape: Image shape; slabs are cut along axis 0.
        bytes_per_voxel: Working memory the operation needs per voxel of a block (input copy,
            float temporaries, output).
        depth: Halo planes read on each side of a slab.
        budget_bytes: Memory allowed for one block.
        what: Name of the operation, for the error message.

    Raises:
        MemoryBudgetError: not even one plane plus its halo fits.
    """
    per_plane = max(1, plane_voxels(shape) * bytes_per_voxel)
    planes = budget_bytes // per_plane - 2 * depth
    if planes < 1:
        need = (1 + 2 * depth) * per_plane
        raise MemoryBudgetError(
            f"{what}: one slab of {1 + 2 * depth} planes needs {need} bytes, "
            f"more than the memory budget of {budget_bytes} bytes"
        )
    return int(min(planes, shape[0]))


def plan_slabs(n_planes: int, planes: int, depth: int) -> tuple[Slab, ...]:
    """Cut ``n_planes`` into slabs of ``planes`` output planes, each with a ``depth`` halo."""
    slabs = []
    for start in range(0, n_planes, planes):
        stop = min(start + planes, n_planes)
        slabs.append(Slab(start, stop, max(0, start - depth), min(n_planes, stop + depth)))
    return tuple(slabs)


def read_block(source: ArraySource, start: int, stop: int) -> NDArray[Any]:
    """Planes ``[start, stop)`` of ``source`` as an in-memory numpy array."""
    return np.asarray(source[start:stop])


def map_slabs(
    func: Callable[[NDArray[Any]], NDArray[Any]],
    source: ArraySource,
    sink: ArraySink,
    *,
    depth: int,
    planes: int,
    progress: Callable[[float, str], None] | None = None,
) -> None:
    """Apply a shape-preserving local ``func`` slab by slab, with a halo of ``depth`` planes.

    Args:
        func: Maps a block to a result of the same shape.
        source: Input array-like.
        sink: Output array-like of the same shape.
        depth: Halo planes on each side (the operation's reach along axis 0).
        planes: Output planes per slab (see :func:`planes_for_budget`).
        progress: Called with (fraction done, message) after each slab.
    """
    if tuple(sink.shape) != tuple(source.shape):
        raise ValueError(f"output shape {sink.shape} differs from input {source.shape}")
    slabs = plan_slabs(source.shape[0], planes, depth)
    for i, slab in enumerate(slabs):
        result = func(read_block(source, slab.read_start, slab.read_stop))
        sink[slab.start : slab.stop] = result[slab.core]
        if progress is not None:
            progress((i + 1) / len(slabs), f"slab {i + 1}/{len(slabs)}")


def iter_slabs(source: ArraySource, planes: int) -> Iterator[tuple[int, NDArray[Any]]]:
    """Consecutive blocks of ``planes`` planes (no halo) as ``(start, block)``."""
    for start in range(0, source.shape[0], planes):
        yield start, read_block(source, start, min(start + planes, source.shape[0]))


def require_in_memory(
    shape: tuple[int, ...], *, bytes_per_voxel: int, budget_bytes: int, what: str
) -> None:
    """Refuse a whole-image operation whose working set exceeds the budget.

    Raises:
        MemoryBudgetError: with the size needed and the budget.
    """
    need = math.prod(shape) * bytes_per_voxel
    if need > budget_bytes:
        raise MemoryBudgetError(
            f"{what} works on the whole image at once and needs about {need} bytes for shape "
            f"{tuple(shape)}, more than the memory budget of {budget_bytes} bytes; crop or "
            "bin the image first, or run it on a worker with a larger budget"
        )


def value_range(source: ArraySource, planes: int) -> tuple[float, float]:
    """Finite minimum and maximum over all blocks.

    Raises:
        ValueError: the image has no finite value.
    """
    low, high = math.inf, -math.inf
    for _, block in iter_slabs(source, planes):
        finite = block[np.isfinite(block)] if block.dtype.kind == "f" else block
        if finite.size:
            low, high = min(low, float(finite.min())), max(high, float(finite.max()))
    if low > high:
        raise ValueError("the image has no finite value")
    return low, high


def histogram(
    source: ArraySource, *, bins: int, planes: int
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Histogram of all finite values over ``bins`` equal bins spanning [min, max].

    Two passes (range, then counts); integer counts add exactly, so the result does not
    depend on ``planes``.

    Returns:
        ``(counts, bin_centers)`` as scikit-image's threshold functions take as ``hist``.
    """
    low, high = value_range(source, planes)
    if low == high:
        high = low + 1.0
    counts = np.zeros(bins, np.int64)
    edges = np.linspace(low, high, bins + 1)
    for _, block in iter_slabs(source, planes):
        values = block.astype(np.float64, copy=False).reshape(-1)
        counts += np.histogram(values[np.isfinite(values)], bins=edges)[0]
    return counts, (edges[:-1] + edges[1:]) / 2


def bin_upper_edge(centers: NDArray[np.float64], threshold: float) -> float:
    """Upper edge of the histogram bin whose centre is ``threshold``.

    scikit-image's Otsu functions return the centre of the last bin of the lower class;
    ``value > upper edge`` then reproduces exactly the class split they chose.
    """
    index = int(np.argmin(np.abs(centers - threshold)))
    width = float(centers[1] - centers[0]) if len(centers) > 1 else 1.0
    return float(centers[index]) + width / 2
