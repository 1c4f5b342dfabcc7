"""Thumbnails: windowed PNGs of 2D planes, the three mid-planes of a volume, and MIPs."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from lims.imaging.windowing import percentile_window, window

Window = tuple[float, float]


def to_display(array2d: NDArray[Any], window_range: Window | None = None) -> NDArray[np.uint8]:
    """A plane as 8-bit grey (y, x) or colour (y, x, 3|4), ready for Pillow.

    ``window_range`` None: uint8 data is kept as is, other data is windowed to its own
    0.5-99.5 percentiles.
    """
    values = np.asarray(array2d)
    if values.dtype == np.bool_:
        return values.astype(np.uint8) * np.uint8(255)
    if window_range is None:
        if values.dtype == np.uint8:
            return values
        window_range = percentile_window(values)
    return window(values, *window_range)


def thumbnail_png(
    array2d: NDArray[Any], max_side: int = 256, window: Window | None = None
) -> bytes:
    """PNG of a plane scaled (never up) so that its longer side is at most ``max_side``.

    Args:
        array2d: (y, x) grey or (y, x, 3|4) colour plane; pass a pyramid level close to the
            target size for large images.
        max_side: longest side of the result in pixels.
        window: (low, high) display window; None for automatic (see :func:`to_display`).

    Returns:
        PNG bytes.
    """
    image = _pil(to_display(array2d, window))
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def orthoslice_pngs(
    volume: Any,  # noqa: ANN401 - any (z, y, x) array-like: ndarray, memmap, h5py dataset
    max_side: int = 256,
    window: Window | None = None,
) -> dict[str, bytes]:
    """Thumbnails of the three mid-planes of a volume: keys "xy", "xz" and "yz".

    Only the three planes are read from ``volume``. One window (given, or the percentiles
    of the XY plane) is used for all three so they look alike.
    """
    depth, height, width = (int(n) for n in volume.shape[:3])
    planes = {
        "xy": np.asarray(volume[depth // 2]),
        "xz": np.asarray(volume[:, height // 2]),
        "yz": np.asarray(volume[:, :, width // 2]),
    }
    if window is None and planes["xy"].dtype != np.uint8:
        window = percentile_window(planes["xy"])
    return {name: thumbnail_png(plane, max_side, window) for name, plane in planes.items()}


def mip(slabs: Iterable[NDArray[Any]], axis: Literal["z", "y", "x"] = "z") -> NDArray[Any]:
    """Maximum-intensity projection of a volume given as consecutive z-slabs.

    Only one slab is in memory at a time. ``axis`` is the direction projected along:
    "z" gives a (y, x) image, "y" a (z, x) and "x" a (z, y) image.

    Raises:
        ValueError: no slabs, or an unknown axis.
    """
    if axis not in ("z", "y", "x"):
        raise ValueError(f"axis must be z, y or x, not {axis!r}")
    result: NDArray[Any] | None = None
    rows: list[NDArray[Any]] = []
    for slab in slabs:
        block = np.asarray(slab)
        if axis == "z":
            top = block.max(axis=0)
            result = top if result is None else np.maximum(result, top)
        else:
            rows.append(block.max(axis=1 if axis == "y" else 2))
    if axis != "z" and rows:
        result = np.concatenate(rows, axis=0)
    if result is None:
        raise ValueError("no slabs to project")
    return result


def _pil(display: NDArray[np.uint8]) -> Image.Image:
    """Pillow image of an 8-bit plane: L for (y, x), RGB / RGBA for 3 / 4 channels."""
    return Image.fromarray(np.ascontiguousarray(display))
