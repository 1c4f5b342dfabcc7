"""The HDF5 layout of a canonical array: names, chunk shapes and the compression filter."""

from __future__ import annotations

from typing import Any

import h5py
import hdf5plugin

__all__ = ["CANONICAL_VERSION", "chunk_shape", "compression", "h5py", "level_name"]

CANONICAL_VERSION = 1
VOLUME_CHUNK = 64
IMAGE_CHUNK = 256
# Level buffers hold one chunk layer (chunk depth x plane); planes too large for 64 of them
# in this budget get thinner, wider chunks (same order of elements per chunk).
LAYER_BUDGET_BYTES = 256 * 1024 * 1024
_WIDTH_FOR_DEPTH = {64: 64, 32: 64, 16: 128, 8: 128}


def level_name(level: int) -> str:
    """HDF5 path of a level's dataset (level 0 is full resolution)."""
    return f"levels/{level}"


def chunk_shape(shape: tuple[int, ...], itemsize: int, *, is_volume: bool) -> tuple[int, ...]:
    """Chunk shape of one level: 64³ for volumes, 256² for 2D images, clipped to the shape.

    Channels (a trailing axis after the spatial ones) are kept whole in each chunk.
    """
    if is_volume:
        plane_bytes = itemsize
        for n in shape[1:]:
            plane_bytes *= n
        depth = VOLUME_CHUNK
        while depth > min(_WIDTH_FOR_DEPTH) and depth * plane_bytes > LAYER_BUDGET_BYTES:
            depth //= 2
        width = _WIDTH_FOR_DEPTH[depth]
        spatial: tuple[int, ...] = (depth, width, width)
    else:
        spatial = (IMAGE_CHUNK, IMAGE_CHUNK)
    full = spatial + tuple(shape[len(spatial) :])
    return tuple(max(1, min(c, n)) for c, n in zip(full, shape, strict=True))


def compression() -> dict[str, Any]:
    """Dataset keywords of the filter: Blosc LZ4, level 5, byte shuffle."""
    return dict(hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE))
