"""x2 pyramid arithmetic: level shapes and a streaming 2x(2x2) block reducer (numpy, Pillow)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image

Kind = Literal["intensity", "label"]

TOP_LEVEL_MAX_SIDE = 256
# Bound on the temporaries of one reduction step (the accumulator is up to 8 bytes an element).
_BATCH_ELEMENTS = 4 * 1024 * 1024

_ACCUMULATOR: dict[str, type[np.generic]] = {
    "u1": np.uint16,
    "i1": np.int16,
    "u2": np.uint32,
    "i2": np.int32,
    "u4": np.uint64,
    "i4": np.int64,
}


def level_shapes(
    shape: Sequence[int], spatial_ndim: int, max_side: int = TOP_LEVEL_MAX_SIDE
) -> list[tuple[int, ...]]:
    """Shapes of the pyramid levels: each spatial axis halved (rounded up) per level.

    Level 0 is full resolution; levels are added until the largest spatial side is at most
    ``max_side``. Trailing (channel) axes are kept.

    Args:
        shape: level-0 shape, spatial axes first.
        spatial_ndim: number of leading spatial axes (2 or 3).
        max_side: largest spatial side allowed at the top level.

    Returns:
        One shape per level, level 0 first.
    """
    shapes = [tuple(int(n) for n in shape)]
    while max(shapes[-1][:spatial_ndim]) > max_side:
        last = shapes[-1]
        halved = tuple(math.ceil(n / 2) for n in last[:spatial_ndim])
        shapes.append(halved + last[spatial_ndim:])
    return shapes


def downsample(array: NDArray[Any], spatial_ndim: int, kind: Kind = "intensity") -> NDArray[Any]:
    """Downsample a whole array by 2 along its first ``spatial_ndim`` axes.

    ``intensity``: each output element is the mean of its 2x2(x2) block, where a block cut
    by an odd edge uses only the elements that exist; integers are rounded half up, floats
    are averaged in float64. ``label``: the first element of each block (stride 2), so label
    values are never mixed. Output sides are ``ceil(n / 2)``.

    Args:
        array: the array, spatial axes first.
        spatial_ndim: number of leading spatial axes.
        kind: "intensity" or "label".

    Returns:
        The downsampled array, same dtype.
    """
    reducer = PlaneReducer(array.dtype, spatial_ndim, kind)
    head, tail = reducer.push(array), reducer.finish()
    return head if tail is None else np.concatenate([head, tail], axis=0)


class PlaneReducer:
    """Streaming x2 downsampling along axis 0: push consecutive blocks, get reduced blocks.

    Planes (rows for 2D images) are paired as they arrive; an odd plane is carried to the
    next push, and :meth:`finish` reduces a last unpaired plane on its own. Concatenating the
    outputs of every push and of finish equals :func:`downsample` of the whole array.
    """

    def __init__(self, dtype: np.dtype[Any], spatial_ndim: int, kind: Kind) -> None:
        if kind not in ("intensity", "label"):
            raise ValueError(f"unknown pyramid kind {kind!r}")
        self.dtype = np.dtype(dtype)
        self.spatial_ndim = spatial_ndim
        self.kind: Kind = "label" if self.dtype.kind == "b" else kind
        self._carry: NDArray[Any] | None = None

    def push(self, block: NDArray[Any]) -> NDArray[Any]:
        """Take the next planes along axis 0 and return the reduced planes now complete."""
        outputs: list[NDArray[Any]] = []
        start = 0
        if self._carry is not None and len(block):
            pair = np.concatenate([self._carry, np.asarray(block[:1])], axis=0)
            outputs.append(self._reduce(pair))
            self._carry = None
            start = 1
        stop = start + (len(block) - start) // 2 * 2
        plane_elements = max(1, math.prod(block.shape[1:]))
        step = max(2, _BATCH_ELEMENTS // plane_elements // 2 * 2)
        outputs.extend(
            self._reduce(np.asarray(block[i : min(i + step, stop)]))
            for i in range(start, stop, step)
        )
        if stop < len(block):
            self._carry = np.array(block[stop:], copy=True)
        if not outputs:
            return np.empty((0, *self._out_shape(block.shape[1:])), self.dtype)
        return outputs[0] if len(outputs) == 1 else np.concatenate(outputs, axis=0)

    def finish(self) -> NDArray[Any] | None:
        """Reduce a last unpaired plane (as if paired with itself); None if there is none."""
        carry, self._carry = self._carry, None
        if carry is None:
            return None
        return self._reduce(np.concatenate([carry, carry], axis=0))

    def _out_shape(self, plane_shape: tuple[int, ...]) -> tuple[int, ...]:
        spatial = plane_shape[: self.spatial_ndim - 1]
        return tuple(math.ceil(n / 2) for n in spatial) + plane_shape[self.spatial_ndim - 1 :]

    def _reduce(self, pairs: NDArray[Any]) -> NDArray[Any]:
        """Reduce an even number of planes to half as many."""
        if self.kind == "label":
            index = (slice(None, None, 2),) * self.spatial_ndim
            return np.ascontiguousarray(pairs[index])
        if self.dtype == np.uint8 and pairs.ndim == 2:  # noqa: PLR2004 - a grey 2D image
            return _reduce_grey8(pairs)
        acc = pairs[0::2].astype(_accumulator(self.dtype))
        acc += pairs[1::2]
        for axis in range(1, self.spatial_ndim):
            acc = _pair_sum(acc, axis)
        count = 2**self.spatial_ndim
        if acc.dtype.kind == "f":
            acc /= count
            if self.dtype.kind in "iu":
                # 64-bit integers go through float64, where the largest ones round up
                # past the dtype's range: keep the mean inside it.
                info = np.iinfo(self.dtype)
                np.clip(acc, float(info.min), np.nextafter(float(info.max), 0.0), out=acc)
            return acc.astype(self.dtype)
        acc += count // 2
        acc >>= self.spatial_ndim  # floor division by 2**n, several times faster than //
        return acc.astype(self.dtype)


def _reduce_grey8(pairs: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The 2x2 block means of an 8-bit image with an even number of rows, by Pillow.

    Pillow's box reduction rounds half up and averages a block cut by an odd last column
    over the pixels that exist, as the numpy path does; it makes one pass over the rows
    and releases the GIL, where the numpy path makes five.
    """
    rows = np.ascontiguousarray(pairs)
    height, width = rows.shape
    image = Image.frombuffer("L", (width, height), rows, "raw", "L", 0, 1)
    return np.asarray(image.reduce(2))


def _accumulator(dtype: np.dtype[Any]) -> type[np.generic]:
    key = f"{dtype.kind}{dtype.itemsize}"
    # 64-bit integers and floats accumulate in float64 (exact for |sums| < 2**53).
    return _ACCUMULATOR.get(key, np.float64)


def _pair_sum(acc: NDArray[Any], axis: int) -> NDArray[Any]:
    """Sum neighbouring pairs along ``axis``; an odd last element is doubled (edge mean)."""
    n = acc.shape[axis]
    half = n // 2
    lead = (slice(None),) * axis
    shape = list(acc.shape)
    shape[axis] = half + n % 2
    out = np.empty(shape, acc.dtype)
    np.add(
        acc[(*lead, slice(0, 2 * half, 2))],
        acc[(*lead, slice(1, None, 2))],
        out=out[(*lead, slice(0, half))],
    )
    if n % 2:
        last = (*lead, slice(half, half + 1))
        np.add(acc[(*lead, slice(n - 1, n))], acc[(*lead, slice(n - 1, n))], out=out[last])
    return out
